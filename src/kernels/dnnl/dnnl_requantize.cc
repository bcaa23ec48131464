#include "kernels/dnnl/dnnl_requantize.h"

#include "ir/fused_ops.h"
#include "kernels/dnnl/dnnl_activation.h"

namespace qwac::kernels::dnnl_impl {

dnnl::memory::data_type int8_or_f32(DType t) {
  using dt = dnnl::memory::data_type;
  return t == DType::kUInt8 ? dt::u8 : t == DType::kInt8 ? dt::s8 : dt::f32;
}

int32_t constant_zero_point(const KernelContext& ctx, size_t i) {
  if (ctx.inputs.size() <= i || !ctx.inputs[i].present()) return 0;
  const Tensor& t = *ctx.inputs[i].value;
  return t.dtype() == DType::kUInt8 ? t.data<uint8_t>()[0] : t.data<int8_t>()[0];
}

bool requantization_attr(const ir::Activation& act, std::vector<float> real_scales, int32_t x_zp, int32_t y_zp,
                         double s_y, dnnl::primitive_attr& attr, std::string& reason) {
  dnnl::post_ops ops;
  double multiplier = 1.0;
  if (!append_requantized_activation(ops, act, s_y, multiplier, reason)) return false;
  for (float& s : real_scales) s = static_cast<float>(s * multiplier);
  attr.set_output_scales(real_scales.size() > 1 ? 1 << 1 : 0, real_scales);
  if (x_zp != 0) attr.set_zero_points(DNNL_ARG_SRC, 0, {x_zp});
  if (y_zp != 0) attr.set_zero_points(DNNL_ARG_DST, 0, {y_zp});
  attr.set_post_ops(ops);
  return true;
}

bool conv_like_requantization(const KernelContext& ctx, int64_t channels, const char* channel_word, Requantization& out,
                              std::string& reason) {
  using In = ir::QConvInputs;  // QGemm takes the same positions
  const bool quantized_output = ctx.inputs.size() > In::kYScale && ctx.inputs[In::kYScale].present();
  const bool has_bias = ctx.inputs.size() > In::kBias && ctx.inputs[In::kBias].present();
  out.s_x = ctx.inputs[In::kXScale].value->data<float>()[0];
  out.s_y = quantized_output ? ctx.inputs[In::kYScale].value->data<float>()[0] : 1.0;
  if (!(out.s_x > 0.0) || !(out.s_y > 0.0)) {
    reason = "scales must be positive";
    return false;
  }
  const Tensor& w_scale = *ctx.inputs[In::kWScale].value;
  const bool per_channel = w_scale.numel() != 1;
  std::vector<float> out_scales(per_channel ? static_cast<size_t>(channels) : 1);
  out.bias.assign(has_bias ? static_cast<size_t>(channels) : 0, 0.f);
  for (int64_t c = 0; c < channels; ++c) {
    const double s_w = w_scale.data<float>()[per_channel ? c : 0];
    if (!(s_w > 0.0)) {
      reason = std::string("weight scale of output ") + channel_word + " " + std::to_string(c) + " is not positive";
      return false;
    }
    // The dequantization scale; requantization_attr divides by s_y where the activation allows.
    if (per_channel || c == 0) out_scales[static_cast<size_t>(per_channel ? c : 0)] = static_cast<float>(out.s_x * s_w);
    if (has_bias) {
      out.bias[static_cast<size_t>(c)] =
          static_cast<float>(ctx.inputs[In::kBias].value->data<float>()[c] / (out.s_x * s_w));
    }
  }
  out.x_zp = constant_zero_point(ctx, In::kXZeroPoint);
  const int32_t y_zp = quantized_output ? constant_zero_point(ctx, In::kYZeroPoint) : 0;
  const ir::Activation act = ir::Activation::from_attributes(ctx.node.attrs, ctx.node.describe());
  return requantization_attr(act, std::move(out_scales), out.x_zp, y_zp, out.s_y, out.attr, reason);
}

}  // namespace qwac::kernels::dnnl_impl
