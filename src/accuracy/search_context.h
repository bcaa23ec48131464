// What the restore searches share: the quantization state they edit (through its QuantizerSet only), the validator,
// the controlled metrics with their FP32 baselines, budgets, the best state seen and the report's step log.
#pragma once

#include <chrono>
#include <map>
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

// One validated state of the QuantizerSet. A validation that stopped early (its outcome decided: beyond the bound)
// has per-sample values for the samples it evaluated only, and its drop is the predicted one.
struct Candidate {
  quant::QuantizerSet set;
  ValidationResult result;
  DropReport drop;
  bool complete() const { return !result.stopped; }
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
  // were given; then POT's metric_subset_ratio share); fp32_position[i] = the position of sample i in them or -1.
  std::vector<std::vector<double>> fp32_per_sample;
  std::vector<int64_t> fp32_indices;
  std::vector<int64_t> fp32_position;
  std::vector<double> fp32_margin;  // per sample (all samples), empty when unknown (validator.h, margin)
  // When the first output holds class scores ([N, C]): per sample, the arg-max of whichever of FP32 and the default
  // quantization scores better there on the controlled metric (FP32's when they tie). Ranking scores a candidate
  // by how firmly it agrees with these decisions (validator.h, agreement), clipped at +-agreement_scale (FP32's
  // median margin): a continuous signal, where a 0/1 metric on a few dozen samples is mostly ties, that rewards
  // what the metric rewards (keeping the samples the default quantization got right and FP32 did not, too).
  bool class_scores = false;
  std::vector<int64_t> fp32_top1;
  std::vector<int64_t> reference_classes;
  double agreement_scale = 1.0;
  bool has_agreement() const { return !reference_classes.empty(); }
  // Sum over the samples of the clipped, normalized agreement (in [-1, 1] each).
  double agreement_score(const std::vector<double>& agreement) const;
  // A controlled metric has no per-sample values (mAP): samples and groups are ranked by the normalized MSE of the
  // first output to FP32's (NNCF's NMSE mode), and nothing is estimated from subsets.
  bool rank_by_distance = false;
  // Every controlled metric is the mean of its per-sample values: subsets estimate the whole-set value, and a
  // validation stops once it is predicted beyond the bound.
  bool can_estimate = false;
  std::shared_ptr<Logger> logger;
  std::shared_ptr<Progress> progress;
  std::chrono::steady_clock::time_point start;
  double max_time_seconds = 0;
  int64_t max_evaluations = 0;
  // Bounds the memory of a ranking pass (every variant's compiled engine and cut taps are alive at once).
  int64_t max_variants_per_pass = 4;
  nlohmann::json steps = nlohmann::json::array();
  std::optional<Candidate> best;
  // Wall time per search stage ("ranking", "estimates", "validations", "build"), for the report.
  std::map<std::string, double> stage_seconds;
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
  ir::Model build(const quant::QuantizerSet& set);
  // The models of several sets, built on as many threads as the runs use (a ranking round builds dozens of models
  // before its pass, on one core otherwise); in the order of `sets`.
  std::vector<ir::Model> build_all(const std::vector<quant::QuantizerSet>& sets);
  // What a validation of `set` is, for the checkpoint: the quantization state (preset) and the enabled flags.
  std::string key(const quant::QuantizerSet& set) const;
  std::string state_tag = "default";
  // Full validation of `set`, recorded in `steps` (with `what`) and, when complete, in `best`. With a `reference`
  // (and can_estimate) it processes the samples most likely to change first and stops as soon as the drop is
  // predicted beyond the bound even if every remaining sample took the better of its FP32 and `reference` values;
  // with `may_pass_early` also as soon as it is within the bound even if they took the worse (after at least twice
  // the samples where the two differ and a quarter of all). A candidate decided early is not complete(): the search
  // confirms its final answer with a complete validation. `known` (per validator metric, per sample, NaN where
  // unknown): the candidate's own values measured before (the ranking's subset run of the same revert); the
  // completions then also allow them, so a candidate that beats both FP32 and the reference on samples not yet
  // seen (mobilenetv3s: reverting one Conv gains 7 samples where both were wrong) is not rejected early.
  Candidate validate(const quant::QuantizerSet& set, const std::string& what, const nlohmann::json& extra = {},
                     const Candidate* reference = nullptr, bool may_pass_early = false,
                     const std::vector<std::vector<double>>* known = nullptr);
  // Records a validation done elsewhere (steps, log line, best); `predicted` = the values a stopped one stands for.
  Candidate record(const quant::QuantizerSet& set, ValidationResult result, const std::string& what,
                   const nlohmann::json& extra = {}, const std::vector<double>* predicted = nullptr);
  // Per-sample values of several sets on `indices`, each run from `base`'s model where it differs.
  std::vector<ValidationResult> evaluate_sets(const quant::QuantizerSet& base,
                                              const std::vector<quant::QuantizerSet>& sets,
                                              const std::vector<int64_t>& indices, bool distance,
                                              const std::string& phase);
  // Groups the stage can still change (some quantizer enabled and below the target rung), in id order.
  std::vector<int> enabled_groups(const quant::QuantizerSet& set) const;
  // The ops a group reverts, for logs.
  std::string describe_group(int group) const;
  // FP32's per-sample value of validator metric `metric` for sample i, or NaN when not known.
  double fp32_value(size_t metric, int64_t i) const;

  // The model of each set: evaluate_sets' base or one of its last call's models when the set is one of those,
  // else built (on the runs' threads).
  std::vector<std::shared_ptr<const ir::Model>> models_for(const std::vector<quant::QuantizerSet>& sets);

  std::shared_ptr<const ir::Model> base_model_;  // evaluate_sets' last base, with its key
  std::string base_model_key_;
  std::map<std::string, std::shared_ptr<const ir::Model>> recent_models_;  // evaluate_sets' last models, by key
};

// Every validation sample, most informative for the search first: those whose per-sample value of a controlled
// metric differs most between `current` and FP32 (either way), then those closest to a decision (the smaller of
// FP32's and `current`'s margins: where a slightly different model changes its answer), then by the distance of
// `current`'s first output to FP32's, then by index. Measured on mobilenetv3s-cifar10: nine in ten samples whose
// result a group's revert changes are among the first 300 of 2,000.
std::vector<int64_t> informative_order(const SearchContext& ctx, const Candidate& current);

// The ranking subset: the first `ranking_subset_size` samples of informative_order (that order kept: the adaptive
// ranking looks at the most informative first).
std::vector<int64_t> select_ranking_subset(const SearchContext& ctx, const Candidate& current);

// Estimated full-set value of every validator metric when the samples of `subset` take the values
// `subset_result.per_sample` and the other samples keep `current`'s; empty when a metric has no per-sample values.
std::vector<double> estimate_full_values(const Candidate& current, const std::vector<int64_t>& subset,
                                         const ValidationResult& subset_result);

struct RankedGroup {
  int group = -1;
  double score = 0;     // controlled metric on the samples seen after reverting the group alone (higher = better),
                        // or minus the mean distance to FP32 in distance mode
  double distance = 0;  // mean distance of the first output to FP32's on those samples (ties), NaN when unknown
  int64_t samples = 0;  // ranking samples it was evaluated on (fewer when the adaptive ranking dropped it early)
  std::vector<int> unit;  // the groups reverted together for this entry (the group and its companions)
  std::shared_ptr<const ValidationResult> subset_result;  // on the first `samples` samples of the subset
};

// Every group in `groups` reverted alone on top of `current`, scored on `subset`, sorted by score descending (ties:
// lower distance, then group id). `adaptive` (successive halving): all groups on the first samples of the subset,
// then only the better part of them on more samples, round after round; groups dropped in an earlier round follow
// those kept longer. Otherwise every group on every sample (the peers' ranking). `units[i]`, when given, lists the
// groups reverted together for groups[i] (groups[i] among them).
std::vector<RankedGroup> rank_groups(SearchContext& ctx, const Candidate& current, const std::vector<int>& groups,
                                     const std::vector<int64_t>& subset, int metric, bool adaptive,
                                     const std::vector<std::vector<int>>& units = {});

// The searches: both return the final candidate (the first satisfying one found, else the best seen).
Candidate greedy_search(SearchContext& ctx, Candidate initial);
Candidate bisection_search(SearchContext& ctx, Candidate initial);

}  // namespace qwac::accuracy
