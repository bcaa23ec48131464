// The peers' restore loop (POT's AccuracyAwareQuantization, NNCF's QuantizationAccuracyRestorer), kept as
// `search: greedy` so the two can be compared: rank every group once, then revert the top group and validate on
// the full set, one group per iteration; when a revert increases the drop (and use_prev_if_drop_increase), step
// back and re-rank. Differences from the peers, each fixing a quirk of theirs (notes/peers-algorithms.md §1.13):
// the step-back compares against the last *accepted* drop, re-ranking uses the per-sample values of the current
// accepted model, ties are broken by group id, and the best model seen is what a failed search returns.
#include <algorithm>

#include "accuracy/search_context.h"

namespace qwac::accuracy {

Candidate greedy_search(SearchContext& ctx, Candidate initial) {
  Candidate current = std::move(initial);
  int metric = current.drop.worst;
  std::vector<int64_t> subset = select_ranking_subset(ctx, current);
  // Every group on every ranking sample, as the peers rank: greedy is kept as their reference.
  std::vector<RankedGroup> ranked =
      rank_groups(ctx, current, ctx.enabled_groups(current.set), subset, metric, /*adaptive=*/false);
  bool is_step_back = true;  // NNCF: the first increase after the start or a step-back is accepted
  for (int64_t iter = 0; iter < ctx.max_iter_num && !ranked.empty(); ++iter) {
    if (ctx.budget_exhausted()) {
      ctx.logger->info("search budget exhausted; keeping the best model so far");
      break;
    }
    const int g = ranked.front().group;
    ranked.erase(ranked.begin());
    quant::QuantizerSet next = current.set;
    ctx.revert(next, g);
    Candidate c = ctx.validate(next, ctx.action() + " " + ctx.describe_group(g), {{"group", g}, {"search", "greedy"}});
    if (c.drop.satisfied) return c;
    const bool increased = c.drop.drops[static_cast<size_t>(metric)] >
                           current.drop.drops[static_cast<size_t>(metric)];
    if (!increased || is_step_back || !ctx.use_prev_if_drop_increase) {
      ctx.steps.back()["accepted"] = true;
      current = std::move(c);
      is_step_back = false;
      continue;
    }
    ctx.steps.back()["accepted"] = false;
    ctx.logger->info("the drop increased: stepping back and re-ranking the remaining groups");
    is_step_back = true;
    metric = current.drop.worst;
    subset = select_ranking_subset(ctx, current);
    std::vector<int> remaining;
    for (const RankedGroup& r : ranked) remaining.push_back(r.group);
    remaining.push_back(g);
    std::sort(remaining.begin(), remaining.end());
    ranked = rank_groups(ctx, current, remaining, subset, metric, /*adaptive=*/false);
  }
  return *ctx.best;
}

}  // namespace qwac::accuracy
