#include "metrics/accuracy.h"

#include <cmath>
#include <type_traits>

namespace qwac::metrics {

template <typename T>
bool in_top_k(const T* scores, int64_t count, int64_t label, int64_t k) {
  if (k >= count) return true;  // eval.js takes min(k, C) classes: all of them
  const T target = scores[label];
  if constexpr (std::is_floating_point_v<T>) {
    if (std::isnan(target)) return false;
  }
  // Rank of `label` in a stable descending sort = classes with a higher score + lower-indexed classes with an equal
  // score. Counting avoids sorting C classes per sample.
  int64_t rank = 0;
  for (int64_t j = 0; j < count && rank < k; ++j)
    if (scores[j] > target || (j < label && scores[j] == target)) ++rank;
  return rank < k;
}

#define QWAC_INSTANTIATE_TOP_K(T) template bool in_top_k<T>(const T*, int64_t, int64_t, int64_t);
QWAC_INSTANTIATE_TOP_K(float)
QWAC_INSTANTIATE_TOP_K(double)
QWAC_INSTANTIATE_TOP_K(int32_t)
QWAC_INSTANTIATE_TOP_K(int64_t)
#undef QWAC_INSTANTIATE_TOP_K

AccuracyMetric::AccuracyMetric(AccuracyOptions options)
    : options_(std::move(options)), name_("accuracy@top" + std::to_string(options_.k)) {
  if (options_.k < 1) throw InvalidConfig("accuracy: option 'k' must be >= 1, got " + std::to_string(options_.k));
}

void AccuracyMetric::update(const ModelOutputs& outputs, const std::vector<Annotation>& annotations) {
  const size_t batch = annotations.size();
  check_nonempty_batch(batch, name_);
  const size_t out = resolve_output(outputs, options_.output, name_);
  const Tensor& scores = outputs.tensors[out];
  const std::string what = "output '" + outputs.names[out] + "'";
  check_batch_dim(scores, batch, name_, what);
  // [N, C] or [N, C, 1, 1] (SqueezeNet's Conv-as-classifier): every trailing dim is part of the class axis.
  const int64_t classes = scores.numel() / static_cast<int64_t>(batch);
  if (classes < 1) throw DataError(name_ + ": " + what + " " + scores.describe() + " has no class scores");
  if (options_.k > classes) {
    throw DataError(name_ + ": k = " + std::to_string(options_.k) + " is more than the " + std::to_string(classes) +
                    " classes of " + what + " " + scores.describe() + " (every sample would be a hit); use k <= " +
                    std::to_string(classes));
  }

  // Validate every label before recording anything, so a bad batch leaves the metric unchanged.
  std::vector<int64_t> labels(batch);
  for (size_t i = 0; i < batch; ++i) {
    labels[i] = annotations[i].label + options_.label_offset;
    if (annotations[i].label < 0 || labels[i] < 0 || labels[i] >= classes)
      throw DataError(name_ + ": sample " + std::to_string(i) + " of the batch has label " +
                      std::to_string(annotations[i].label) +
                      (options_.label_offset ? " (+ label_offset " + std::to_string(options_.label_offset) + ")" : "") +
                      ", outside the " + std::to_string(classes) + " classes of " + what + " " + scores.describe());
  }
  std::vector<double> hits(batch);
  visit_elements(scores, name_ + ": " + what, [&](const auto* data) {
    using T = std::remove_cv_t<std::remove_pointer_t<decltype(data)>>;
    for (size_t i = 0; i < batch; ++i) {
      const T* row = data + static_cast<int64_t>(i) * classes;
      bool hit;
      if constexpr (std::is_floating_point_v<T>) {
        hit = in_top_k<T>(row, classes, labels[i], options_.k);
      } else {
        // Integer scores (rare: quantized outputs read raw) are ranked as int64.
        std::vector<int64_t> widened(row, row + classes);
        hit = in_top_k<int64_t>(widened.data(), classes, labels[i], options_.k);
      }
      hits[i] = hit ? 1.0 : 0.0;
    }
  });
  values_.begin_batch();
  for (double h : hits) values_.add(h);
}

}  // namespace qwac::metrics
