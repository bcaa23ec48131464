// Mean intersection-over-union for semantic segmentation.
//
// Prediction: output [N, C, H, W] logits/probabilities (argmax over C, first maximum on ties) or a class map
// [N, H, W] / [N, 1, H, W]. Ground truth: Annotation.mask, an integer class map of H*W elements ([H, W] or
// [1, H, W]); pixels equal to ignore_label are skipped.
// IoU of class c = |pred == c and gt == c| / |pred == c or gt == c| over the counted pixels; the mean is over the
// classes whose union is non-empty. value()/avg_value() pool the pixel counts of the last batch / of every sample
// since reset() (the usual dataset-level mIoU), while a per-sample value is that one image's mean IoU.
#pragma once

#include <cstdint>
#include <vector>

#include "metrics/metric_util.h"
#include "qwac/metric.h"

namespace qwac::metrics {

struct MeanIouOptions {
  OutputRef output;            // JSON "output": name or index; default first output
  int64_t ignore_label = 255;  // JSON "ignore_label": ground-truth value that is not scored
};

// Per-class pixel counts; grows to the largest class seen.
struct IouCounts {
  std::vector<int64_t> intersection, uni;
  void add(int64_t pred, int64_t gt);
  void merge(const IouCounts& other);
  // Mean over classes with a non-empty union; NaN when there is none (every pixel ignored).
  double mean_iou() const;
};

class MeanIouMetric : public Metric {
 public:
  explicit MeanIouMetric(MeanIouOptions options);

  std::string name() const override { return "mean_iou"; }
  void update(const ModelOutputs& outputs, const std::vector<Annotation>& annotations) override;
  double value() const override;
  double avg_value() const override;
  void reset() override;
  std::map<std::string, std::string> attributes() const override { return metric_attributes(true, "mean_iou"); }
  // Each image's own mean IoU (NaN for an image whose pixels are all ignore_label).
  std::vector<double> per_sample_values() const override { return samples_.values(); }

  const MeanIouOptions& options() const { return options_; }

 private:
  double checked(const IouCounts& counts, bool any) const;

  MeanIouOptions options_;
  IouCounts total_, last_;
  SampleValues samples_;
};

}  // namespace qwac::metrics
