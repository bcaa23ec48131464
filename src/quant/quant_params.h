// From a real range to integer quantization parameters (scale, zero-point, integer range), and the element-wise
// quantization math shared by weight compression, bias quantization and tests. Semantics are ONNX's
// QuantizeLinear: q = saturate(round_half_to_even(x / scale) + zero_point).
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "core/tensor.h"
#include "quant/quantizer_set.h"

namespace qwac::quant {

// Parameters for `spec` covering [min[i], max[i]] (one entry per-tensor, or per channel). Rules (NNCF/POT):
//  - symmetric signed: zero-point 0, scale = max(|min|, |max|) / qmax (qmax 127; narrow range uses [-127, 127]);
//  - symmetric unsigned (spec.signedness_from_range and every min >= 0, or !spec.is_signed): uint, zp 0,
//    scale = max / qmax (255);
//  - asymmetric: unsigned, range widened to include 0, scale = (max - min) / (qmax - qmin),
//    zero-point = round(-min / scale) clamped, so that 0 is exactly representable;
//  - a degenerate range (max == min == 0) gets scale 1 (every value quantizes to the zero-point), like ORT.
// 16 bits use int16/uint16. NaN or infinite bounds throw DataError naming `what`.
QuantParams compute_quant_params(const QuantizerSpec& spec, const std::vector<float>& min,
                                 const std::vector<float>& max, const std::string& what);

// q = saturate(round_half_to_even(x / scale) + zp) into [qmin, qmax].
int32_t quantize_value(float x, float scale, int32_t zero_point, int32_t qmin, int32_t qmax);
// (q - zp) * scale
inline float dequantize_value(int32_t q, float scale, int32_t zero_point) {
  return static_cast<float>(q - zero_point) * scale;
}

// Quantizes a float tensor with `p` (per-channel along p.axis) into a tensor of p.dtype.
Tensor quantize_tensor(const Tensor& x, const QuantParams& p);
// DequantizeLinear(QuantizeLinear(x)) as float, same shape.
Tensor fake_quantize_tensor(const Tensor& x, const QuantParams& p);

}  // namespace qwac::quant
