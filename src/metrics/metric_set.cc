#include "metrics/metric_set.h"

#include "qwac/error.h"

namespace qwac::metrics {

MetricSet::MetricSet(std::vector<MetricPtr> metrics) {
  for (auto& m : metrics) add(std::move(m));
}

void MetricSet::add(MetricPtr metric) {
  if (!metric) throw InternalError("MetricSet::add: null metric");
  for (const auto& m : metrics_)
    if (m->name() == metric->name())
      throw InvalidConfig("metric '" + metric->name() + "' is configured twice; each metric name must be unique");
  metrics_.push_back(std::move(metric));
}

// Every metric sees every batch; if one throws (bad data), the error propagates and the caller abandons the pass,
// so partially-updated sets are never reported.
void MetricSet::update(const ModelOutputs& outputs, const std::vector<Annotation>& annotations) {
  for (const auto& m : metrics_) m->update(outputs, annotations);
}

void MetricSet::reset() {
  for (const auto& m : metrics_) m->reset();
}

std::map<std::string, double> MetricSet::values() const {
  std::map<std::string, double> out;
  for (const auto& m : metrics_) out[m->name()] = m->value();
  return out;
}

std::map<std::string, double> MetricSet::avg_values() const {
  std::map<std::string, double> out;
  for (const auto& m : metrics_) out[m->name()] = m->avg_value();
  return out;
}

const MetricPtr& MetricSet::primary() const {
  if (metrics_.empty()) throw InternalError("MetricSet::primary: no metric configured");
  return metrics_.front();
}

}  // namespace qwac::metrics
