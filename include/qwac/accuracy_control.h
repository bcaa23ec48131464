// qwac public API: quantization with accuracy control (the seeds' AccuracyAwareQuantization, NNCF's
// quantize_with_accuracy_control).
//
// Default quantization first; when the metric drop exceeds `max_drop`, groups of quantizers are ranked by how much
// reverting each alone recovers on a ranking subset (the validation samples where INT8 is worst), and the fewest
// top-ranked groups are reverted to float until the bound holds on the whole validation set. The best model seen
// is always returned; `reached` says whether the bound holds (the CLI exits with AccuracyNotReached otherwise).
// How per-sample metric values steer the search, and where they are biased: qwac/metric.h.
#pragma once

#include <cstdint>
#include <functional>
#include <limits>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "qwac/dataset.h"
#include "qwac/execution.h"
#include "qwac/metric.h"
#include "qwac/model.h"
#include "qwac/precision.h"
#include "qwac/quantize.h"
#include "qwac/report.h"
#include "qwac/session.h"

namespace qwac {

struct MetricBound {
  std::string name;                     // a metric's name (e.g. "accuracy@top1")
  std::optional<double> baseline_value; // the FP32 value, when known (skips the FP32 validation of that metric)
};

enum class DropType { kAbsolute, kRelative };  // relative: a share of the FP32 value (0.01 = 1 %)
// bisection (qwac): the shortest prefix of the ranked groups that satisfies the bound, predicted on the ranking
// subset and confirmed by full validations; greedy (POT/NNCF): one group per full validation.
enum class SearchStrategy { kBisection, kGreedy };
// What a reverted op gets back in float: weights and activations, or activations only (int8 weights stay).
enum class RestoreMode { kWeightsAndActivations, kActivations };

struct AccuracyControlParams {
  QuantizationParams base;              // DefaultQuantization parameters (POT's base_algorithm)
  double max_drop = 0.01;               // POT's maximal_drop
  DropType drop_type = DropType::kAbsolute;
  int64_t ranking_subset_size = 300;    // clamped to the validation set
  int64_t max_iter_num = std::numeric_limits<int64_t>::max();  // greedy: max groups reverted
  bool use_prev_if_drop_increase = true;
  bool convert_to_mixed_preset = false; // try the mixed preset before reverting anything
  std::vector<MetricBound> metrics;     // empty = every metric given; all must satisfy the bound
  double metric_subset_ratio = 0.5;     // POT: FP32 per-sample values on this share when baselines are given
  bool tune_hyperparams = false;        // coordinate descent over preset, range estimator, bias correction first
  // Rungs tried before float, cheapest first (nullopt = the target device's ladder: GNA raises groups to INT16
  // weights; other devices revert straight to float). The search runs once per rung, each from the last one's
  // result, until the bound holds.
  std::optional<std::vector<PrecisionRung>> precision_ladder;
  bool annotation_free = false;         // FP32 predictions replace the labels (metrics only)
  SearchStrategy search = SearchStrategy::kBisection;
  RestoreMode restore_mode = RestoreMode::kWeightsAndActivations;
  double max_time_seconds = 0;          // 0 = unlimited; the search stops with the best model so far
  int64_t max_evaluations = 0;          // full validations allowed (0 = unlimited)
  // Checkpoint after every validation (empty = none). With `resume`, an existing checkpoint of the same run
  // (`checkpoint_identity` fingerprints the inputs) answers the validations it recorded, so an interrupted run
  // continues to the same result.
  std::string checkpoint_path;
  std::string checkpoint_identity;
  bool resume = false;
};

std::string to_string(DropType v);
std::string to_string(SearchStrategy v);
std::string to_string(RestoreMode v);
DropType drop_type_from_string(const std::string& s);
SearchStrategy search_strategy_from_string(const std::string& s);
RestoreMode restore_mode_from_string(const std::string& s);  // also NNCF's ACTIVATIONS_AND_WEIGHTS, ONLY_ACTIVATIONS

// NNCF-style validation (the seeds' `validation_fn(compiled_model, dataset) -> metric | (metric, per-sample values)`):
// the user's own loop over the data computes the metric with the model qwac hands it.
class CompiledModel {
 public:
  virtual ~CompiledModel() = default;
  // One batch on qwac's engine: inputs by name with a leading batch dimension (any batch size; a new size
  // recompiles the plan). Outputs in graph order, with their names. Called from the thread that runs the
  // validation function.
  virtual ModelOutputs infer(const std::map<std::string, Tensor>& inputs) = 0;
  // The model's inputs and outputs as compiled for the last infer() (before the first: as declared, batch 1).
  virtual std::vector<IoSpec> inputs() const = 0;
  virtual std::vector<IoSpec> outputs() const = 0;
};

struct ValidationOutput {
  double value = 0;                // the metric over the whole `data` given
  std::vector<double> per_sample;  // one value per sample of `data`, in order; empty = none (ranking then uses the
                                   // normalized MSE of the first output, which `infer` records when samples are
                                   // run in dataset order)
};

struct ValidationFunction {
  std::string name = "validation_fn";  // as reports show it
  bool higher_better = true;
  std::function<ValidationOutput(CompiledModel& model, const Dataset& data)> fn;
};

struct AccuracyControlResult {
  Model model;           // the best model found (QDQ), also when the bound is not reached
  Report report;         // FP32/final metrics, drops, every step, reverted ops, timings
  bool reached = false;  // the bound holds for every metric
};

// `metrics` are evaluated on `validation` (POT style, per-sample values where the metric has them). Throws
// InvalidConfig for bad parameters (and the errors of quantize()); an unreachable bound is not an exception here:
// `reached` is false.
AccuracyControlResult quantize_with_accuracy_control(const Model& model, const Dataset& calibration,
                                                     const Dataset& validation, const std::vector<MetricPtr>& metrics,
                                                     const AccuracyControlParams& params = {},
                                                     const ExecutionOptions& options = {});

// The same with a validation function instead of metrics (NNCF's API). `annotation_free` is not available: the
// function computes the metric from its own labels. The function is called from the calling thread.
AccuracyControlResult quantize_with_accuracy_control(const Model& model, const Dataset& calibration,
                                                     const Dataset& validation, const ValidationFunction& validation_fn,
                                                     const AccuracyControlParams& params = {},
                                                     const ExecutionOptions& options = {});

// The one line the CLI prints (after "AccuracyNotReached: ") and the Python module raises when `reached` is false.
std::string accuracy_not_reached_message(const AccuracyControlParams& params);

// "Which layers hurt?": default quantization, then every group reverted alone and scored on the ranking subset,
// with the estimated full-set metric; no search. The report's `sensitivity` lists the groups from most to least
// harmful.
Report quantization_sensitivity(const Model& model, const Dataset& calibration, const Dataset& validation,
                                const std::vector<MetricPtr>& metrics, const AccuracyControlParams& params = {},
                                const ExecutionOptions& options = {});

}  // namespace qwac
