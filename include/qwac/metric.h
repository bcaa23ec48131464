// qwac public API: metrics, in the POT style. The library updates a metric with each batch's outputs, reads the
// value of the last update or the average over everything since reset(), and — where the metric has them —
// per-sample values, which the accuracy search uses as follows:
//
//  * Ranking: the samples where the quantized model is worst (largest per-sample difference to FP32) form the
//    ranking subset, and each quantizer group is scored by the metric on that subset after reverting it alone.
//  * Estimates: the search predicts the full-set value of a candidate as the MEAN of per-sample values (the
//    current model's per-sample values with those of the ranking subset replaced by the candidate's), and only
//    then confirms its choice with full validations, whose value is avg_value(). The mean is exact for metrics
//    that are a mean over samples (accuracy, mean per-sample error). For ratio metrics — a global F1, precision or
//    recall pooled over the set, mAP, a corpus-level character error rate — the mean of per-sample values is a
//    biased estimate of the pooled value (samples with few objects or characters weigh as much as large ones), so
//    the search predicts less well and needs more full validations; avg_value() stays the number that decides.
//  * Without per-sample values (per_sample_values() empty), samples are ranked by the normalized mean squared
//    error between the quantized and the FP32 outputs, and estimates are not available (each candidate costs a
//    full validation).
#pragma once

#include <cstdint>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "qwac/dataset.h"
#include "qwac/tensor.h"

namespace qwac {

// A batch of model outputs, in graph output order, with their names.
struct ModelOutputs {
  std::vector<std::string> names;
  std::vector<Tensor> tensors;  // each with a leading batch dimension
  // Throws DataError naming the output and listing the available ones.
  const Tensor& by_name(const std::string& name) const;
};

// Which samples a batch holds (POT's `metadata`, plus the index that lets a metric find its own ground truth).
struct SampleInfo {
  int64_t index = -1;                           // Sample::index: the index in the dataset the user gave
  std::map<std::string, std::string> metadata;  // Sample::metadata
};

class Metric {
 public:
  virtual ~Metric() = default;
  // Name as shown in reports: "accuracy@top1".
  virtual std::string name() const = 0;

  // One batch: outputs.tensors[k] has batch size annotations.size(), and samples[i] describes the sample behind
  // annotations[i]. The library always calls this overload; its default calls the two-argument one, so a metric
  // overrides whichever it needs (one of them at least). Called on one thread at a time, batches in dataset order.
  virtual void update(const ModelOutputs& outputs, const std::vector<Annotation>& annotations,
                      const std::vector<SampleInfo>& samples);
  // Default: throws InternalError (a metric must override one of the two overloads).
  virtual void update(const ModelOutputs& outputs, const std::vector<Annotation>& annotations);

  // Value over the last update's batch.
  virtual double value() const = 0;
  // Value over every sample since reset(): the number reports show and full validations compare.
  virtual double avg_value() const = 0;
  virtual void reset() = 0;
  virtual bool higher_better() const { return true; }
  // {"direction": "higher-better" | "higher-worse", "type": "accuracy" | "map" | ...}
  virtual std::map<std::string, std::string> attributes() const;
  // Per-sample values since reset(), in update order (one per sample); empty when the metric has none (mAP).
  // How the search uses them, and where their mean is biased: see the top of this file.
  virtual std::vector<double> per_sample_values() const { return {}; }
  // True for label-free metrics that compare with the FP32 model's outputs (Annotation::reference_outputs): the
  // evaluation, `quantize --evaluate` and the accuracy search then compute those outputs first.
  virtual bool needs_reference_outputs() const { return false; }
};

using MetricPtr = std::shared_ptr<Metric>;

}  // namespace qwac
