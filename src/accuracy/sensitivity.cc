// quantization_sensitivity (include/qwac/accuracy_control.h): the ranking the restore search starts from, on its
// own: each group of quantizers reverted alone, scored on the ranking subset, with the estimated full-set metric.
#include <chrono>
#include <map>

#include "accuracy/session.h"
#include "ir/graph.h"
#include "accuracy/accuracy_control.h"

namespace qwac {

nlohmann::json quantization_sensitivity(const ir::Model& model, const Dataset& calibration, const Dataset& validation,
                                        const std::vector<MetricPtr>& metrics, const AccuracyControlConfig& params,
                                        const RunOptions& options) {
  const auto t0 = std::chrono::steady_clock::now();
  std::unique_ptr<accuracy::Session> session =
      accuracy::start_session(model, calibration, accuracy::metrics_validator(validation, metrics, options), params,
                              options);
  accuracy::SearchContext& ctx = session->ctx;
  const accuracy::Candidate& initial = session->initial;
  const int metric = initial.drop.satisfied ? initial.drop.largest : initial.drop.worst;
  const std::vector<int64_t> subset = accuracy::select_ranking_subset(ctx, initial);
  const std::vector<accuracy::RankedGroup> ranked =
      accuracy::rank_groups(ctx, initial, ctx.enabled_groups(initial.set), subset, metric, /*adaptive=*/false);

  std::map<std::string, std::string> op_types;
  for (const ir::Node* n : session->state.canonical->graph->nodes()) op_types[n->name()] = n->op_type();
  nlohmann::json groups = nlohmann::json::array();
  for (size_t r = 0; r < ranked.size(); ++r) {
    const quant::QuantizerGroup& g = initial.set.groups.at(static_cast<size_t>(ranked[r].group));
    nlohmann::json e;
    e["rank"] = r + 1;
    e["group"] = g.id;
    e["name"] = g.name;
    nlohmann::json ops = nlohmann::json::array();
    for (const std::string& op : g.ops) ops.push_back({{"op", op}, {"type", op_types[op]}});
    e["ops"] = ops;
    e["quantizers"] = g.quantizers;
    e["score"] = ranked[r].score;
    const std::vector<double> est = accuracy::estimate_full_values(initial, subset, *ranked[r].subset_result);
    if (!est.empty()) {
      const accuracy::DropReport d = accuracy::compute_drop(ctx.metrics, est);
      for (size_t k = 0; k < ctx.metrics.size(); ++k) {
        e["estimated"][ctx.metrics[k].name] = {{"value", est[ctx.metrics[k].index]}, {"drop", d.drops[k]}};
      }
      e["estimated_within_bound"] = d.satisfied;
    }
    groups.push_back(e);
  }
  nlohmann::json report = session->report;
  report["algorithm"] = "sensitivity";
  for (size_t k = 0; k < ctx.metrics.size(); ++k) {
    const auto& m = ctx.metrics[k];
    report["metrics"][m.name] = {{"fp32", m.baseline},
                                 {"default_quantization", initial.result.values[m.index]},
                                 {"drop", initial.drop.drops[k]},
                                 {"bound", m.bound}};
  }
  report["ranked_metric"] = ctx.metrics.at(static_cast<size_t>(metric)).name;
  report["ranking_subset_size"] = subset.size();
  report["restore_mode"] = params.restore_mode;
  report["groups"] = groups;
  report["full_validations"] = session->validator->full_validations();
  report["subset_validations"] = session->validator->subset_validations();
  report["timings_seconds"] = session->timings;
  report["timings_seconds"]["total"] =
      std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  return report;
}

}  // namespace qwac
