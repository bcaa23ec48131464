#include "accuracy/evaluation.h"

#include <omp.h>

#include <algorithm>
#include <condition_variable>
#include <cstring>
#include <deque>
#include <exception>
#include <mutex>
#include <thread>

#include "qwac/error.h"

namespace qwac::accuracy {

namespace {

// Reads samples [0, n) ahead of the consumer with a few threads, keeping at most `window` samples in memory.
class SamplePrefetcher {
 public:
  SamplePrefetcher(const Dataset& dataset, int64_t n, int threads, int64_t window)
      : dataset_(dataset), n_(n), window_(window) {
    for (int t = 0; t < threads; ++t) workers_.emplace_back([this] { work(); });
  }
  ~SamplePrefetcher() {
    {
      std::lock_guard<std::mutex> lock(mutex_);
      stop_ = true;
    }
    cv_.notify_all();
    for (auto& w : workers_) w.join();
  }

  // Blocks until sample i (requested in increasing order) is ready; rethrows the loader's error.
  Sample take(int64_t i) {
    std::unique_lock<std::mutex> lock(mutex_);
    cv_.wait(lock, [&] { return ready_.count(i) || errors_.count(i); });
    if (errors_.count(i)) std::rethrow_exception(errors_.at(i));
    Sample s = std::move(ready_.at(i));
    ready_.erase(i);
    consumed_ = i + 1;
    cv_.notify_all();
    return s;
  }

 private:
  void work() {
    for (;;) {
      int64_t i;
      {
        std::unique_lock<std::mutex> lock(mutex_);
        cv_.wait(lock, [&] { return stop_ || (next_ < n_ && next_ < consumed_ + window_); });
        if (stop_) return;
        i = next_++;
      }
      try {
        Sample s = dataset_.get(i);
        std::lock_guard<std::mutex> lock(mutex_);
        ready_.emplace(i, std::move(s));
      } catch (...) {
        std::lock_guard<std::mutex> lock(mutex_);
        errors_.emplace(i, std::current_exception());
      }
      cv_.notify_all();
    }
  }

  const Dataset& dataset_;
  const int64_t n_, window_;
  std::mutex mutex_;
  std::condition_variable cv_;
  std::map<int64_t, Sample> ready_;
  std::map<int64_t, std::exception_ptr> errors_;
  int64_t next_ = 0, consumed_ = 0;
  bool stop_ = false;
  std::vector<std::thread> workers_;
};

// The model's input shapes for a batch, taken from the first sample's tensors.
std::map<std::string, Shape> batch_shapes(const Sample& first, int64_t batch) {
  std::map<std::string, Shape> shapes;
  for (const auto& [name, t] : first.inputs) {
    Shape s = t.shape();
    if (s.empty()) throw DataError("input '" + name + "' of sample 0 is a scalar; expected a leading batch dimension");
    s[0] = batch;
    shapes[name] = s;
  }
  return shapes;
}

// Sample k of a batched output tensor, as its own tensor with batch dim 1.
Tensor slice_sample(const Tensor& t, int64_t k, int64_t batch) {
  Shape s = t.shape();
  if (s.empty() || s[0] != batch) return t;  // an output without the batch dimension (rare): shared as is
  s[0] = 1;
  Tensor out(t.dtype(), s);
  const size_t bytes = out.nbytes();
  std::memcpy(out.raw(), static_cast<const std::byte*>(t.raw()) + k * bytes, bytes);
  return out;
}

void check_inputs_match(const Sample& s, const std::vector<runtime::IoSpec>& specs, int64_t index) {
  for (const auto& spec : specs) {
    auto it = s.inputs.find(spec.name);
    if (it == s.inputs.end()) {
      std::string have;
      for (const auto& [name, t] : s.inputs) have += (have.empty() ? "" : ", ") + name;
      throw DataError("sample " + std::to_string(index) + " has no input '" + spec.name +
                      "' that the model needs (the dataset provides: " + have + ")");
    }
    Shape expected = spec.shape;
    expected[0] = 1;
    if (it->second.shape() != expected || it->second.dtype() != spec.dtype) {
      throw DataError("sample " + std::to_string(index) + " input '" + spec.name + "' is " + it->second.describe() +
                      " but the model expects " + std::string(dtype_name(spec.dtype)) + shape_to_string(expected) +
                      " per sample; check the preprocessing (crop/size/layout)");
    }
  }
  for (const auto& [name, t] : s.inputs) {
    if (std::none_of(specs.begin(), specs.end(), [&](const runtime::IoSpec& sp) { return sp.name == name; })) {
      throw DataError("sample " + std::to_string(index) + " provides input '" + name + "', which the model lacks");
    }
  }
}

}  // namespace

EvaluationResult evaluate(const ir::Model& model, const Dataset& dataset, const std::vector<MetricPtr>& metrics,
                          const EvaluationOptions& options) {
  auto logger = options.logger ? options.logger : make_null_logger();
  auto progress = options.progress ? options.progress : make_null_progress();
  const int64_t n = options.limit > 0 ? std::min(options.limit, dataset.size()) : dataset.size();
  if (n <= 0) throw DataError("the dataset " + dataset.describe() + " is empty: nothing to evaluate");
  const auto start = std::chrono::steady_clock::now();

  const int loaders = options.loader_threads > 0 ? options.loader_threads : std::max(1, omp_get_num_procs());
  int64_t batch = std::max<int64_t>(1, std::min(options.batch_size, n));
  SamplePrefetcher prefetcher(dataset, n, loaders, std::max<int64_t>(2 * batch, 2 * loaders));

  Sample first = prefetcher.take(0);
  runtime::EngineOptions eo;
  eo.num_threads = options.engine_threads;
  eo.use_dnnl = options.use_dnnl;
  eo.logger = logger;
  std::unique_ptr<runtime::Engine> engine;
  try {
    engine = std::make_unique<runtime::Engine>(model, eo, batch_shapes(first, batch));
  } catch (const InvalidModel& e) {
    if (batch == 1) throw;
    // A model that hard-codes its batch (e.g. a Reshape to [1, ...]) still evaluates, one sample at a time.
    logger->info(std::string("model cannot run at batch ") + std::to_string(batch) + " (" + e.what() +
                 "); evaluating with batch 1");
    batch = 1;
    engine = std::make_unique<runtime::Engine>(model, eo, batch_shapes(first, 1));
  }
  check_inputs_match(first, engine->inputs(), 0);

  for (const auto& m : metrics) m->reset();
  EvaluationResult result;
  result.batch_size = batch;
  progress->begin("evaluate", n);
  std::vector<Sample> samples;
  samples.push_back(std::move(first));
  ModelOutputs outputs;
  for (const auto& spec : engine->outputs()) outputs.names.push_back(spec.name);
  for (int64_t begin = 0; begin < n; begin += batch) {
    const int64_t count = std::min(batch, n - begin);
    while (static_cast<int64_t>(samples.size()) < count) {
      const int64_t index = begin + static_cast<int64_t>(samples.size());
      samples.push_back(prefetcher.take(index));
      check_inputs_match(samples.back(), engine->inputs(), index);
    }
    // The last partial batch is padded with copies of its last sample (outputs ignored) so the plan is reused.
    std::vector<Sample> padded = samples;
    while (static_cast<int64_t>(padded.size()) < batch) padded.push_back(samples.back());
    const auto t0 = std::chrono::steady_clock::now();
    outputs.tensors = engine->run(stack_inputs(padded));
    result.inference_seconds += std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();

    ModelOutputs used;
    used.names = outputs.names;
    std::vector<Annotation> annotations;
    for (const Sample& s : samples) annotations.push_back(s.annotation);
    for (const Tensor& t : outputs.tensors) {
      if (count == batch) {
        used.tensors.push_back(t);
      } else {
        Shape s = t.shape();
        s[0] = count;
        used.tensors.push_back(Tensor::view(t.dtype(), s, const_cast<void*>(t.raw())).clone());
      }
    }
    for (const auto& m : metrics) m->update(used, annotations);
    if (options.on_sample) {
      for (int64_t k = 0; k < count; ++k) {
        ModelOutputs one;
        one.names = outputs.names;
        for (const Tensor& t : outputs.tensors) one.tensors.push_back(slice_sample(t, k, batch));
        options.on_sample(begin + k, samples[k], one);
      }
    }
    samples.clear();
    progress->advance(begin + count);
  }
  progress->end();
  result.samples = n;
  for (const auto& m : metrics) result.metrics[m->name()] = m->avg_value();
  result.seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  return result;
}

}  // namespace qwac::accuracy
