#include "metrics/reference_distance.h"

#include <algorithm>
#include <array>
#include <cmath>
#include <limits>

namespace qwac::metrics {

double nmse(const float* ref, const float* x, int64_t count) {
  double err = 0, norm = 0;
  for (int64_t i = 0; i < count; ++i) {
    const double d = static_cast<double>(ref[i]) - x[i];
    err += d * d;
    norm += static_cast<double>(ref[i]) * ref[i];
  }
  if (norm == 0) return err == 0 ? 0.0 : std::numeric_limits<double>::infinity();
  return err / norm;
}

double cosine_similarity(const float* ref, const float* x, int64_t count) {
  double dot = 0, nr = 0, nx = 0;
  for (int64_t i = 0; i < count; ++i) {
    dot += static_cast<double>(ref[i]) * x[i];
    nr += static_cast<double>(ref[i]) * ref[i];
    nx += static_cast<double>(x[i]) * x[i];
  }
  if (nr == 0 && nx == 0) return 1.0;
  if (nr == 0 || nx == 0) return 0.0;
  return dot / (std::sqrt(nr) * std::sqrt(nx));
}

double psnr(const float* ref, const float* x, int64_t count) {
  double err = 0, peak = 0;
  for (int64_t i = 0; i < count; ++i) {
    const double d = static_cast<double>(ref[i]) - x[i];
    err += d * d;
    peak = std::max(peak, std::fabs(static_cast<double>(ref[i])));
  }
  const double mse = count ? err / static_cast<double>(count) : 0.0;
  if (mse == 0) return kPsnrCapDb;
  return std::min(kPsnrCapDb, 10.0 * std::log10(peak * peak / mse));
}

namespace {

// One row per ReferenceDistance, in enum order.
struct DistanceInfo {
  const char* name;
  bool higher_better;
  double (*per_sample)(const float* ref, const float* x, int64_t count);
};
constexpr std::array<DistanceInfo, 3> kDistances = {{
    {"nmse", false, nmse},
    {"cosine", true, cosine_similarity},
    {"psnr", true, psnr},
}};

const DistanceInfo& info(ReferenceDistance kind) {
  return kDistances.at(static_cast<size_t>(kind));
}

}  // namespace

ReferenceDistanceMetric::ReferenceDistanceMetric(ReferenceDistance kind, ReferenceDistanceOptions options)
    : kind_(kind), options_(std::move(options)) {}

std::string ReferenceDistanceMetric::name() const {
  return info(kind_).name;
}
bool ReferenceDistanceMetric::higher_better() const {
  return info(kind_).higher_better;
}

void ReferenceDistanceMetric::update(const ModelOutputs& outputs, const std::vector<Annotation>& annotations) {
  const size_t batch = annotations.size();
  const std::string metric = name();
  check_nonempty_batch(batch, metric);
  const size_t out = resolve_output(outputs, options_.output, metric);
  const Tensor& x = outputs.tensors[out];
  const std::string what = "output '" + outputs.names[out] + "'";
  check_batch_dim(x, batch, metric, what);
  if (x.dtype() != DType::kFloat32) throw DataError(metric + ": " + what + " is " + x.describe() + ", expected float");
  const int64_t per = x.numel() / static_cast<int64_t>(batch);
  std::vector<double> batch_values(batch);
  for (size_t i = 0; i < batch; ++i) {
    const auto& refs = annotations[i].reference_outputs;
    const std::string rw = metric + ": sample " + std::to_string(i) + " of the batch";
    if (refs.empty())
      throw DataError(rw +
                      " has no reference outputs (Annotation.reference_outputs is empty; label-free metrics "
                      "need the FP32 model's outputs)");
    if (out >= refs.size())
      throw DataError(rw + " has " + std::to_string(refs.size()) + " reference output(s), but " + what +
                      " is output #" + std::to_string(out));
    const Tensor& ref = refs[out];
    if (ref.empty() || ref.dtype() != DType::kFloat32 || ref.numel() != per)
      throw DataError(rw + ": reference for " + what + " is " + (ref.empty() ? std::string("empty") : ref.describe()) +
                      ", expected float with " + std::to_string(per) + " elements (one sample of " + x.describe() +
                      ")");
    const float* r = ref.data<float>();
    const float* xs = x.data<float>() + static_cast<int64_t>(i) * per;
    batch_values[i] = info(kind_).per_sample(r, xs, per);
  }
  values_.begin_batch();
  for (double v : batch_values) values_.add(v);
}

}  // namespace qwac::metrics
