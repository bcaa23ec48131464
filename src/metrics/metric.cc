// The default parts of include/qwac/metric.h.
#include "qwac/metric.h"

#include "metrics/metric_util.h"

namespace qwac {

const Tensor& ModelOutputs::by_name(const std::string& name) const {
  for (size_t i = 0; i < names.size() && i < tensors.size(); ++i)
    if (names[i] == name) return tensors[i];
  std::string available;
  for (const auto& n : names) available += (available.empty() ? "'" : ", '") + n + "'";
  throw DataError("model output '" + name +
                  "' not found; available outputs: " + (available.empty() ? std::string("(none)") : available));
}

void Metric::update(const ModelOutputs& outputs, const std::vector<Annotation>& annotations,
                    const std::vector<SampleInfo>&) {
  update(outputs, annotations);
}

void Metric::update(const ModelOutputs&, const std::vector<Annotation>&) {
  throw InternalError("metric '" + name() + "' overrides neither update(outputs, annotations) nor update(outputs, "
                      "annotations, samples); implement one of them");
}

// A metric that does not say its type is reported under its name (POT user metrics have only a name).
std::map<std::string, std::string> Metric::attributes() const {
  return metrics::metric_attributes(higher_better(), name());
}

}  // namespace qwac
