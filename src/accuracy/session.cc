#include "accuracy/session.h"

#include <algorithm>
#include <chrono>

#include "accuracy/checkpoint.h"
#include "accuracy/metric_traits.h"
#include "core/resource_limits.h"
#include "core/stopwatch.h"
#include "quant/hw_config.h"
#include "quant/input_model_check.h"
#include "quant/model_type.h"
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
  validator.set_reference(&model);
  ctx.logger = logger;
  ctx.progress = options.progress ? options.progress : make_null_progress();
  ctx.start = t_start;

  // --- default quantization (calibration) first: the FP32 and the quantized validation can then share one pass
  auto t0 = Clock::now();
  const std::vector<PrecisionRung> ladder = params.precision_ladder
                                                ? *params.precision_ladder
                                                : quant::hw_config_for(params.base.target_device).precision_ladder;
  state = quant::run_default_quantization(model, calibration, params.base, options);
  // Every model the search builds shares the quantized weights of the groups it leaves quantized.
  state.materialize.weight_cache = std::make_shared<quant::QuantizedWeightCache>();
  release_free_heap();  // calibration's engines and tapped activations
  quant::attach_precision_ladder(state.set, ladder);
  ctx.ladder = ladder;
  timings["default_quantization"] = seconds_since(t0);
  ctx.state = &state;
  ctx.validator = &validator;
  ctx.restore_mode = params.restore_mode;
  ctx.ranking_subset_size = std::min<int64_t>(params.ranking_subset_size, validation.size());
  ctx.max_iter_num = params.max_iter_num;
  ctx.use_prev_if_drop_increase = params.use_prev_if_drop_increase;
  ctx.max_time_seconds = params.max_time_seconds;
  ctx.max_evaluations = params.max_evaluations;

  // --- FP32 baseline (per-sample values computed once) and the default quantization's full validation
  t0 = Clock::now();
  std::vector<double> fp32_values(metrics.size());
  // Ranking by the distance to FP32's outputs when a metric has no per-sample values: known after the first
  // validation, so an FP32-only pass decides it where needed.
  std::optional<ValidationResult> initial_result;
  const ir::Model q0 = quant::build_quantized_model(state, nullptr);
  // Class scores as the first output ([N, C]): FP32's decisions guide the ranking (search_context.h, agreement).
  const ir::Value* first_output = model.graph->outputs().empty() ? nullptr : model.graph->outputs().front();
  const bool class_scores = first_output != nullptr && first_output->type.shape && first_output->type.shape->size() == 2;
  {
    std::vector<int64_t> indices;
    if (all_given) {
      // POT: with every baseline given, FP32 per-sample values only on a seeded metric_subset_ratio share.
      const auto n = static_cast<int64_t>(static_cast<double>(validation.size()) * params.metric_subset_ratio);
      indices = sample_indices(validation.size(), std::max<int64_t>(1, n), params.base.seed);
      const ValidationResult r = validator.subset(model, indices, false, "validate fp32 (subset)");
      ctx.fp32_per_sample = r.per_sample;
      for (size_t i = 0; i < metrics.size(); ++i) fp32_values[i] = *given[i];
    } else if (params.annotation_free || !validator.metrics_are_means()) {
      ValidateOptions fo;
      fo.top1 = params.annotation_free || class_scores;
      fo.margin = true;
      fo.what = "validate fp32";
      const ValidationResult r = validator.full(model, fo);
      for (int64_t i = 0; i < r.samples; ++i) indices.push_back(i);
      if (params.annotation_free) {
        // FP32 predictions become the labels; the FP32 model then scores 1 by definition and is re-measured.
        validator.set_dataset(relabel(val, r.top1));
        const ValidationResult again = validator.full(model, fo);
        if (class_scores) ctx.fp32_top1 = again.top1;
        ctx.fp32_per_sample = again.per_sample;
        ctx.fp32_margin = again.margin;
        fp32_values = again.values;
      } else {
        ctx.fp32_per_sample = r.per_sample;
        ctx.fp32_margin = r.margin;
        if (class_scores) ctx.fp32_top1 = r.top1;
        fp32_values = r.values;
      }
    } else {
      // One pass: FP32 and the default quantization on the same decoded batches.
      ValidateOptions fo, qo;
      fo.what = "validate fp32 + default quantization";
      fo.margin = true;
      fo.top1 = class_scores;
      qo.key = ctx.key(state.set);
      qo.distance = true;
      qo.margin = true;
      qo.top1 = class_scores;
      qo.what = fo.what;
      std::vector<ValidationResult> both = validator.full_together({&model, &q0}, {fo, qo});
      for (int64_t i = 0; i < both[0].samples; ++i) indices.push_back(i);
      ctx.fp32_per_sample = both[0].per_sample;
      ctx.fp32_margin = both[0].margin;
      if (class_scores) ctx.fp32_top1 = both[0].top1;
      fp32_values = both[0].values;
      initial_result = std::move(both[1]);
    }
    for (size_t i = 0; i < metrics.size(); ++i) {
      if (given[i]) fp32_values[i] = *given[i];
    }
    ctx.fp32_indices = indices;
    ctx.fp32_position.assign(static_cast<size_t>(validation.size()), -1);
    for (size_t p = 0; p < indices.size(); ++p) ctx.fp32_position[static_cast<size_t>(indices[p])] = static_cast<int64_t>(p);
  }
  timings["fp32_validation"] = seconds_since(t0);
  if (!ctx.fp32_margin.empty()) {
    std::vector<double> m;
    for (double x : ctx.fp32_margin) {
      if (!std::isnan(x)) m.push_back(x);
    }
    std::nth_element(m.begin(), m.begin() + static_cast<std::ptrdiff_t>(m.size() / 2), m.end());
    if (!m.empty() && m[m.size() / 2] > 0) ctx.agreement_scale = m[m.size() / 2];
  }
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
  ctx.class_scores = class_scores && !ctx.fp32_top1.empty();
  ctx.can_estimate = true;
  for (const ControlledMetric& m : ctx.metrics) {
    const bool per_sample = !ctx.fp32_per_sample.at(m.index).empty();
    ctx.rank_by_distance = ctx.rank_by_distance || !per_sample;
    const bool mean = validator.uses_validation_function() || metric_traits(*metrics[m.index]).mean_of_samples;
    ctx.can_estimate = ctx.can_estimate && per_sample && mean;
  }
  report["default_quantization"] = state.report;

  t0 = Clock::now();
  if (initial_result && (!ctx.rank_by_distance || !initial_result->distance.empty())) {
    session->initial = ctx.record(state.set, std::move(*initial_result), "default quantization");
  } else {
    session->initial = ctx.validate(state.set, "default quantization");
  }
  Candidate& current = session->initial;
  if (ctx.class_scores && current.result.top1.size() == ctx.fp32_top1.size() && !ctx.metrics.empty()) {
    // The better decision per sample (search_context.h, reference_classes).
    const ControlledMetric& m = ctx.metrics[static_cast<size_t>(current.drop.worst)];
    const std::vector<double>& q = current.result.per_sample.at(m.index);
    ctx.reference_classes = ctx.fp32_top1;
    for (size_t i = 0; i < q.size() && i < ctx.reference_classes.size(); ++i) {
      const double f = ctx.fp32_value(m.index, static_cast<int64_t>(i));
      if (!std::isnan(f) && (m.higher_better ? q[i] > f : q[i] < f)) ctx.reference_classes[i] = current.result.top1[i];
    }
  }
  if (!current.drop.satisfied && params.convert_to_mixed_preset && quant::resolved_preset(params.base) == "performance") {
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
