#include "accuracy/validator.h"

#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstring>
#include <limits>
#include <mutex>
#include <numeric>

#include "accuracy/checkpoint.h"
#include "accuracy/metric_traits.h"
#include "metrics/reference_distance.h"
#include "qwac/error.h"
#include "runtime/engine.h"
#include "runtime/evaluation.h"
#include "runtime/reference_outputs.h"

namespace qwac::accuracy {
namespace {

using Clock = std::chrono::steady_clock;
constexpr double kNotEvaluated = std::numeric_limits<double>::quiet_NaN();
// Decoded subset samples are kept (the ranking evaluates the same subset many times) up to this many bytes.
constexpr size_t kSubsetCacheBytes = size_t{64} << 20;

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

// The model handed to a validation function: an engine compiled for the batch shapes it is called with.
class EngineCompiledModel final : public CompiledModel {
 public:
  EngineCompiledModel(const ir::Model& model, const RunOptions& options, std::vector<int64_t>* top1)
      : model_(model), options_(options), top1_(top1) {}

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
    if (top1_ != nullptr && !out.tensors.empty() && out.tensors.front().rank() > 0) {
      const Tensor& first = out.tensors.front();
      const int64_t batch = first.shape()[0];
      const int64_t per = batch > 0 ? first.numel() / batch : 0;
      for (int64_t b = 0; b < batch && first.dtype() == DType::kFloat32; ++b) {
        const float* p = first.data<float>() + b * per;
        top1_->push_back(std::max_element(p, p + per) - p);
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
  std::vector<int64_t>* top1_;
  std::unique_ptr<runtime::Engine> engine_;
  std::map<std::string, Shape> shapes_;
};

// Per-sample facts of the first output (samples along dim 0): arg-max, decision margin (largest minus second
// largest value) and NMSE to the reference batch; each only when its vector is given.
struct OutputFacts {
  std::vector<int64_t>* top1 = nullptr;
  std::vector<double>* agreement = nullptr;
  const std::vector<int64_t>* classes = nullptr;  // by position, for `agreement`
  std::vector<double>* margin = nullptr;
  std::vector<double>* distance = nullptr;
  const Tensor* reference = nullptr;
};

void first_output_facts(const ModelOutputs& out, int64_t first, const OutputFacts& f) {
  if (out.tensors.empty()) return;
  const Tensor& t = out.tensors.front();
  if (t.dtype() != DType::kFloat32 || t.rank() == 0) return;
  const int64_t n = t.shape()[0];
  const int64_t per = n > 0 ? t.numel() / n : 0;
  for (int64_t k = 0; k < n; ++k) {
    const float* p = t.data<float>() + k * per;
    const auto at = static_cast<size_t>(first + k);
    if (f.top1 != nullptr) (*f.top1)[at] = std::max_element(p, p + per) - p;
    if (f.margin != nullptr) {
      float a = -std::numeric_limits<float>::infinity(), b = a;
      for (int64_t j = 0; j < per; ++j) {
        if (p[j] > a) {
          b = a;
          a = p[j];
        } else if (p[j] > b) {
          b = p[j];
        }
      }
      (*f.margin)[at] = per > 1 ? static_cast<double>(a) - static_cast<double>(b) : 0.0;
    }
    if (f.agreement != nullptr && f.classes != nullptr) {
      const int64_t c = (*f.classes)[at];
      if (c >= 0 && c < per) {
        float other = -std::numeric_limits<float>::infinity();
        for (int64_t j = 0; j < per; ++j) {
          if (j != c) other = std::max(other, p[j]);
        }
        (*f.agreement)[at] = per > 1 ? static_cast<double>(p[c]) - static_cast<double>(other) : 0.0;
      }
    }
    if (f.distance != nullptr && f.reference != nullptr && f.reference->numel() == t.numel()) {
      (*f.distance)[at] = metrics::nmse(f.reference->data<float>() + k * per, p, per);
    }
  }
}

double mean_of(const std::vector<double>& v) {
  return v.empty() ? 0.0 : std::accumulate(v.begin(), v.end(), 0.0) / static_cast<double>(v.size());
}

}  // namespace

DatasetPtr relabel(DatasetPtr base, std::vector<int64_t> labels) {
  return std::make_shared<RelabeledDataset>(std::move(base), std::move(labels));
}

Validator::Validator(DatasetPtr validation, std::vector<MetricPtr> metrics, RunOptions options, int streams)
    : validation_(std::move(validation)),
      metrics_(std::move(metrics)),
      options_(std::move(options)),
      streams_(streams),
      pool_(std::make_unique<runtime::StreamPool>()) {
  if (metrics_.empty()) throw InvalidConfig("accuracy control needs at least one metric (engine.metrics)");
}

Validator::Validator(DatasetPtr validation, ValidationFunction fn, RunOptions options)
    : validation_(std::move(validation)),
      fn_(std::move(fn)),
      options_(std::move(options)),
      streams_(0),
      pool_(std::make_unique<runtime::StreamPool>()) {
  if (!fn_.fn) throw InvalidArgument("the validation function is empty");
  metrics_ = {std::make_shared<FunctionMetricInfo>(fn_.name, fn_.higher_better)};
}

Validator::~Validator() = default;

void Validator::set_dataset(DatasetPtr d) {
  validation_ = std::move(d);
  cached_subset_.reset();
  cached_indices_.clear();
}

bool Validator::metrics_are_means() const {
  if (fn_.fn) return false;
  return std::all_of(metrics_.begin(), metrics_.end(),
                     [](const MetricPtr& m) { return metric_traits(*m).mean_of_samples; });
}

double Validator::seconds() const {
  double s = 0;
  for (const auto& [phase, c] : costs_) s += c.seconds;
  return s;
}

nlohmann::json Validator::costs_json() const {
  nlohmann::json j = nlohmann::json::object();
  for (const auto& [phase, c] : costs_) {
    j[phase] = {{"runs", c.runs},
                {"model_samples", c.model_samples},
                {"seconds", c.seconds},
                {"compile_seconds", c.compile_seconds}};
  }
  j["kernel_cache"] = {{"hits", pool_->kernel_cache_hits()}, {"misses", pool_->kernel_cache_misses()}};
  return j;
}

runtime::PassOptions Validator::pass_options(const std::string& phase, bool show_progress) const {
  runtime::PassOptions o;
  o.batch_size = options_.batch_size;
  o.engine_threads = options_.threads;
  o.streams = streams_;
  o.use_dnnl = options_.use_dnnl;
  o.int8 = options_.int8;
  o.logger = options_.logger;
  if (show_progress) o.progress = options_.progress;
  o.phase = phase;
  o.pool = pool_.get();
  return o;
}

void Validator::account(const std::string& phase, const runtime::PassResult& r, int64_t models) {
  RunCost& c = costs_[phase];
  ++c.runs;
  c.model_samples += r.samples * models;
  c.seconds += r.seconds;
  c.compile_seconds += r.compile_seconds;
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

ValidationResult Validator::run_function(const ir::Model& model, const Dataset& data, bool top1) {
  const auto t0 = Clock::now();
  ValidationResult r;
  EngineCompiledModel compiled(model, options_, top1 ? &r.top1 : nullptr);
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
  if (top1 && static_cast<int64_t>(r.top1.size()) != data.size()) r.top1.clear();  // not one call per sample
  r.values = {v.value};
  r.per_sample = {std::move(v.per_sample)};
  r.samples = data.size();
  r.seconds = std::chrono::duration<double>(Clock::now() - t0).count();
  return r;
}

ValidationResult Validator::full(const ir::Model& model, const ValidateOptions& o) {
  ++full_validations_;
  if (checkpoint_ && !o.key.empty()) {
    if (std::optional<ValidationResult> r = checkpoint_->find(o.key)) return *r;
  }
  const auto t0 = Clock::now();
  const int64_t n = validation_->size();
  ValidationResult r;
  if (fn_.fn) {
    r = run_function(model, *validation_, o.top1);
    RunCost& c = costs_[o.what];
    ++c.runs;
    c.model_samples += n;
    c.seconds += r.seconds;
    if (o.distance && reference_ != nullptr) {
      // The function computes the metric; the distances come from a pass of our own.
      ValidationResult d = subset(model, {}, true, "distance");
      r.distance = std::move(d.distance);
    }
  } else {
    std::vector<int64_t> order = o.order;
    if (order.empty()) {
      order.resize(static_cast<size_t>(n));
      std::iota(order.begin(), order.end(), 0);
    }
    if (static_cast<int64_t>(order.size()) != n) throw InternalError("validation order is not a permutation");
    const bool in_order = std::is_sorted(order.begin(), order.end());
    const DatasetPtr data = in_order ? validation_ : make_subset(validation_, order);
    const bool with_reference = o.distance && reference_ != nullptr;
    std::vector<runtime::PassModel> models;
    if (with_reference) models.push_back({reference_, -1});
    models.push_back({&model, -1});
    const size_t target = models.size() - 1;
    std::vector<double> distance_in_order(with_reference ? static_cast<size_t>(n) : 0, kNotEvaluated);
    std::vector<int64_t> top1_in_order(o.top1 ? static_cast<size_t>(n) : 0, -1);
    std::vector<double> margin_in_order(o.margin ? static_cast<size_t>(n) : 0, kNotEvaluated);
    Tensor reference_batch;
    for (const MetricPtr& m : metrics_) m->reset();
    int64_t evaluated = 0;
    const runtime::PassResult pr =
        runtime::run_models(models, *data, pass_options(o.what, true), [&](const runtime::PassBatch& b) {
          if (b.model != target) {
            reference_batch = b.outputs->tensors.empty() ? Tensor() : b.outputs->tensors.front();
            return true;
          }
          for (const MetricPtr& m : metrics_) m->update(*b.outputs, *b.annotations, *b.samples);
          OutputFacts facts;
          facts.top1 = o.top1 ? &top1_in_order : nullptr;
          facts.margin = o.margin ? &margin_in_order : nullptr;
          facts.distance = with_reference ? &distance_in_order : nullptr;
          facts.reference = with_reference ? &reference_batch : nullptr;
          first_output_facts(*b.outputs, b.first, facts);
          evaluated = b.first + static_cast<int64_t>(b.annotations->size());
          if (!o.decided || evaluated >= n) return true;
          std::vector<std::vector<double>> so_far(metrics_.size());
          for (size_t k = 0; k < metrics_.size(); ++k) {
            const std::vector<double> got = metrics_[k]->per_sample_values();
            if (got.empty()) continue;
            so_far[k].assign(static_cast<size_t>(n), kNotEvaluated);
            for (size_t j = 0; j < got.size(); ++j) so_far[k][static_cast<size_t>(order[j])] = got[j];
          }
          return !o.decided(so_far, evaluated);
        });
    account(o.what, pr, 1);
    r.samples = evaluated;
    r.stopped = pr.stopped;
    for (const MetricPtr& m : metrics_) {
      if (!r.stopped) r.values.push_back(m->avg_value());
      const std::vector<double> got = m->per_sample_values();
      std::vector<double> ps;
      if (!got.empty()) {
        ps.assign(static_cast<size_t>(n), kNotEvaluated);
        for (size_t j = 0; j < got.size(); ++j) ps[static_cast<size_t>(order[j])] = got[j];
      }
      r.per_sample.push_back(std::move(ps));
    }
    if (with_reference) {
      r.distance.assign(static_cast<size_t>(n), kNotEvaluated);
      for (size_t j = 0; j < order.size(); ++j) r.distance[static_cast<size_t>(order[j])] = distance_in_order[j];
    }
    if (o.top1) {
      r.top1.assign(static_cast<size_t>(n), -1);
      for (size_t j = 0; j < order.size(); ++j) r.top1[static_cast<size_t>(order[j])] = top1_in_order[j];
    }
    if (o.margin) {
      r.margin.assign(static_cast<size_t>(n), kNotEvaluated);
      for (size_t j = 0; j < order.size(); ++j) r.margin[static_cast<size_t>(order[j])] = margin_in_order[j];
    }
    r.seconds = std::chrono::duration<double>(Clock::now() - t0).count();
  }
  if (checkpoint_ && !o.key.empty()) checkpoint_->store(o.key, r);
  return r;
}

std::vector<ValidationResult> Validator::full_together(const std::vector<const ir::Model*>& models,
                                                       const std::vector<ValidateOptions>& options) {
  std::vector<ValidationResult> results(models.size());
  if (!metrics_are_means() || models.size() < 2) {
    for (size_t i = 0; i < models.size(); ++i) results[i] = full(*models[i], options.at(i));
    return results;
  }
  const auto t0 = Clock::now();
  const int64_t n = validation_->size();
  std::vector<size_t> todo;
  for (size_t i = 0; i < models.size(); ++i) {
    ++full_validations_;
    std::optional<ValidationResult> r;
    if (checkpoint_ && !options[i].key.empty()) r = checkpoint_->find(options[i].key);
    if (r) {
      results[i] = std::move(*r);
    } else {
      todo.push_back(i);
    }
  }
  if (todo.empty()) return results;
  const bool want_distance =
      reference_ != nullptr && std::any_of(todo.begin(), todo.end(), [&](size_t i) { return options[i].distance; });
  // The reference runs first in every batch: one of the validated models when it is among them, else an extra one.
  const auto self = std::find_if(todo.begin(), todo.end(), [&](size_t i) { return models[i] == reference_; });
  if (self != todo.end()) std::rotate(todo.begin(), self, self + 1);
  const bool with_reference = want_distance && self == todo.end();
  std::vector<runtime::PassModel> pass;
  if (with_reference) pass.push_back({reference_, -1});
  const size_t offset = pass.size();
  for (size_t i : todo) pass.push_back({models[i], -1});
  const bool reference_is_first = want_distance && models[todo.front()] == reference_;
  for (size_t i : todo) {
    ValidationResult& r = results[i];
    r.per_sample.assign(metrics_.size(), {});
    if (options[i].distance && want_distance) r.distance.assign(static_cast<size_t>(n), kNotEvaluated);
    if (options[i].top1) r.top1.assign(static_cast<size_t>(n), -1);
    if (options[i].margin) r.margin.assign(static_cast<size_t>(n), kNotEvaluated);
  }
  Tensor reference_batch;
  std::string what = options.at(todo.front()).what;
  const runtime::PassResult pr =
      runtime::run_models(pass, *validation_, pass_options(what, true), [&](const runtime::PassBatch& b) {
        if (b.model < offset) {
          reference_batch = b.outputs->tensors.empty() ? Tensor() : b.outputs->tensors.front();
          return true;
        }
        if (b.model == offset && reference_is_first) {
          reference_batch = b.outputs->tensors.empty() ? Tensor() : b.outputs->tensors.front();
        }
        const size_t i = todo[b.model - offset];
        ValidationResult& r = results[i];
        // One metric object serves every model: reset per batch, and the per-sample values are the batch's.
        for (size_t k = 0; k < metrics_.size(); ++k) {
          metrics_[k]->reset();
          metrics_[k]->update(*b.outputs, *b.annotations, *b.samples);
          const std::vector<double> got = metrics_[k]->per_sample_values();
          r.per_sample[k].insert(r.per_sample[k].end(), got.begin(), got.end());
        }
        OutputFacts facts;
        facts.top1 = r.top1.empty() ? nullptr : &r.top1;
        facts.margin = r.margin.empty() ? nullptr : &r.margin;
        facts.distance = r.distance.empty() ? nullptr : &r.distance;
        facts.reference = &reference_batch;
        first_output_facts(*b.outputs, b.first, facts);
        return true;
      });
  account(what, pr, static_cast<int64_t>(todo.size()));
  const double seconds = std::chrono::duration<double>(Clock::now() - t0).count();
  for (size_t i : todo) {
    ValidationResult& r = results[i];
    for (size_t k = 0; k < metrics_.size(); ++k) {
      if (static_cast<int64_t>(r.per_sample[k].size()) != n) {
        throw InternalError("metric '" + metrics_[k]->name() + "' gave " + std::to_string(r.per_sample[k].size()) +
                            " per-sample values for " + std::to_string(n) + " samples");
      }
      r.values.push_back(mean_of(r.per_sample[k]));
    }
    r.samples = n;
    r.seconds = seconds;
    if (checkpoint_ && !options[i].key.empty()) checkpoint_->store(options[i].key, r);
  }
  return results;
}

const Dataset& Validator::subset_dataset(const std::vector<int64_t>& indices) {
  if (!cached_subset_ || cached_indices_ != indices) {
    cached_indices_ = indices;
    DatasetPtr plain = indices.empty() ? validation_ : make_subset(validation_, indices);
    // Keep the decoded samples when they are small (one sample tells the size).
    const Sample one = plain->get(0);
    size_t bytes = 0;
    for (const auto& [name, t] : one.inputs) bytes += t.nbytes();
    const bool small = bytes * static_cast<size_t>(plain->size()) <= kSubsetCacheBytes;
    cached_subset_ = small ? std::make_shared<CachedDataset>(plain) : plain;
  }
  return *cached_subset_;
}

std::vector<ValidationResult> Validator::subsets(const ir::Model& base, const std::vector<const ir::Model*>& variants,
                                                 const std::vector<int64_t>& indices, bool distance,
                                                 const std::string& phase, const std::vector<int64_t>* classes) {
  std::vector<ValidationResult> results(variants.size());
  if (variants.empty()) return results;
  const auto t0 = Clock::now();
  const Dataset& data = subset_dataset(indices);
  const int64_t n = data.size();
  subset_validations_ += static_cast<int64_t>(variants.size());
  const bool with_reference = distance && reference_ != nullptr;
  if (fn_.fn) {
    // A validation function runs models itself: each variant whole, on the subset.
    for (size_t v = 0; v < variants.size(); ++v) {
      results[v] = run_function(*variants[v], data, false);
      RunCost& c = costs_[phase];
      ++c.runs;
      c.model_samples += n;
      c.seconds += results[v].seconds;
    }
    if (!with_reference && classes == nullptr) return results;
  }
  // Variants identical to the base (the base itself, scored) run whole, once, as the base.
  std::vector<runtime::PassModel> pass;
  if (with_reference) pass.push_back({reference_, -1});
  const int base_index = static_cast<int>(pass.size());
  pass.push_back({&base, -1});
  std::vector<size_t> slot(variants.size());  // pass index of each variant
  for (size_t v = 0; v < variants.size(); ++v) {
    if (variants[v] == &base) {
      slot[v] = static_cast<size_t>(base_index);
    } else {
      slot[v] = pass.size();
      pass.push_back({variants[v], base_index});
    }
  }
  std::vector<std::vector<size_t>> users(pass.size());  // variants served by each pass model
  for (size_t v = 0; v < variants.size(); ++v) users[slot[v]].push_back(v);
  std::vector<int64_t> classes_by_position;
  if (classes != nullptr) {
    for (int64_t k = 0; k < n; ++k) {
      const int64_t i = indices.empty() ? k : indices[static_cast<size_t>(k)];
      classes_by_position.push_back(classes->at(static_cast<size_t>(i)));
    }
  }
  for (ValidationResult& r : results) {
    if (!fn_.fn) r.per_sample.assign(metrics_.size(), {});
    if (with_reference) r.distance.assign(static_cast<size_t>(n), kNotEvaluated);
    if (classes != nullptr) r.agreement.assign(static_cast<size_t>(n), kNotEvaluated);
    r.samples = n;
  }
  Tensor reference_batch;
  const runtime::PassResult pr =
      runtime::run_models(pass, data, pass_options(phase, false), [&](const runtime::PassBatch& b) {
        if (with_reference && b.model == 0) {
          reference_batch = b.outputs->tensors.empty() ? Tensor() : b.outputs->tensors.front();
          return true;
        }
        if (users[b.model].empty()) return true;
        std::vector<std::vector<double>> got(metrics_.size());
        if (!fn_.fn) {
          for (size_t k = 0; k < metrics_.size(); ++k) {
            metrics_[k]->reset();
            metrics_[k]->update(*b.outputs, *b.annotations, *b.samples);
            got[k] = metrics_[k]->per_sample_values();
          }
        }
        for (size_t v : users[b.model]) {
          ValidationResult& r = results[v];
          for (size_t k = 0; k < got.size(); ++k) r.per_sample[k].insert(r.per_sample[k].end(), got[k].begin(), got[k].end());
          if (with_reference || classes != nullptr) {
            OutputFacts facts;
            facts.distance = with_reference ? &r.distance : nullptr;
            facts.reference = &reference_batch;
            facts.agreement = classes != nullptr ? &r.agreement : nullptr;
            facts.classes = &classes_by_position;
            first_output_facts(*b.outputs, b.first, facts);
          }
        }
        return true;
      });
  account(phase, pr, static_cast<int64_t>(pass.size()) - base_index);
  const double seconds = std::chrono::duration<double>(Clock::now() - t0).count();
  for (ValidationResult& r : results) {
    if (!fn_.fn) {
      r.values.clear();
      for (size_t k = 0; k < metrics_.size(); ++k) {
        r.values.push_back(r.per_sample[k].empty() ? kNotEvaluated : mean_of(r.per_sample[k]));
      }
    }
    r.seconds = seconds;
  }
  return results;
}

ValidationResult Validator::subset(const ir::Model& model, const std::vector<int64_t>& indices, bool distance,
                                   const std::string& phase) {
  return std::move(subsets(model, {&model}, indices, distance, phase).front());
}

}  // namespace qwac::accuracy
