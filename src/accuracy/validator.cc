#include "accuracy/validator.h"

#include <algorithm>
#include <mutex>

#include "accuracy/checkpoint.h"
#include "qwac/error.h"
#include "runtime/evaluation.h"

namespace qwac::accuracy {
namespace {

class RelabeledDataset final : public Dataset {
 public:
  RelabeledDataset(DatasetPtr base, std::vector<int64_t> labels) : base_(std::move(base)), labels_(std::move(labels)) {}
  int64_t size() const override { return base_->size(); }
  Sample get(int64_t index) const override {
    Sample s = base_->get(index);
    s.annotation.label = labels_.at(static_cast<size_t>(index));
    return s;
  }
  std::string describe() const override { return base_->describe() + " (labels = FP32 predictions)"; }

 private:
  DatasetPtr base_;
  std::vector<int64_t> labels_;
};

// Samples kept after their first decode (thread-safe: loader threads call get() concurrently).
class CachedDataset final : public Dataset {
 public:
  explicit CachedDataset(DatasetPtr base) : base_(std::move(base)), samples_(static_cast<size_t>(base_->size())) {}
  int64_t size() const override { return base_->size(); }
  Sample get(int64_t index) const override {
    {
      std::lock_guard<std::mutex> lock(mutex_);
      if (samples_.at(static_cast<size_t>(index))) return *samples_[static_cast<size_t>(index)];
    }
    auto s = std::make_shared<Sample>(base_->get(index));
    std::lock_guard<std::mutex> lock(mutex_);
    samples_[static_cast<size_t>(index)] = s;
    return *s;
  }
  std::string describe() const override { return base_->describe(); }

 private:
  DatasetPtr base_;
  mutable std::mutex mutex_;
  mutable std::vector<std::shared_ptr<Sample>> samples_;
};

int64_t arg_max(const Tensor& t) {
  if (t.dtype() != DType::kFloat32 || t.numel() == 0) return -1;
  const float* p = t.data<float>();
  return std::max_element(p, p + t.numel()) - p;
}

}  // namespace

DatasetPtr relabel(DatasetPtr base, std::vector<int64_t> labels) {
  return std::make_shared<RelabeledDataset>(std::move(base), std::move(labels));
}

Validator::Validator(DatasetPtr validation, std::vector<MetricPtr> metrics, RunOptions options, int streams)
    : validation_(std::move(validation)), metrics_(std::move(metrics)), options_(std::move(options)), streams_(streams) {
  if (metrics_.empty()) throw InvalidConfig("accuracy control needs at least one metric (engine.metrics)");
}

ValidationResult Validator::run(const ir::Model& model, const Dataset& data, bool keep_outputs) {
  runtime::EvaluationOptions eo;
  eo.batch_size = options_.batch_size;
  eo.engine_threads = options_.threads;
  eo.streams = streams_;
  eo.use_dnnl = options_.use_dnnl;
  eo.logger = options_.logger;
  eo.progress = options_.progress;
  eo.phase = "validate";
  ValidationResult r;
  if (keep_outputs) {
    eo.on_sample = [&](int64_t, const Sample&, const ModelOutputs& out) {
      r.outputs.push_back(out.tensors.front());
      r.top1.push_back(arg_max(out.tensors.front()));
    };
  }
  const runtime::EvaluationResult e = runtime::evaluate(model, data, metrics_, eo);
  for (const MetricPtr& m : metrics_) {
    r.values.push_back(m->avg_value());
    r.per_sample.push_back(m->per_sample_values());
  }
  r.samples = e.samples;
  r.seconds = e.seconds;
  seconds_ += e.seconds;
  return r;
}

ValidationResult Validator::recorded(const std::string& key, bool keep_outputs,
                                     const std::function<ValidationResult()>& run_it) {
  if (!checkpoint_ || key.empty() || keep_outputs) return run_it();
  if (std::optional<ValidationResult> r = checkpoint_->find(key)) return *r;
  ValidationResult r = run_it();
  checkpoint_->store(key, r);
  return r;
}

ValidationResult Validator::full(const ir::Model& model, bool keep_outputs, const std::string& key) {
  ++full_validations_;
  return recorded(key, keep_outputs, [&] { return run(model, *validation_, keep_outputs); });
}

ValidationResult Validator::subset(const ir::Model& model, const std::vector<int64_t>& indices, bool keep_outputs,
                                   const std::string& key) {
  ++subset_validations_;
  std::string subset_key;
  if (!key.empty()) {
    // The subset is part of what is validated: its samples' indices, hashed (FNV-1a) to keep keys short.
    uint64_t h = 1469598103934665603ull;
    for (int64_t i : indices) h = (h ^ static_cast<uint64_t>(i)) * 1099511628211ull;
    subset_key = key + "@" + std::to_string(indices.size()) + ":" + std::to_string(h);
  }
  if (!cached_subset_ || cached_indices_ != indices) {
    cached_indices_ = indices;
    cached_subset_ = std::make_shared<CachedDataset>(make_subset(validation_, indices));
  }
  return recorded(subset_key, keep_outputs, [&] { return run(model, *cached_subset_, keep_outputs); });
}

}  // namespace qwac::accuracy
