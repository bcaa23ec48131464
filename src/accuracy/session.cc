#include "accuracy/session.h"

#include <algorithm>
#include <chrono>

#include "accuracy/checkpoint.h"
#include "core/stopwatch.h"
#include "quant/hw_config.h"
#include "quant/input_model_check.h"
#include "quant/precision_ladder.h"
#include "qwac/error.h"

namespace qwac::accuracy {
namespace {

using Clock = SteadyClock;

void validate_params(const AccuracyControlConfig& p) {
  if (!(p.max_drop >= 0)) throw InvalidConfig("maximal_drop must be >= 0, got " + std::to_string(p.max_drop));
  if (p.ranking_subset_size < 1) throw InvalidConfig("ranking_subset_size must be >= 1");
  if (p.max_iter_num < 1) throw InvalidConfig("max_iter_num must be >= 1");
  if (p.search != "bisection" && p.search != "greedy") {
    throw InvalidConfig("search: unknown value '" + p.search + "' (expected \"bisection\" or \"greedy\")");
  }
  if (p.restore_mode != "weights_and_activations" && p.restore_mode != "activations") {
    throw InvalidConfig("restore_mode: unknown value '" + p.restore_mode +
                        "' (expected \"weights_and_activations\" or \"activations\")");
  }
  if (!(p.metric_subset_ratio > 0 && p.metric_subset_ratio <= 1)) {
    throw InvalidConfig("metric_subset_ratio must be in (0, 1], got " + std::to_string(p.metric_subset_ratio));
  }
}

}  // namespace

std::unique_ptr<Session> start_session(const ir::Model& model, const Dataset& calibration,
                                       std::unique_ptr<Validator> validator_ptr, const AccuracyControlConfig& params,
                                       const RunOptions& options) {
  const auto t_start = Clock::now();
  quant::check_quantizable_input(model);
  validate_params(params);
  if (params.annotation_free && validator_ptr->uses_validation_function()) {
    throw InvalidConfig("annotation_free needs built-in metrics: a validation function computes its metric from its "
                        "own labels; drop annotation_free or pass metrics");
  }
  auto session = std::make_unique<Session>();
  auto logger = options.logger ? options.logger : make_null_logger();
  session->validator = std::move(validator_ptr);
  // Label-free metrics compare with the FP32 model's outputs: computed once, before the baseline.
  session->validator->attach_reference_outputs(model);
  const DatasetPtr val = session->validator->dataset_ptr();
  const Dataset& validation = *val;
  const std::vector<MetricPtr> metrics = session->validator->metrics();
  if (!params.checkpoint_path.empty()) {
    auto checkpoint = std::make_shared<Checkpoint>(params.checkpoint_path, params.checkpoint_identity, params.resume);
    if (checkpoint->resumed_entries() > 0) {
      logger->info("resuming from " + params.checkpoint_path + " (" + std::to_string(checkpoint->resumed_entries()) +
                   " recorded validations)");
    }
    session->validator->set_checkpoint(checkpoint);
  }
  Validator& validator = *session->validator;
  SearchContext& ctx = session->ctx;
  nlohmann::json& report = session->report;
  nlohmann::json& timings = session->timings;
  quant::QuantizationState& state = session->state;


  // --- which metrics are controlled, with their baselines
  std::vector<std::string> names;
  std::vector<bool> higher_better;
  std::vector<std::optional<double>> given(metrics.size());
  std::vector<bool> controlled(metrics.size(), params.metrics.empty());
  for (const MetricPtr& m : metrics) {
    names.push_back(m->name());
    higher_better.push_back(m->higher_better());
  }
  for (const MetricBound& b : params.metrics) {
    const auto it = std::find(names.begin(), names.end(), b.name);
    if (it == names.end()) {
      std::string have;
      for (const auto& n : names) have += (have.empty() ? "" : ", ") + n;
      throw InvalidConfig("metrics: '" + b.name + "' is not one of the configured metrics (" + have + ")");
    }
    const size_t i = static_cast<size_t>(it - names.begin());
    controlled[i] = true;
    given[i] = b.baseline_value;
  }
  const bool all_given = std::all_of(given.begin(), given.end(), [&](const auto& g) { return g.has_value(); }) &&
                         !params.metrics.empty() && !params.annotation_free;

  report["algorithm"] = "AccuracyAwareQuantization";

  // --- FP32 baseline (per-sample values and, when needed, outputs are computed once here)
  auto t0 = Clock::now();
  std::vector<double> fp32_values(metrics.size());
  {
    std::vector<int64_t> indices;
    if (all_given) {
      // POT: with every baseline given, FP32 per-sample values only on a seeded metric_subset_ratio share.
      const auto n = static_cast<int64_t>(static_cast<double>(validation.size()) * params.metric_subset_ratio);
      indices = sample_indices(validation.size(), std::max<int64_t>(1, n), params.base.seed);
      const ValidationResult r = validator.subset(model, indices, true);
      ctx.fp32_per_sample = r.per_sample;
      ctx.fp32_outputs = r.outputs;
      for (size_t i = 0; i < metrics.size(); ++i) fp32_values[i] = *given[i];
    } else {
      const ValidationResult r = validator.full(model, true);
      for (int64_t i = 0; i < r.samples; ++i) indices.push_back(i);
      if (params.annotation_free) {
        // FP32 predictions become the labels; the FP32 model then scores 1 by definition and is re-measured.
        validator.set_dataset(relabel(val, r.top1));
        const ValidationResult again = validator.full(model, true);
        ctx.fp32_per_sample = again.per_sample;
        ctx.fp32_outputs = again.outputs;
        fp32_values = again.values;
      } else {
        ctx.fp32_per_sample = r.per_sample;
        ctx.fp32_outputs = r.outputs;
        fp32_values = r.values;
      }
      for (size_t i = 0; i < metrics.size(); ++i) {
        if (given[i]) fp32_values[i] = *given[i];
      }
    }
    ctx.fp32_indices = indices;
  }
  // Outputs are kept for every validation only when a metric has no per-sample values (NMSE ranking).
  bool need_outputs = false;
  for (const auto& ps : ctx.fp32_per_sample) need_outputs = need_outputs || ps.empty();
  if (need_outputs && ctx.fp32_outputs.size() != ctx.fp32_indices.size()) {
    throw InvalidArgument("validation function '" + metrics.front()->name() + "' returned no per-sample values and "
                          "did not run each sample once in dataset order, so nothing can rank the samples; return "
                          "per-sample values");
  }
  if (!need_outputs) ctx.fp32_outputs.clear();
  timings["fp32_validation"] = seconds_since(t0);
  std::vector<std::string> c_names;
  std::vector<bool> c_hb;
  std::vector<double> c_base;
  for (size_t i = 0; i < metrics.size(); ++i) {
    c_names.push_back(names[i]);
    c_hb.push_back(higher_better[i]);
    c_base.push_back(fp32_values[i]);
  }
  std::vector<ControlledMetric> all =
      controlled_metrics(c_names, c_hb, c_base, params.max_drop, params.drop_type);
  for (size_t i = 0; i < all.size(); ++i) {
    if (controlled[i]) ctx.metrics.push_back(all[i]);
  }
  for (size_t i = 0; i < metrics.size(); ++i) report["fp32"][names[i]] = fp32_values[i];

  // --- default quantization + its full validation
  t0 = Clock::now();
  const std::vector<PrecisionRung> ladder = params.precision_ladder
                                                ? *params.precision_ladder
                                                : quant::hw_config_for(params.base.target_device).precision_ladder;
  state = quant::run_default_quantization(model, calibration, params.base, options);
  quant::attach_precision_ladder(state.set, ladder);
  ctx.ladder = ladder;
  timings["default_quantization"] = seconds_since(t0);
  ctx.state = &state;
  ctx.validator = &validator;
  ctx.restore_mode = params.restore_mode;
  ctx.ranking_subset_size = std::min<int64_t>(params.ranking_subset_size, validation.size());
  ctx.max_iter_num = params.max_iter_num;
  ctx.use_prev_if_drop_increase = params.use_prev_if_drop_increase;
  ctx.need_outputs = need_outputs;
  ctx.logger = logger;
  ctx.start = t_start;
  ctx.max_time_seconds = params.max_time_seconds;
  ctx.max_evaluations = params.max_evaluations;

  t0 = Clock::now();
  session->initial = ctx.validate(state.set, "default quantization");
  Candidate& current = session->initial;
  report["default_quantization"] = state.report;
  if (!current.drop.satisfied && params.convert_to_mixed_preset && params.base.preset == "performance") {
    QuantizationConfig mixed = params.base;
    mixed.preset = "mixed";
    quant::QuantizationState mixed_state = quant::run_default_quantization(model, calibration, mixed, options);
    quant::attach_precision_ladder(mixed_state.set, ladder);
    ctx.state = &mixed_state;
    ctx.state_tag = "mixed";
    Candidate m = ctx.validate(mixed_state.set, "convert to the mixed preset");
    const bool switched = better(m.drop, current.drop);
    if (switched) {
      state = std::move(mixed_state);
      current = std::move(m);
      report["default_quantization"] = state.report;
      ctx.best = current;  // the best is now relative to the mixed state's quantizers
    }
    ctx.state_tag = switched ? "mixed" : "default";
    ctx.state = &state;
  }
  timings["initial_validation"] = seconds_since(t0);
  return session;
}

std::unique_ptr<Validator> metrics_validator(const Dataset& validation, const std::vector<MetricPtr>& metrics,
                                             const RunOptions& options) {
  return std::make_unique<Validator>(DatasetPtr(&validation, [](const Dataset*) {}), metrics, options);
}

}  // namespace qwac::accuracy
