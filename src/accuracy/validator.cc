#include "accuracy/validator.h"

#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstring>
#include <mutex>

#include "accuracy/checkpoint.h"
#include "accuracy/downstream_evaluation.h"
#include "qwac/error.h"
#include "runtime/engine.h"
#include "runtime/evaluation.h"
#include "runtime/reference_outputs.h"

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
  int64_t source_index(int64_t index) const override { return base_->source_index(index); }

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
  int64_t source_index(int64_t index) const override { return base_->source_index(index); }

 private:
  DatasetPtr base_;
  mutable std::mutex mutex_;
  mutable std::vector<std::shared_ptr<Sample>> samples_;
};

// What metrics() reports for a validation function: a name and a direction; the values come from the function.
class FunctionMetricInfo final : public Metric {
 public:
  FunctionMetricInfo(std::string name, bool higher_better) : name_(std::move(name)), higher_better_(higher_better) {}
  std::string name() const override { return name_; }
  bool higher_better() const override { return higher_better_; }
  void update(const ModelOutputs&, const std::vector<Annotation>&) override { unused(); }
  double value() const override { unused(); }
  double avg_value() const override { unused(); }
  void reset() override {}

 private:
  [[noreturn]] static void unused() {
    throw InternalError("a validation function's metric is computed by the function, not updated by batches");
  }
  std::string name_;
  bool higher_better_;
};

std::vector<IoSpec> public_specs(const std::vector<runtime::IoSpec>& specs) {
  std::vector<IoSpec> out;
  for (const runtime::IoSpec& s : specs) out.push_back({s.name, s.dtype, s.shape});
  return out;
}

// Before the first infer(): the declared types, unknown dims as -1 (a symbolic batch as 1).
std::vector<IoSpec> declared_specs(const std::vector<ir::Value*>& values) {
  std::vector<IoSpec> out;
  for (const ir::Value* v : values) {
    IoSpec s{v->name(), v->type.dtype, {}};
    if (v->type.shape) {
      for (size_t i = 0; i < v->type.shape->size(); ++i) {
        const int64_t d = (*v->type.shape)[i].size;
        s.shape.push_back(d >= 0 ? d : (i == 0 ? 1 : -1));
      }
    }
    out.push_back(std::move(s));
  }
  return out;
}

// The model handed to a validation function: an engine compiled for the batch shapes it is called with; with
// `outputs` set, the first output of every sample is recorded in call order (for NMSE ranking).
class EngineCompiledModel final : public CompiledModel {
 public:
  EngineCompiledModel(const ir::Model& model, const RunOptions& options, std::vector<Tensor>* outputs)
      : model_(model), options_(options), outputs_(outputs) {}

  ModelOutputs infer(const std::map<std::string, Tensor>& inputs) override {
    std::map<std::string, Shape> shapes;
    for (const auto& [name, t] : inputs) shapes[name] = t.shape();
    if (!engine_) {
      runtime::EngineOptions eo;
      eo.num_threads = options_.threads;
      eo.use_dnnl = options_.use_dnnl;
      eo.int8 = options_.int8;
      eo.logger = options_.logger;
      engine_ = std::make_unique<runtime::Engine>(model_, eo, shapes);
      shapes_ = shapes;
    } else if (shapes != shapes_) {
      engine_->reshape(shapes);
      shapes_ = shapes;
    }
    ModelOutputs out;
    for (const auto& spec : engine_->outputs()) out.names.push_back(spec.name);
    out.tensors = engine_->run(inputs);
    if (outputs_ != nullptr && !out.tensors.empty() && out.tensors.front().rank() > 0) {
      const Tensor& first = out.tensors.front();
      const int64_t batch = first.shape()[0];
      Shape one = first.shape();
      one[0] = 1;
      const int64_t per = batch > 0 ? first.numel() / batch : 0;
      for (int64_t b = 0; b < batch; ++b) {
        Tensor t(first.dtype(), one);
        std::memcpy(t.raw(), static_cast<const std::byte*>(first.raw()) + b * per * dtype_size(first.dtype()),
                    static_cast<size_t>(per) * dtype_size(first.dtype()));
        outputs_->push_back(std::move(t));
      }
    }
    return out;
  }
  std::vector<IoSpec> inputs() const override {
    return engine_ ? public_specs(engine_->inputs()) : declared_specs(model_.graph->inputs());
  }
  std::vector<IoSpec> outputs() const override {
    return engine_ ? public_specs(engine_->outputs()) : declared_specs(model_.graph->outputs());
  }

 private:
  const ir::Model& model_;
  const RunOptions& options_;
  std::vector<Tensor>* outputs_;
  std::unique_ptr<runtime::Engine> engine_;
  std::map<std::string, Shape> shapes_;
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
    : validation_(std::move(validation)),
      metrics_(std::move(metrics)),
      options_(std::move(options)),
      streams_(streams) {
  if (metrics_.empty()) throw InvalidConfig("accuracy control needs at least one metric (engine.metrics)");
}

Validator::Validator(DatasetPtr validation, ValidationFunction fn, RunOptions options)
    : validation_(std::move(validation)), fn_(std::move(fn)), options_(std::move(options)), streams_(0) {
  if (!fn_.fn) throw InvalidArgument("the validation function is empty");
  metrics_ = {std::make_shared<FunctionMetricInfo>(fn_.name, fn_.higher_better)};
}

void Validator::attach_reference_outputs(const ir::Model& fp32) {
  if (fn_.fn || !runtime::needs_reference_outputs(metrics_)) return;
  runtime::EvaluationOptions eo;
  eo.batch_size = options_.batch_size;
  eo.threads = options_.threads;
  eo.streams = streams_;
  eo.use_dnnl = options_.use_dnnl;
  eo.logger = options_.logger;
  eo.progress = options_.progress;
  set_dataset(runtime::with_reference_outputs(validation_, fp32, eo));
}

ValidationResult Validator::run_function(const ir::Model& model, const Dataset& data, bool keep_outputs) {
  const auto t0 = std::chrono::steady_clock::now();
  ValidationResult r;
  EngineCompiledModel compiled(model, options_, keep_outputs ? &r.outputs : nullptr);
  ValidationOutput v = fn_.fn(compiled, data);
  if (!std::isfinite(v.value)) {
    throw DataError("validation function '" + fn_.name + "' returned " + std::to_string(v.value) + " on " +
                    data.describe() + "; it must return a finite metric");
  }
  if (!v.per_sample.empty() && static_cast<int64_t>(v.per_sample.size()) != data.size()) {
    throw InvalidArgument("validation function '" + fn_.name + "' returned " + std::to_string(v.per_sample.size()) +
                          " per-sample values for " + std::to_string(data.size()) +
                          " samples; return one per sample of the dataset it was given, in order, or none");
  }
  if (keep_outputs && static_cast<int64_t>(r.outputs.size()) != data.size()) {
    r.outputs.clear();  // the function did not run every sample once, in order: no output-based ranking
  }
  for (const Tensor& t : r.outputs) r.top1.push_back(arg_max(t));
  r.values = {v.value};
  r.per_sample = {std::move(v.per_sample)};
  r.samples = data.size();
  r.seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  seconds_ += r.seconds;
  return r;
}

ValidationResult Validator::run(const ir::Model& model, const Dataset& data, bool keep_outputs) {
  if (fn_.fn) return run_function(model, data, keep_outputs);
  runtime::EvaluationOptions eo;
  eo.batch_size = options_.batch_size;
  eo.threads = options_.threads;
  eo.streams = streams_;
  eo.use_dnnl = options_.use_dnnl;
  eo.int8 = options_.int8;
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

namespace {

// The subset is part of what is validated: its samples' indices, hashed (FNV-1a) to keep keys short.
std::string subset_key(const std::string& key, const std::vector<int64_t>& indices) {
  if (key.empty()) return key;
  uint64_t h = 1469598103934665603ull;
  for (int64_t i : indices) h = (h ^ static_cast<uint64_t>(i)) * 1099511628211ull;
  return key + "@" + std::to_string(indices.size()) + ":" + std::to_string(h);
}

}  // namespace

const Dataset& Validator::subset_dataset(const std::vector<int64_t>& indices) {
  if (!cached_subset_ || cached_indices_ != indices) {
    cached_indices_ = indices;
    cached_subset_ = std::make_shared<CachedDataset>(make_subset(validation_, indices));
  }
  return *cached_subset_;
}

ValidationResult Validator::subset(const ir::Model& model, const std::vector<int64_t>& indices, bool keep_outputs,
                                   const std::string& key) {
  ++subset_validations_;
  const Dataset& data = subset_dataset(indices);
  return recorded(subset_key(key, indices), keep_outputs, [&] { return run(model, data, keep_outputs); });
}

std::vector<ValidationResult> Validator::subsets(const ir::Model& base, const std::vector<const ir::Model*>& variants,
                                                 const std::vector<int64_t>& indices, bool keep_outputs,
                                                 const std::vector<std::string>& keys) {
  std::vector<ValidationResult> results(variants.size());
  std::vector<size_t> pending;
  for (size_t i = 0; i < variants.size(); ++i) {
    const std::string k = i < keys.size() ? subset_key(keys[i], indices) : std::string();
    std::optional<ValidationResult> r;
    if (checkpoint_ && !k.empty() && !keep_outputs) r = checkpoint_->find(k);
    if (r) {
      results[i] = *r;
      ++subset_validations_;
    } else {
      pending.push_back(i);
    }
  }
  if (pending.empty()) return results;
  const Dataset& data = subset_dataset(indices);
  if (fn_.fn || pending.size() == 1) {
    // A validation function runs models itself; a single variant gains nothing from the split.
    for (size_t i : pending) results[i] = subset(*variants[i], indices, keep_outputs, i < keys.size() ? keys[i] : "");
    return results;
  }
  const auto t0 = std::chrono::steady_clock::now();
  std::vector<const ir::Model*> todo;
  for (size_t i : pending) todo.push_back(variants[i]);
  std::vector<ValidationResult> computed =
      evaluate_variants(base, todo, data, metrics_, options_, keep_outputs,
                        [&](const ir::Model& m) { return run(m, data, keep_outputs); });
  seconds_ += std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  for (size_t j = 0; j < pending.size(); ++j) {
    const size_t i = pending[j];
    results[i] = std::move(computed[j]);
    ++subset_validations_;
    const std::string k = i < keys.size() ? subset_key(keys[i], indices) : std::string();
    if (checkpoint_ && !k.empty() && !keep_outputs) checkpoint_->store(k, results[i]);
  }
  return results;
}

}  // namespace qwac::accuracy
