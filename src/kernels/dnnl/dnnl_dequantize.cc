// DequantizeLinear (per-tensor, uint8/int8) as one oneDNN reorder: y = float(x - zero_point) * scale, read from
// whatever layout the producer wrote (an int8 QConv's nhwc) and written in the layout oneDNN's float kernels use
// (nChw16c for 4-D with 16 channels or more), so the int8 -> float border costs one pass instead of two layout conversions and a
// reference loop. Declines unless the result is bit-exact with the reference kernel (checked by the tests).
#include "kernels/dnnl/dnnl_common.h"
#include "kernels/dnnl/dnnl_families.h"

namespace qwac::kernels::dnnl_impl {
namespace {

using tag = dnnl::memory::format_tag;
using dt = dnnl::memory::data_type;
constexpr size_t kBlockedRank = 4;
constexpr int64_t kMinBlockedChannels = 16;

std::unique_ptr<Kernel> create_dequantize(const KernelContext& ctx, std::string& reason) {
  for (const char* attr : {"block_size", "output_dtype"}) {
    if (ctx.node.attrs.has(attr)) {
      reason = std::string("attribute ") + attr + " is not implemented";
      return nullptr;
    }
  }
  const ir::TensorInfo& x = ctx.inputs.at(0);
  if (x.dtype != DType::kUInt8 && x.dtype != DType::kInt8) {
    reason = "input is " + std::string(dtype_name(x.dtype)) + ", only uint8 and int8 are implemented";
    return nullptr;
  }
  const ir::TensorInfo& scale = ctx.inputs.at(1);
  if (scale.value == nullptr || scale.dtype != DType::kFloat32 || shape_numel(scale.shape) != 1) {
    reason = "scale is not a constant float scalar (per-axis dequantization is not implemented)";
    return nullptr;
  }
  const bool has_zp = ctx.inputs.size() > 2 && ctx.inputs[2].present();
  if (has_zp && (ctx.inputs[2].value == nullptr || shape_numel(ctx.inputs[2].shape) != 1)) {
    reason = "zero point is not a constant scalar";
    return nullptr;
  }
  for (size_t i = 1; i < ctx.input_formats.size(); ++i) {
    if (ctx.input_formats[i]) {
      reason = "scale and zero point must be plain tensors";
      return nullptr;
    }
  }
  const int32_t zp = !has_zp                    ? 0
                     : x.dtype == DType::kUInt8 ? ctx.inputs[2].value->data<uint8_t>()[0]
                                                : ctx.inputs[2].value->data<int8_t>()[0];
  dnnl::memory::desc src_md;
  if (ctx.input_formats.empty() || !ctx.input_formats[0]) {
    src_md = plain_desc(x.shape, x.dtype == DType::kUInt8 ? dt::u8 : dt::s8);
  } else if (!given_desc(ctx, 0, src_md, reason)) {
    return nullptr;
  }
  // Blocked only for image-like tensors: a 4-D tensor with few channels is attention's [batch, heads, tokens,
  // head size], read by matmuls in plain layout, which nChw16c would pad (3 heads -> 16) and convert back.
  const bool blocked = x.shape.size() == kBlockedRank && x.shape[1] >= kMinBlockedChannels;
  const dnnl::memory::desc dst_md =
      blocked ? dnnl::memory::desc(to_dims(x.shape), dt::f32, tag::nChw16c) : plain_desc(x.shape);
  dnnl::primitive_attr attr;
  attr.set_output_scales(0, {scale.value->data<float>()[0]});
  if (zp != 0) attr.set_zero_points(DNNL_ARG_SRC, 0, {zp});
  auto k = std::make_unique<PrimitiveKernel>();
  dnnl::reorder::primitive_desc pd;
  if (!try_create([&] { pd = dnnl::reorder::primitive_desc(cpu_engine(), src_md, cpu_engine(), dst_md, attr); }, reason,
                  "reorder with scale and zero point")) {
    return nullptr;
  }
  k->prim = dnnl::reorder(pd);
  k->runtime_inputs.push_back({DNNL_ARG_FROM, 0, InputAdapter(src_md, src_md)});
  k->dst = dnnl::memory(dst_md, cpu_engine(), DNNL_MEMORY_NONE);
  k->out_format = format_of(dst_md);
  return k;
}

}  // namespace

void register_dequantize_kernels(KernelRegistry& registry) {
  registry.add(KernelDef{"DequantizeLinear", "", 10, INT_MAX, "dnnl", true, &create_dequantize});
}

}  // namespace qwac::kernels::dnnl_impl
