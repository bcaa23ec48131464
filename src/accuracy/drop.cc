#include "accuracy/drop.h"

#include <algorithm>
#include <cmath>

#include "qwac/error.h"

namespace qwac::accuracy {

std::vector<ControlledMetric> controlled_metrics(const std::vector<std::string>& names,
                                                 const std::vector<bool>& higher_better,
                                                 const std::vector<double>& baselines, double max_drop,
                                                 const std::string& drop_type) {
  if (drop_type != "absolute" && drop_type != "relative") {
    throw InvalidConfig("drop_type: unknown value '" + drop_type + "' (expected \"absolute\" or \"relative\")");
  }
  std::vector<ControlledMetric> out;
  for (size_t i = 0; i < names.size(); ++i) {
    ControlledMetric m;
    m.index = i;
    m.name = names[i];
    m.higher_better = higher_better[i];
    m.baseline = baselines[i];
    m.bound = drop_type == "absolute" ? max_drop : max_drop * std::fabs(baselines[i]);
    out.push_back(m);
  }
  return out;
}

DropReport compute_drop(const std::vector<ControlledMetric>& metrics, const std::vector<double>& values) {
  DropReport r;
  r.satisfied = true;
  r.worst_excess = -INFINITY;
  double largest = -INFINITY;
  for (size_t k = 0; k < metrics.size(); ++k) {
    const ControlledMetric& m = metrics[k];
    const double v = values.at(m.index);
    const double drop = m.higher_better ? m.baseline - v : v - m.baseline;
    r.drops.push_back(drop);
    // A tiny tolerance: metrics are averages of per-sample values and the bound is inclusive.
    if (!(drop <= m.bound + 1e-12)) r.satisfied = false;
    const double excess = (drop - m.bound) / std::max(std::fabs(m.baseline), 1e-12);
    const double relative = drop / std::max(std::fabs(m.baseline), 1e-12);
    if (relative > largest) {
      largest = relative;
      r.largest = static_cast<int>(k);
    }
    if (excess > r.worst_excess) {
      r.worst_excess = excess;
      r.worst = static_cast<int>(k);
    }
  }
  return r;
}

bool better(const DropReport& a, const DropReport& b) {
  if (a.satisfied != b.satisfied) return a.satisfied;
  return a.worst_excess < b.worst_excess;
}

}  // namespace qwac::accuracy
