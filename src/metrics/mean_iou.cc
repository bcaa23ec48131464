#include "metrics/mean_iou.h"

#include <cmath>
#include <limits>
#include <type_traits>

namespace qwac::metrics {

namespace {

// Bounds the per-class tables: a class id beyond this is a corrupt mask or a float output read as a class map.
constexpr int64_t kMaxClassId = 1 << 20;

}  // namespace

void IouCounts::add(int64_t pred, int64_t gt) {
  const int64_t top = std::max(pred, gt);
  if (top >= static_cast<int64_t>(uni.size())) {
    intersection.resize(static_cast<size_t>(top + 1), 0);
    uni.resize(static_cast<size_t>(top + 1), 0);
  }
  if (pred == gt) {
    ++intersection[static_cast<size_t>(gt)];
    ++uni[static_cast<size_t>(gt)];
  } else {
    ++uni[static_cast<size_t>(gt)];
    ++uni[static_cast<size_t>(pred)];
  }
}

void IouCounts::merge(const IouCounts& other) {
  if (other.uni.size() > uni.size()) {
    intersection.resize(other.uni.size(), 0);
    uni.resize(other.uni.size(), 0);
  }
  for (size_t c = 0; c < other.uni.size(); ++c) {
    intersection[c] += other.intersection[c];
    uni[c] += other.uni[c];
  }
}

double IouCounts::mean_iou() const {
  double sum = 0;
  int64_t classes = 0;
  for (size_t c = 0; c < uni.size(); ++c) {
    if (uni[c] == 0) continue;
    sum += static_cast<double>(intersection[c]) / static_cast<double>(uni[c]);
    ++classes;
  }
  return classes ? sum / static_cast<double>(classes) : std::numeric_limits<double>::quiet_NaN();
}

MeanIouMetric::MeanIouMetric(MeanIouOptions options) : options_(std::move(options)) {}

void MeanIouMetric::update(const ModelOutputs& outputs, const std::vector<Annotation>& annotations) {
  const size_t batch = annotations.size();
  check_nonempty_batch(batch, name());
  const size_t out = resolve_output(outputs, options_.output, name());
  const Tensor& pred = outputs.tensors[out];
  const std::string what = "output '" + outputs.names[out] + "'";
  check_batch_dim(pred, batch, name(), what);
  // Class axis present only for rank 4 with C > 1; [N,1,H,W] and [N,H,W] are class maps.
  const bool logits = pred.rank() == 4 && pred.dim(1) > 1;
  if (pred.rank() != 3 && pred.rank() != 4)
    throw DataError(name() + ": " + what + " is " + pred.describe() +
                    ", expected logits [N, C, H, W] or a class map [N, H, W]");
  const int64_t channels = logits ? pred.dim(1) : 1;
  const int64_t pixels = pred.dim(pred.rank() - 2) * pred.dim(pred.rank() - 1);
  const std::string hw = shape_to_string({pred.dim(pred.rank() - 2), pred.dim(pred.rank() - 1)});

  std::vector<std::vector<int64_t>> gts(batch);
  for (size_t i = 0; i < batch; ++i) {
    const Tensor& mask = annotations[i].mask;
    const std::string mw = name() + ": mask of sample " + std::to_string(i) + " of the batch";
    if (mask.empty()) throw DataError(mw + " is missing (Annotation.mask not set)");
    if (mask.numel() != pixels)
      throw DataError(mw + " is " + mask.describe() + ", expected " + hw + " to match " + what + " " + pred.describe());
    const auto values = tensor_values(mask, mw);
    gts[i].resize(values.size());
    for (size_t p = 0; p < values.size(); ++p) {
      const int64_t g = static_cast<int64_t>(values[p]);
      if (g != options_.ignore_label && (g < 0 || g >= kMaxClassId || static_cast<double>(g) != values[p]))
        throw DataError(mw + " has class " + std::to_string(values[p]) + " at pixel " + std::to_string(p) +
                        ", expected an integer in [0, " + std::to_string(kMaxClassId) + ") or ignore_label " +
                        std::to_string(options_.ignore_label));
      gts[i][p] = g;
    }
  }

  std::vector<IouCounts> per_sample(batch);
  visit_elements(pred, name() + ": " + what, [&](const auto* data) {
    for (size_t i = 0; i < batch; ++i) {
      const auto* img = data + static_cast<int64_t>(i) * channels * pixels;
      for (int64_t p = 0; p < pixels; ++p) {
        const int64_t g = gts[i][static_cast<size_t>(p)];
        if (g == options_.ignore_label) continue;
        int64_t cls = 0;
        if (logits) {
          auto best = img[p];
          for (int64_t c = 1; c < channels; ++c)
            if (img[c * pixels + p] > best) best = img[c * pixels + p], cls = c;
        } else {
          const double v = static_cast<double>(img[p]);
          if (!(v >= 0 && v < kMaxClassId))
            throw DataError(name() + ": " + what + " class map has value " + std::to_string(v) + " in sample " +
                            std::to_string(i) + ", expected a class id in [0, " + std::to_string(kMaxClassId) + ")");
          cls = static_cast<int64_t>(v);
        }
        per_sample[i].add(cls, g);
      }
    }
  });
  last_ = IouCounts{};
  samples_.begin_batch();
  for (const auto& c : per_sample) {
    last_.merge(c);
    samples_.add(c.mean_iou());
  }
  total_.merge(last_);
}

double MeanIouMetric::checked(const IouCounts& counts, bool any) const {
  if (!any) throw_no_samples(name());
  const double v = counts.mean_iou();
  if (std::isnan(v))
    throw DataError(name() + ": every pixel is ignore_label " + std::to_string(options_.ignore_label) +
                    "; mean IoU is undefined");
  return v;
}

double MeanIouMetric::value() const {
  return checked(last_, samples_.last_begin() < samples_.values().size());
}
double MeanIouMetric::avg_value() const {
  return checked(total_, !samples_.values().empty());
}

void MeanIouMetric::reset() {
  total_ = IouCounts{};
  last_ = IouCounts{};
  samples_.reset();
}

}  // namespace qwac::metrics
