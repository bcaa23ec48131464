// Metric drops against the bound, for one or several metrics (all must hold). Direction-aware: for a
// higher-worse metric (a loss) the drop is the increase. Absolute: baseline - value; relative: that over |baseline|
// (the bound is then max_drop * |baseline| in metric units, POT's formula). The bound is inclusive (NNCF/POT).
#pragma once

#include <string>
#include <vector>

namespace qwac::accuracy {

struct ControlledMetric {
  size_t index = 0;           // in the validator's metric list
  std::string name;
  bool higher_better = true;
  double baseline = 0;
  double bound = 0;           // allowed drop in metric units
};

struct DropReport {
  std::vector<double> drops;  // per controlled metric, in metric units (positive = worse than FP32)
  bool satisfied = false;
  int worst = 0;              // controlled metric furthest beyond (or closest to) its bound, normalized
  double worst_excess = 0;    // (drop - bound) / max(|baseline|, 1e-12) of that metric
  int largest = 0;            // controlled metric with the largest drop / |baseline| (ranks when all are within)
};

std::vector<ControlledMetric> controlled_metrics(const std::vector<std::string>& names,
                                                 const std::vector<bool>& higher_better,
                                                 const std::vector<double>& baselines, double max_drop,
                                                 const std::string& drop_type);

// `values` indexed like the validator's metrics.
DropReport compute_drop(const std::vector<ControlledMetric>& metrics, const std::vector<double>& values);

// Strictly better: satisfied beats not satisfied, then the smaller worst excess.
bool better(const DropReport& a, const DropReport& b);

}  // namespace qwac::accuracy
