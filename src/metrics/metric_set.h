// Several metrics computed from the same inference pass: qwac evaluate reports them all; the accuracy search
// controls the first one (the "primary" metric) and reports the rest.
#pragma once

#include <map>
#include <string>
#include <vector>

#include "qwac/metric.h"

namespace qwac::metrics {

class MetricSet {
 public:
  MetricSet() = default;
  // InvalidConfig when two metrics share a name (their values would collide in the maps below).
  explicit MetricSet(std::vector<MetricPtr> metrics);
  void add(MetricPtr metric);

  void update(const ModelOutputs& outputs, const std::vector<Annotation>& annotations);
  void reset();

  // name -> value() of the last batch / avg_value() since reset().
  std::map<std::string, double> values() const;
  std::map<std::string, double> avg_values() const;

  const std::vector<MetricPtr>& metrics() const { return metrics_; }
  size_t size() const { return metrics_.size(); }
  bool empty() const { return metrics_.empty(); }
  // The first metric added; InternalError when the set is empty.
  const MetricPtr& primary() const;

 private:
  std::vector<MetricPtr> metrics_;
};

}  // namespace qwac::metrics
