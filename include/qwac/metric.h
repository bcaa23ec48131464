// Metrics, in the POT style: update with each batch's outputs, read the value of the last update or the average
// over everything since reset(), plus per-sample values that the accuracy search ranks with.
#pragma once

#include <map>
#include <memory>
#include <string>
#include <vector>

#include "core/tensor.h"
#include "qwac/dataset.h"

namespace qwac {

// A batch of model outputs, in graph output order, with their names.
struct ModelOutputs {
  std::vector<std::string> names;
  std::vector<Tensor> tensors;  // each with a leading batch dimension
  // Throws DataError naming the output and listing the available ones.
  const Tensor& by_name(const std::string& name) const;
};

class Metric {
 public:
  virtual ~Metric() = default;
  // Name as shown in reports: "accuracy@top1".
  virtual std::string name() const = 0;
  // One batch: outputs[k] has batch size annotations.size().
  virtual void update(const ModelOutputs& outputs, const std::vector<Annotation>& annotations) = 0;
  // Value over the last update's batch.
  virtual double value() const = 0;
  // Value over every sample since reset().
  virtual double avg_value() const = 0;
  virtual void reset() = 0;
  virtual bool higher_better() const { return true; }
  // {"direction": "higher-better" | "higher-worse", "type": "accuracy" | "map" | ...}
  virtual std::map<std::string, std::string> attributes() const;
  // Per-sample values since reset(), in update order; empty when the metric has no per-sample form (mAP).
  virtual std::vector<double> per_sample_values() const { return {}; }
  // True for label-free metrics that compare with the FP32 model's outputs (Annotation::reference_outputs): the
  // evaluation, `quantize --evaluate` and the accuracy search then compute those outputs first.
  virtual bool needs_reference_outputs() const { return false; }
};

using MetricPtr = std::shared_ptr<Metric>;

}  // namespace qwac
