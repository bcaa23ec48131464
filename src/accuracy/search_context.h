// What the restore searches share: the quantization state they edit (through its QuantizerSet only), the validator,
// the controlled metrics with their FP32 baselines, budgets, the best state seen and the report's step log.
#pragma once

#include <chrono>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "accuracy/drop.h"
#include "accuracy/validator.h"
#include "core/logger.h"
#include "quant/default_quantization.h"

namespace qwac::accuracy {

// One fully validated state of the QuantizerSet.
struct Candidate {
  quant::QuantizerSet set;
  ValidationResult result;
  DropReport drop;
};

struct SearchContext {
  const quant::QuantizationState* state = nullptr;  // canonical model, corrected biases, materialize options
  Validator* validator = nullptr;
  std::vector<ControlledMetric> metrics;
  std::string restore_mode = "weights_and_activations";
  int64_t ranking_subset_size = 300;
  int64_t max_iter_num = 0;
  bool use_prev_if_drop_increase = true;
  // FP32 per-sample values per validator metric, for the samples in fp32_indices (all samples unless baselines
  // were given; then POT's metric_subset_ratio share), and FP32 first outputs for NMSE when a metric lacks them.
  std::vector<std::vector<double>> fp32_per_sample;
  std::vector<int64_t> fp32_indices;
  std::vector<Tensor> fp32_outputs;
  bool need_outputs = false;
  std::shared_ptr<Logger> logger;
  std::chrono::steady_clock::time_point start;
  double max_time_seconds = 0;
  int64_t max_evaluations = 0;
  nlohmann::json steps = nlohmann::json::array();
  std::optional<Candidate> best;
  // The precision ladder (quant/precision_ladder.h): the search runs once per stage; stage r > 0 raises groups to
  // ladder rung r, stage 0 reverts them to float. `stage_base` is the set the stage started from (what restore()
  // returns a group to).
  std::vector<PrecisionRung> ladder;
  int target_rung = 0;
  quant::QuantizerSet stage_base;

  bool budget_exhausted() const;
  // Reverts one group per restore_mode (activations only: weight quantizers stay enabled) to the stage's target
  // (float, or the ladder rung); restore() puts it back as it was at the start of the stage.
  void revert(quant::QuantizerSet& set, int group) const;
  void restore(quant::QuantizerSet& set, int group) const;
  // "revert" or "raise to INT16", for logs and reports.
  std::string action() const;
  ir::Model build(const quant::QuantizerSet& set) const;
  // What a validation of `set` is, for the checkpoint: the quantization state (preset) and the enabled flags.
  std::string key(const quant::QuantizerSet& set) const;
  std::string state_tag = "default";
  // Full validation of `set`, recorded in `steps` (with `what`) and in `best`.
  Candidate validate(const quant::QuantizerSet& set, const std::string& what, const nlohmann::json& extra = {});
  // Groups the stage can still change (some quantizer enabled and below the target rung), in id order.
  std::vector<int> enabled_groups(const quant::QuantizerSet& set) const;
  // The ops a group reverts, for logs.
  std::string describe_group(int group) const;
};

// The ranking subset: the `ranking_subset_size` samples where `current` is worst relative to FP32 for controlled
// metric `metric` (per-sample difference, or NMSE of the first output when the metric has no per-sample values);
// ties go to the lower index; returned in dataset order.
std::vector<int64_t> select_ranking_subset(const SearchContext& ctx, const Candidate& current, int metric);

// Estimated full-set value of every validator metric when the samples of `subset` take the values
// `subset_result.per_sample` and the other samples keep `current`'s; empty when a metric has no per-sample values.
std::vector<double> estimate_full_values(const Candidate& current, const std::vector<int64_t>& subset,
                                         const ValidationResult& subset_result);

struct RankedGroup {
  int group = -1;
  double score = 0;                 // controlled metric on the ranking subset after reverting the group alone
  std::shared_ptr<const ValidationResult> subset_result;  // that evaluation (the top group's is the top-1 prefix)
};

// Every group in `groups` reverted alone on top of `current`, scored on `subset` (higher = reverting helps more);
// sorted by score descending, ties by group id.
std::vector<RankedGroup> rank_groups(SearchContext& ctx, const Candidate& current, const std::vector<int>& groups,
                                     const std::vector<int64_t>& subset, int metric);

// The searches: both return the final candidate (the first satisfying one found, else the best seen).
Candidate greedy_search(SearchContext& ctx, Candidate initial);
Candidate bisection_search(SearchContext& ctx, Candidate initial);

}  // namespace qwac::accuracy
