// Group ranking (search_context.h rank_groups): every group reverted alone on top of the current model, scored on
// the ranking subset. Each variant runs only from where it differs from the current model (runtime/partial_model.h),
// in passes of a few dozen variants (the taps of their cuts bound the memory of a pass).
//
// The adaptive ranking is successive halving: the subset is ordered most informative first (samples whose result
// quantization changed), every group is scored on its first samples, then the best third goes on to twice as many
// samples, and so on until a handful are left or the subset is used up. A group far down after a few dozen samples
// does not get evaluated on hundreds more: the ranking costs a few times the groups' count of sample evaluations
// instead of groups x subset.
#include <algorithm>
#include <cmath>
#include <limits>
#include <numeric>

#include "accuracy/search_context.h"
#include "core/stopwatch.h"

namespace qwac::accuracy {
namespace {

// Samples of the first adaptive round, and the fewest groups a round keeps.
constexpr int64_t kFirstRoundSamples = 32;
constexpr size_t kKeepAtLeast = 6;
// With more groups than this, the adaptive ranking first reverts blocks of consecutive groups (about kBlocks of
// them) and keeps the groups of the best third of the blocks: a group that matters shows in its block, and a model
// of 80 groups is screened with 10 variants instead of 80 (each variant is a model to build and run).
constexpr size_t kBlockScreening = 16;
constexpr size_t kBlocks = 10;

struct Tally {
  int group = -1;
  double metric_sum = 0;    // controlled metric summed over the samples seen
  double distance_sum = 0;  // distance to FP32 summed over them
  double agreement = 0;     // agreement score with FP32's decisions (search_context.h) over them
  int64_t samples = 0;
  int round = 0;            // last round it took part in
  std::vector<std::vector<double>> per_sample;  // per validator metric, over the samples seen
  std::vector<double> distance;
};

}  // namespace

std::vector<RankedGroup> rank_groups(SearchContext& ctx, const Candidate& current, const std::vector<int>& groups,
                                     const std::vector<int64_t>& subset, int metric, bool adaptive,
                                     const std::vector<std::vector<int>>& units) {
  // What reverting entry i means: its unit when given, else the group alone.
  auto revert_entry = [&](quant::QuantizerSet& set, size_t i) {
    if (i < units.size() && !units[i].empty()) {
      for (int g : units[i]) ctx.revert(set, g);
    } else {
      ctx.revert(set, groups[i]);
    }
  };
  const auto t0 = SteadyClock::now();
  const ControlledMetric& m = ctx.metrics.at(static_cast<size_t>(metric));
  const bool distance_mode = ctx.rank_by_distance;
  // The adaptive ranking orders by agreement with FP32's decisions when known (continuous: few samples suffice);
  // the exhaustive one by the metric itself, as the peers do.
  const bool by_agreement = adaptive && !distance_mode && ctx.has_agreement();
  const bool want_distance = distance_mode || !ctx.has_agreement();
  std::vector<Tally> tallies(groups.size());
  for (size_t g = 0; g < groups.size(); ++g) tallies[g].group = groups[g];

  std::vector<size_t> alive(groups.size());
  std::iota(alive.begin(), alive.end(), 0);
  int64_t seen = 0;  // samples of the subset every alive group has been scored on
  const auto total = static_cast<int64_t>(subset.size());
  int round = 0;
  std::vector<nlohmann::json> rounds;
  auto score_of = [&](const ValidationResult& r, double& metric_sum, double& distance_sum, double& agreement) {
    for (double v : r.per_sample.at(m.index)) metric_sum += v;
    for (double d : r.distance) distance_sum += std::isnan(d) ? 0.0 : d;
    agreement += ctx.agreement_score(r.agreement);
  };

  if (adaptive && groups.size() > kBlockScreening && total > 0) {
    // Round 0: blocks of consecutive groups (ids follow the graph order), on the first samples.
    std::vector<size_t> by_id(groups.size());
    std::iota(by_id.begin(), by_id.end(), 0);
    std::sort(by_id.begin(), by_id.end(), [&](size_t a, size_t b) { return groups[a] < groups[b]; });
    const size_t per_block = (groups.size() + kBlocks - 1) / kBlocks;
    std::vector<std::vector<size_t>> blocks;
    for (size_t i = 0; i < by_id.size(); i += per_block) {
      blocks.emplace_back(by_id.begin() + static_cast<std::ptrdiff_t>(i),
                          by_id.begin() + static_cast<std::ptrdiff_t>(std::min(by_id.size(), i + per_block)));
    }
    const int64_t upto = std::min(total, kFirstRoundSamples);
    const std::vector<int64_t> samples(subset.begin(), subset.begin() + upto);
    std::vector<quant::QuantizerSet> sets;
    for (const auto& block : blocks) {
      quant::QuantizerSet set = current.set;
      for (size_t t : block) revert_entry(set, t);
      sets.push_back(std::move(set));
    }
    ctx.progress->begin("rank round 0: " + std::to_string(blocks.size()) + " blocks of groups on " +
                            std::to_string(upto) + " samples",
                        static_cast<int64_t>(blocks.size()));
    const auto round_start = SteadyClock::now();
    const std::vector<ValidationResult> results = ctx.evaluate_sets(current.set, sets, samples, want_distance, "rank");
    ctx.logger->info("rank round 0: " + std::to_string(sets.size()) + " variants on " + std::to_string(upto) +
                      " samples, " + std::to_string(seconds_since(round_start)) + " s");
    ctx.progress->advance(static_cast<int64_t>(blocks.size()));
    ctx.progress->end();
    struct BlockScore {
      double metric = 0, distance = 0, agreement = 0;
    };
    std::vector<BlockScore> bs(blocks.size());
    for (size_t b = 0; b < blocks.size(); ++b) score_of(results[b], bs[b].metric, bs[b].distance, bs[b].agreement);
    std::vector<size_t> order(blocks.size());
    std::iota(order.begin(), order.end(), 0);
    std::stable_sort(order.begin(), order.end(), [&](size_t a, size_t b) {
      if (!distance_mode) {
        const double sa = m.higher_better ? bs[a].metric : -bs[a].metric;
        const double sb = m.higher_better ? bs[b].metric : -bs[b].metric;
        if (sa != sb) return sa > sb;
      }
      if (by_agreement && bs[a].agreement != bs[b].agreement) return bs[a].agreement > bs[b].agreement;
      return bs[a].distance < bs[b].distance;
    });
    const size_t keep = std::max<size_t>(3, (blocks.size() + 2) / 3);
    alive.clear();
    for (size_t rank = 0; rank < order.size(); ++rank) {
      for (size_t t : blocks[order[rank]]) {
        if (rank < keep) {
          alive.push_back(t);
        } else {
          // Dropped with its block: ordered after every kept group, by its block's rank.
          tallies[t].round = -static_cast<int>(rank);
          tallies[t].metric_sum = bs[order[rank]].metric;
          tallies[t].agreement = bs[order[rank]].agreement;
          tallies[t].distance_sum = bs[order[rank]].distance;
          tallies[t].samples = upto;
        }
      }
    }
    rounds.push_back({{"round", 0}, {"blocks", blocks.size()}, {"groups_per_block", per_block},
                      {"blocks_kept", std::min(keep, blocks.size())}, {"samples", upto}});
  }
  while (!alive.empty() && seen < total) {
    ++round;
    // The last few groups go on to the whole subset at once: on mobilenetv3s the order of the best six after 128
    // samples was noise (one sample apart), and the group that alone recovers the bound was fifth.
    const bool last_round = seen > 0 && alive.size() <= kKeepAtLeast;
    const int64_t upto = !adaptive || last_round ? total : std::min(total, seen == 0 ? kFirstRoundSamples : 2 * seen);
    const std::vector<int64_t> samples(subset.begin() + seen, subset.begin() + upto);
    std::vector<quant::QuantizerSet> sets;
    for (size_t t : alive) {
      quant::QuantizerSet set = current.set;
      revert_entry(set, t);
      sets.push_back(std::move(set));
    }
    ctx.progress->begin("rank round " + std::to_string(round) + ": groups on " + std::to_string(upto) + " samples",
                        static_cast<int64_t>(sets.size()));
    // Passes of at most max_variants_per_pass variants, so the progress moves and memory stays bounded.
    const auto round_start = SteadyClock::now();
    std::vector<ValidationResult> results;
    for (size_t begin = 0; begin < sets.size(); begin += static_cast<size_t>(ctx.max_variants_per_pass)) {
      const size_t end = std::min(sets.size(), begin + static_cast<size_t>(ctx.max_variants_per_pass));
      std::vector<quant::QuantizerSet> chunk(sets.begin() + static_cast<std::ptrdiff_t>(begin),
                                             sets.begin() + static_cast<std::ptrdiff_t>(end));
      std::vector<ValidationResult> r = ctx.evaluate_sets(current.set, chunk, samples, want_distance, "rank");
      for (ValidationResult& x : r) results.push_back(std::move(x));
      ctx.progress->advance(static_cast<int64_t>(end));
    }
    ctx.progress->end();
    for (size_t a = 0; a < alive.size(); ++a) {
      Tally& t = tallies[alive[a]];
      const ValidationResult& r = results[a];
      if (t.per_sample.empty()) t.per_sample.resize(r.per_sample.size());
      for (size_t k = 0; k < r.per_sample.size(); ++k) {
        t.per_sample[k].insert(t.per_sample[k].end(), r.per_sample[k].begin(), r.per_sample[k].end());
      }
      t.distance.insert(t.distance.end(), r.distance.begin(), r.distance.end());
      score_of(r, t.metric_sum, t.distance_sum, t.agreement);
      t.samples = upto;
      t.round = round;
    }
    seen = upto;
    // Order the alive groups; in distance mode the distance is the score.
    auto better_tally = [&](size_t a, size_t b) {
      const Tally& x = tallies[a];
      const Tally& y = tallies[b];
      if (!distance_mode) {
        const double sx = m.higher_better ? x.metric_sum : -x.metric_sum;
        const double sy = m.higher_better ? y.metric_sum : -y.metric_sum;
        if (sx != sy) return sx > sy;
      }
      if (by_agreement && x.agreement != y.agreement) return x.agreement > y.agreement;
      if (x.distance_sum != y.distance_sum) return x.distance_sum < y.distance_sum;
      return x.group < y.group;
    };
    std::stable_sort(alive.begin(), alive.end(), better_tally);
    rounds.push_back({{"round", round}, {"groups", alive.size()}, {"samples", upto}});
    ctx.logger->info("rank round " + std::to_string(round) + ": " + std::to_string(sets.size()) + " variants on " +
                      std::to_string(samples.size()) + " samples, " + std::to_string(seconds_since(round_start)) +
                      " s");
    if (!adaptive) break;
    const size_t keep = std::max(kKeepAtLeast, (alive.size() + 2) / 3);
    if (last_round) break;
    if (keep < alive.size()) {
      alive.resize(keep);
    }
  }

  // Later rounds first (measured on more samples), then by score within a round.
  std::vector<RankedGroup> ranked;
  for (size_t i = 0; i < tallies.size(); ++i) {
    Tally& t = tallies[i];
    RankedGroup r;
    r.group = t.group;
    r.unit = i < units.size() && !units[i].empty() ? units[i] : std::vector<int>{t.group};
    r.samples = t.samples;
    const double n = static_cast<double>(std::max<int64_t>(1, t.samples));
    r.distance = t.distance.empty() ? std::numeric_limits<double>::quiet_NaN() : t.distance_sum / n;
    r.score = distance_mode ? -r.distance : t.metric_sum / n;
    if (!distance_mode && !m.higher_better) r.score = -r.score;
    auto result = std::make_shared<ValidationResult>();
    result->per_sample = std::move(t.per_sample);
    result->distance = std::move(t.distance);
    result->samples = t.samples;
    r.subset_result = std::move(result);
    ranked.push_back(std::move(r));
  }
  std::vector<int> round_of(ranked.size());
  std::vector<double> agreement_of(ranked.size());
  for (size_t i = 0; i < ranked.size(); ++i) {
    round_of[i] = tallies[i].round;
    agreement_of[i] = tallies[i].agreement / static_cast<double>(std::max<int64_t>(1, tallies[i].samples));
  }
  std::vector<size_t> idx(ranked.size());
  std::iota(idx.begin(), idx.end(), 0);
  std::stable_sort(idx.begin(), idx.end(), [&](size_t a, size_t b) {
    if (round_of[a] != round_of[b]) return round_of[a] > round_of[b];
    if (ranked[a].score != ranked[b].score) return ranked[a].score > ranked[b].score;
    if (by_agreement && agreement_of[a] != agreement_of[b]) return agreement_of[a] > agreement_of[b];
    const double da = std::isnan(ranked[a].distance) ? 0 : ranked[a].distance;
    const double db = std::isnan(ranked[b].distance) ? 0 : ranked[b].distance;
    if (da != db) return da < db;
    return ranked[a].group < ranked[b].group;
  });
  std::vector<RankedGroup> sorted;
  std::vector<double> sorted_agreement;
  for (size_t i : idx) {
    sorted.push_back(std::move(ranked[i]));
    sorted_agreement.push_back(agreement_of[i]);
  }

  nlohmann::json j = nlohmann::json::array();
  for (size_t i = 0; i < sorted.size(); ++i) {
    const RankedGroup& r = sorted[i];
    nlohmann::json e = {{"group", r.group}, {"score", r.score}, {"samples", r.samples}};
    if (r.unit.size() > 1) e["unit"] = r.unit;
    if (!std::isnan(r.distance)) e["distance"] = r.distance;
    if (ctx.has_agreement()) e["agreement"] = sorted_agreement[i];
    // The full-set value this revert alone is estimated to give (a report draws what each group recovers); groups
    // scored only within their block have no samples of their own.
    const std::vector<double> est = r.subset_result->per_sample.size() == current.result.per_sample.size()
                                        ? estimate_full_values(current,
                                                               std::vector<int64_t>(subset.begin(),
                                                                                    subset.begin() + r.samples),
                                                               *r.subset_result)
                                        : std::vector<double>{};
    if (!est.empty()) {
      const DropReport d = compute_drop(ctx.metrics, est);
      for (size_t k = 0; k < ctx.metrics.size(); ++k) {
        e["estimated"][ctx.metrics[k].name] = {{"value", est[ctx.metrics[k].index]}, {"drop", d.drops[k]}};
      }
    }
    j.push_back(e);
    ctx.logger->debug("ranking " + ctx.describe_group(r.group) + ": score " + std::to_string(r.score) + " on " +
                      std::to_string(r.samples) + " samples");
  }
  const double seconds = seconds_since(t0);
  ctx.stage_seconds["ranking"] += seconds;
  ctx.steps.push_back({{"what", "ranking"},
                       {"metric", m.name},
                       {"subset_size", subset.size()},
                       {"adaptive", adaptive},
                       {"ordered_by", distance_mode  ? "distance to FP32"
                                     : by_agreement ? "metric, then agreement with the better decisions"
                                                    : "metric, then distance to FP32"},
                       {"rounds", rounds},
                       {"seconds", seconds},
                       {"ranking", j}});
  std::string top;
  for (size_t i = 0; i < std::min<size_t>(3, sorted.size()); ++i) top += (i ? ", " : "") + ctx.describe_group(sorted[i].group);
  ctx.logger->info("ranked " + std::to_string(sorted.size()) + " groups in " + std::to_string(round) + " round(s), " +
                   std::to_string(seconds) + " s; first: " + top);
  return sorted;
}

}  // namespace qwac::accuracy
