// Quantization with accuracy control on the library's own model type, with parameters in their config form (strings
// as a config's AccuracyAwareQuantization params spell them). The public, typed entry points
// (include/qwac/accuracy_control.h) convert to this form (src/api/params.h).
#pragma once

#include <cstdint>
#include <limits>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "quant/quantize.h"
#include "qwac/accuracy_control.h"
#include "qwac/dataset.h"
#include "qwac/metric.h"
#include "qwac/precision.h"

namespace qwac {

struct AccuracyControlConfig {
  QuantizationConfig base;              // DefaultQuantization parameters (base_algorithm)
  double max_drop = 0.01;               // maximal_drop
  std::string drop_type = "absolute";   // absolute | relative
  int64_t ranking_subset_size = 300;    // clamped to the validation set
  int64_t max_iter_num = std::numeric_limits<int64_t>::max();  // greedy: max groups reverted
  bool use_prev_if_drop_increase = true;
  bool convert_to_mixed_preset = false;
  std::vector<MetricBound> metrics;     // empty = every metric given; all must satisfy the bound
  double metric_subset_ratio = 0.5;     // POT: FP32 per-sample values on this share when baselines are given
  bool tune_hyperparams = false;
  // Rungs tried before float, cheapest first (nullopt = the target device's ladder: GNA raises groups to INT16
  // weights; other devices revert straight to float). The search runs once per rung, each from the last one's
  // result, until the bound holds.
  std::optional<std::vector<PrecisionRung>> precision_ladder;
  bool annotation_free = false;         // FP32 predictions replace the labels
  std::string search = "bisection";     // bisection (qwac) | greedy (POT/NNCF one group per full validation)
  std::string restore_mode = "weights_and_activations";  // | "activations": reverted ops keep int8 weights
  double max_time_seconds = 0;          // 0 = unlimited; the search stops with the best model so far
  int64_t max_evaluations = 0;          // full validations allowed (0 = unlimited)
  // Checkpoint after every validation (empty = none). With `resume`, an existing checkpoint of the same run
  // (`checkpoint_identity` fingerprints the inputs) answers the validations it recorded, so an interrupted run
  // continues to the same result.
  std::string checkpoint_path;
  std::string checkpoint_identity;
  bool resume = false;
};

struct AccuracyControlOutput {
  std::shared_ptr<ir::Model> model;     // best model found (QDQ)
  nlohmann::json report;                // FP32/final metrics, drops, every step, reverted ops, timings
  bool reached = false;                 // the bound holds for every metric
};

// `metrics` are evaluated on `validation` (POT style, per-sample values where the metric has them).
AccuracyControlOutput quantize_with_accuracy_control(const ir::Model& model, const Dataset& calibration,
                                                     const Dataset& validation, const std::vector<MetricPtr>& metrics,
                                                     const AccuracyControlConfig& params,
                                                     const RunOptions& options = {});

// The same with a validation function instead of metrics (NNCF's API). `annotation_free` is not available: the
// function computes the metric from its own labels.
AccuracyControlOutput quantize_with_accuracy_control(const ir::Model& model, const Dataset& calibration,
                                                     const Dataset& validation, const ValidationFunction& validation_fn,
                                                     const AccuracyControlConfig& params,
                                                     const RunOptions& options = {});

// "Which layers hurt?": default quantization, then every group reverted alone and scored on the ranking subset,
// with the estimated full-set metric; no search. JSON with the groups sorted from most to least harmful.
nlohmann::json quantization_sensitivity(const ir::Model& model, const Dataset& calibration, const Dataset& validation,
                                        const std::vector<MetricPtr>& metrics, const AccuracyControlConfig& params,
                                        const RunOptions& options = {});

}  // namespace qwac
