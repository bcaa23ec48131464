#include "accuracy/search_context.h"

#include <algorithm>
#include <atomic>
#include <exception>
#include <optional>
#include <thread>
#include <cmath>
#include <limits>
#include <numeric>

#include "core/resource_limits.h"
#include "core/stopwatch.h"
#include "qwac/error.h"

namespace qwac::accuracy {

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

constexpr double kUnknown = std::numeric_limits<double>::quiet_NaN();

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

ir::Model SearchContext::build(const quant::QuantizerSet& set) {
  const auto t0 = SteadyClock::now();
  quant::QuantizationState s{state->canonical, set, state->corrected_biases, state->materialize, {}};
  ir::Model m = quant::build_quantized_model(s, nullptr);
  stage_seconds["build models"] += seconds_since(t0);
  return m;
}

std::vector<ir::Model> SearchContext::build_all(const std::vector<quant::QuantizerSet>& sets) {
  const auto t0 = SteadyClock::now();
  std::vector<std::optional<ir::Model>> built(sets.size());
  std::vector<std::exception_ptr> errors(sets.size());
  const int configured = validator->options().threads;
  const auto hardware = static_cast<int>(std::max(1u, std::thread::hardware_concurrency()));
  const size_t workers = std::min(sets.size(), static_cast<size_t>(configured > 0 ? configured : hardware));
  std::atomic<size_t> next{0};
  auto work = [&] {
    for (size_t i = next++; i < sets.size(); i = next++) {
      try {
        quant::QuantizationState s{state->canonical, sets[i], state->corrected_biases, state->materialize, {}};
        built[i].emplace(quant::build_quantized_model(s, nullptr));
      } catch (...) {
        errors[i] = std::current_exception();
      }
    }
  };
  std::vector<std::thread> threads;
  for (size_t w = 1; w < workers; ++w) threads.emplace_back(work);
  work();
  for (std::thread& t : threads) t.join();
  std::vector<ir::Model> out;
  out.reserve(sets.size());
  for (size_t i = 0; i < sets.size(); ++i) {
    if (errors[i]) std::rethrow_exception(errors[i]);
    out.push_back(std::move(*built[i]));
  }
  stage_seconds["build models"] += seconds_since(t0);
  return out;
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

double SearchContext::agreement_score(const std::vector<double>& agreement) const {
  double sum = 0;
  for (double a : agreement) {
    if (!std::isnan(a)) sum += std::clamp(a / agreement_scale, -1.0, 1.0);
  }
  return sum;
}

double SearchContext::fp32_value(size_t metric, int64_t i) const {
  if (i < 0 || static_cast<size_t>(i) >= fp32_position.size()) return kUnknown;
  const int64_t p = fp32_position[static_cast<size_t>(i)];
  const std::vector<double>& f = fp32_per_sample.at(metric);
  return p < 0 || f.empty() ? kUnknown : f[static_cast<size_t>(p)];
}

Candidate SearchContext::validate(const quant::QuantizerSet& set, const std::string& what, const nlohmann::json& extra,
                                  const Candidate* reference, bool may_pass_early,
                                  const std::vector<std::vector<double>>* known) {
  const auto t0 = std::chrono::steady_clock::now();
  ValidateOptions o;
  o.key = key(set) + (may_pass_early ? "~" : "");  // a decided-early result is not a complete one
  o.distance = rank_by_distance;
  o.margin = true;
  o.top1 = class_scores;
  o.what = "validate: " + what;
  const int64_t n = validator->dataset().size();
  // The completions a decision rests on: every sample not yet evaluated takes the better (optimistic) or the worse
  // (pessimistic) of its FP32 value and the reference candidate's — the candidate lies between the two.
  std::vector<std::vector<double>> optimistic, pessimistic;
  int64_t informative = 0;  // samples where FP32 and the reference differ: a pass is decided only after them
  auto completed = [&](const std::vector<std::vector<double>>& so_far,
                       const std::vector<std::vector<double>>& completion) {
    std::vector<double> values(validator->metrics().size(), 0.0);
    for (size_t k = 0; k < metrics.size(); ++k) {
      const std::vector<double>& got = so_far.at(metrics[k].index);
      double sum = 0;
      for (int64_t i = 0; i < n; ++i) {
        const double v = got.empty() ? std::nan("") : got[static_cast<size_t>(i)];
        sum += std::isnan(v) ? completion[k][static_cast<size_t>(i)] : v;
      }
      values[metrics[k].index] = sum / static_cast<double>(n);
    }
    return values;
  };
  if (reference != nullptr && can_estimate && reference->complete()) {
    optimistic.resize(metrics.size());
    pessimistic.resize(metrics.size());
    std::vector<bool> differs(static_cast<size_t>(n), false);
    for (size_t k = 0; k < metrics.size(); ++k) {
      const ControlledMetric& m = metrics[k];
      const std::vector<double>& q = reference->result.per_sample.at(m.index);
      optimistic[k].resize(static_cast<size_t>(n));
      pessimistic[k].resize(static_cast<size_t>(n));
      for (int64_t i = 0; i < n; ++i) {
        const double f = fp32_value(m.index, i);
        const double qi = q.at(static_cast<size_t>(i));
        double hi = std::isnan(f) ? qi : std::max(f, qi), lo = std::isnan(f) ? qi : std::min(f, qi);
        const double c = known != nullptr && m.index < known->size() && !(*known)[m.index].empty()
                             ? (*known)[m.index].at(static_cast<size_t>(i))
                             : std::nan("");
        if (!std::isnan(c)) {
          hi = std::max(hi, c);
          lo = std::min(lo, c);
        }
        optimistic[k][static_cast<size_t>(i)] = m.higher_better ? hi : lo;
        pessimistic[k][static_cast<size_t>(i)] = m.higher_better ? lo : hi;
        if ((!std::isnan(f) && f != qi) || (!std::isnan(c) && c != qi)) differs[static_cast<size_t>(i)] = true;
      }
    }
    informative = std::count(differs.begin(), differs.end(), true);
    o.order = informative_order(*this, *reference);
    o.decided = [&, may_pass_early](const std::vector<std::vector<double>>& so_far, int64_t evaluated) {
      for (const ControlledMetric& m : metrics) {
        if (so_far.at(m.index).empty()) return false;
      }
      // Fails even so, once the samples where FP32 and the reference differ were seen, twice over: the samples next
      // in line (small margins, where both were wrong or both right) are where a candidate gains or loses beyond
      // the two (mobilenetv3s: a unit rejected after 48 samples held with drop 0 on the whole set).
      if (evaluated >= 2 * informative && !compute_drop(metrics, completed(so_far, optimistic)).satisfied) return true;
      // Passes even so, once the samples most likely to change (and a quarter of all) were seen.
      return may_pass_early && evaluated >= std::max(2 * informative, n / 4) &&
             compute_drop(metrics, completed(so_far, pessimistic)).satisfied;
    };
  }
  ValidationResult result = validator->full(*models_for({set}).front(), o);
  std::vector<double> predicted;
  if (result.stopped) {
    // The completion the decision rests on stands for the values: optimistic for a failure (beyond the bound by
    // construction), pessimistic for a pass.
    predicted = completed(result.per_sample, optimistic);
    if (compute_drop(metrics, predicted).satisfied) predicted = completed(result.per_sample, pessimistic);
  }
  nlohmann::json with_time = extra;
  with_time["seconds"] = seconds_since(t0);
  stage_seconds["validations"] += seconds_since(t0);
  const bool stopped = result.stopped;
  return record(set, std::move(result), what, with_time, stopped ? &predicted : nullptr);
}

Candidate SearchContext::record(const quant::QuantizerSet& set, ValidationResult result, const std::string& what,
                                const nlohmann::json& extra, const std::vector<double>* predicted) {
  Candidate c;
  c.set = set;
  c.result = std::move(result);
  c.drop = compute_drop(metrics, predicted != nullptr ? *predicted : c.result.values);
  const int64_t n = validator->dataset().size();
  nlohmann::json step = extra;
  step["what"] = what;
  step["full_validation"] = validator->full_validations();
  nlohmann::json vals;
  for (size_t k = 0; k < metrics.size(); ++k) {
    if (c.complete()) {
      vals[metrics[k].name] = {{"value", c.result.values[metrics[k].index]}, {"drop", c.drop.drops[k]}};
    } else if (c.drop.satisfied) {
      vals[metrics[k].name] = {{"predicted_drop_at_most", c.drop.drops[k]}};
    } else {
      vals[metrics[k].name] = {{"predicted_drop_at_least", c.drop.drops[k]}};
    }
  }
  step["metrics"] = vals;
  step["satisfied"] = c.drop.satisfied;
  if (!c.complete()) step["stopped_after_samples"] = c.result.samples;
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
  steps.push_back(step);
  std::string line = what + ": ";
  for (size_t k = 0; k < metrics.size(); ++k) {
    if (c.complete()) {
      line += metrics[k].name + " " + std::to_string(c.result.values[metrics[k].index]) + " (drop " +
              std::to_string(c.drop.drops[k]) + ") ";
    } else {
      line += metrics[k].name + (c.drop.satisfied ? " drop <= " : " drop >= ") + std::to_string(c.drop.drops[k]) + " ";
    }
  }
  if (c.complete()) {
    logger->info(line + (c.drop.satisfied ? "- within the bound" : "- beyond the bound"));
  } else {
    logger->info(line + (c.drop.satisfied ? "- predicted within the bound" : "- beyond the bound") + " (decided after " +
                 std::to_string(c.result.samples) + " of " + std::to_string(n) + " samples)");
  }
  if (c.complete() && (!best || better(c.drop, best->drop))) best = c;
  return c;
}

std::vector<ValidationResult> SearchContext::evaluate_sets(const quant::QuantizerSet& base,
                                                           const std::vector<quant::QuantizerSet>& sets,
                                                           const std::vector<int64_t>& indices, bool distance,
                                                           const std::string& phase) {
  std::vector<ValidationResult> out;
  // The base is the same model call after call (the ranking's, the estimates'): built once.
  const std::string base_key = key(base);
  if (!base_model_ || base_model_key_ != base_key) {
    base_model_ = std::make_shared<const ir::Model>(build(base));
    base_model_key_ = base_key;
  }
  const std::shared_ptr<const ir::Model> base_model = base_model_;
  std::map<std::string, std::shared_ptr<const ir::Model>> kept;
  for (size_t begin = 0; begin < sets.size(); begin += static_cast<size_t>(max_variants_per_pass)) {
    const size_t end = std::min(sets.size(), begin + static_cast<size_t>(max_variants_per_pass));
    const std::vector<std::shared_ptr<const ir::Model>> models = models_for(std::vector<quant::QuantizerSet>(
        sets.begin() + static_cast<std::ptrdiff_t>(begin), sets.begin() + static_cast<std::ptrdiff_t>(end)));
    std::vector<const ir::Model*> pointers;
    for (const auto& m : models) pointers.push_back(m.get());
    std::vector<ValidationResult> r = validator->subsets(*base_model, pointers, indices, distance, phase,
                                                         has_agreement() ? &reference_classes : nullptr);
    for (ValidationResult& x : r) out.push_back(std::move(x));
    release_free_heap();  // the pass's engines are gone: keep the resident size at one pass's
    if (sets.size() <= static_cast<size_t>(max_variants_per_pass)) {
      for (size_t i = begin; i < end; ++i) kept[key(sets[i])] = models[i - begin];
    }
  }
  // The next call (the adaptive ranking's next round: the survivors on more samples) or validation (the top unit)
  // often wants some of these models again; a pass's worth of models is kept, as many as the pass held anyway.
  recent_models_ = std::move(kept);
  return out;
}

std::vector<std::shared_ptr<const ir::Model>> SearchContext::models_for(const std::vector<quant::QuantizerSet>& sets) {
  std::vector<std::shared_ptr<const ir::Model>> out(sets.size());
  std::vector<size_t> missing;
  std::vector<quant::QuantizerSet> to_build;
  for (size_t i = 0; i < sets.size(); ++i) {
    const std::string k = key(sets[i]);
    if (auto it = recent_models_.find(k); it != recent_models_.end()) {
      out[i] = it->second;
    } else if (base_model_ && base_model_key_ == k) {
      out[i] = base_model_;
    } else {
      missing.push_back(i);
      to_build.push_back(sets[i]);
    }
  }
  std::vector<ir::Model> built = build_all(to_build);
  for (size_t j = 0; j < missing.size(); ++j) out[missing[j]] = std::make_shared<const ir::Model>(std::move(built[j]));
  return out;
}

std::vector<int64_t> informative_order(const SearchContext& ctx, const Candidate& current) {
  const int64_t n = ctx.validator->dataset().size();
  struct Key {
    double disagreement, margin, distance;
    int64_t index;
  };
  auto value_or = [](const std::vector<double>& v, int64_t i, double fallback) {
    if (v.empty()) return fallback;
    const double x = v[static_cast<size_t>(i)];
    return std::isnan(x) ? fallback : x;
  };
  constexpr double kNoMargin = std::numeric_limits<double>::infinity();
  std::vector<Key> keys;
  keys.reserve(static_cast<size_t>(n));
  for (int64_t i = 0; i < n; ++i) {
    double disagreement = 0;
    for (const ControlledMetric& m : ctx.metrics) {
      const std::vector<double>& q = current.result.per_sample.at(m.index);
      const double f = ctx.fp32_value(m.index, i);
      if (q.empty() || std::isnan(f) || std::isnan(q[static_cast<size_t>(i)])) continue;
      disagreement += std::fabs(f - q[static_cast<size_t>(i)]) / std::max(std::fabs(m.baseline), 1e-12);
    }
    const double margin =
        std::min(value_or(ctx.fp32_margin, i, kNoMargin), value_or(current.result.margin, i, kNoMargin));
    keys.push_back({disagreement, margin, value_or(current.result.distance, i, 0.0), i});
  }
  std::sort(keys.begin(), keys.end(), [](const Key& a, const Key& b) {
    if (a.disagreement != b.disagreement) return a.disagreement > b.disagreement;
    if (a.margin != b.margin) return a.margin < b.margin;
    if (a.distance != b.distance) return a.distance > b.distance;
    return a.index < b.index;
  });
  std::vector<int64_t> order;
  for (const Key& k : keys) order.push_back(k.index);
  return order;
}

std::vector<int64_t> select_ranking_subset(const SearchContext& ctx, const Candidate& current) {
  std::vector<int64_t> order = informative_order(ctx, current);
  order.resize(std::min(order.size(), static_cast<size_t>(std::max<int64_t>(1, ctx.ranking_subset_size))));
  return order;
}

std::vector<double> estimate_full_values(const Candidate& current, const std::vector<int64_t>& subset,
                                         const ValidationResult& subset_result) {
  std::vector<double> out;
  for (size_t m = 0; m < current.result.per_sample.size(); ++m) {
    const std::vector<double>& full = current.result.per_sample[m];
    const std::vector<double>& part = subset_result.per_sample.at(m);
    if (full.empty() || part.size() < subset.size()) return {};
    double sum = std::accumulate(full.begin(), full.end(), 0.0);
    for (size_t k = 0; k < subset.size(); ++k) sum += part[k] - full[static_cast<size_t>(subset[k])];
    out.push_back(sum / static_cast<double>(full.size()));
  }
  return out;
}

}  // namespace qwac::accuracy
