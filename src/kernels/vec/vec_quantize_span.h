// The hot loop of QuantizeLinear per tensor (float -> uint8/int8), shared by the vectorized kernel
// (kernels/vec/vec_quantize.cc) and oneDNN's QuantizeLinear from a blocked layout (kernels/dnnl/dnnl_quantize.cc):
// bit-exact with the reference kernel (a division, NaN -> 0, clamp to the integer bounds, round half to even with
// the 1.5 * 2^23 trick, + zero point).
#pragma once

#include <algorithm>
#include <cstdint>
#include <limits>

namespace qwac::kernels::vec {

constexpr float kRoundMagic = 12582912.f;  // 1.5 * 2^23

// y[i] = quantize(x[i]) for one (scale, zero-point).
template <typename Q>
void quantize_run(const float* x, Q* y, int64_t n, float scale, float zp) {
  constexpr float qmin = static_cast<float>(std::numeric_limits<Q>::min());
  constexpr float qmax = static_cast<float>(std::numeric_limits<Q>::max());
  const float lo = qmin - zp, hi = qmax - zp;
  for (int64_t i = 0; i < n; ++i) {
    float t = x[i] / scale;
    t = t == t ? t : 0.f;  // NaN quantizes to the zero-point
    t = std::min(std::max(t, lo), hi);
    const float v = (t + kRoundMagic) - kRoundMagic + zp;
    y[i] = static_cast<Q>(static_cast<int32_t>(v));
  }
}

}  // namespace qwac::kernels::vec
