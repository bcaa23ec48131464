// qwac's restore search (`search: bisection`, the default name): rank once (adaptively), then choose the groups to
// revert by estimates on a small subset, and spend full validations only to confirm.
//
//   1. forward selection: the next group to revert is, among the first few ranked groups not chosen yet, the one
//      whose revert on top of those chosen gives the best estimate on the selection subset (the samples where the
//      start and FP32 disagree: most of what a revert changes happens there). The estimate of a set is exact on
//      its subset (partial runs from the start model) and assumes the start's per-sample values elsewhere;
//   2. when the selection estimate is within the bound, the set is estimated on the whole ranking subset (the
//      samples closest to a decision as well), and when that holds too,
//   3. confirmed by one full validation, processing the most informative samples first and stopping as soon as
//      the drop is predicted beyond the bound. When it fails, the samples where it differed from the start join the
//      estimate subsets, the bound the estimates are judged against is lowered by how far they were off, and the
//      selection goes on from the chosen set.
// Interactions between groups count (each choice is estimated on top of the previous ones), the ranking need not be
// monotonic (it only proposes candidates), and only a complete full validation within the bound ends the search.
// Without per-sample values (mAP-like metrics) nothing is estimated: prefixes of the ranking are bisected with full
// validations, then pruned with full validations.
#include <algorithm>
#include <cmath>
#include <map>
#include <optional>
#include <set>

#include "accuracy/search_context.h"
#include "core/stopwatch.h"

namespace qwac::accuracy {
namespace {

// Candidates weighed at each selection step: the first not-yet-chosen groups of the ranking, and the neighbours of
// the groups chosen so far (a convolution and its activation's quantizer help together more than alone: on
// mobilenetv3s the first layer's Conv and hard-swish Mul gain 13 samples together, 2 apart).
constexpr size_t kCandidates = 6;
// Each step weighs the candidates on the first samples of the selection subset, then the best few on all of it.
constexpr int64_t kFirstLookSamples = 32;
constexpr size_t kSecondLook = 3;
// The selection subset: the samples where the start and FP32 differ, at least this many.
constexpr int64_t kSelectionSamples = 64;
constexpr int kMaxConfirmations = 4;

struct Search {
  SearchContext& ctx;
  const Candidate& start;
  std::vector<int> order;               // ranked groups
  std::vector<int64_t> ranking_subset;  // estimates within the bound are checked here
  std::vector<int64_t> selection_subset;
  int64_t estimates = 0;
  // How far estimates have been too optimistic (metric units, per controlled metric): subtracted from the bounds
  // the estimates are judged against.
  std::vector<double> allowance;

  quant::QuantizerSet prefix_set(size_t k) const {
    quant::QuantizerSet set = start.set;
    for (size_t i = 0; i < k; ++i) ctx.revert(set, order[i]);
    return set;
  }

  struct Estimate {
    DropReport drop;
    double agreement = 0;  // with FP32's decisions, over the subset (when known)
  };

  // Estimated drops of several sets on `subset`, in one pass from the start's model.
  std::vector<Estimate> estimate(const std::vector<quant::QuantizerSet>& sets, const std::vector<int64_t>& subset) {
    const auto t0 = SteadyClock::now();
    std::vector<Estimate> out;
    const std::vector<ValidationResult> r = ctx.evaluate_sets(start.set, sets, subset, false, "estimate");
    std::vector<ControlledMetric> judged = ctx.metrics;
    for (size_t k = 0; k < judged.size() && k < allowance.size(); ++k) judged[k].bound -= allowance[k];
    for (const ValidationResult& x : r) {
      out.push_back({compute_drop(judged, estimate_full_values(start, subset, x)), ctx.agreement_score(x.agreement)});
    }
    estimates += static_cast<int64_t>(sets.size());
    ctx.stage_seconds["estimates"] += seconds_since(t0);
    return out;
  }

  // Which of two estimates moves the model more toward FP32: agreement with its decisions when known (continuous),
  // else the estimated drop.
  bool preferred(const Estimate& a, const Estimate& b) const {
    if (ctx.has_agreement() && a.agreement != b.agreement) return a.agreement > b.agreement;
    return better(a.drop, b.drop);
  }

  // Samples where a validated candidate differs from the start (the estimates' assumption outside their subsets).
  size_t refine(const Candidate& c) {
    std::set<int64_t> in_ranking(ranking_subset.begin(), ranking_subset.end());
    std::set<int64_t> in_selection(selection_subset.begin(), selection_subset.end());
    size_t added = 0;
    for (const ControlledMetric& m : ctx.metrics) {
      const std::vector<double>& got = c.result.per_sample.at(m.index);
      const std::vector<double>& was = start.result.per_sample.at(m.index);
      for (size_t i = 0; i < got.size(); ++i) {
        const auto sample = static_cast<int64_t>(i);
        if (std::isnan(got[i]) || got[i] == was[i]) continue;
        if (in_selection.insert(sample).second) selection_subset.push_back(sample);
        if (in_ranking.insert(sample).second) {
          ranking_subset.push_back(sample);
          ++added;
        }
      }
    }
    return added;
  }
};

// Groups whose ops are connected (directly, or through ops no group covers) in the canonical graph.
std::vector<std::set<int>> group_neighbours(const SearchContext& ctx) {
  const quant::QuantizerSet& set = ctx.state->set;
  const ir::Graph& g = *ctx.state->canonical->graph;
  std::map<std::string, int> group_of;
  for (const quant::QuantizerGroup& q : set.groups) {
    for (const std::string& op : q.ops) group_of[op] = q.id;
  }
  std::vector<std::set<int>> out(set.groups.size());
  for (const quant::QuantizerGroup& q : set.groups) {
    std::vector<const ir::Node*> stack;
    std::set<const ir::Node*> seen;
    for (const std::string& op : q.ops) {
      if (const ir::Node* n = g.find_node(op)) stack.push_back(n);
    }
    while (!stack.empty()) {
      const ir::Node* n = stack.back();
      stack.pop_back();
      if (!seen.insert(n).second) continue;
      auto visit = [&](const ir::Node* m) {
        if (m == nullptr || seen.count(m)) return;
        auto it = group_of.find(m->name());
        if (it == group_of.end()) {
          stack.push_back(m);  // an op no group covers: look through it
        } else if (it->second != q.id) {
          out[static_cast<size_t>(q.id)].insert(it->second);
        } else {
          stack.push_back(m);
        }
      };
      for (const ir::Value* v : n->inputs()) {
        if (v != nullptr) visit(v->producer());
      }
      for (const ir::Value* v : n->outputs()) {
        if (v == nullptr) continue;
        for (const ir::Use& u : v->uses()) visit(u.node);
      }
    }
  }
  return out;
}

// Without estimates: bisection of the prefixes with full validations, then pruning with full validations.
Candidate bisect_with_full_validations(SearchContext& ctx, Search& s, size_t n) {
  std::map<size_t, Candidate> validated;
  auto validate = [&](size_t k) -> const Candidate& {
    if (auto it = validated.find(k); it != validated.end()) return it->second;
    std::vector<int> groups(s.order.begin(), s.order.begin() + static_cast<std::ptrdiff_t>(k));
    Candidate c = ctx.validate(s.prefix_set(k), ctx.action() + " the top " + std::to_string(k) + " ranked group(s)",
                               {{"search", "bisection"}, {"prefix", k}, {"groups", groups}});
    return validated.emplace(k, std::move(c)).first->second;
  };
  size_t lo = 0, hi = 0;
  for (size_t k = (n + 1) / 2; !ctx.budget_exhausted();) {
    if (validate(k).drop.satisfied) {
      hi = k;
      break;
    }
    lo = k;
    if (k == n) break;
    k = std::min(n, 2 * k);
  }
  if (hi == 0) return *ctx.best;
  while (hi - lo > 1 && !ctx.budget_exhausted()) {
    const size_t mid = lo + (hi - lo) / 2;
    (validate(mid).drop.satisfied ? hi : lo) = mid;
  }
  Candidate result = validate(hi);
  for (size_t i = hi; i-- > 0 && hi > 1 && !ctx.budget_exhausted();) {
    quant::QuantizerSet trial = result.set;
    ctx.restore(trial, s.order[i]);
    Candidate c = ctx.validate(trial, "restore " + ctx.describe_group(s.order[i]),
                               {{"search", "bisection"}, {"group", s.order[i]}});
    if (c.drop.satisfied) result = std::move(c);
  }
  return result;
}

}  // namespace

Candidate bisection_search(SearchContext& ctx, Candidate initial) {
  const int metric = initial.drop.worst;
  const std::vector<int64_t> subset = select_ranking_subset(ctx, initial);
  const std::vector<RankedGroup> ranked =
      rank_groups(ctx, initial, ctx.enabled_groups(initial.set), subset, metric, /*adaptive=*/true);
  Search s{ctx, initial, {}, subset, {}, 0, std::vector<double>(ctx.metrics.size(), 0.0)};
  for (const RankedGroup& r : ranked) s.order.push_back(r.group);
  const size_t n = std::min(s.order.size(), static_cast<size_t>(std::max<int64_t>(0, ctx.max_iter_num)));
  if (n == 0) return *ctx.best;
  if (!ctx.can_estimate) return bisect_with_full_validations(ctx, s, n);

  // The selection subset: the samples of the ranking subset (informative first) where the start and FP32 differ.
  int64_t disagreeing = 0;
  for (int64_t i : subset) {
    for (const ControlledMetric& m : ctx.metrics) {
      const double f = ctx.fp32_value(m.index, i);
      if (!std::isnan(f) && f != initial.result.per_sample.at(m.index)[static_cast<size_t>(i)]) {
        ++disagreeing;
        break;
      }
    }
  }
  const auto selection = static_cast<size_t>(
      std::min<int64_t>(static_cast<int64_t>(subset.size()), std::max(disagreeing, kSelectionSamples)));
  s.selection_subset.assign(subset.begin(), subset.begin() + static_cast<std::ptrdiff_t>(selection));

  const std::vector<std::set<int>> neighbours = group_neighbours(ctx);
  quant::QuantizerSet current = initial.set;
  std::vector<int> chosen;
  std::vector<int> pool(s.order.begin(), s.order.begin() + static_cast<std::ptrdiff_t>(n));
  int confirmations = 0;
  while (!pool.empty() && chosen.size() < n && confirmations < kMaxConfirmations && !ctx.budget_exhausted()) {
    // 1. the best next group among the first candidates of the ranking and the chosen groups' neighbours, on top
    //    of those chosen: all on the first samples of the selection subset, the best few on all of it.
    std::vector<int> candidates(pool.begin(), pool.begin() + static_cast<std::ptrdiff_t>(std::min(kCandidates, pool.size())));
    for (int c : chosen) {
      for (int nb : neighbours.at(static_cast<size_t>(c))) {
        if (std::find(pool.begin(), pool.end(), nb) != pool.end() &&
            std::find(candidates.begin(), candidates.end(), nb) == candidates.end()) {
          candidates.push_back(nb);
        }
      }
    }
    std::vector<quant::QuantizerSet> trials;
    for (int g : candidates) {
      quant::QuantizerSet t = current;
      ctx.revert(t, g);
      trials.push_back(std::move(t));
    }
    std::vector<size_t> look(trials.size());
    for (size_t c = 0; c < look.size(); ++c) look[c] = c;
    if (trials.size() > kSecondLook && static_cast<int64_t>(s.selection_subset.size()) > kFirstLookSamples) {
      const std::vector<int64_t> first(s.selection_subset.begin(), s.selection_subset.begin() + kFirstLookSamples);
      const std::vector<Search::Estimate> quick = s.estimate(trials, first);
      std::stable_sort(look.begin(), look.end(), [&](size_t a, size_t b) { return s.preferred(quick[a], quick[b]); });
      look.resize(kSecondLook);
    }
    std::vector<quant::QuantizerSet> finalists;
    for (size_t c : look) finalists.push_back(trials[c]);
    const std::vector<Search::Estimate> e = s.estimate(finalists, s.selection_subset);
    size_t best_look = 0;
    for (size_t c = 1; c < look.size(); ++c) {
      if (s.preferred(e[c], e[best_look])) best_look = c;
    }
    const DropReport& estimated = e[best_look].drop;
    const size_t pick = look[best_look];
    const int picked = candidates[pick];
    current = std::move(trials[pick]);
    chosen.push_back(picked);
    pool.erase(std::find(pool.begin(), pool.end(), picked));
    nlohmann::json step = {{"what", "estimate"},
                           {"select", picked},
                           {"candidates", candidates},
                           {"chosen", chosen},
                           {"estimated_within_bound", estimated.satisfied},
                           {"subset", s.selection_subset.size()}};
    if (!estimated.satisfied) {
      ctx.steps.push_back(step);
      continue;
    }
    // 2. the whole ranking subset.
    const DropReport wide = s.estimate({current}, s.ranking_subset).front().drop;
    step["ranking_subset_estimate_within_bound"] = wide.satisfied;
    ctx.steps.push_back(step);
    if (!wide.satisfied) continue;
    // 3. confirm.
    ++confirmations;
    Candidate c = ctx.validate(current, ctx.action() + " " + std::to_string(chosen.size()) + " group(s)",
                               {{"search", "bisection"}, {"groups", chosen}, {"estimates", s.estimates}}, &initial);
    if (c.complete() && c.drop.satisfied) return c;
    for (size_t k = 0; k < ctx.metrics.size(); ++k) {
      s.allowance[k] = std::max(s.allowance[k], c.drop.drops[k] - wide.drops[k]);
    }
    const size_t added = s.refine(c);
    ctx.logger->info("the estimate missed: " + std::to_string(added) + " sample(s) join the ranking subset (now " +
                     std::to_string(s.ranking_subset.size()) + "); selecting further groups");
  }
  ctx.logger->info("estimates did not settle; bisecting the prefixes with full validations");
  return bisect_with_full_validations(ctx, s, n);
}

}  // namespace qwac::accuracy
