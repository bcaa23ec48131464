#include "accuracy/metric_traits.h"

#include <array>
#include <cmath>
#include <string>

namespace qwac::accuracy {
namespace {

struct TraitsRow {
  const char* type;
  bool mean_of_samples;
  bool bounded;
  double low, high;
};

// The built-in metrics (src/metrics/). F1 and mean IoU pool counts over samples: their per-sample values (a
// correctness flag, a per-sample IoU) rank samples but do not average to the metric. mAP has no per-sample form.
constexpr std::array<TraitsRow, 4> kRows = {{
    {"accuracy", true, true, 0.0, 1.0},
    {"cosine", true, true, -1.0, 1.0},
    {"nmse", true, false, 0.0, 0.0},
    {"psnr", true, false, 0.0, 0.0},
}};

}  // namespace

MetricTraits metric_traits(const Metric& metric) {
  MetricTraits t;
  const auto attributes = metric.attributes();
  const auto it = attributes.find("type");
  if (it == attributes.end()) return t;
  for (const TraitsRow& row : kRows) {
    if (it->second != row.type) continue;
    t.mean_of_samples = row.mean_of_samples;
    if (row.bounded) t.sample_range = std::make_pair(row.low, row.high);
  }
  return t;
}

}  // namespace qwac::accuracy
