// Top-k classification accuracy ("accuracy@top<k>"), ranked exactly like the ORT reference evaluator
// (shared/tools/ort-eval/eval.js): classes sorted by descending score with a stable sort, so among equal scores
// the lower class index ranks first. (POT's numpy example, argsort(...)[:, -k:], favours the higher index on ties;
// we follow eval.js because qwac's reference numbers come from it.)
#pragma once

#include <cstdint>

#include "metrics/metric_util.h"
#include "qwac/metric.h"

namespace qwac::metrics {

struct AccuracyOptions {
  int64_t k = 1;     // JSON "k": a hit when the label is among the k best-scored classes (k >= 1)
  OutputRef output;  // JSON "output": name (string) or index (integer) of the score output; default first
  // JSON "label_offset": added to the annotation's label before comparing with the class index, like eval.js
  // --label-offset; use 1 for a model whose class 0 is "background". The shifted label must be in [0, C).
  int64_t label_offset = 0;
};

class AccuracyMetric : public Metric {
 public:
  explicit AccuracyMetric(AccuracyOptions options);  // InvalidConfig when k < 1

  std::string name() const override { return name_; }
  void update(const ModelOutputs& outputs, const std::vector<Annotation>& annotations) override;
  double value() const override { return values_.last_batch_mean(name_); }
  double avg_value() const override { return values_.mean(name_); }
  void reset() override { values_.reset(); }
  std::map<std::string, std::string> attributes() const override { return metric_attributes(true, "accuracy"); }
  // 1 for a hit, 0 for a miss.
  std::vector<double> per_sample_values() const override { return values_.values(); }

  const AccuracyOptions& options() const { return options_; }

 private:
  AccuracyOptions options_;
  std::string name_;
  SampleValues values_;
};

// Whether class `label` is among the top `k` of scores[0..count) under eval.js's ordering (descending score, stable
// in class index). A NaN score never outranks anything, and a NaN label score is a hit only when k >= count.
template <typename T>
bool in_top_k(const T* scores, int64_t count, int64_t label, int64_t k);

}  // namespace qwac::metrics
