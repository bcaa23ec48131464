// qwac's restore search (`search: bisection`, the default). Rank once, then find the shortest prefix of the ranked
// groups whose revert satisfies the bound, using the ranking subset as a cheap predictor and full validations only
// to confirm:
//   1. predict: evaluate prefixes (top-k groups reverted) on the ranking subset only and estimate the full-set
//      metric (subset samples take their new per-sample values, the others keep those of the current model);
//      galloping then bisection over k finds k*, the shortest prefix estimated within the bound (the top-1
//      prefix comes free from the ranking);
//   2. confirm: validate prefix k* on the full set; if it falls short, gallop up (2k*, 4k*, ... the whole list),
//      then bisect between the longest prefix known to fail and the shortest known to pass, skipping prefixes
//      the estimate already puts beyond the bound;
//   3. prune: try re-enabling each reverted group (least helpful first); a group goes back to int8 when the
//      estimate allows it and a full validation confirms.
// Without per-sample values (mAP-like metrics) there is no estimate and the prefixes are bisected with full
// validations.
#include <algorithm>
#include <map>

#include "accuracy/search_context.h"

namespace qwac::accuracy {
namespace {

struct PrefixSearch {
  SearchContext& ctx;
  const Candidate& start;
  std::vector<int> order;                      // ranked groups
  std::vector<int64_t> subset;
  std::map<size_t, bool> estimate_ok;          // prefix length -> estimated within the bound
  std::map<size_t, Candidate> validated;       // prefix length -> full validation

  quant::QuantizerSet prefix_set(size_t k) const {
    quant::QuantizerSet set = start.set;
    for (size_t i = 0; i < k; ++i) ctx.revert(set, order[i]);
    return set;
  }

  // nullopt when no estimate is possible (a metric without per-sample values).
  std::optional<bool> estimate(size_t k) {
    if (auto it = estimate_ok.find(k); it != estimate_ok.end()) return it->second;
    const quant::QuantizerSet set = prefix_set(k);
    const ValidationResult r = ctx.validator->subset(ctx.build(set), subset, false, ctx.key(set));
    const std::vector<double> est = estimate_full_values(start, subset, r);
    if (est.empty()) return std::nullopt;
    const bool ok = compute_drop(ctx.metrics, est).satisfied;
    estimate_ok[k] = ok;
    ctx.steps.push_back({{"what", "estimate"}, {"prefix", k}, {"estimated_within_bound", ok}});
    return ok;
  }

  const Candidate& validate(size_t k) {
    if (auto it = validated.find(k); it != validated.end()) return it->second;
    std::vector<int> groups(order.begin(), order.begin() + static_cast<std::ptrdiff_t>(k));
    Candidate c = ctx.validate(prefix_set(k), ctx.action() + " the top " + std::to_string(k) + " ranked group(s)",
                               {{"search", "bisection"}, {"prefix", k}, {"groups", groups}});
    return validated.emplace(k, std::move(c)).first->second;
  }
};

}  // namespace

Candidate bisection_search(SearchContext& ctx, Candidate initial) {
  const int metric = initial.drop.worst;
  PrefixSearch s{ctx, initial, {}, select_ranking_subset(ctx, initial, metric), {}, {}};
  const std::vector<RankedGroup> ranked = rank_groups(ctx, initial, ctx.enabled_groups(initial.set), s.subset, metric);
  for (const RankedGroup& r : ranked) s.order.push_back(r.group);
  if (!ranked.empty()) {
    const std::vector<double> est = estimate_full_values(initial, s.subset, *ranked.front().subset_result);
    if (!est.empty()) s.estimate_ok[1] = compute_drop(ctx.metrics, est).satisfied;
  }
  const size_t n = std::min(s.order.size(), static_cast<size_t>(std::max<int64_t>(0, ctx.max_iter_num)));
  if (n == 0) return *ctx.best;

  // 1. predict: the shortest prefix estimated within the bound: gallop over k = 1, 2, 4, ... (the top-1 prefix
  //    was already evaluated by the ranking), then bisect between the last failing and the first passing k
  size_t k_star = n;
  const std::optional<bool> first = s.estimate(1);
  if (!first) {
    k_star = (n + 1) / 2;  // no estimates: plain bisection with full validations
  } else {
    size_t lo_est = 0, hi_est = 0;
    for (size_t k = 1;; k = std::min(n, 2 * k)) {
      if (*s.estimate(k)) {
        hi_est = k;
        break;
      }
      lo_est = k;
      if (k == n) break;
    }
    if (hi_est == 0) {
      k_star = n;
    } else {
      while (hi_est - lo_est > 1) {
        const size_t mid = lo_est + (hi_est - lo_est) / 2;
        (*s.estimate(mid) ? hi_est : lo_est) = mid;
      }
      k_star = hi_est;
    }
  }
  // 2. confirm: lo fails (0 = the start), hi passes
  size_t lo = 0, hi = 0;
  size_t k = k_star;
  while (!ctx.budget_exhausted()) {
    if (s.validate(k).drop.satisfied) {
      hi = k;
      break;
    }
    lo = k;
    if (k == n) break;
    k = std::min(n, 2 * k);
  }
  if (hi == 0) return *ctx.best;  // even reverting every ranked group (or the budget) did not reach the bound
  while (hi - lo > 1 && !ctx.budget_exhausted()) {
    const size_t mid = lo + (hi - lo) / 2;
    const std::optional<bool> est = s.estimate_ok.count(mid) ? std::optional<bool>(s.estimate_ok[mid]) : std::nullopt;
    if (est && !*est) {
      lo = mid;  // predicted beyond the bound: not worth a full validation
      continue;
    }
    if (s.validate(mid).drop.satisfied) {
      hi = mid;
    } else {
      lo = mid;
    }
  }
  Candidate result = s.validate(hi);

  // 3. prune: groups of the prefix that turn out unnecessary go back to int8
  for (size_t i = hi; i-- > 0 && !ctx.budget_exhausted();) {
    if (hi == 1) break;  // the single reverted group is necessary (prefix 0 fails)
    const int g = s.order[i];
    quant::QuantizerSet trial = result.set;
    ctx.restore(trial, g);
    const ValidationResult r = ctx.validator->subset(ctx.build(trial), s.subset, false, ctx.key(trial));
    const std::vector<double> est = estimate_full_values(result, s.subset, r);
    if (!est.empty() && !compute_drop(ctx.metrics, est).satisfied) continue;
    Candidate c = ctx.validate(trial, "restore " + ctx.describe_group(g), {{"search", "bisection"}, {"group", g}});
    if (c.drop.satisfied) result = std::move(c);
  }
  return result;
}

}  // namespace qwac::accuracy
