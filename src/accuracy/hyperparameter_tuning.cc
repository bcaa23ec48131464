#include "accuracy/hyperparameter_tuning.h"

#include <functional>
#include <string>
#include <vector>

#include "core/stopwatch.h"
#include "quant/hw_config.h"
#include "quant/model_type.h"
#include "quant/precision_ladder.h"

namespace qwac::accuracy {
namespace {

// One coordinate of the search: its name, the values tried (JSON, for the report) and how each applies.
struct Coordinate {
  std::string name;
  std::vector<nlohmann::json> values;
  std::function<void(QuantizationConfig&, const nlohmann::json&)> apply;
};

nlohmann::json quantile(double p) {
  return {{"min", {{"type", "quantile"}, {"aggregator", "mean"}, {"outlier_prob", p}}},
          {"max", {{"type", "quantile"}, {"aggregator", "mean"}, {"outlier_prob", p}}}};
}

std::vector<Coordinate> search_space(const QuantizationConfig& base) {
  std::vector<Coordinate> space;
  // SmoothQuant first, as NNCF tunes it (its grid), for transformers or when the user set an alpha: null is the
  // starting point (the model type's default or the user's value), -1 turns it off.
  if (quant::resolved_smooth_quant_alpha(base) || base.smooth_quant_alpha) {
    space.push_back({"smooth_quant_alpha", {nullptr, -1.0, 0.15, 0.25, 0.5, 0.75, 0.95},
                     [](QuantizationConfig& q, const nlohmann::json& v) {
                       if (!v.is_null()) q.smooth_quant_alpha = v.get<double>();
                     }});
  }
  const quant::HwConfig& hw = quant::hw_config_for(base.target_device);
  std::vector<nlohmann::json> presets;
  for (quant::Preset p : {quant::Preset::kPerformance, quant::Preset::kMixed}) {
    if (std::find(hw.presets.begin(), hw.presets.end(), p) != hw.presets.end()) {
      presets.push_back(quant::preset_name(p));
    }
  }
  space.push_back({"preset", presets, [](QuantizationConfig& q, const nlohmann::json& v) { q.preset = v; }});
  // The activation ranges (POT's space: min/max against quantiles; qwac adds its MSE search). A user's own
  // range_estimator is one of the candidates: it is the starting point.
  space.push_back({"activations.range_estimator",
                   {nullptr, {{"preset", "quantile"}}, quantile(1e-3), {{"preset", "mse"}}},
                   [](QuantizationConfig& q, const nlohmann::json& v) { q.activations.range_estimator = v; }});
  space.push_back({"bias_correction", {"fast", "full", "none"}, [](QuantizationConfig& q, const nlohmann::json& v) {
                     q.bias_correction = v;
                   }});
  return space;
}

nlohmann::json drops_json(const SearchContext& ctx, const DropReport& d) {
  nlohmann::json j;
  for (size_t k = 0; k < ctx.metrics.size(); ++k) j[ctx.metrics[k].name] = d.drops[k];
  return j;
}

}  // namespace

bool tune_hyperparameters(Session& session, const ir::Model& model, const Dataset& calibration,
                          const AccuracyControlConfig& params, const RunOptions& options) {
  SearchContext& ctx = session.ctx;
  const auto t0 = SteadyClock::now();
  const Candidate& untuned = session.initial;
  const int metric = untuned.drop.worst;
  const std::vector<int64_t> subset = select_ranking_subset(ctx, untuned);
  nlohmann::json tried = nlohmann::json::array();

  // The estimated full-set drop of a setting: default quantization with it, evaluated on the ranking subset.
  auto score = [&](const QuantizationConfig& q, quant::QuantizationState& out) -> std::optional<DropReport> {
    out = quant::run_default_quantization(model, calibration, q, options);
    quant::attach_precision_ladder(out.set, ctx.ladder);
    quant::QuantizationState s{out.canonical, out.set, out.corrected_biases, out.materialize, {}};
    const ValidationResult r = ctx.validator->subset(quant::build_quantized_model(s, nullptr), subset, false, "tune");
    const std::vector<double> est = estimate_full_values(untuned, subset, r);
    if (est.empty()) return std::nullopt;
    return compute_drop(ctx.metrics, est);
  };

  QuantizationConfig best_params = params.base;
  quant::QuantizationState best_state;
  std::optional<DropReport> best_drop;
  nlohmann::json best_values = nlohmann::json::object();
  for (const Coordinate& c : search_space(params.base)) {
    for (const nlohmann::json& v : c.values) {
      QuantizationConfig q = best_params;
      c.apply(q, v);
      quant::QuantizationState state;
      const std::optional<DropReport> d = score(q, state);
      if (!d) {
        ctx.logger->warning("tune_hyperparams needs per-sample metric values; skipped");
        session.report["tune_hyperparams"] = {{"skipped", "a controlled metric has no per-sample values"}};
        return false;
      }
      tried.push_back({{"parameter", c.name}, {"value", v}, {"estimated_drops", drops_json(ctx, *d)}});
      ctx.logger->info("tune_hyperparams: " + c.name + " = " + v.dump() + ": estimated drop " +
                       std::to_string(d->drops[static_cast<size_t>(metric)]));
      if (!best_drop || better(*d, *best_drop)) {
        best_drop = d;
        best_params = q;
        best_state = std::move(state);
        best_values[c.name] = v;
      }
    }
  }
  nlohmann::json& rep = session.report["tune_hyperparams"];
  rep["tried"] = tried;
  rep["chosen"] = best_values;
  rep["ranking_subset_size"] = subset.size();
  // Confirm on the full set; keep it only if it satisfies the bound or beats the untuned drop.
  const std::string saved_tag = ctx.state_tag;
  const quant::QuantizationState* saved_state = ctx.state;
  ctx.state = &best_state;
  ctx.state_tag = "tuned:" + best_values.dump();
  Candidate tuned = ctx.validate(best_state.set, "tuned default quantization", {{"tune_hyperparams", best_values}});
  const bool keep = tuned.drop.satisfied || better(tuned.drop, untuned.drop);
  rep["full_set_drops"] = drops_json(ctx, tuned.drop);
  rep["kept"] = keep;
  rep["seconds"] = seconds_since(t0);
  if (keep) {
    session.state = std::move(best_state);
    ctx.state = &session.state;
    session.initial = std::move(tuned);
    ctx.best = session.initial;
    session.report["default_quantization"] = session.state.report;
    ctx.logger->info("tune_hyperparams: kept " + best_values.dump());
  } else {
    ctx.state = saved_state;
    ctx.state_tag = saved_tag;
    ctx.best = session.initial;
    ctx.logger->info(
        "tune_hyperparams: the tuned settings do not beat the defaults on the full set; kept the defaults");
  }
  return keep;
}

}  // namespace qwac::accuracy
