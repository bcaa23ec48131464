// Runs models over the validation set (or a subset of it) and returns every metric's value and per-sample values;
// counts full validations (the cost the accuracy search minimizes and reports) and times every kind of run.
//
// All runs go through runtime::run_models (runtime/model_pass.h): batches on both streams, kernels of the search's
// candidates shared per stream (only the nodes a candidate changed are compiled), several models per pass where the
// metrics allow it (metric_traits.h), variants re-running only their changed part, and nothing kept per sample but
// scalars (per-sample metric values, the distance of the first output to FP32's): memory does not grow with the
// output size.
//
// A full validation can process its samples in a chosen order and stop as soon as its outcome is decided (the
// caller's `decided` predicate); the result then has no values, only the per-sample values evaluated.
#pragma once

#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "ir/graph.h"
#include "accuracy/accuracy_control.h"
#include "qwac/dataset.h"
#include "qwac/metric.h"
#include "quant/quantize.h"
#include "runtime/model_pass.h"

namespace qwac::accuracy {

struct ValidationResult {
  std::vector<double> values;                   // per metric (validator order); empty when `stopped`
  std::vector<std::vector<double>> per_sample;  // per metric, one per sample validated (NaN where not evaluated);
                                                // empty for a metric without per-sample values
  std::vector<double> distance;                 // per sample: NMSE of the first output to FP32's, when asked
  std::vector<int64_t> top1;                    // arg-max of the first output per sample, when asked
  // Per sample, when asked: the gap between the two largest values of the first output (a classifier's decision
  // margin: the samples that change class when the model changes a little have small ones).
  std::vector<double> margin;
  // Per sample, when reference classes are given (subsets): the first output's value at the sample's reference
  // class (FP32's arg-max) minus the largest other value — positive when the model agrees with FP32's decision.
  std::vector<double> agreement;
  int64_t samples = 0;                          // samples evaluated
  bool stopped = false;                         // the outcome was decided before the last sample
  double seconds = 0;
};

struct ValidateOptions {
  std::string key;        // names what is validated: a checkpoint answers a key it recorded
  bool distance = false;  // per-sample NMSE of the first output to the FP32 model's (set_reference)
  bool top1 = false;
  bool margin = false;
  std::vector<int64_t> order;  // processing order, a permutation of the samples; empty = dataset order
  // After every batch: the per-sample values so far (dataset order, NaN = not yet) and how many were evaluated;
  // true stops the validation. Only with metrics that all have per-sample values.
  std::function<bool(const std::vector<std::vector<double>>& per_sample, int64_t evaluated)> decided;
  std::string what = "validate";  // progress label
};

// Accumulated cost of one kind of run.
struct RunCost {
  int64_t runs = 0;
  int64_t model_samples = 0;  // samples x models evaluated (a variant's partial run counts as one)
  double seconds = 0;
  double compile_seconds = 0;  // engine compilation inside those runs, summed over the streams
};

class Validator {
 public:
  Validator(DatasetPtr validation, std::vector<MetricPtr> metrics, RunOptions options, int streams = 0);
  // A user's validation function instead of metrics: metrics() is then one metric named after it (its name and
  // direction only; the function computes the values).
  Validator(DatasetPtr validation, ValidationFunction fn, RunOptions options);
  ~Validator();
  bool uses_validation_function() const { return static_cast<bool>(fn_.fn); }

  // The FP32 model distances are measured against (must outlive the validator's use of it).
  void set_reference(const ir::Model* fp32) { reference_ = fp32; }

  // The whole validation set, counted as a full validation.
  ValidationResult full(const ir::Model& model, const ValidateOptions& options = {});
  // Several whole validations in one pass over the data (each counted), when every metric is a mean of its
  // per-sample values; otherwise one after the other. Options per model (`order` and `decided` are not used).
  std::vector<ValidationResult> full_together(const std::vector<const ir::Model*>& models,
                                              const std::vector<ValidateOptions>& options);
  // Per-sample values (and distances) of every variant on the samples at `indices`: `base` runs once and each
  // variant only where it differs (runtime/partial_model.h). values = the means of the per-sample values (empty
  // for a metric without them). Not counted as full validations. `phase` names the work in progress and timings.
  // `classes` (indexed by sample, optional): reference classes for `agreement`.
  std::vector<ValidationResult> subsets(const ir::Model& base, const std::vector<const ir::Model*>& variants,
                                        const std::vector<int64_t>& indices, bool distance, const std::string& phase,
                                        const std::vector<int64_t>* classes = nullptr);
  ValidationResult subset(const ir::Model& model, const std::vector<int64_t>& indices, bool distance = false,
                          const std::string& phase = "subset");

  void set_checkpoint(std::shared_ptr<class Checkpoint> c) { checkpoint_ = std::move(c); }

  int64_t full_validations() const { return full_validations_; }
  int64_t subset_validations() const { return subset_validations_; }
  // Cost per phase name ("validate", "rank", "estimate", ...).
  const std::map<std::string, RunCost>& costs() const { return costs_; }
  double seconds() const;
  // {phase: {runs, model_samples, seconds, compile_seconds}, "kernel_cache": {hits, misses}} for reports.
  nlohmann::json costs_json() const;
  const std::vector<MetricPtr>& metrics() const { return metrics_; }
  const Dataset& dataset() const { return *validation_; }
  const DatasetPtr& dataset_ptr() const { return validation_; }
  const RunOptions& options() const { return options_; }
  runtime::StreamPool& streams() { return *pool_; }
  // Whether full_together() validates in one pass, and subsets give per-sample values of every metric.
  bool metrics_are_means() const;
  // When a metric is label-free (Metric::needs_reference_outputs), attaches `fp32`'s outputs to the validation
  // samples (runtime/reference_outputs.h), computed once here; otherwise does nothing.
  void attach_reference_outputs(const ir::Model& fp32);
  // Replaces the dataset (annotation-free mode swaps in FP32 pseudo-labels).
  void set_dataset(DatasetPtr d);

 private:
  ValidationResult run_function(const ir::Model& model, const Dataset& data, bool top1);
  const Dataset& subset_dataset(const std::vector<int64_t>& indices);
  runtime::PassOptions pass_options(const std::string& phase, bool show_progress) const;
  void account(const std::string& phase, const runtime::PassResult& r, int64_t models);

  std::shared_ptr<class Checkpoint> checkpoint_;
  DatasetPtr validation_;
  // The last subset's samples, decoded once: the search evaluates the same ranking subset many times, and decoding
  // JPEGs costs about as much as a small model's inference.
  std::vector<int64_t> cached_indices_;
  DatasetPtr cached_subset_;
  std::vector<MetricPtr> metrics_;
  ValidationFunction fn_;
  RunOptions options_;
  int streams_;
  const ir::Model* reference_ = nullptr;
  std::unique_ptr<runtime::StreamPool> pool_;
  int64_t full_validations_ = 0, subset_validations_ = 0;
  std::map<std::string, RunCost> costs_;
};

// The dataset with every annotation's label replaced by `labels[i]` (annotation-free mode: FP32 predictions).
DatasetPtr relabel(DatasetPtr base, std::vector<int64_t> labels);

}  // namespace qwac::accuracy
