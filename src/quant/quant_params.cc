#include "quant/quant_params.h"

#include <algorithm>
#include <cmath>
#include <limits>

#include "qwac/error.h"

namespace qwac::quant {
namespace {

// Scales below the smallest normal float are treated as a degenerate (all-zero) range: dividing by a subnormal
// scale overflows to infinity for ordinary values, and such a channel carries no information worth keeping.
constexpr float kMinScale = std::numeric_limits<float>::min();

struct IntRange {
  DType dtype;
  int32_t qmin, qmax;
};

IntRange int_range(int bits, bool is_signed, bool narrow_range, const std::string& what) {
  if (bits != 8 && bits != 16) {
    throw InvalidConfig(what + ": " + std::to_string(bits) + "-bit quantization is not supported (expected 8 or 16)");
  }
  if (is_signed) {
    const int32_t qmax = (1 << (bits - 1)) - 1;
    // Narrow range drops the most negative value so the grid is symmetric around 0 (int8 weights: [-127, 127]).
    return {bits == 8 ? DType::kInt8 : DType::kInt16, narrow_range ? -qmax : -qmax - 1, qmax};
  }
  return {bits == 8 ? DType::kUInt8 : DType::kUInt16, 0, (1 << bits) - 1};
}

float checked_scale(double scale) {
  const float s = static_cast<float>(scale);
  return s < kMinScale ? 1.f : s;
}

// Index of the channel of flat element i, for data viewed as [outer, channels, inner].
struct AxisLayout {
  int64_t channels = 1;
  int64_t inner = 1;
};

AxisLayout axis_layout(const Tensor& x, const QuantParams& p) {
  if (p.scale.empty() || p.zero_point.size() != p.scale.size()) {
    throw InvalidArgument("quantization parameters of " + x.describe() + ": " + std::to_string(p.scale.size()) +
                          " scales and " + std::to_string(p.zero_point.size()) +
                          " zero-points (expected the same non-zero count)");
  }
  if (x.dtype() != DType::kFloat32) {
    throw InvalidArgument("cannot quantize tensor " + x.describe() + ": expected float");
  }
  AxisLayout l;
  if (p.axis < 0) {
    if (p.scale.size() != 1) {
      throw InvalidArgument("per-tensor quantization of " + x.describe() + " has " + std::to_string(p.scale.size()) +
                            " scales (expected 1; per-channel needs an axis)");
    }
    return l;
  }
  if (p.axis >= x.rank()) {
    throw InvalidArgument("per-channel axis " + std::to_string(p.axis) + " is out of range for " + x.describe());
  }
  l.channels = x.dim(p.axis);
  if (static_cast<int64_t>(p.scale.size()) != l.channels) {
    if (p.scale.size() != 1) {
      throw InvalidArgument("per-channel quantization of " + x.describe() + " along axis " + std::to_string(p.axis) +
                            " has " + std::to_string(p.scale.size()) + " scales, expected " +
                            std::to_string(l.channels));
    }
    l.channels = 1;  // one scale broadcast over the axis
    return l;
  }
  for (int64_t d = p.axis + 1; d < x.rank(); ++d) l.inner *= x.dim(d);
  return l;
}

template <typename Fn>
void for_each_element(const Tensor& x, const QuantParams& p, Fn&& fn) {
  const AxisLayout l = axis_layout(x, p);
  const float* src = x.data<float>();
  const int64_t n = x.numel();
  for (int64_t i = 0; i < n; ++i) {
    const size_t c = l.channels == 1 ? 0 : static_cast<size_t>((i / l.inner) % l.channels);
    fn(i, quantize_value(src[i], p.scale[c], p.zero_point[c], p.qmin, p.qmax), c);
  }
}

}  // namespace

QuantParams compute_quant_params(const QuantizerSpec& spec, const std::vector<float>& min,
                                 const std::vector<float>& max, const std::string& what) {
  if (min.empty() || min.size() != max.size()) {
    throw InternalError(what + ": range has " + std::to_string(min.size()) + " minima and " +
                        std::to_string(max.size()) + " maxima (expected the same non-zero count)");
  }
  if (spec.granularity == Granularity::kPerTensor && min.size() != 1) {
    throw InternalError(what + ": per-tensor quantizer got a range of " + std::to_string(min.size()) + " channels");
  }
  for (size_t c = 0; c < min.size(); ++c) {
    if (!std::isfinite(min[c]) || !std::isfinite(max[c])) {
      throw DataError(what + ": range of channel " + std::to_string(c) + " is [" + std::to_string(min[c]) + ", " +
                      std::to_string(max[c]) + "], expected finite bounds (NaN or infinity in the statistics)");
    }
    if (min[c] > max[c]) {
      throw DataError(what + ": range of channel " + std::to_string(c) + " has min " + std::to_string(min[c]) +
                      " > max " + std::to_string(max[c]));
    }
  }

  const bool all_non_negative = std::all_of(min.begin(), min.end(), [](float v) { return v >= 0.f; });
  bool is_signed = spec.is_signed;
  if (spec.mode == QuantMode::kAsymmetric) {
    is_signed = false;
  } else if (spec.signedness_from_range) {
    is_signed = !all_non_negative;
  }
  const IntRange r = int_range(spec.bits, is_signed, spec.narrow_range && is_signed, what);

  QuantParams p;
  p.dtype = r.dtype;
  p.axis = spec.granularity == Granularity::kPerChannel ? spec.axis : -1;
  p.qmin = r.qmin;
  p.qmax = r.qmax;
  for (size_t c = 0; c < min.size(); ++c) {
    float scale = 1.f;
    int32_t zp = 0;
    if (spec.mode == QuantMode::kSymmetric) {
      // Signed: the larger magnitude maps to qmax. Unsigned: [0, max] maps to [0, qmax]; negatives saturate to 0.
      const double amax = is_signed ? std::max(std::fabs(static_cast<double>(min[c])), std::fabs(double{max[c]}))
                                    : std::max(static_cast<double>(max[c]), 0.0);
      scale = checked_scale(amax / r.qmax);
    } else {
      // Widened to include 0 so that zero (padding, Relu output) is exactly representable.
      const double lo = std::min(static_cast<double>(min[c]), 0.0);
      const double hi = std::max(static_cast<double>(max[c]), 0.0);
      scale = checked_scale((hi - lo) / (static_cast<double>(r.qmax) - r.qmin));
      const double z = static_cast<double>(r.qmin) - std::nearbyint(lo / scale);
      zp = static_cast<int32_t>(std::clamp(z, static_cast<double>(r.qmin), static_cast<double>(r.qmax)));
    }
    p.scale.push_back(scale);
    p.zero_point.push_back(zp);
    p.range_min.push_back(dequantize_value(r.qmin, scale, zp));
    p.range_max.push_back(dequantize_value(r.qmax, scale, zp));
  }
  return p;
}

int32_t quantize_value(float x, float scale, int32_t zero_point, int32_t qmin, int32_t qmax) {
  // Float division and float rounding as ONNX QuantizeLinear; the sum and clamp in double so that int32 ranges
  // (bias) do not lose the zero-point or overflow the conversion.
  const float r = std::nearbyint(x / scale);
  if (std::isnan(r)) return std::clamp(zero_point, qmin, qmax);
  const double v =
      std::clamp(static_cast<double>(r) + zero_point, static_cast<double>(qmin), static_cast<double>(qmax));
  return static_cast<int32_t>(v);
}

Tensor quantize_tensor(const Tensor& x, const QuantParams& p) {
  Tensor y(p.dtype, x.shape());
  dispatch_dtype(p.dtype, [&](auto tag) {
    using Q = decltype(tag);
    if constexpr (std::is_integral_v<Q> && sizeof(Q) <= 4 && !std::is_same_v<Q, bool> && !std::is_same_v<Q, uint32_t>) {
      Q* dst = y.data<Q>();
      for_each_element(x, p, [&](int64_t i, int32_t q, size_t) { dst[i] = static_cast<Q>(q); });
    } else {
      throw InvalidArgument("cannot quantize into " + std::string(dtype_name(p.dtype)) +
                            " (expected int8, uint8, int16, uint16 or int32)");
    }
  });
  return y;
}

Tensor fake_quantize_tensor(const Tensor& x, const QuantParams& p) {
  Tensor y(DType::kFloat32, x.shape());
  float* dst = y.data<float>();
  for_each_element(x, p, [&](int64_t i, int32_t q, size_t c) {
    dst[i] = dequantize_value(q, p.scale[c], p.zero_point[c]);
  });
  return y;
}

}  // namespace qwac::quant
