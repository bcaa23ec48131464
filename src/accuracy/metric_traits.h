// What the accuracy search may assume about a metric, from its POT "type" attribute (a table of facts, not a
// switch over metric classes). A metric of an unknown type (a user's or a Python metric) gets the conservative
// answer: its value is only known by a whole validation.
#pragma once

#include <optional>
#include <utility>

#include "qwac/metric.h"

namespace qwac::accuracy {

struct MetricTraits {
  // avg_value() is the mean of per_sample_values(): several models can be validated in one pass with one metric
  // object (reset per batch), and subsets estimate the whole-set value.
  bool mean_of_samples = false;
  // Every per-sample value lies in [first, second]: a validation can stop once the remaining samples cannot
  // change its outcome.
  std::optional<std::pair<double, double>> sample_range;
};

MetricTraits metric_traits(const Metric& metric);

}  // namespace qwac::accuracy
