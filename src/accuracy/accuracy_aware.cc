// quantize_with_accuracy_control (include/qwac/accuracy_control.h): FP32 baseline -> default quantization ->
// full validation -> [mixed preset] -> restore search (bisection or greedy) -> the best model and a report.
#include <algorithm>
#include <chrono>
#include <map>

#include "accuracy/hyperparameter_tuning.h"
#include "accuracy/session.h"
#include "core/stopwatch.h"
#include "ir/graph.h"
#include "accuracy/accuracy_control.h"
#include "qwac/error.h"

namespace qwac {
namespace {

using Clock = SteadyClock;

AccuracyControlOutput run_accuracy_control(const ir::Model& model, const Dataset& calibration,
                                           std::unique_ptr<accuracy::Validator> validator_ptr,
                                           const AccuracyControlConfig& params, const RunOptions& options);

}  // namespace

AccuracyControlOutput quantize_with_accuracy_control(const ir::Model& model, const Dataset& calibration,
                                                     const Dataset& validation, const std::vector<MetricPtr>& metrics,
                                                     const AccuracyControlConfig& params, const RunOptions& options) {
  return run_accuracy_control(model, calibration, accuracy::metrics_validator(validation, metrics, options), params,
                              options);
}

AccuracyControlOutput quantize_with_accuracy_control(const ir::Model& model, const Dataset& calibration,
                                                     const Dataset& validation, const ValidationFunction& validation_fn,
                                                     const AccuracyControlConfig& params, const RunOptions& options) {
  auto validator =
      std::make_unique<accuracy::Validator>(DatasetPtr(&validation, [](const Dataset*) {}), validation_fn, options);
  return run_accuracy_control(model, calibration, std::move(validator), params, options);
}

namespace {

AccuracyControlOutput run_accuracy_control(const ir::Model& model, const Dataset& calibration,
                                           std::unique_ptr<accuracy::Validator> validator_ptr,
                                           const AccuracyControlConfig& params, const RunOptions& options) {
  const auto t_start = Clock::now();
  std::unique_ptr<accuracy::Session> session =
      accuracy::start_session(model, calibration, std::move(validator_ptr), params, options);
  accuracy::SearchContext& ctx = session->ctx;
  accuracy::Validator& validator = *session->validator;
  quant::QuantizationState& state = session->state;
  const accuracy::Candidate& current = session->initial;
  nlohmann::json& report = session->report;
  nlohmann::json& timings = session->timings;
  auto logger = ctx.logger;
  auto t0 = Clock::now();

  // --- tune_hyperparams: other default-quantization settings before reverting anything
  const std::vector<double> untuned_values = current.result.values;  // the report's "default_quantization"
  bool tuned = false;
  if (params.tune_hyperparams && !current.drop.satisfied) {
    t0 = Clock::now();
    tuned = true;
    accuracy::tune_hyperparameters(*session, model, calibration, params, options);
    timings["tune_hyperparams"] = seconds_since(t0);
  }

  // --- restore search
  t0 = Clock::now();
  // One stage per precision rung, cheapest first, float last; each stage starts from the previous one's result.
  accuracy::Candidate final_candidate = current;
  const int float_stage = static_cast<int>(ctx.ladder.size()) + 1;
  for (int stage = 1; stage <= float_stage && !final_candidate.drop.satisfied && !ctx.budget_exhausted(); ++stage) {
    ctx.target_rung = stage == float_stage ? 0 : stage;
    ctx.stage_base = final_candidate.set;
    if (!ctx.ladder.empty()) logger->info("search stage " + std::to_string(stage) + ": " + ctx.action());
    final_candidate = params.search == "greedy" ? accuracy::greedy_search(ctx, final_candidate)
                                                : accuracy::bisection_search(ctx, final_candidate);
    if (!final_candidate.drop.satisfied && ctx.best && accuracy::better(ctx.best->drop, final_candidate.drop)) {
      final_candidate = *ctx.best;
    }
  }
  timings["search"] = seconds_since(t0);
  for (const auto& [stage, seconds] : ctx.stage_seconds) timings["search_stages"][stage] = seconds;

  // --- result
  state.set = final_candidate.set;
  AccuracyControlOutput result;
  result.model = std::make_shared<ir::Model>(quant::build_quantized_model(state, logger.get()));
  result.reached = final_candidate.drop.satisfied;

  std::map<std::string, std::string> op_types;
  for (const ir::Node* n : state.canonical->graph->nodes()) op_types[n->name()] = n->op_type();
  nlohmann::json reverted = nlohmann::json::array();
  size_t still_quantized = 0;
  const size_t total = state.set.quantized_ops.size();
  // Per quantized op: is every quantizer it reads still on, and does a weight quantizer stay on (restore_mode
  // activations keeps int8 weights on reverted ops)?
  struct OpState {
    bool all_on = true, weight_on = false;
    int rung = 0;  // highest ladder rung among its quantizers
  };
  std::map<std::string, OpState> ops;
  for (const quant::Quantizer& q : state.set.quantizers) {
    for (const quant::QuantizedEdge& e : q.edges) {
      OpState& o = ops[e.node];
      o.all_on = o.all_on && q.enabled;
      o.weight_on = o.weight_on || (q.enabled && q.kind == quant::QuantizerKind::kWeight);
      if (q.enabled) o.rung = std::max(o.rung, q.rung);
    }
  }
  nlohmann::json raised = nlohmann::json::array();
  for (const std::string& op : state.set.quantized_ops) {
    const OpState& o = ops[op];
    if (o.all_on && o.rung > 0) {
      raised.push_back(
          {{"op", op}, {"type", op_types[op]}, {"precision", ctx.ladder.at(static_cast<size_t>(o.rung - 1)).name}});
    } else if (o.all_on) {
      ++still_quantized;
    } else {
      reverted.push_back(
          {{"op", op}, {"type", op_types[op]}, {"precision", o.weight_on ? "float (int8 weights)" : "float"}});
    }
  }
  for (size_t k = 0; k < ctx.metrics.size(); ++k) {
    const auto& m = ctx.metrics[k];
    report["metrics"][m.name] = {{"fp32", m.baseline},
                                 {"default_quantization", untuned_values[m.index]},
                                 {"final", final_candidate.result.values[m.index]},
                                 {"drop", final_candidate.drop.drops[k]},
                                 {"bound", m.bound},
                                 {"direction", m.higher_better ? "higher-better" : "higher-worse"}};
    if (tuned) report["metrics"][m.name]["tuned_default_quantization"] = current.result.values[m.index];
  }
  report["params"] = {{"max_drop", params.max_drop},
                      {"drop_type", params.drop_type},
                      {"ranking_subset_size", ctx.ranking_subset_size},
                      {"search", params.search},
                      {"restore_mode", params.restore_mode},
                      {"use_prev_if_drop_increase", params.use_prev_if_drop_increase},
                      {"annotation_free", params.annotation_free},
                      {"convert_to_mixed_preset", params.convert_to_mixed_preset},
                      {"tune_hyperparams", params.tune_hyperparams}};
  if (params.max_iter_num != std::numeric_limits<int64_t>::max())
    report["params"]["max_iter_num"] = params.max_iter_num;
  report["reached"] = result.reached;
  report["steps"] = ctx.steps;
  report["reverted_ops"] = reverted;
  report["raised_ops"] = raised;
  nlohmann::json ladder_json = nlohmann::json::array();
  for (const PrecisionRung& r : ctx.ladder) {
    ladder_json.push_back({{"name", r.name}, {"weights_bits", r.weight_bits}, {"activations_bits", r.activation_bits}});
  }
  ladder_json.push_back("float");
  report["params"]["precision_ladder"] = ladder_json;
  report["quantized_ops_total"] = total;
  report["int8_op_fraction"] = total > 0 ? static_cast<double>(still_quantized) / static_cast<double>(total) : 0.0;
  report["full_validations"] = validator.full_validations();
  report["subset_validations"] = validator.subset_validations();
  report["runs"] = validator.costs_json();
  const nlohmann::json qr = quant::quantizers_report(state.set);
  for (const auto& [k, v] : qr.items()) report[k] = v;
  timings["total"] = seconds_since(t_start);
  report["timings_seconds"] = timings;
  std::string summary = std::to_string(reverted.size()) + " of " + std::to_string(total) + " quantized ops reverted";
  for (size_t i = 0; i < reverted.size(); ++i) {
    summary +=
        (i ? ", " : ": ") + reverted[i]["op"].get<std::string>() + " (" + reverted[i]["type"].get<std::string>() + ")";
  }
  if (!raised.empty()) {
    summary += "; " + std::to_string(raised.size()) + " raised";
    for (size_t i = 0; i < raised.size(); ++i) {
      summary += (i ? ", " : ": ") + raised[i]["op"].get<std::string>() + " (" +
                 raised[i]["precision"].get<std::string>() + ")";
    }
  }
  report["summary"] = summary;
  result.report = std::move(report);
  return result;
}

}  // namespace
}  // namespace qwac
