#include "runtime/model_pass.h"

#include <omp.h>

#include <algorithm>
#include <chrono>
#include <condition_variable>
#include <map>
#include <mutex>
#include <optional>
#include <set>
#include <thread>

#include "qwac/error.h"
#include "runtime/batching.h"
#include "runtime/engine.h"
#include "runtime/partial_model.h"
#include "runtime/sample_prefetcher.h"

namespace qwac::runtime {

StreamState& StreamPool::stream(size_t s) {
  while (streams_.size() <= s) {
    auto st = std::make_unique<StreamState>();
    st->kernels = std::make_shared<KernelCache>(capacity_);
    st->workspace = std::make_shared<Workspace>();
    streams_.push_back(std::move(st));
  }
  return *streams_[s];
}

size_t StreamPool::kernel_cache_hits() const {
  size_t n = 0;
  for (const auto& s : streams_) n += static_cast<size_t>(s->kernels->hits());
  return n;
}

size_t StreamPool::kernel_cache_misses() const {
  size_t n = 0;
  for (const auto& s : streams_) n += static_cast<size_t>(s->kernels->misses());
  return n;
}

namespace {

using Clock = std::chrono::steady_clock;

// How each model of the pass runs: whole, or from the cut of its base.
struct ModelPlan {
  const ir::Model* model = nullptr;
  int base = -1;                    // >= 0 only when `part` was found
  std::optional<ChangedPart> part;
  // Made by stream 0 (on the calling thread, before the other streams start), reused by the others: the model after
  // the engine passes is the same on every stream, only the plans (kernels per thread count) differ.
  std::shared_ptr<const PreparedModel> prepared_whole;
  std::shared_ptr<const PreparedPart> prepared_part;
};

// One stream's engines for the pass.
struct StreamEngines {
  std::vector<std::unique_ptr<Engine>> whole;          // per model; null for partial ones
  std::vector<std::unique_ptr<PartialEngine>> partial;  // per model; null for whole ones
};

// What the calling thread receives: one model's outputs for one batch (annotations come with model 0).
struct Delivery {
  std::vector<Annotation> annotations;
  std::vector<SampleInfo> samples;
  ModelOutputs outputs;
  std::exception_ptr error;
};

ModelOutputs trimmed(const std::vector<Tensor>& tensors, const std::vector<IoSpec>& specs, int64_t count,
                     int64_t batch) {
  ModelOutputs out;
  for (const IoSpec& s : specs) out.names.push_back(s.name);
  for (const Tensor& t : tensors) out.tensors.push_back(first_samples(t, count, batch));
  return out;
}

}  // namespace

PassResult run_models(const std::vector<PassModel>& models, const Dataset& data, const PassOptions& options,
                      const PassConsumer& consumer) {
  const auto start = Clock::now();
  auto logger = options.logger ? options.logger : make_null_logger();
  auto progress = options.progress ? options.progress : make_null_progress();
  const int64_t n = data.size();
  if (n <= 0) throw DataError("the dataset " + data.describe() + " is empty: nothing to evaluate");
  if (models.empty()) throw InternalError("run_models: no model");

  // --- how each model runs, and what its base must tap
  std::vector<ModelPlan> plans(models.size());
  std::vector<std::set<std::string>> taps(models.size());
  for (size_t m = 0; m < models.size(); ++m) {
    plans[m].model = models[m].model;
    const int b = models[m].base;
    if (b < 0) continue;
    if (b >= static_cast<int>(m) || models[static_cast<size_t>(b)].base >= 0) {
      throw InternalError("run_models: model " + std::to_string(m) + " names base " + std::to_string(b) +
                          ", which is not an earlier whole model");
    }
    plans[m].part = find_changed_part(*models[static_cast<size_t>(b)].model, *models[m].model);
    if (!plans[m].part) continue;  // runs whole
    plans[m].base = b;
    taps[static_cast<size_t>(b)].insert(plans[m].part->cut.begin(), plans[m].part->cut.end());
  }

  const int cores = std::max(1, omp_get_num_procs());
  const int loaders = options.loader_threads > 0 ? options.loader_threads : cores;
  const int total_threads = options.engine_threads > 0 ? options.engine_threads : cores;
  int64_t batch = std::max<int64_t>(1, std::min(options.batch_size, n));
  int streams = options.streams > 0 ? options.streams : total_threads;
  streams = static_cast<int>(std::max<int64_t>(1, std::min<int64_t>(streams, (n + batch - 1) / batch)));
  auto stream_threads = [&](int s) { return std::max(1, total_threads / streams + (s < total_threads % streams)); };
  SamplePrefetcher prefetcher(data, n, loaders,
                              std::max<int64_t>(2 * batch, 2 * loaders) + static_cast<int64_t>(streams + 1) * batch);
  Sample first = prefetcher.take(0);
  for (const ModelPlan& p : plans) check_against_declared_inputs(first, *p.model->graph);

  std::optional<StreamPool> own_pool;
  StreamPool& pool = options.pool ? *options.pool : own_pool.emplace();

  std::mutex mutex;
  double compile_seconds = 0;
  // Compiles stream s's engines for `shapes` (on the calling thread for stream 0, to settle the batch size).
  auto make_engines = [&](int s, const std::map<std::string, Shape>& shapes) {
    const auto t0 = Clock::now();
    StreamState& st = pool.stream(static_cast<size_t>(s));
    EngineOptions eo;
    eo.num_threads = stream_threads(s);
    eo.use_dnnl = options.use_dnnl;
    eo.int8 = options.int8;
    eo.logger = logger;
    eo.kernel_cache = st.kernels;
    eo.workspace = st.workspace;
    StreamEngines e;
    e.whole.resize(plans.size());
    e.partial.resize(plans.size());
    for (size_t m = 0; m < plans.size(); ++m) {
      if (plans[m].base >= 0) {
        // Compiled now, from the types its base's plan gives the cut tensors (the base is an earlier model, so it
        // is compiled already): the cost is counted as compilation, not paid inside the first batch's run.
        const Engine& base = *e.whole[static_cast<size_t>(plans[m].base)];
        std::map<std::string, std::pair<DType, Shape>> cut_types;
        for (const std::string& name : plans[m].part->cut) cut_types[name] = base.tap_type(name);
        e.partial[m] = std::make_unique<PartialEngine>(*plans[m].model, *plans[m].part, eo);
        e.partial[m]->compile(cut_types, plans[m].prepared_part);
        if (s == 0) plans[m].prepared_part = e.partial[m]->prepared();
      } else {
        EngineOptions o = eo;
        o.taps.assign(taps[m].begin(), taps[m].end());
        std::shared_ptr<const PreparedModel> prepared = plans[m].prepared_whole;
        if (!prepared) {
          prepared = prepare_model(*plans[m].model, o);
          if (s == 0) plans[m].prepared_whole = prepared;
        }
        e.whole[m] = std::make_unique<Engine>(std::move(prepared), o, shapes);
      }
    }
    std::lock_guard<std::mutex> lock(mutex);
    compile_seconds += std::chrono::duration<double>(Clock::now() - t0).count();
    return e;
  };

  std::optional<StreamEngines> engines0;
  try {
    omp_set_num_threads(stream_threads(0));
    engines0 = make_engines(0, batch_shapes(first, batch));
  } catch (const InvalidModel& e) {
    if (batch == 1) throw;
    logger->info(std::string("model cannot run at batch ") + std::to_string(batch) + " (" + e.what() +
                 "); evaluating with batch 1");
    batch = 1;
    streams = static_cast<int>(std::min<int64_t>(std::max(1, options.streams > 0 ? options.streams : total_threads), n));
    engines0 = make_engines(0, batch_shapes(first, 1));
  }
  for (size_t m = 0; m < plans.size(); ++m) {
    if (engines0->whole[m]) check_inputs_match(first, engines0->whole[m]->inputs(), 0);
  }
  const std::map<std::string, Shape> plan_shapes = batch_shapes(first, batch);
  for (int s = 0; s < streams; ++s) pool.stream(static_cast<size_t>(s));  // created here, used by the threads

  PassResult result;
  result.batch_size = batch;
  result.streams = streams;
  progress->begin(options.phase, n);

  const int64_t num_batches = (n + batch - 1) / batch;
  const size_t num_models = plans.size();
  // Ordered delivery: (batch, model) results wait here until the consumer takes them in order. A stream may add a
  // result beyond `capacity` only when it is the next one the consumer needs, so the buffer stays bounded and the
  // stream holding the next result is never blocked.
  const size_t capacity = static_cast<size_t>(2 * streams) * num_models;
  std::condition_variable cv;
  std::map<std::pair<int64_t, size_t>, Delivery> buffer;
  std::pair<int64_t, size_t> next_needed{0, 0};
  int64_t next_batch = 0;
  bool failed = false;  // a stream failed: no further batches are claimed; those claimed are still delivered
  bool abort = false;   // the consumer stopped (or the pass is unwinding): streams drop what they hold
  std::optional<Sample> first_slot(std::move(first));

  auto deposit = [&](int64_t b, size_t m, Delivery d) {
    std::unique_lock<std::mutex> lock(mutex);
    cv.wait(lock, [&] { return abort || buffer.size() < capacity || std::make_pair(b, m) == next_needed; });
    if (abort) return false;
    buffer.emplace(std::make_pair(b, m), std::move(d));
    cv.notify_all();
    return true;
  };
  // The error surfaces where the consumer waits for it: at (b, m) of the batch the stream was computing, or at the
  // next unclaimed batch when the stream failed before claiming one (nothing is lost when none is left).
  auto fail = [&](int64_t b, size_t m, std::exception_ptr error) {
    Delivery d;
    d.error = error;
    std::lock_guard<std::mutex> lock(mutex);
    failed = true;
    if (b < 0) {
      if (next_batch >= num_batches) return;
      b = next_batch++;
      m = 0;
    }
    buffer.emplace(std::make_pair(b, m), std::move(d));
    cv.notify_all();
  };

  auto stream_main = [&](int s) {
    std::optional<StreamEngines> engines;
    int64_t b = -1;
    size_t current = 0;
    try {
      omp_set_num_threads(stream_threads(s));
      if (s == 0) {
        engines = std::move(engines0);
      } else {
        engines = make_engines(s, plan_shapes);
      }
      for (;;) {
        {
          std::lock_guard<std::mutex> lock(mutex);
          if (failed || abort || next_batch >= num_batches) return;
          b = next_batch++;
          current = 0;
        }
        const int64_t begin = b * batch, count = std::min(batch, n - begin);
        std::vector<Sample> samples;
        for (int64_t i = begin; i < begin + count; ++i) {
          if (i == 0) {
            samples.push_back(std::move(*first_slot));  // taken before the streams started (for the shapes)
          } else {
            samples.push_back(prefetcher.take(i));
            for (size_t m = 0; m < num_models; ++m) {
              if (engines->whole[m]) check_inputs_match(samples.back(), engines->whole[m]->inputs(), i);
            }
          }
        }
        // The last partial batch is padded with copies of its last sample (outputs trimmed): plans are reused.
        std::vector<Annotation> annotations;
        std::vector<SampleInfo> infos;
        for (size_t k = 0; k < samples.size(); ++k) {
          const Sample& smp = samples[k];
          annotations.push_back(smp.annotation);
          infos.push_back({smp.index >= 0 ? smp.index : begin + static_cast<int64_t>(k), smp.metadata});
        }
        while (static_cast<int64_t>(samples.size()) < batch) samples.push_back(samples.back());
        const std::map<std::string, Tensor> inputs = stack_inputs(samples);
        samples.clear();
        for (size_t m = 0; m < num_models; ++m) {
          current = m;
          Delivery d;
          if (m == 0) {
            d.annotations = annotations;
            d.samples = infos;
          }
          if (engines->whole[m]) {
            d.outputs = trimmed(engines->whole[m]->run(inputs), engines->whole[m]->outputs(), count, batch);
          } else {
            const Engine& base = *engines->whole[static_cast<size_t>(plans[m].base)];
            std::map<std::string, Tensor> cut;
            for (const std::string& name : plans[m].part->cut) cut[name] = base.tap(name);
            std::vector<Tensor> out = engines->partial[m]->run_from(cut);
            d.outputs = trimmed(out, engines->partial[m]->outputs(), count, batch);
          }
          if (!deposit(b, m, std::move(d))) return;
        }
      }
    } catch (...) {
      fail(b, current, std::current_exception());
    }
  };

  std::vector<std::thread> workers;
  // Joins the streams on every exit path.
  struct Joiner {
    std::vector<std::thread>& threads;
    std::mutex& mutex;
    std::condition_variable& cv;
    bool& abort;
    ~Joiner() {
      {
        std::lock_guard<std::mutex> lock(mutex);
        abort = true;
      }
      cv.notify_all();
      for (auto& t : threads) t.join();
    }
  } joiner{workers, mutex, cv, abort};
  for (int s = 0; s < streams; ++s) workers.emplace_back(stream_main, s);

  std::vector<Annotation> annotations;
  std::vector<SampleInfo> infos;
  for (int64_t b = 0; b < num_batches && !result.stopped; ++b) {
    for (size_t m = 0; m < num_models; ++m) {
      Delivery d;
      {
        std::unique_lock<std::mutex> lock(mutex);
        // Batches are claimed in increasing order and a failure only stops further claims, so every result before
        // the first failure is still delivered: waiting in order always ends.
        cv.wait(lock, [&] { return buffer.count({b, m}) > 0; });
        auto it = buffer.find({b, m});
        d = std::move(it->second);
        buffer.erase(it);
        next_needed = m + 1 < num_models ? std::make_pair(b, m + 1) : std::make_pair(b + 1, size_t{0});
        cv.notify_all();
      }
      if (d.error) std::rethrow_exception(d.error);
      if (m == 0) {
        annotations = std::move(d.annotations);
        infos = std::move(d.samples);
      }
      PassBatch pb;
      pb.first = b * batch;
      pb.annotations = &annotations;
      pb.samples = &infos;
      pb.model = m;
      pb.outputs = &d.outputs;
      if (!consumer(pb)) {
        result.stopped = true;
        break;
      }
    }
    if (!result.stopped) {
      result.samples = std::min(n, (b + 1) * batch);
      progress->advance(result.samples);
    }
  }
  progress->end();
  result.compile_seconds = compile_seconds;
  result.seconds = std::chrono::duration<double>(Clock::now() - start).count();
  return result;
}

}  // namespace qwac::runtime
