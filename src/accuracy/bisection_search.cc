// qwac's restore search (`search: bisection`, the default): rank once, adaptively, then find the shortest prefix of
// the ranking whose revert satisfies the bound with full validations that stop as soon as they are decided.
//
//   1. rank (ranking.cc): blocks of groups, then successive halving of the groups of the best blocks, ordered by
//      how firmly each revert agrees with FP32's decisions on the most informative samples;
//   2. the top unit alone, then (should it fail) up to two more units alone among those the ranking estimates to
//      recover the bound each (the greedy loop's evidence: one well-ranked unit usually suffices; mobilenetv3s'
//      default quantization is 7 samples of 2,000 beyond the bound and one Conv recovers 11);
//   3. otherwise walk the prefixes "revert the top k groups": k = 2, 3, 4 one after the other, then 8, 16, ... and
//      bisection between the longest failing and the shortest passing prefix;
//   4. prune the passing prefix (or unit): put back to int8 the least helpful half of its groups at once, then
//      quarters, ... keeping every change a validation accepts (delta debugging: a group the ranking overrated goes
//      back with others, in one validation);
//   5. every candidate is judged by a full validation that processes the samples most likely to change first and
//      stops once the drop is predicted beyond the bound even if every remaining sample took the better of its
//      FP32 and default-quantization values (and of the candidate's own, where the ranking measured them), after
//      at least twice the samples where those two differ (a failing candidate costs a fraction of a validation: a
//      twentieth on mobilenetv3s), or, for a candidate the pruning may still shrink, within the bound even if they
//      took the worse of them, after a quarter of the set;
//   6. the final answer is confirmed by a complete validation (a pass decided early rests on the assumption that
//      the candidate lies between FP32 and the default quantization on the samples not seen): should it fail, the
//      candidate accepted before it is confirmed, and so on. Only a complete validation within the bound ends the
//      search with success.
// Measured alternatives that estimate candidates on a subset and confirm once (forward selection, estimate-guided
// pruning) chose worse on mobilenetv3s: groups that a revert changes samples outside any affordable subset, and
// the bound (4 samples of 2,000) is smaller than that noise. The ranking need not be monotonic: bisection keeps
// the shortest passing prefix it validated, and only a complete validation within the bound ends the search.
// Without per-sample values (mAP-like metrics) validations cannot stop early; the walk is the same.
#include <algorithm>
#include <cmath>
#include <map>
#include <optional>
#include <set>

#include "accuracy/search_context.h"

namespace qwac::accuracy {
namespace {

// Prefixes validated one after the other before galloping.
constexpr size_t kLinearPrefixes = 4;
// Units validated alone (the top one included) before growing prefixes.
constexpr size_t kSingles = 3;

// Groups whose ops are connected (directly, or through ops no group covers) in the canonical graph.
std::vector<std::set<int>> group_neighbours(const SearchContext& ctx) {
  const quant::QuantizerSet& set = ctx.state->set;
  const ir::Graph& g = *ctx.state->canonical->graph;
  std::map<std::string, int> group_of;
  for (const quant::QuantizerGroup& q : set.groups) {
    for (const std::string& op : q.ops) group_of[op] = q.id;
  }
  std::map<std::string, const ir::Node*> by_name;
  for (const ir::Node* n : g.nodes()) by_name[n->name()] = n;
  std::vector<std::set<int>> out(set.groups.size());
  for (const quant::QuantizerGroup& q : set.groups) {
    std::vector<const ir::Node*> stack;
    std::set<const ir::Node*> seen;
    for (const std::string& op : q.ops) {
      if (auto it = by_name.find(op); it != by_name.end()) stack.push_back(it->second);
    }
    while (!stack.empty()) {
      const ir::Node* n = stack.back();
      stack.pop_back();
      if (!seen.insert(n).second) continue;
      auto visit = [&](const ir::Node* m) {
        if (m == nullptr || seen.count(m)) return;
        auto it = group_of.find(m->name());
        if (it != group_of.end() && it->second != q.id) {
          out[static_cast<size_t>(q.id)].insert(it->second);
        } else {
          stack.push_back(m);  // the group's own op, or one no group covers: look through it
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

// What the ranking reverts together: a group with weights and its weightless neighbours (the activation that
// follows a convolution, the scaling Mul of a squeeze-and-excitation block): such pairs help together more than
// apart (mobilenetv3s: the first Conv and its hard-swish Mul gain 13 samples together, 2 alone). A weightless group
// with no weighted neighbour is its own unit. Units of weightless groups covered by a weighted one are not ranked
// alone; the pruning puts back any group a unit did not need.
struct Units {
  std::vector<int> entries;               // a representative group per unit
  std::vector<std::vector<int>> members;  // the unit's groups, representative first
};

Units revert_units(const SearchContext& ctx, const std::vector<int>& groups) {
  const quant::QuantizerSet& set = ctx.state->set;
  const std::set<int> available(groups.begin(), groups.end());
  auto weighted = [&](int g) {
    const quant::QuantizerGroup& q = set.groups.at(static_cast<size_t>(g));
    return std::any_of(q.quantizers.begin(), q.quantizers.end(),
                       [&](int z) { return set.at(z).kind == quant::QuantizerKind::kWeight; });
  };
  const std::vector<std::set<int>> neighbours = group_neighbours(ctx);
  Units u;
  std::set<int> covered;
  for (int g : groups) {
    if (!weighted(g)) continue;
    std::vector<int> members{g};
    for (int h : neighbours.at(static_cast<size_t>(g))) {
      if (available.count(h) && !weighted(h)) {
        members.push_back(h);
        covered.insert(h);
      }
    }
    u.entries.push_back(g);
    u.members.push_back(std::move(members));
  }
  for (int g : groups) {
    if (weighted(g) || covered.count(g)) continue;
    u.entries.push_back(g);
    u.members.push_back({g});
  }
  return u;
}

}  // namespace

Candidate bisection_search(SearchContext& ctx, Candidate initial) {
  const int metric = initial.drop.worst;
  const std::vector<int64_t> subset = select_ranking_subset(ctx, initial);
  const Units units = revert_units(ctx, ctx.enabled_groups(initial.set));
  const std::vector<RankedGroup> ranked =
      rank_groups(ctx, initial, units.entries, subset, metric, /*adaptive=*/true, units.members);
  // The prefix of k units, as groups in rank order (each group once).
  std::vector<std::vector<int>> prefix_groups(1);
  for (const RankedGroup& r : ranked) {
    std::vector<int> next = prefix_groups.back();
    for (int g : r.unit) {
      if (std::find(next.begin(), next.end(), g) == next.end()) next.push_back(g);
    }
    prefix_groups.push_back(std::move(next));
  }
  const size_t n = std::min(ranked.size(), static_cast<size_t>(std::max<int64_t>(0, ctx.max_iter_num)));
  if (n == 0) return *ctx.best;

  // A ranked unit's values on the ranking samples it was measured on (per validator metric, by sample).
  const int64_t samples_total = ctx.validator->dataset().size();
  auto known_values = [&](const RankedGroup& r) {
    std::vector<std::vector<double>> known(r.subset_result->per_sample.size());
    for (size_t m = 0; m < known.size(); ++m) {
      const std::vector<double>& part = r.subset_result->per_sample[m];
      if (part.empty()) continue;
      known[m].assign(static_cast<size_t>(samples_total), std::nan(""));
      for (size_t k = 0; k < part.size() && k < subset.size(); ++k) known[m][static_cast<size_t>(subset[k])] = part[k];
    }
    return known;
  };
  std::map<size_t, Candidate> validated;
  std::optional<Candidate> single_candidate;
  auto passes = [&](size_t k) {
    auto it = validated.find(k);
    if (it == validated.end()) {
      quant::QuantizerSet set = initial.set;
      const std::vector<int>& groups = prefix_groups.at(k);
      for (int g : groups) ctx.revert(set, g);
      // A single group cannot be pruned: a pass decided early would only be confirmed right after.
      const std::vector<std::vector<double>> known =
          k == 1 ? known_values(ranked[0]) : std::vector<std::vector<double>>{};
      Candidate c = ctx.validate(set, ctx.action() + " the top " + std::to_string(k) + " ranked unit(s)",
                                 {{"search", "bisection"}, {"prefix", k}, {"groups", groups}}, &initial,
                                 /*may_pass_early=*/groups.size() > 1, k == 1 ? &known : nullptr);
      it = validated.emplace(k, std::move(c)).first;
    }
    return it->second.drop.satisfied;
  };

  // Singles: the top unit alone (prefix 1), then the next few units alone when the ranking estimates that each
  // alone recovers the bound. One well-ranked unit is what the greedy loop reverts first; a failing one costs a
  // fraction of a validation (it stops once beyond the bound), whereas growing prefixes past a failed top unit
  // reverts several units the pruning must then put back one validation at a time.
  std::optional<size_t> single;  // index in `ranked` of the unit that passed alone
  if (passes(1)) single = 0;
  for (size_t i = 1, tried = 1; !single && i < n && tried < kSingles && !ctx.budget_exhausted(); ++i) {
    const RankedGroup& r = ranked[i];
    // Ranked on fewer samples (or only within its block): no estimate to trust, nor for the units after it.
    if (r.samples < static_cast<int64_t>(subset.size()) ||
        r.subset_result->per_sample.size() != initial.result.per_sample.size()) {
      break;
    }
    const std::vector<double> est = estimate_full_values(initial, subset, *r.subset_result);
    if (est.empty() || !compute_drop(ctx.metrics, est).satisfied) continue;
    ++tried;
    const std::vector<std::vector<double>> known = known_values(r);
    quant::QuantizerSet set = initial.set;
    for (int g : r.unit) ctx.revert(set, g);
    Candidate c = ctx.validate(set, ctx.action() + " ranked unit " + std::to_string(i + 1) + " alone",
                               {{"search", "bisection"}, {"groups", r.unit}}, &initial,
                               /*may_pass_early=*/r.unit.size() > 1, &known);
    if (c.drop.satisfied) {
      single_candidate = std::move(c);
      single = i;
    }
  }

  size_t lo = 1, hi = 0;  // lo fails (the top unit alone failed), hi passes (0 = none found)
  if (single) {
    hi = 1;
  } else {
    for (size_t k = 2; k <= n && !ctx.budget_exhausted();) {
      if (passes(k)) {
        hi = k;
        break;
      }
      lo = k;
      if (k == n) break;
      k = k < kLinearPrefixes ? k + 1 : std::min(n, 2 * k);
    }
    if (hi == 0) return *ctx.best;  // even reverting every ranked group (or the budget) did not reach the bound
    while (hi - lo > 1 && !ctx.budget_exhausted()) {
      const size_t mid = lo + (hi - lo) / 2;
      (passes(mid) ? hi : lo) = mid;
    }
  }
  Candidate result = single && *single > 0 ? *single_candidate : validated.at(hi);
  std::vector<Candidate> accepted{result};  // every candidate accepted as passing, in order

  // Prune: restore chunks of the kept groups, least helpful (last ranked) first, halving the chunk size.
  std::vector<int> kept = single ? ranked[*single].unit : prefix_groups.at(hi);
  for (size_t chunk = kept.size() / 2; chunk >= 1 && !ctx.budget_exhausted(); chunk /= 2) {
    for (size_t end = kept.size(); end > 0 && kept.size() > 1 && !ctx.budget_exhausted();) {
      const size_t begin = end >= chunk ? end - chunk : 0;
      if (end - begin >= kept.size()) break;  // never restore everything (the start fails)
      quant::QuantizerSet trial = result.set;
      std::vector<int> restored(kept.begin() + static_cast<std::ptrdiff_t>(begin),
                                kept.begin() + static_cast<std::ptrdiff_t>(end));
      for (int g : restored) ctx.restore(trial, g);
      std::string what = "restore";
      for (int g : restored) what += " " + std::to_string(g);
      Candidate c = ctx.validate(trial, what + " (prune)", {{"search", "bisection"}, {"restored_groups", restored}},
                                 &initial, /*may_pass_early=*/kept.size() - restored.size() > 1);
      if (c.drop.satisfied) {
        result = std::move(c);
        accepted.push_back(result);
        kept.erase(kept.begin() + static_cast<std::ptrdiff_t>(begin), kept.begin() + static_cast<std::ptrdiff_t>(end));
      }
      end = begin;
    }
    if (chunk == 1) break;
  }

  // Confirm: the last accepted candidate with a complete validation; should it fail (a pass decided early was
  // wrong), the one accepted before it, and so on.
  for (auto it = accepted.rbegin(); it != accepted.rend(); ++it) {
    if (it->complete()) return *it;
    // No reference: a confirmation is never decided early. A failure decided early rests on the same assumption as
    // the pass it would overturn (mobilenetv3s, ranking_subset_size 128: a unit passed after 512 samples, and its
    // confirmation was rejected after 48; the complete prefixes walked after it reverted every op).
    Candidate c = ctx.validate(it->set, "confirm", {{"search", "bisection"}});
    if (c.complete() && c.drop.satisfied) return c;
  }
  ctx.logger->info("no accepted candidate held on the whole set; validating the prefixes completely");
  lo = 0;
  hi = 0;
  for (size_t k = 1; k <= n && !ctx.budget_exhausted(); k = k < n ? std::min(n, 2 * k) : n + 1) {
    quant::QuantizerSet set = initial.set;
    for (int g : prefix_groups.at(k)) ctx.revert(set, g);
    Candidate c = ctx.validate(set, "revert the top " + std::to_string(k) + " ranked unit(s), complete",
                               {{"search", "bisection"}, {"prefix", k}});
    if (c.complete() && c.drop.satisfied) return c;
  }
  return *ctx.best;
}

}  // namespace qwac::accuracy
