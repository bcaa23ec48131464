#include "runtime/evaluation.h"

#include <omp.h>

#include <algorithm>
#include <condition_variable>
#include <cstring>
#include <deque>
#include <exception>
#include <map>
#include <mutex>
#include <optional>
#include <thread>

#include "qwac/error.h"
#include "runtime/batching.h"
#include "runtime/sample_prefetcher.h"

namespace qwac::runtime {

namespace {

}  // namespace

void check_sample_against_model(const Sample& s, const ir::Graph& graph) {
  for (const ir::Value* in : graph.inputs()) {
    if (s.inputs.count(in->name()) == 0) {
      std::string have;
      for (const auto& [name, t] : s.inputs) have += (have.empty() ? "" : ", ") + name;
      throw DataError("sample 0 has no input '" + in->name() + "' that the model needs (the dataset provides: " +
                      have + ")");
    }
  }
  check_against_declared_inputs(s, graph);
}

namespace {

// What one stream produced for one batch: the samples (for annotations and on_sample) and the batched outputs.
struct BatchResult {
  std::vector<Sample> samples;
  std::vector<Tensor> outputs;
  std::map<std::string, Tensor> taps;  // copied out of the engine (its taps are overwritten by the next run)
  std::exception_ptr error;
};

}  // namespace

EvaluationResult evaluate(const ir::Model& model, const Dataset& dataset, const std::vector<MetricPtr>& metrics,
                          const EvaluationOptions& options) {
  auto logger = options.logger ? options.logger : make_null_logger();
  auto progress = options.progress ? options.progress : make_null_progress();
  const int64_t n = options.limit > 0 ? std::min(options.limit, dataset.size()) : dataset.size();
  if (n <= 0) throw DataError("the dataset " + dataset.describe() + " is empty: nothing to evaluate");
  const auto start = std::chrono::steady_clock::now();

  const int cores = std::max(1, omp_get_num_procs());
  const int loaders = options.loader_threads > 0 ? options.loader_threads : cores;
  const int total_threads = options.threads > 0 ? options.threads : cores;
  int64_t batch = std::max<int64_t>(1, std::min(options.batch_size, n));
  int streams = options.streams > 0 ? options.streams : total_threads;
  streams = static_cast<int>(std::max<int64_t>(1, std::min<int64_t>(streams, (n + batch - 1) / batch)));
  // Every stream may wait for a whole batch beyond the newest sample taken so far.
  SamplePrefetcher prefetcher(dataset, n, loaders,
                              std::max<int64_t>(2 * batch, 2 * loaders) + static_cast<int64_t>(streams + 1) * batch);

  Sample first = prefetcher.take(0);
  check_against_declared_inputs(first, *model.graph);
  runtime::EngineOptions eo;
  eo.use_dnnl = options.use_dnnl;
  eo.int8 = options.int8;
  eo.logger = logger;
  eo.taps = options.taps;
  auto make_engine = [&](const std::map<std::string, Shape>& shapes, int threads) {
    runtime::EngineOptions o = eo;
    o.num_threads = threads;
    return std::make_unique<runtime::Engine>(model, o, shapes);
  };
  auto stream_threads = [&](int s) { return std::max(1, total_threads / streams + (s < total_threads % streams)); };
  std::vector<std::unique_ptr<runtime::Engine>> engines(static_cast<size_t>(streams));
  try {
    engines[0] = make_engine(batch_shapes(first, batch), stream_threads(0));
  } catch (const InvalidModel& e) {
    if (batch == 1) throw;
    // A model that hard-codes its batch (e.g. a Reshape to [1, ...]) still evaluates, one sample at a time.
    logger->info(std::string("model cannot run at batch ") + std::to_string(batch) + " (" + e.what() +
                 "); evaluating with batch 1");
    batch = 1;
    engines[0] = make_engine(batch_shapes(first, 1), stream_threads(0));
  }
  check_inputs_match(first, engines[0]->inputs(), 0);
  const std::map<std::string, Shape> plan_shapes = batch_shapes(first, batch);
  // The other streams compile the same plan (deterministic), on the thread that will run them.
  ModelOutputs outputs_template;
  for (const auto& spec : engines[0]->outputs()) outputs_template.names.push_back(spec.name);

  for (const auto& m : metrics) m->reset();
  EvaluationResult result;
  result.batch_size = batch;
  result.streams = streams;
  progress->begin(options.phase, n);

  const int64_t num_batches = (n + batch - 1) / batch;
  std::mutex mutex;
  std::condition_variable cv;
  std::map<int64_t, BatchResult> done;  // finished batches not yet consumed, by batch number
  int64_t next_batch = 0;
  int64_t consumed_batches = 0;  // batches the consuming loop below has finished
  // Streams run at most this many batches ahead of the consumer: slow per-batch callbacks (histograms over tapped
  // activations) would otherwise let finished batches and their taps pile up in memory.
  const int64_t max_ahead = 2 * static_cast<int64_t>(streams);
  bool stop = false;
  double inference_seconds = 0;
  std::optional<Sample> first_slot(std::move(first));

  auto stream_main = [&](int s) {
    std::unique_ptr<runtime::Engine> engine;
    try {
      omp_set_num_threads(stream_threads(s));
      engine = s == 0 ? std::move(engines[0]) : make_engine(plan_shapes, stream_threads(s));
    } catch (...) {
      std::lock_guard<std::mutex> lock(mutex);
      // Reported as the error of the batch this stream would have taken next; stops the evaluation.
      BatchResult failed;
      failed.error = std::current_exception();
      done[next_batch < num_batches ? next_batch++ : num_batches - 1] = std::move(failed);
      stop = true;
      cv.notify_all();
      return;
    }
    for (;;) {
      int64_t b;
      {
        std::unique_lock<std::mutex> lock(mutex);
        cv.wait(lock, [&] { return stop || next_batch >= num_batches || next_batch - consumed_batches < max_ahead; });
        if (stop || next_batch >= num_batches) return;
        b = next_batch++;
      }
      BatchResult r;
      try {
        const int64_t begin = b * batch, count = std::min(batch, n - begin);
        for (int64_t i = begin; i < begin + count; ++i) {
          if (i == 0) {
            r.samples.push_back(std::move(*first_slot));  // taken before the streams started (for the shapes)
          } else {
            r.samples.push_back(prefetcher.take(i));
            check_inputs_match(r.samples.back(), engine->inputs(), i);
          }
        }
        // The last partial batch is padded with copies of its last sample (outputs ignored): the plan is reused.
        std::vector<Sample> padded = r.samples;
        while (static_cast<int64_t>(padded.size()) < batch) padded.push_back(r.samples.back());
        const auto t0 = std::chrono::steady_clock::now();
        r.outputs = engine->run(stack_inputs(padded));
        const double dt = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
        // The taps are handed over as the engine's own buffers, not copied: this stream then waits below until
        // the batch is consumed before its next run overwrites them. Copies of a few batches' activations were
        // most of calibration's memory (mobilenetv3s: 31 of 98 MB), and with the streams one batch apart the
        // consumer still works while the other stream infers.
        for (const std::string& name : options.taps) r.taps[name] = first_samples(engine->tap(name), count, batch);
        std::lock_guard<std::mutex> lock(mutex);
        inference_seconds += dt;
      } catch (...) {
        r.error = std::current_exception();
      }
      std::unique_lock<std::mutex> lock(mutex);
      if (r.error) stop = true;
      const bool handed_over = !r.taps.empty();
      done[b] = std::move(r);
      cv.notify_all();
      if (handed_over) cv.wait(lock, [&] { return stop || consumed_batches > b; });
    }
  };

  std::vector<std::thread> workers;
  // Joins the streams on every exit path (stop tells them not to take further batches).
  struct Joiner {
    std::vector<std::thread>& threads;
    std::mutex& mutex;
    std::condition_variable& cv;
    bool& stop;
    ~Joiner() {
      {
        std::lock_guard<std::mutex> lock(mutex);
        stop = true;
      }
      cv.notify_all();  // streams waiting for the consumer to catch up
      for (auto& t : threads) t.join();
    }
  } joiner{workers, mutex, cv, stop};
  for (int s = 0; s < streams; ++s) workers.emplace_back(stream_main, s);

  // Metrics and callbacks see the batches in order, on this thread.
  for (int64_t b = 0; b < num_batches; ++b) {
    BatchResult r;
    {
      std::unique_lock<std::mutex> lock(mutex);
      // Batches are claimed in increasing order and a failure only stops further claims, so every batch before
      // the first failed one still completes: waiting for batch b in order always ends, at the latest at the
      // failure, which is then the first one in sample order.
      cv.wait(lock, [&] { return done.count(b) > 0; });
      r = std::move(done.at(b));
      done.erase(b);
    }
    if (r.error) std::rethrow_exception(r.error);
    const int64_t begin = b * batch;
    const auto count = static_cast<int64_t>(r.samples.size());
    ModelOutputs used;
    used.names = outputs_template.names;
    std::vector<Annotation> annotations;
    std::vector<SampleInfo> infos;
    for (size_t k = 0; k < r.samples.size(); ++k) {
      const Sample& s = r.samples[k];
      annotations.push_back(s.annotation);
      infos.push_back({s.index >= 0 ? s.index : begin + static_cast<int64_t>(k), s.metadata});
    }
    for (const Tensor& t : r.outputs) {
      if (count == batch) {
        used.tensors.push_back(t);
      } else {
        Shape s = t.shape();
        s[0] = count;
        used.tensors.push_back(Tensor::view(t.dtype(), s, const_cast<void*>(t.raw())).clone());
      }
    }
    for (const auto& m : metrics) m->update(used, annotations, infos);
    if (options.on_batch) options.on_batch(begin, r.taps);
    if (options.on_sample) {
      for (int64_t k = 0; k < count; ++k) {
        ModelOutputs one;
        one.names = outputs_template.names;
        for (const Tensor& t : r.outputs) one.tensors.push_back(slice_sample(t, k, batch));
        options.on_sample(begin + k, r.samples[static_cast<size_t>(k)], one);
      }
    }
    progress->advance(begin + count);
    {
      std::lock_guard<std::mutex> lock(mutex);
      consumed_batches = b + 1;
    }
    cv.notify_all();
  }
  progress->end();
  result.samples = n;
  result.inference_seconds = inference_seconds;
  for (const auto& m : metrics) result.metrics[m->name()] = m->avg_value();
  result.seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  return result;
}

}  // namespace qwac::runtime
