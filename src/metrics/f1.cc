#include "metrics/f1.h"

#include <cmath>

namespace qwac::metrics {

double F1Counts::f1() const {
  const int64_t denom = 2 * tp + fp + fn;
  return denom ? 2.0 * static_cast<double>(tp) / static_cast<double>(denom) : 0.0;
}

F1Metric::F1Metric(F1Options options) : options_(std::move(options)) {
  if (options_.positive_label < 0)
    throw InvalidConfig("f1: option 'positive_label' must be >= 0, got " + std::to_string(options_.positive_label));
}

void F1Metric::update(const ModelOutputs& outputs, const std::vector<Annotation>& annotations) {
  const size_t batch = annotations.size();
  check_nonempty_batch(batch, name());
  const size_t out = resolve_output(outputs, options_.output, name());
  const Tensor& scores = outputs.tensors[out];
  const std::string what = "output '" + outputs.names[out] + "'";
  check_batch_dim(scores, batch, name(), what);
  const int64_t per = scores.numel() / static_cast<int64_t>(batch);
  if (per != 1 && per != 2)
    throw DataError(name() + ": " + what + " is " + scores.describe() +
                    ", expected one score per sample ([N] or [N, 1]) or two class scores ([N, 2])");
  if (per == 2 && options_.positive_label > 1)
    throw DataError(name() + ": positive_label " + std::to_string(options_.positive_label) + " is not a class of " +
                    what + " " + scores.describe() + " (two classes: 0 and 1)");
  const auto v = tensor_values(scores, name() + ": " + what);

  F1Counts counts;
  std::vector<double> correct(batch);
  for (size_t i = 0; i < batch; ++i) {
    const int64_t label = annotations[i].label;
    if (label < 0)
      throw DataError(name() + ": sample " + std::to_string(i) + " of the batch has no label (label " +
                      std::to_string(label) + ")");
    bool predicted_positive;
    if (per == 1) {
      double s = v[i];
      if (options_.apply_sigmoid) s = 1.0 / (1.0 + std::exp(-s));
      predicted_positive = s >= options_.threshold;
    } else {
      const int64_t argmax = v[2 * i + 1] > v[2 * i] ? 1 : 0;
      predicted_positive = argmax == options_.positive_label;
    }
    const bool positive = label == options_.positive_label;
    if (predicted_positive)
      (positive ? counts.tp : counts.fp)++;
    else
      (positive ? counts.fn : counts.tn)++;
    correct[i] = predicted_positive == positive ? 1.0 : 0.0;
  }
  last_ = counts;
  total_.tp += counts.tp;
  total_.fp += counts.fp;
  total_.fn += counts.fn;
  total_.tn += counts.tn;
  correct_.begin_batch();
  for (double c : correct) correct_.add(c);
}

double F1Metric::value() const {
  if (correct_.last_begin() >= correct_.values().size()) throw_no_samples(name());
  return last_.f1();
}

double F1Metric::avg_value() const {
  if (correct_.values().empty()) throw_no_samples(name());
  return total_.f1();
}

void F1Metric::reset() {
  total_ = F1Counts{};
  last_ = F1Counts{};
  correct_.reset();
}

}  // namespace qwac::metrics
