// Label-free metrics: distance of the model's output to the FP32 model's output for the same sample
// (Annotation.reference_outputs, in graph output order, as produced by running the FP32 model).
//
// One output is compared (option "output", default the first); its reference is the reference_outputs entry at the
// same position, compared flattened (a leading batch dimension of 1 on the reference is fine: only the element
// count must match). Per sample:
//   nmse    = ||ref - x||^2 / ||ref||^2              (higher-worse; 0 if both are zero, +inf if only ref is)
//   cosine  = <ref, x> / (||ref|| ||x||)             (higher-better; 1 if both are zero, 0 if only one is)
//   psnr    = 10 log10(peak^2 / mse), peak = max|ref| (higher-better; capped at 100 dB, which is also the value
//             when mse == 0; -inf when ref is all zeros but x is not)
// value()/avg_value() are the means of the per-sample values (NNCF's NMSE ranking averages per item the same way;
// PSNR is thus a mean of dB values, not the PSNR of the pooled error).
#pragma once

#include <string>

#include "metrics/metric_util.h"
#include "qwac/metric.h"

namespace qwac::metrics {

enum class ReferenceDistance { kNmse = 0, kCosine = 1, kPsnr = 2 };

struct ReferenceDistanceOptions {
  OutputRef output;  // JSON "output": name or index; default first output
};

inline constexpr double kPsnrCapDb = 100.0;

// The per-sample formulas above, on flattened arrays of `count` elements.
double nmse(const float* ref, const float* x, int64_t count);
double cosine_similarity(const float* ref, const float* x, int64_t count);
double psnr(const float* ref, const float* x, int64_t count);

class ReferenceDistanceMetric : public Metric {
 public:
  ReferenceDistanceMetric(ReferenceDistance kind, ReferenceDistanceOptions options);

  std::string name() const override;
  void update(const ModelOutputs& outputs, const std::vector<Annotation>& annotations) override;
  double value() const override { return values_.last_batch_mean(name()); }
  double avg_value() const override { return values_.mean(name()); }
  void reset() override { values_.reset(); }
  bool higher_better() const override;
  std::map<std::string, std::string> attributes() const override { return metric_attributes(higher_better(), name()); }
  std::vector<double> per_sample_values() const override { return values_.values(); }
  bool needs_reference_outputs() const override { return true; }

  ReferenceDistance kind() const { return kind_; }
  const ReferenceDistanceOptions& options() const { return options_; }

 private:
  ReferenceDistance kind_;
  ReferenceDistanceOptions options_;
  SampleValues values_;
};

}  // namespace qwac::metrics
