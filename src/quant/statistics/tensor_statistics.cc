#include "quant/statistics/tensor_statistics.h"

#include <omp.h>

#include <algorithm>
#include <cfloat>
#include <cmath>
#include <limits>
#include <optional>

#include "qwac/error.h"

namespace qwac::quant {

namespace {

constexpr float kInf = std::numeric_limits<float>::infinity();
// Below this many values a parallel region costs more than it saves.
constexpr int64_t kParallelThreshold = 1 << 16;
// Two probabilities are the same requested quantile when this close (they come from the same config double).
constexpr double kProbabilityTolerance = 1e-12;

// Min/max of n values in one vectorized pass; `bad` becomes non-zero if any value is NaN or infinite (the
// comparison !(|x| <= FLT_MAX) is true for both).
void min_max_finite_simd(const float* p, int64_t n, float& mn, float& mx, int& bad) {
  float lo = mn, hi = mx;
  int nonfinite = 0;
#pragma omp simd reduction(min : lo) reduction(max : hi) reduction(| : nonfinite)
  for (int64_t i = 0; i < n; ++i) {
    const float x = p[i];
    lo = x < lo ? x : lo;
    hi = x > hi ? x : hi;
    nonfinite |= static_cast<int>(!(std::fabs(x) <= FLT_MAX));
  }
  mn = lo;
  mx = hi;
  bad |= nonfinite;
}

// Same, split over threads when the range is large and we are not already inside a parallel region (batch size 1
// with a large tensor). Small ranges never pay for a parallel region.
void min_max_finite(const float* p, int64_t n, float& mn, float& mx, int& bad) {
  if (n < kParallelThreshold || omp_in_parallel()) {
    min_max_finite_simd(p, n, mn, mx, bad);
    return;
  }
  float lo = mn, hi = mx;
  int nonfinite = 0;
#pragma omp parallel for simd reduction(min : lo) reduction(max : hi) reduction(| : nonfinite) schedule(static)
  for (int64_t i = 0; i < n; ++i) {
    const float x = p[i];
    lo = x < lo ? x : lo;
    hi = x > hi ? x : hi;
    nonfinite |= static_cast<int>(!(std::fabs(x) <= FLT_MAX));
  }
  mn = lo;
  mx = hi;
  bad |= nonfinite;
}

// numpy / ONNX 'linear' quantile: position q*(n-1) between the two neighbouring order statistics. Reorders `v`.
float linear_quantile(std::vector<float>& v, double q) {
  const size_t n = v.size();
  const double pos = std::clamp(q, 0.0, 1.0) * static_cast<double>(n - 1);
  const size_t k = static_cast<size_t>(std::floor(pos));
  const double fraction = pos - static_cast<double>(k);
  std::nth_element(v.begin(), v.begin() + static_cast<std::ptrdiff_t>(k), v.end());
  const double v0 = v[k];
  if (fraction == 0.0 || k + 1 >= n) return static_cast<float>(v0);
  // After nth_element every element right of k is >= v[k]; the next order statistic is their minimum.
  const double v1 = *std::min_element(v.begin() + static_cast<std::ptrdiff_t>(k + 1), v.end());
  return static_cast<float>(v0 + fraction * (v1 - v0));
}

struct SampleQuantiles {
  double p = 0.0;
  std::vector<float> low, high, abs;
};

}  // namespace

struct TensorStatistics::State {
  std::string name;
  StatisticsNeeds needs;
  int64_t num_samples = 0;
  int64_t num_values = 0;
  float global_min = kInf;
  float global_max = -kInf;
  std::vector<float> channel_min, channel_max;
  std::vector<float> sample_min, sample_max, sample_abs_max;
  std::vector<SampleQuantiles> quantiles;
  std::optional<Histogram> histogram;

  [[noreturn]] void non_finite(int64_t sample) const {
    throw DataError("quantization point '" + name + "': non-finite value (NaN or Inf) in sample " +
                    std::to_string(num_samples + sample) +
                    " of the calibration set; the calibration data or the model produce non-finite activations");
  }
  const SampleQuantiles& find_quantiles(double p) const {
    for (const auto& q : quantiles) {
      if (std::fabs(q.p - p) <= kProbabilityTolerance) return q;
    }
    throw InternalError("statistics of '" + name + "': per-sample quantiles for outlier_prob " + std::to_string(p) +
                        " were not collected");
  }
  void update_samples(const std::vector<const Tensor*>& sources, int64_t batch, const std::vector<int64_t>& per_sample);
  void update_quantiles(const std::vector<const Tensor*>& sources, int64_t batch,
                        const std::vector<int64_t>& per_sample);
  void update_channels(const std::vector<const Tensor*>& sources, bool check_finite);
};

TensorStatistics::TensorStatistics(std::string name, StatisticsNeeds needs) : state_(std::make_shared<State>()) {
  state_->name = std::move(name);
  for (double p : needs.per_sample_quantiles) {
    if (!(p >= 0.0 && p < 0.5)) {
      throw InternalError("statistics of '" + state_->name + "': outlier probability " + std::to_string(p) +
                          " is outside [0, 0.5)");
    }
    bool seen = false;
    for (const auto& q : state_->quantiles) seen = seen || std::fabs(q.p - p) <= kProbabilityTolerance;
    if (!seen) state_->quantiles.push_back(SampleQuantiles{p, {}, {}, {}});
  }
  if (needs.histogram) state_->histogram.emplace();
  state_->needs = std::move(needs);
}

void TensorStatistics::State::update_samples(const std::vector<const Tensor*>& sources, int64_t batch,
                                             const std::vector<int64_t>& per_sample) {
  std::vector<float> mins(static_cast<size_t>(batch)), maxs(static_cast<size_t>(batch));
  std::vector<int> bad(static_cast<size_t>(batch), 0);
  int64_t total = 0;
  for (int64_t n : per_sample) total += n;
#pragma omp parallel for if (batch > 1 && batch * total >= kParallelThreshold) schedule(static)
  for (int64_t b = 0; b < batch; ++b) {
    float mn = kInf, mx = -kInf;
    int nonfinite = 0;
    for (size_t s = 0; s < sources.size(); ++s) {
      min_max_finite(sources[s]->data<float>() + b * per_sample[s], per_sample[s], mn, mx, nonfinite);
    }
    mins[static_cast<size_t>(b)] = mn;
    maxs[static_cast<size_t>(b)] = mx;
    bad[static_cast<size_t>(b)] = nonfinite;
  }
  for (int64_t b = 0; b < batch; ++b) {
    if (bad[static_cast<size_t>(b)] != 0) non_finite(b);
  }
  for (int64_t b = 0; b < batch; ++b) {
    const float mn = mins[static_cast<size_t>(b)], mx = maxs[static_cast<size_t>(b)];
    global_min = std::min(global_min, mn);
    global_max = std::max(global_max, mx);
    if (needs.per_sample) {
      sample_min.push_back(mn);
      sample_max.push_back(mx);
      sample_abs_max.push_back(std::max(std::fabs(mn), std::fabs(mx)));
    }
  }
}

void TensorStatistics::State::update_quantiles(const std::vector<const Tensor*>& sources, int64_t batch,
                                               const std::vector<int64_t>& per_sample) {
  const size_t nq = quantiles.size();
  // results[b * nq + k] = {low, high, abs} for quantile k of sample b
  std::vector<float> results(static_cast<size_t>(batch) * nq * 3);
  int64_t total = 0;
  for (int64_t n : per_sample) total += n;
#pragma omp parallel if (batch > 1 && batch * total >= kParallelThreshold)
  {
    std::vector<float> values(static_cast<size_t>(total));  // this sample's values over every source
#pragma omp for schedule(dynamic)
    for (int64_t b = 0; b < batch; ++b) {
      float* dst = values.data();
      for (size_t s = 0; s < sources.size(); ++s) {
        const float* src = sources[s]->data<float>() + b * per_sample[s];
        dst = std::copy(src, src + per_sample[s], dst);
      }
      float* out = results.data() + static_cast<size_t>(b) * nq * 3;
      for (size_t k = 0; k < nq; ++k) {
        out[k * 3 + 0] = linear_quantile(values, quantiles[k].p);
        out[k * 3 + 1] = linear_quantile(values, 1.0 - quantiles[k].p);
      }
      for (float& v : values) v = std::fabs(v);
      for (size_t k = 0; k < nq; ++k) out[k * 3 + 2] = linear_quantile(values, 1.0 - quantiles[k].p);
    }
  }
  for (int64_t b = 0; b < batch; ++b) {
    const float* out = results.data() + static_cast<size_t>(b) * nq * 3;
    for (size_t k = 0; k < nq; ++k) {
      quantiles[k].low.push_back(out[k * 3 + 0]);
      quantiles[k].high.push_back(out[k * 3 + 1]);
      quantiles[k].abs.push_back(out[k * 3 + 2]);
    }
  }
}

void TensorStatistics::State::update_channels(const std::vector<const Tensor*>& sources, bool check_finite) {
  const int64_t axis = needs.channel_axis;
  int bad = 0;
  for (const Tensor* t : sources) {
    if (axis >= t->rank()) {
      throw InternalError("statistics of '" + name + "': channel axis " + std::to_string(axis) +
                          " is out of range for " + t->describe());
    }
    const int64_t channels = t->dim(axis);
    if (channel_min.empty()) {
      channel_min.assign(static_cast<size_t>(channels), kInf);
      channel_max.assign(static_cast<size_t>(channels), -kInf);
    } else if (static_cast<int64_t>(channel_min.size()) != channels) {
      // Unified sources share channel c; they must agree on the channel count.
      throw InternalError("statistics of '" + name + "': " + t->describe() + " has " + std::to_string(channels) +
                          " channels along axis " + std::to_string(axis) + ", expected " +
                          std::to_string(channel_min.size()));
    }
    int64_t outer = 1, inner = 1;
    for (int64_t d = 0; d < axis; ++d) outer *= t->dim(d);
    for (int64_t d = axis + 1; d < t->rank(); ++d) inner *= t->dim(d);
    const float* data = t->data<float>();
    if (inner == 1) {
      // [rows, C] layout (MatMul/Gemm activations): rows in parallel, channel-wise partial results merged.
#pragma omp parallel if (outer * channels >= kParallelThreshold) reduction(| : bad)
      {
        std::vector<float> mn(static_cast<size_t>(channels), kInf), mx(static_cast<size_t>(channels), -kInf);
#pragma omp for schedule(static) nowait
        for (int64_t o = 0; o < outer; ++o) {
          const float* row = data + o * channels;
          for (int64_t c = 0; c < channels; ++c) {
            const float x = row[c];
            mn[static_cast<size_t>(c)] = x < mn[static_cast<size_t>(c)] ? x : mn[static_cast<size_t>(c)];
            mx[static_cast<size_t>(c)] = x > mx[static_cast<size_t>(c)] ? x : mx[static_cast<size_t>(c)];
            bad |= static_cast<int>(!(std::fabs(x) <= FLT_MAX));
          }
        }
#pragma omp critical(qwac_channel_stats_merge)
        for (int64_t c = 0; c < channels; ++c) {
          channel_min[static_cast<size_t>(c)] =
              std::min(channel_min[static_cast<size_t>(c)], mn[static_cast<size_t>(c)]);
          channel_max[static_cast<size_t>(c)] =
              std::max(channel_max[static_cast<size_t>(c)], mx[static_cast<size_t>(c)]);
        }
      }
    } else {
#pragma omp parallel for if (channels > 1 && outer * channels * inner >= kParallelThreshold) reduction(|      \
                                                                                                       : bad) \
    schedule(static)
      for (int64_t c = 0; c < channels; ++c) {
        float mn = channel_min[static_cast<size_t>(c)], mx = channel_max[static_cast<size_t>(c)];
        for (int64_t o = 0; o < outer; ++o) min_max_finite_simd(data + (o * channels + c) * inner, inner, mn, mx, bad);
        channel_min[static_cast<size_t>(c)] = mn;
        channel_max[static_cast<size_t>(c)] = mx;
      }
    }
  }
  if (check_finite && bad != 0) {
    throw DataError("quantization point '" + name +
                    "': non-finite value (NaN or Inf) in the current calibration batch; the calibration data or the "
                    "model produce non-finite activations");
  }
}

void TensorStatistics::update(const std::vector<const Tensor*>& sources) {
  State& st = *state_;
  if (sources.empty()) throw InternalError("statistics of '" + st.name + "': update() without source tensors");
  for (const Tensor* t : sources) {
    if (t == nullptr || t->dtype() != DType::kFloat32 || t->rank() < 1) {
      throw InternalError("statistics of '" + st.name + "': expected float32 tensors with a batch dimension, got " +
                          (t == nullptr ? std::string("null") : t->describe()));
    }
  }
  const int64_t batch = sources[0]->dim(0);
  std::vector<int64_t> per_sample;
  int64_t values_per_sample = 0;
  for (const Tensor* t : sources) {
    if (t->dim(0) != batch) {
      throw InternalError("statistics of '" + st.name +
                          "': sources disagree on the batch size: " + sources[0]->describe() + " vs " + t->describe());
    }
    per_sample.push_back(batch == 0 ? 0 : t->numel() / batch);
    values_per_sample += per_sample.back();
  }
  if (batch == 0) return;
  if (values_per_sample == 0) {
    throw DataError("quantization point '" + st.name + "': the tensor has no elements (" + sources[0]->describe() +
                    "), nothing to calibrate");
  }
  const bool per_channel = st.needs.channel_axis >= 0;
  // A per-channel-only collector gets global min/max and the finiteness check from its channel pass: one pass.
  const bool sample_pass = st.needs.per_sample || !st.quantiles.empty() || !per_channel;
  if (sample_pass) st.update_samples(sources, batch, per_sample);
  if (per_channel) {
    st.update_channels(sources, !sample_pass);
    if (!sample_pass) {
      st.global_min = *std::min_element(st.channel_min.begin(), st.channel_min.end());
      st.global_max = *std::max_element(st.channel_max.begin(), st.channel_max.end());
    }
  }
  if (!st.quantiles.empty()) st.update_quantiles(sources, batch, per_sample);
  if (st.histogram) {
    for (const Tensor* t : sources) st.histogram->add(t->data<float>(), t->numel());
  }
  st.num_samples += batch;
  for (const Tensor* t : sources) st.num_values += t->numel();
}

int64_t TensorStatistics::num_samples() const {
  return state_->num_samples;
}
int64_t TensorStatistics::num_values() const {
  return state_->num_values;
}
float TensorStatistics::global_min() const {
  return state_->global_min;
}
float TensorStatistics::global_max() const {
  return state_->global_max;
}
const std::vector<float>& TensorStatistics::channel_min() const {
  return state_->channel_min;
}
const std::vector<float>& TensorStatistics::channel_max() const {
  return state_->channel_max;
}
const std::vector<float>& TensorStatistics::sample_min() const {
  return state_->sample_min;
}
const std::vector<float>& TensorStatistics::sample_max() const {
  return state_->sample_max;
}
const std::vector<float>& TensorStatistics::sample_abs_max() const {
  return state_->sample_abs_max;
}
const std::vector<float>& TensorStatistics::sample_quantile_low(double p) const {
  return state_->find_quantiles(p).low;
}
const std::vector<float>& TensorStatistics::sample_quantile_high(double p) const {
  return state_->find_quantiles(p).high;
}
const std::vector<float>& TensorStatistics::sample_abs_quantile(double p) const {
  return state_->find_quantiles(p).abs;
}
const Histogram* TensorStatistics::histogram() const {
  return state_->histogram ? &*state_->histogram : nullptr;
}
const std::string& TensorStatistics::name() const {
  return state_->name;
}
const StatisticsNeeds& TensorStatistics::needs() const {
  return state_->needs;
}

}  // namespace qwac::quant
