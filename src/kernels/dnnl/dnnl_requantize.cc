#include "kernels/dnnl/dnnl_requantize.h"

#include <limits>

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

bool requantization_attr(const ir::Node& node, const std::vector<float>& out_scales, int32_t x_zp, int32_t y_zp,
                         double s_y, dnnl::primitive_attr& attr, std::string& reason) {
  attr.set_output_scales(out_scales.size() > 1 ? 1 << 1 : 0, out_scales);
  if (x_zp != 0) attr.set_zero_points(DNNL_ARG_SRC, 0, {x_zp});
  if (y_zp != 0) attr.set_zero_points(DNNL_ARG_DST, 0, {y_zp});
  dnnl::post_ops ops;
  const std::string act = node.attrs.get_string("activation", "");
  if (act == "Relu") {
    ops.append_eltwise(1.f, dnnl::algorithm::eltwise_relu, 0.f, 0.f);
  } else if (act == "Clip") {
    const std::vector<float> p = node.attrs.get_floats("activation_params", {});
    const double lo = p.size() > 0 ? p[0] : -std::numeric_limits<float>::max();
    const double hi = p.size() > 1 ? p[1] : std::numeric_limits<float>::max();
    ops.append_eltwise(1.f, dnnl::algorithm::eltwise_clip, static_cast<float>(lo / s_y), static_cast<float>(hi / s_y));
  } else if (!act.empty()) {
    reason = "activation '" + act + "' (" + node.op_type() + " takes Relu or Clip)";
    return false;
  }
  attr.set_post_ops(ops);
  return true;
}

}  // namespace qwac::kernels::dnnl_impl
