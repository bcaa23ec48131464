// F1 score for binary classification: 2 TP / (2 TP + FP + FN), 0 when there is no positive at all (sklearn's
// zero_division=0).
//
// Prediction from the model output:
//  - one score per sample ([N] or [N, 1]): positive iff s >= threshold, where s = sigmoid(raw) when apply_sigmoid
//    is set, else the raw value (so the default threshold 0.5 suits a probability output; for logits either set
//    apply_sigmoid or threshold 0);
//  - two scores per sample ([N, 2]): the argmax class (first on ties) is the predicted label.
// Ground truth: the sample is positive iff Annotation.label == positive_label (labels must be set, >= 0).
//
// F1 has no per-sample decomposition; per_sample_values() gives 1 where the prediction is correct and 0 where it is
// not, which is what the accuracy search needs to rank the samples an INT8 model gets wrong.
#pragma once

#include <cstdint>

#include "metrics/metric_util.h"
#include "qwac/metric.h"

namespace qwac::metrics {

struct F1Options {
  OutputRef output;            // JSON "output": name or index; default first output
  double threshold = 0.5;      // JSON "threshold": for single-score outputs
  bool apply_sigmoid = false;  // JSON "apply_sigmoid": threshold sigmoid(raw) instead of raw
  int64_t positive_label = 1;  // JSON "positive_label": the annotation label that counts as positive
};

struct F1Counts {
  int64_t tp = 0, fp = 0, fn = 0, tn = 0;
  double f1() const;
};

class F1Metric : public Metric {
 public:
  explicit F1Metric(F1Options options);

  std::string name() const override { return "f1"; }
  void update(const ModelOutputs& outputs, const std::vector<Annotation>& annotations) override;
  double value() const override;
  double avg_value() const override;
  void reset() override;
  std::map<std::string, std::string> attributes() const override { return metric_attributes(true, "f1"); }
  std::vector<double> per_sample_values() const override { return correct_.values(); }

  const F1Options& options() const { return options_; }
  const F1Counts& counts() const { return total_; }

 private:
  F1Options options_;
  F1Counts total_, last_;
  SampleValues correct_;
};

}  // namespace qwac::metrics
