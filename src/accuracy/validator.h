// Runs a model over the validation set (or a subset of it) and returns every metric's value and per-sample values;
// counts full validations (the cost the accuracy search minimizes and reports).
//
// When a metric has no per-sample form (mAP), the first output of every sample is kept instead, so the search can
// rank samples by the normalized MSE between FP32 and quantized outputs (NNCF's "NMSE mode", which NNCF offers
// only for OpenVINO).
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "ir/graph.h"
#include "accuracy/accuracy_control.h"
#include "qwac/dataset.h"
#include "qwac/metric.h"
#include "quant/quantize.h"

namespace qwac::accuracy {

struct ValidationResult {
  std::vector<double> values;                    // per metric (same order as the validator's metrics)
  std::vector<std::vector<double>> per_sample;   // per metric; empty when the metric has none
  std::vector<Tensor> outputs;                   // first output per sample, when keep_outputs
  std::vector<int64_t> top1;                     // arg-max of the first output per sample, when keep_outputs
  int64_t samples = 0;
  double seconds = 0;
};

class Validator {
 public:
  Validator(DatasetPtr validation, std::vector<MetricPtr> metrics, RunOptions options, int streams = 0);
  // A user's validation function instead of metrics: metrics() is then one metric named after it (its name and
  // direction only; the function computes the values).
  Validator(DatasetPtr validation, ValidationFunction fn, RunOptions options);
  bool uses_validation_function() const { return static_cast<bool>(fn_.fn); }

  // The whole validation set (counted as a full validation). A non-empty `key` names what is validated: with a
  // checkpoint, a recorded result for the key is returned instead of running (outputs are never recorded).
  ValidationResult full(const ir::Model& model, bool keep_outputs = false, const std::string& key = "");
  // The samples at `indices` (dataset order), not counted as a full validation.
  ValidationResult subset(const ir::Model& model, const std::vector<int64_t>& indices, bool keep_outputs = false,
                          const std::string& key = "");
  // Several variants of `base` on the same subset (the ranking): `base` runs once and each variant only where it
  // differs (accuracy/downstream_evaluation.h); same results as subset() on each. `keys` as subset()'s, one per
  // variant (or empty).
  std::vector<ValidationResult> subsets(const ir::Model& base, const std::vector<const ir::Model*>& variants,
                                        const std::vector<int64_t>& indices, bool keep_outputs,
                                        const std::vector<std::string>& keys);
  void set_checkpoint(std::shared_ptr<class Checkpoint> c) { checkpoint_ = std::move(c); }

  int64_t full_validations() const { return full_validations_; }
  int64_t subset_validations() const { return subset_validations_; }
  double seconds() const { return seconds_; }
  const std::vector<MetricPtr>& metrics() const { return metrics_; }
  const Dataset& dataset() const { return *validation_; }
  const DatasetPtr& dataset_ptr() const { return validation_; }
  // When a metric is label-free (Metric::needs_reference_outputs), attaches `fp32`'s outputs to the validation
  // samples (runtime/reference_outputs.h), computed once here; otherwise does nothing.
  void attach_reference_outputs(const ir::Model& fp32);
  // Replaces the dataset (annotation-free mode swaps in FP32 pseudo-labels).
  void set_dataset(DatasetPtr d) {
    validation_ = std::move(d);
    cached_subset_.reset();
  }

 private:
  ValidationResult run(const ir::Model& model, const Dataset& data, bool keep_outputs);
  ValidationResult run_function(const ir::Model& model, const Dataset& data, bool keep_outputs);
  ValidationResult recorded(const std::string& key, bool keep_outputs, const std::function<ValidationResult()>& run);
  const Dataset& subset_dataset(const std::vector<int64_t>& indices);

  std::shared_ptr<class Checkpoint> checkpoint_;
  DatasetPtr validation_;
  // The last subset's samples, decoded once: the search evaluates the same ranking subset dozens of times, and
  // decoding JPEGs costs about as much as SqueezeNet's inference.
  std::vector<int64_t> cached_indices_;
  DatasetPtr cached_subset_;
  std::vector<MetricPtr> metrics_;
  ValidationFunction fn_;
  RunOptions options_;
  int streams_;
  int64_t full_validations_ = 0, subset_validations_ = 0;
  double seconds_ = 0;
};

// The dataset with every annotation's label replaced by `labels[i]` (annotation-free mode: FP32 predictions).
DatasetPtr relabel(DatasetPtr base, std::vector<int64_t> labels);

}  // namespace qwac::accuracy
