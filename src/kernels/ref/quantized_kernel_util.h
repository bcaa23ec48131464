// The per-tensor 8-bit arithmetic the int8 kernels share (QAdd, QGemm, QConv, QLinearPool, and the oneDNN QAdd's
// type dispatch and zero point), and the input check of the reference ones (their fused activation is the oracle of
// kernels/ref/activation.h). The reference
// kernels are the oracles of the int8 path: they must reproduce the float simulation of DequantizeLinear /
// QuantizeLinear bit for bit (tensor_quantize_kernels.cc), so this is that arithmetic, written once:
//   DequantizeLinear: float(q - zp) * scale
//   QuantizeLinear:   saturate(nearbyint(x / scale) + zp), a division rounding half to even, NaN -> zp.
#pragma once

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <limits>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "core/tensor.h"
#include "kernels/kernel.h"

namespace qwac::kernels::ref {

// Calls fn(uint8_t{}) or fn(int8_t{}) for the 8-bit type `t` (uint8 or int8; shape inference checked which).
template <typename Fn>
void with_8bit(DType t, Fn&& fn) {
  if (t == DType::kUInt8) {
    fn(uint8_t{});
  } else {
    fn(int8_t{});
  }
}

// Element `i` of a uint8/int8 tensor.
inline int32_t element_8bit(const Tensor& t, int64_t i) {
  return t.dtype() == DType::kUInt8 ? t.data<uint8_t>()[i] : t.data<int8_t>()[i];
}

// The value of a uint8/int8 scalar zero point; 0 when the tensor is absent (empty).
inline int32_t zero_point_of(const Tensor& zp) {
  return zp.empty() ? 0 : element_8bit(zp, 0);
}

// The zero point at optional input `i`; 0 when the input is omitted.
inline int32_t zero_point_of(const std::vector<Tensor>& in, size_t i) {
  return in.size() > i ? zero_point_of(in[i]) : 0;
}

// DequantizeLinear of one value.
inline float dequantize(int32_t q, int32_t zp, float scale) {
  return static_cast<float>(q - zp) * scale;
}

// DequantizeLinear of `n` values.
template <typename Q>
void dequantize(const Q* q, int64_t n, float scale, int32_t zp, float* y) {
  for (int64_t i = 0; i < n; ++i) y[i] = dequantize(static_cast<int32_t>(q[i]), zp, scale);
}

// QuantizeLinear of one value to Q (uint8_t or int8_t).
template <typename Q>
Q quantize(float x, float scale, int32_t zp) {
  constexpr float qmin = static_cast<float>(std::numeric_limits<Q>::min());
  constexpr float qmax = static_cast<float>(std::numeric_limits<Q>::max());
  const float z = static_cast<float>(zp);
  float v = std::nearbyint(x / scale) + z;
  if (std::isnan(v)) v = z;
  return static_cast<Q>(static_cast<int32_t>(std::min(std::max(v, qmin), qmax)));
}

// QuantizeLinear of `n` values to Q.
template <typename Q>
void quantize(const float* x, int64_t n, float scale, int32_t zp, Q* y) {
  for (int64_t i = 0; i < n; ++i) y[i] = quantize<Q>(x[i], scale, zp);
}

// DequantizeLinear of a whole uint8/int8 tensor `q` (of type `t`) into the float tensor `y` of the same size.
inline void dequantize_tensor(DType t, const Tensor& q, float scale, int32_t zp, Tensor& y) {
  with_8bit(t, [&](auto tag) {
    using Q = decltype(tag);
    dequantize(q.data<Q>(), y.numel(), scale, zp, y.data<float>());
  });
}

// QuantizeLinear of the float tensor `x` into the whole uint8/int8 tensor `y` (of type `t`), with the zero point
// read from `zp` (a scalar tensor of type `t`).
inline void quantize_tensor(DType t, const Tensor& x, float scale, const Tensor& zp, Tensor& y) {
  with_8bit(t, [&](auto tag) {
    using Q = decltype(tag);
    quantize(x.data<float>(), y.numel(), scale, zp.data<Q>()[0], y.data<Q>());
  });
}

// The reference float kernel of `op` (default domain) for `float_ctx`, created through the reference registry, so
// that a fused int8 op's oracle (dequantize -> float op -> quantize) cannot drift from the float op it fuses.
// nullptr with `reason` when no reference kernel takes the case.
std::unique_ptr<Kernel> reference_float_kernel(const std::string& op, const KernelContext& float_ctx,
                                               std::string& reason);

// QMatMul's one float multiplier of the int32 sum, s_a * s_b * alpha rounded once (qmatmul_kernel.cc; the oneDNN
// kernel uses it as its output scale, so both agree bit for bit).
float qmatmul_multiplier(float a_scale, float b_scale, float alpha);

// The reference int8 kernels read plain tensors only: false, with `reason` naming `op`, when an input of `ctx` has a
// blocked (oneDNN) layout.
inline bool plain_inputs(const KernelContext& ctx, std::string_view op, std::string& reason) {
  for (const BlockedFormatPtr& f : ctx.input_formats) {
    if (f) {
      reason = "reference " + std::string(op) + " reads plain tensors only";
      return false;
    }
  }
  return true;
}

}  // namespace qwac::kernels::ref
