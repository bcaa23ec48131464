// quantize_with_accuracy_control (include/qwac/accuracy_control.h): FP32 baseline -> default quantization ->
// full validation -> [mixed preset] -> restore search (bisection or greedy) -> the best model and a report.
#include <algorithm>
#include <chrono>
#include <map>

#include "accuracy/search_context.h"
#include "ir/graph.h"
#include "qwac/accuracy_control.h"
#include "qwac/error.h"

namespace qwac {
namespace {

using Clock = std::chrono::steady_clock;
double seconds_since(Clock::time_point t) { return std::chrono::duration<double>(Clock::now() - t).count(); }

void validate_params(const AccuracyControlParams& p) {
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
  if (p.tune_hyperparams) {
    throw InvalidConfig("tune_hyperparams is not implemented yet in qwac; remove it (the restore search runs alone)");
  }
}

}  // namespace

AccuracyControlResult quantize_with_accuracy_control(const ir::Model& model, const Dataset& calibration,
                                                     const Dataset& validation, const std::vector<MetricPtr>& metrics,
                                                     const AccuracyControlParams& params,
                                                     const RunOptions& options) {
  const auto t_start = Clock::now();
  validate_params(params);
  auto logger = options.logger ? options.logger : make_null_logger();
  DatasetPtr val(&validation, [](const Dataset*) {});
  accuracy::Validator validator(val, metrics, options);

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

  nlohmann::json report;
  report["algorithm"] = "AccuracyAwareQuantization";
  nlohmann::json timings;

  // --- FP32 baseline (per-sample values and, when needed, outputs are computed once here)
  accuracy::SearchContext ctx;
  auto t0 = Clock::now();
  std::vector<double> fp32_values(metrics.size());
  {
    std::vector<int64_t> indices;
    if (all_given) {
      // POT: with every baseline given, FP32 per-sample values only on a seeded metric_subset_ratio share.
      const auto n = static_cast<int64_t>(static_cast<double>(validation.size()) * params.metric_subset_ratio);
      indices = sample_indices(validation.size(), std::max<int64_t>(1, n), params.base.seed);
      const accuracy::ValidationResult r = validator.subset(model, indices, true);
      ctx.fp32_per_sample = r.per_sample;
      ctx.fp32_outputs = r.outputs;
      for (size_t i = 0; i < metrics.size(); ++i) fp32_values[i] = *given[i];
    } else {
      const accuracy::ValidationResult r = validator.full(model, true);
      for (int64_t i = 0; i < r.samples; ++i) indices.push_back(i);
      if (params.annotation_free) {
        // FP32 predictions become the labels; the FP32 model then scores 1 by definition and is re-measured.
        validator.set_dataset(accuracy::relabel(val, r.top1));
        const accuracy::ValidationResult again = validator.full(model, true);
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
  std::vector<accuracy::ControlledMetric> all =
      accuracy::controlled_metrics(c_names, c_hb, c_base, params.max_drop, params.drop_type);
  for (size_t i = 0; i < all.size(); ++i) {
    if (controlled[i]) ctx.metrics.push_back(all[i]);
  }
  for (size_t i = 0; i < metrics.size(); ++i) report["fp32"][names[i]] = fp32_values[i];

  // --- default quantization + its full validation
  t0 = Clock::now();
  quant::QuantizationState state = quant::run_default_quantization(model, calibration, params.base, options);
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
  accuracy::Candidate current = ctx.validate(state.set, "default quantization");
  report["default_quantization"] = state.report;
  if (!current.drop.satisfied && params.convert_to_mixed_preset && params.base.preset == "performance") {
    QuantizationParams mixed = params.base;
    mixed.preset = "mixed";
    quant::QuantizationState mixed_state = quant::run_default_quantization(model, calibration, mixed, options);
    ctx.state = &mixed_state;
    accuracy::Candidate m = ctx.validate(mixed_state.set, "convert to the mixed preset");
    if (accuracy::better(m.drop, current.drop)) {
      state = std::move(mixed_state);
      current = std::move(m);
      report["default_quantization"] = state.report;
      ctx.best = current;  // the best is now relative to the mixed state's quantizers
    }
    ctx.state = &state;
  }
  timings["initial_validation"] = seconds_since(t0);

  // --- restore search
  t0 = Clock::now();
  accuracy::Candidate final_candidate = current;
  if (!current.drop.satisfied) {
    final_candidate = params.search == "greedy" ? accuracy::greedy_search(ctx, current)
                                                : accuracy::bisection_search(ctx, current);
    if (!final_candidate.drop.satisfied && ctx.best && accuracy::better(ctx.best->drop, final_candidate.drop)) {
      final_candidate = *ctx.best;
    }
  }
  timings["search"] = seconds_since(t0);

  // --- result
  state.set = final_candidate.set;
  AccuracyControlResult result;
  result.model = std::make_shared<ir::Model>(quant::build_quantized_model(state, logger.get()));
  result.reached = final_candidate.drop.satisfied;

  std::map<std::string, std::string> op_types;
  for (const ir::Node* n : state.canonical->graph->nodes()) op_types[n->name()] = n->op_type();
  nlohmann::json reverted = nlohmann::json::array();
  size_t still_quantized = 0;
  const size_t total = state.set.quantized_ops.size();
  for (const std::string& op : state.set.quantized_ops) {
    bool all_on = true;
    std::string precision = "int8";
    for (const quant::Quantizer& q : state.set.quantizers) {
      for (const quant::QuantizedEdge& e : q.edges) {
        if (e.node != op) continue;
        if (!q.enabled) all_on = false;
        if (!q.enabled && q.kind == quant::QuantizerKind::kActivation) precision = "float (int8 weights)";
      }
    }
    if (all_on) {
      ++still_quantized;
    } else {
      bool any_weight_on = false;
      for (const quant::Quantizer& q : state.set.quantizers) {
        for (const quant::QuantizedEdge& e : q.edges) {
          any_weight_on = any_weight_on || (e.node == op && q.enabled && q.kind == quant::QuantizerKind::kWeight);
        }
      }
      reverted.push_back({{"op", op}, {"type", op_types[op]}, {"precision", any_weight_on ? "float (int8 weights)" : "float"}});
    }
  }
  for (size_t k = 0; k < ctx.metrics.size(); ++k) {
    const auto& m = ctx.metrics[k];
    report["metrics"][m.name] = {{"fp32", m.baseline},
                                 {"default_quantization", current.result.values[m.index]},
                                 {"final", final_candidate.result.values[m.index]},
                                 {"drop", final_candidate.drop.drops[k]},
                                 {"bound", m.bound},
                                 {"direction", m.higher_better ? "higher-better" : "higher-worse"}};
  }
  report["params"] = {{"max_drop", params.max_drop},
                      {"drop_type", params.drop_type},
                      {"ranking_subset_size", ctx.ranking_subset_size},
                      {"search", params.search},
                      {"restore_mode", params.restore_mode},
                      {"use_prev_if_drop_increase", params.use_prev_if_drop_increase},
                      {"annotation_free", params.annotation_free},
                      {"convert_to_mixed_preset", params.convert_to_mixed_preset}};
  if (params.max_iter_num != std::numeric_limits<int64_t>::max()) report["params"]["max_iter_num"] = params.max_iter_num;
  report["reached"] = result.reached;
  report["steps"] = ctx.steps;
  report["reverted_ops"] = reverted;
  report["quantized_ops_total"] = total;
  report["int8_op_fraction"] = total > 0 ? static_cast<double>(still_quantized) / static_cast<double>(total) : 0.0;
  report["full_validations"] = validator.full_validations();
  report["subset_validations"] = validator.subset_validations();
  const nlohmann::json qr = quant::quantizers_report(state.set);
  for (const auto& [k, v] : qr.items()) report[k] = v;
  timings["total"] = seconds_since(t_start);
  report["timings_seconds"] = timings;
  std::string summary = std::to_string(reverted.size()) + " of " + std::to_string(total) + " quantized ops reverted";
  for (size_t i = 0; i < reverted.size(); ++i) {
    summary += (i ? ", " : ": ") + reverted[i]["op"].get<std::string>() + " (" + reverted[i]["type"].get<std::string>() + ")";
  }
  report["summary"] = summary;
  result.report = std::move(report);
  return result;
}

}  // namespace qwac
