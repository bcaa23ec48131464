// What qwac's oneDNN int8 kernels (QConv, QGemm, QAdd) share: 8-bit data types, constant zero points, and the
// requantization of an int32 accumulator expressed as oneDNN attributes.
#pragma once

#include <string>
#include <vector>

#include <dnnl.hpp>

#include "ir/activation.h"
#include "ir/graph.h"
#include "kernels/kernel.h"

namespace qwac::kernels::dnnl_impl {

// u8 / s8 for 8-bit tensors, f32 otherwise.
dnnl::memory::data_type int8_or_f32(DType t);

// The value of the constant scalar zero point at input `i` (uint8 or int8); 0 when the input is absent.
int32_t constant_zero_point(const KernelContext& ctx, size_t i);

// The requantization of a QConv / QGemm (their shared input layout, ir/fused_ops.h) with `channels` outputs along
// destination dim 1: the dequantization scales s_x * s_w[c], the float bias in accumulator units B[c] / (s_x * s_w[c])
// (oneDNN adds the bias before the output scale), and `attr` set by requantization_attr with the node's activation.
// False with `reason` for non-positive scales or an activation oneDNN cannot compute.
struct Requantization {
  double s_x = 1, s_y = 1;
  int32_t x_zp = 0;
  std::vector<float> bias;  // empty without a bias input
  dnnl::primitive_attr attr;
};
bool conv_like_requantization(const KernelContext& ctx, int64_t channels, const char* channel_word,
                              Requantization& out, std::string& reason);

// dst = saturate(round(linear(act(real_scales * acc), 1 / s_y) + y_zp)) with the source zero point subtracted by
// oneDNN: the activation applied in the real domain (kernels/dnnl/dnnl_activation.h; a positively homogeneous one
// after the scales folded into the output scale instead), per-tensor or per-channel (destination dim 1) scales when
// real_scales has more than one, and the zero points. False with `reason` when oneDNN cannot compute `act`.
bool requantization_attr(const ir::Activation& act, std::vector<float> real_scales, int32_t x_zp, int32_t y_zp,
                         double s_y, dnnl::primitive_attr& attr, std::string& reason);

}  // namespace qwac::kernels::dnnl_impl
