#include "accuracy/search_context.h"

#include <algorithm>
#include <cmath>
#include <numeric>

#include "core/stopwatch.h"
#include "qwac/error.h"

namespace qwac::accuracy {
namespace {

// Mean over outputs of |ref - x|^2 / |ref|^2 (NNCF's normalized MSE), for one sample.
double nmse(const Tensor& ref, const Tensor& x) {
  double num = 0, den = 0;
  const float* a = ref.data<float>();
  const float* b = x.data<float>();
  for (int64_t i = 0; i < std::min(ref.numel(), x.numel()); ++i) {
    num += (a[i] - b[i]) * static_cast<double>(a[i] - b[i]);
    den += a[i] * static_cast<double>(a[i]);
  }
  return den > 0 ? num / den : num;
}

}  // namespace

bool SearchContext::budget_exhausted() const {
  if (max_time_seconds > 0 && seconds_since(start) >= max_time_seconds) return true;
  return max_evaluations > 0 && validator->full_validations() >= max_evaluations;
}

namespace {

// Whether the stage can change quantizer `z`: float reverts anything enabled; a ladder rung only what it raises.
bool changeable(const quant::Quantizer& z, int target_rung, const std::string& restore_mode) {
  if (!z.enabled) return false;
  if (restore_mode == "activations" && z.kind == quant::QuantizerKind::kWeight) return false;
  if (target_rung == 0) return true;
  const auto r = static_cast<size_t>(target_rung);
  return z.rung < target_rung && r < z.rungs.size() && !(z.rungs[r].spec == z.spec);
}

}  // namespace

void SearchContext::revert(quant::QuantizerSet& set, int group) const {
  for (int q : set.groups.at(static_cast<size_t>(group)).quantizers) {
    quant::Quantizer& z = set.at(q);
    if (!changeable(z, target_rung, restore_mode)) continue;
    if (target_rung == 0) {
      z.enabled = false;
    } else {
      z.set_rung(target_rung);
    }
  }
}

void SearchContext::restore(quant::QuantizerSet& set, int group) const {
  for (int q : set.groups.at(static_cast<size_t>(group)).quantizers) {
    const quant::Quantizer& base = stage_base.quantizers.empty() ? state->set.at(q) : stage_base.at(q);
    set.at(q).enabled = base.enabled;
    set.at(q).set_rung(base.rung);
  }
}

std::string SearchContext::action() const {
  return target_rung == 0 ? "revert" : "raise to " + ladder.at(static_cast<size_t>(target_rung - 1)).name;
}

ir::Model SearchContext::build(const quant::QuantizerSet& set) const {
  quant::QuantizationState s{state->canonical, set, state->corrected_biases, state->materialize, {}};
  return quant::build_quantized_model(s, nullptr);
}

std::string SearchContext::key(const quant::QuantizerSet& set) const {
  std::string bits;
  // '0' = float, '1' = the preset, '2'... = ladder rungs (a set without a ladder keeps the original keys).
  for (const quant::Quantizer& q : set.quantizers) bits += q.enabled ? static_cast<char>('1' + q.rung) : '0';
  return state_tag + ":" + bits;
}

std::vector<int> SearchContext::enabled_groups(const quant::QuantizerSet& set) const {
  std::vector<int> out;
  for (const quant::QuantizerGroup& g : set.groups) {
    // activations mode: a group whose activation quantizers are all off has nothing left to revert.
    const bool any = std::any_of(g.quantizers.begin(), g.quantizers.end(),
                                 [&](int q) { return changeable(set.at(q), target_rung, restore_mode); });
    if (any) out.push_back(g.id);
  }
  return out;
}

std::string SearchContext::describe_group(int group) const {
  const quant::QuantizerGroup& g = state->set.groups.at(static_cast<size_t>(group));
  std::string s = "group " + std::to_string(g.id) + " [";
  for (size_t i = 0; i < g.ops.size(); ++i) s += (i ? ", " : "") + g.ops[i];
  return s + "]";
}

Candidate SearchContext::validate(const quant::QuantizerSet& set, const std::string& what,
                                  const nlohmann::json& extra) {
  const auto t0 = std::chrono::steady_clock::now();
  Candidate c;
  c.set = set;
  c.result = validator->full(build(set), need_outputs, key(set));
  c.drop = compute_drop(metrics, c.result.values);
  nlohmann::json step = extra;
  step["what"] = what;
  step["full_validation"] = validator->full_validations();
  nlohmann::json vals;
  for (size_t k = 0; k < metrics.size(); ++k) {
    vals[metrics[k].name] = {{"value", c.result.values[metrics[k].index]}, {"drop", c.drop.drops[k]}};
  }
  step["metrics"] = vals;
  step["satisfied"] = c.drop.satisfied;
  std::vector<int> reverted;
  for (const quant::QuantizerGroup& g : set.groups) {
    if (!set.group_enabled(g.id)) reverted.push_back(g.id);
  }
  step["reverted_groups"] = reverted;
  std::vector<int> raised;
  for (const quant::QuantizerGroup& g : set.groups) {
    const bool up = std::any_of(g.quantizers.begin(), g.quantizers.end(),
                                [&](int q) { return set.at(q).enabled && set.at(q).rung > 0; });
    if (up) raised.push_back(g.id);
  }
  if (!raised.empty()) step["raised_groups"] = raised;
  step["seconds"] = seconds_since(t0);
  steps.push_back(step);
  std::string line = what + ": ";
  for (size_t k = 0; k < metrics.size(); ++k) {
    line += metrics[k].name + " " + std::to_string(c.result.values[metrics[k].index]) + " (drop " +
            std::to_string(c.drop.drops[k]) + ") ";
  }
  logger->info(line + (c.drop.satisfied ? "- within the bound" : "- beyond the bound"));
  if (!best || better(c.drop, best->drop)) best = c;
  return c;
}

std::vector<int64_t> select_ranking_subset(const SearchContext& ctx, const Candidate& current, int metric) {
  const ControlledMetric& m = ctx.metrics.at(static_cast<size_t>(metric));
  const std::vector<double>& q = current.result.per_sample.at(m.index);
  const std::vector<double>& f = ctx.fp32_per_sample.at(m.index);
  std::vector<std::pair<double, int64_t>> errors;  // (error, sample)
  for (size_t j = 0; j < ctx.fp32_indices.size(); ++j) {
    const int64_t i = ctx.fp32_indices[j];
    double e;
    if (!q.empty() && !f.empty()) {
      e = m.higher_better ? f[j] - q[static_cast<size_t>(i)] : q[static_cast<size_t>(i)] - f[j];
    } else {
      e = nmse(ctx.fp32_outputs.at(j), current.result.outputs.at(static_cast<size_t>(i)));
    }
    errors.emplace_back(e, i);
  }
  std::stable_sort(errors.begin(), errors.end(), [](const auto& a, const auto& b) {
    return a.first != b.first ? a.first > b.first : a.second < b.second;
  });
  const size_t n = std::min(errors.size(), static_cast<size_t>(std::max<int64_t>(1, ctx.ranking_subset_size)));
  std::vector<int64_t> subset;
  for (size_t k = 0; k < n; ++k) subset.push_back(errors[k].second);
  std::sort(subset.begin(), subset.end());
  return subset;
}

std::vector<double> estimate_full_values(const Candidate& current, const std::vector<int64_t>& subset,
                                         const ValidationResult& subset_result) {
  std::vector<double> out;
  for (size_t m = 0; m < current.result.per_sample.size(); ++m) {
    const std::vector<double>& full = current.result.per_sample[m];
    const std::vector<double>& part = subset_result.per_sample.at(m);
    if (full.empty() || part.size() != subset.size()) return {};
    double sum = std::accumulate(full.begin(), full.end(), 0.0);
    for (size_t k = 0; k < subset.size(); ++k) sum += part[k] - full[static_cast<size_t>(subset[k])];
    out.push_back(sum / static_cast<double>(full.size()));
  }
  return out;
}

std::vector<RankedGroup> rank_groups(SearchContext& ctx, const Candidate& current, const std::vector<int>& groups,
                                     const std::vector<int64_t>& subset, int metric) {
  const ControlledMetric& m = ctx.metrics.at(static_cast<size_t>(metric));
  const bool per_sample = !current.result.per_sample.at(m.index).empty();
  std::vector<RankedGroup> ranked;
  // Every group reverted alone, evaluated together: the current model runs once, each variant only downstream.
  std::vector<ir::Model> variants;
  std::vector<const ir::Model*> pointers;
  std::vector<std::string> keys;
  variants.reserve(groups.size());
  for (int g : groups) {
    quant::QuantizerSet set = current.set;
    ctx.revert(set, g);
    variants.push_back(ctx.build(set));
    keys.push_back(ctx.key(set));
  }
  for (const ir::Model& m : variants) pointers.push_back(&m);
  std::vector<ValidationResult> results =
      ctx.validator->subsets(ctx.build(current.set), pointers, subset, !per_sample, keys);
  for (size_t gi = 0; gi < groups.size(); ++gi) {
    const int g = groups[gi];
    auto result = std::make_shared<const ValidationResult>(std::move(results[gi]));
    const ValidationResult& r = *result;
    double score;
    if (per_sample) {
      score = m.higher_better ? r.values[m.index] : -r.values[m.index];
    } else {
      // NMSE mode: a smaller distance to FP32 after the revert is better (NNCF sorts this the other way round).
      double sum = 0;
      for (size_t k = 0; k < subset.size(); ++k) {
        const auto it = std::find(ctx.fp32_indices.begin(), ctx.fp32_indices.end(), subset[k]);
        sum += nmse(ctx.fp32_outputs.at(static_cast<size_t>(it - ctx.fp32_indices.begin())), r.outputs.at(k));
      }
      score = -sum / static_cast<double>(subset.size());
    }
    ranked.push_back({g, score, result});
    ctx.logger->debug("ranking " + ctx.describe_group(g) + ": score " + std::to_string(score));
  }
  std::stable_sort(ranked.begin(), ranked.end(), [](const RankedGroup& a, const RankedGroup& b) {
    return a.score != b.score ? a.score > b.score : a.group < b.group;
  });
  nlohmann::json j = nlohmann::json::array();
  for (const RankedGroup& r : ranked) j.push_back({{"group", r.group}, {"score", r.score}});
  ctx.steps.push_back({{"what", "ranking"}, {"metric", m.name}, {"subset_size", subset.size()}, {"ranking", j}});
  return ranked;
}

}  // namespace qwac::accuracy
