// MaxPool / AveragePool / GlobalMaxPool / GlobalAveragePool on oneDNN pooling_forward, computed in the layout the
// producer gave (blocked stays blocked): float, and MaxPool / GlobalMaxPool on uint8/int8 too (the int8 engine path
// runs them on the integers, passes/qdq/qdq_rules.h). And com.qwac QLinearPool (ir/fused_ops.h): the same
// pooling on u8/s8 with the requantization as an eltwise_linear post-op (oneDNN 2.6 pooling takes no scale or
// zero-point attributes):
//   y = saturate(round(alpha * pool(x) + beta)),  alpha = s_x / s_y,  beta = zp_y - zp_x * alpha
// which is Q(pool(DQ(x))) since max and average commute with the affine dequantization (average pooling that counts
// padding does not when zp_x != 0: oneDNN pads with the integer 0, the simulation with the real 0; declined). The
// float simulation divides by s_y and rounds half to even before adding zp_y; here the product by alpha (and
// oneDNN's average as a product by 1 / count) and zp_y added before rounding may land one step away at an exact or
// near tie (tests/kernels/int8_pool_concat_test.cc checks that it never exceeds one step). oneDNN's fast int8 max
// pooling takes no post-op: a requantizing max pools the integers, then one reorder requantizes (scale alpha and the
// zero points as reorder attributes; max commutes with the increasing requantization), same rounding.
#include <cmath>
#include <string_view>

#include "ir/fused_ops.h"
#include "kernels/dnnl/dnnl_common.h"
#include "kernels/dnnl/dnnl_families.h"
#include "kernels/dnnl/dnnl_typed_input.h"

namespace qwac::kernels::dnnl_impl {
namespace {

using alg = dnnl::algorithm;
using tag = dnnl::memory::format_tag;
using QIn = ir::QLinearPoolInputs;

enum class PoolKind { kMax, kAverage, kGlobalMax, kGlobalAverage };

struct PoolKindName {
  std::string_view op_type;
  PoolKind kind;
};
constexpr PoolKindName kPoolKinds[] = {{"MaxPool", PoolKind::kMax},
                                       {"AveragePool", PoolKind::kAverage},
                                       {"GlobalMaxPool", PoolKind::kGlobalMax},
                                       {"GlobalAveragePool", PoolKind::kGlobalAverage}};

bool is_max(PoolKind kind) { return kind == PoolKind::kMax || kind == PoolKind::kGlobalMax; }

// The requantization of a QLinearPool, in the terms of the eltwise_linear post-op.
struct Requantize {
  float alpha = 1.f, beta = 0.f;
  int32_t x_zero_point = 0, y_zero_point = 0;
};

int32_t scalar_zero_point(const ir::TensorInfo& info) {
  if (!info.present()) return 0;
  return info.dtype == DType::kUInt8 ? info.value->data<uint8_t>()[0] : info.value->data<int8_t>()[0];
}

bool is_ref(const dnnl::pooling_forward::primitive_desc& pd) {
  return std::string(pd.impl_info_str()).rfind("ref", 0) == 0;
}

// Channels-last tag of a rank-3..5 tensor: oneDNN's fast int8 pooling wants it.
tag channels_last(size_t rank) {
  return rank == 3 ? tag::nwc : rank == 4 ? tag::nhwc : tag::ndhwc;
}

// A requantizing max pooling where oneDNN's fast int8 pooling takes no post-op: max pooling on the integers (max
// commutes with the increasing requantization), then one reorder applying alpha with the zero points as attributes.
class RequantizedMaxPoolKernel final : public Kernel {
 public:
  void run(const std::vector<Tensor>& inputs, std::vector<Tensor>& outputs) override {
    dnnl::stream& stream = cpu_stream();
    pool_.execute(stream, {{DNNL_ARG_SRC, src_.bind(inputs[0].raw(), stream)}, {DNNL_ARG_DST, pooled_}});
    bind(dst_, outputs[0].raw());
    requantize_.execute(stream, pooled_, dst_);
    stream.wait();
  }
  BlockedFormatPtr output_format(size_t) const override { return out_format_; }

  dnnl::pooling_forward pool_;
  InputAdapter src_;
  dnnl::memory pooled_;  // owned: the max of the integers, in the pooling's layout
  dnnl::reorder requantize_;
  dnnl::memory dst_;
  BlockedFormatPtr out_format_;
};

// The kernel of RequantizedMaxPoolKernel: `max_desc` pools into the source type, from the layout the runtime delivers
// (`given_md`) or a reorder of it.
std::unique_ptr<Kernel> create_requantized_max(const dnnl::pooling_forward::desc& max_desc,
                                               const dnnl::memory::desc& given_md, DType y_type, const Requantize& r,
                                               std::string& reason) {
  dnnl::pooling_forward::primitive_desc max_pd;
  if (!try_create([&] { max_pd = dnnl::pooling_forward::primitive_desc(max_desc, cpu_engine()); }, reason,
                  "int8 max pooling")) {
    return nullptr;
  }
  if (is_ref(max_pd)) {
    reason = "oneDNN has only its reference implementation (" + std::string(max_pd.impl_info_str()) +
             ") for this int8 max pooling";
    return nullptr;
  }
  dnnl::memory::desc dst_md = max_pd.dst_desc();  // same layout, the output type
  dst_md.data.data_type = static_cast<dnnl_data_type_t>(dnnl_data_type(y_type));
  dnnl::primitive_attr q_attr;
  q_attr.set_output_scales(0, {r.alpha});
  if (r.x_zero_point != 0) q_attr.set_zero_points(DNNL_ARG_SRC, 0, {r.x_zero_point});
  if (r.y_zero_point != 0) q_attr.set_zero_points(DNNL_ARG_DST, 0, {r.y_zero_point});
  dnnl::reorder::primitive_desc q_pd;
  if (!try_create(
          [&] { q_pd = dnnl::reorder::primitive_desc(cpu_engine(), max_pd.dst_desc(), cpu_engine(), dst_md, q_attr); },
          reason, "requantizing reorder")) {
    return nullptr;
  }
  auto k = std::make_unique<RequantizedMaxPoolKernel>();
  k->pool_ = dnnl::pooling_forward(max_pd);
  k->src_ = InputAdapter(given_md, max_pd.src_desc());
  k->pooled_ = dnnl::memory(max_pd.dst_desc(), cpu_engine());
  k->requantize_ = dnnl::reorder(q_pd);
  k->dst_ = dnnl::memory(dst_md, cpu_engine(), DNNL_MEMORY_NONE);
  k->out_format_ = format_of(dst_md);
  return k;
}

std::unique_ptr<Kernel> create_pool(PoolKind kind, const KernelContext& ctx, const Requantize* requantize,
                                    std::string& reason) {
  const ir::Node& node = ctx.node;
  const ir::TensorInfo& x = ctx.inputs.at(0);
  const DType y_type = ctx.outputs.at(0).dtype;
  const bool int8 = x.dtype != DType::kFloat32;
  if (requantize == nullptr) {
    if (x.dtype != DType::kFloat32 && !(is_max(kind) && (x.dtype == DType::kUInt8 || x.dtype == DType::kInt8))) {
      reason = "input is " + std::string(dtype_name(x.dtype)) +
               ", only float (and uint8/int8 max pooling) is implemented";
      return nullptr;
    }
    if (y_type != x.dtype) {
      reason = "output type differs from the input type";
      return nullptr;
    }
  }
  if (ctx.outputs.size() > 1 && node.output(1) != nullptr) {
    reason = "the Indices output is not implemented";
    return nullptr;
  }
  if (x.shape.size() < 3 || x.shape.size() > 5) {
    reason = "only 1D/2D/3D pooling is implemented";
    return nullptr;
  }
  const std::vector<int64_t> in_spatial(x.shape.begin() + 2, x.shape.end());
  const size_t n = in_spatial.size();
  const Shape& out_shape = ctx.outputs.at(0).shape;
  if (out_shape.size() != x.shape.size()) {
    reason = "output rank differs from input rank";
    return nullptr;
  }
  SpatialGeometry g;
  const bool global = kind == PoolKind::kGlobalMax || kind == PoolKind::kGlobalAverage;
  bool include_padding = false;
  if (global) {
    g.kernel = dnnl::memory::dims(in_spatial.begin(), in_spatial.end());
    g.strides = g.kernel;
    g.pad_begin = g.pad_end = dnnl::memory::dims(n, 0);
  } else {
    if (node.attrs.get_ints("dilations", std::vector<int64_t>(n, 1)) != std::vector<int64_t>(n, 1)) {
      reason = "dilated pooling is not implemented";
      return nullptr;
    }
    if (!forward_geometry(node, in_spatial, node.attrs.get_ints("kernel_shape"), g, reason)) return nullptr;
    include_padding = kind == PoolKind::kAverage && node.attrs.get_int("count_include_pad", 0) != 0;
    // The output size is the inferred one (ceil_mode included); the right padding grows to produce it. Extra
    // right padding is harmless for max and for averages that exclude padding, not for include-padding averages.
    for (size_t i = 0; i < n; ++i) {
      const int64_t out = out_shape[2 + i];
      const int64_t floor_out = (in_spatial[i] + g.pad_begin[i] + g.pad_end[i] - g.kernel[i]) / g.strides[i] + 1;
      if (floor_out > out) {
        reason = "output size inconsistent with the pooling geometry";
        return nullptr;
      }
      if (floor_out == out) continue;
      if (include_padding) {
        reason = "ceil_mode with count_include_pad is not implemented";
        return nullptr;
      }
      const int64_t needed = (out - 1) * g.strides[i] + g.kernel[i] - in_spatial[i] - g.pad_begin[i];
      g.pad_end[i] = needed;
      if (g.pad_begin[i] >= g.kernel[i] || g.pad_end[i] >= g.kernel[i]) {
        reason = "padding as large as the kernel is not implemented";
        return nullptr;
      }
    }
  }
  if (requantize != nullptr && include_padding && requantize->x_zero_point != 0) {
    reason = "count_include_pad with a nonzero input zero point (oneDNN pads with the integer 0)";
    return nullptr;
  }
  const alg algorithm = is_max(kind)      ? alg::pooling_max
                        : include_padding ? alg::pooling_avg_include_padding
                                          : alg::pooling_avg_exclude_padding;
  dnnl::memory::desc given_md;
  if (!given_typed_desc(ctx, 0, given_md, reason)) return nullptr;
  const dnnl::memory::desc dst_any(to_dims(out_shape), dnnl_data_type(y_type), tag::any);
  dnnl::primitive_attr attr;
  if (requantize != nullptr && (requantize->alpha != 1.f || requantize->beta != 0.f)) {
    dnnl::post_ops ops;
    ops.append_eltwise(1.f, alg::eltwise_linear, requantize->alpha, requantize->beta);
    attr.set_post_ops(ops);
  }
  auto make_pd = [&](const dnnl::memory::desc& src_md) {
    return dnnl::pooling_forward::primitive_desc(
        dnnl::pooling_forward::desc(dnnl::prop_kind::forward_inference, algorithm, src_md, dst_any, g.strides,
                                    g.kernel, g.pad_begin, g.pad_end),
        attr, cpu_engine());
  };
  dnnl::memory::desc src_md = given_md;
  dnnl::pooling_forward::primitive_desc pd;
  const bool created = try_create([&] { pd = make_pd(src_md); }, reason, "pooling");
  if (!created && !int8) return nullptr;
  if (int8 && (!created || is_ref(pd))) {
    // oneDNN's fast int8 pooling reads channels-last (what an int8 QConv writes); from another layout (plain
    // NCHW) one reorder to it beats the reference loop.
    src_md = dnnl::memory::desc(to_dims(x.shape), dnnl_data_type(x.dtype), channels_last(x.shape.size()));
    const bool created_channels_last = try_create([&] { pd = make_pd(src_md); }, reason, "int8 pooling");
    if ((!created_channels_last || is_ref(pd)) && requantize != nullptr && is_max(kind)) {
      // The max into the source type without the post-op, then the requantizing reorder (which also converts
      // between uint8 and int8: oneDNN pooling keeps the source type).
      const dnnl::memory::desc pooled_any(to_dims(out_shape), dnnl_data_type(x.dtype), tag::any);
      return create_requantized_max(dnnl::pooling_forward::desc(dnnl::prop_kind::forward_inference, algorithm, src_md,
                                                                pooled_any, g.strides, g.kernel, g.pad_begin,
                                                                g.pad_end),
                                    given_md, y_type, *requantize, reason);
    }
    if (!created_channels_last) return nullptr;
    if (is_ref(pd)) {
      reason = "oneDNN has only its reference implementation (" + std::string(pd.impl_info_str()) +
               ") for this int8 pooling";
      return nullptr;
    }
  }
  auto k = std::make_unique<PrimitiveKernel>();
  k->prim = dnnl::pooling_forward(pd);
  k->runtime_inputs.push_back({DNNL_ARG_SRC, 0, InputAdapter(given_md, pd.src_desc())});
  k->dst = dnnl::memory(pd.dst_desc(), cpu_engine(), DNNL_MEMORY_NONE);
  k->out_format = format_of(pd.dst_desc());
  return k;
}

std::unique_ptr<Kernel> create_qlinear_pool(const KernelContext& ctx, std::string& reason) {
  const std::string pool = ctx.node.attrs.get_string("pool", "");
  const PoolKindName* kind = nullptr;
  for (const PoolKindName& k : kPoolKinds) {
    if (k.op_type == pool) kind = &k;
  }
  if (kind == nullptr) {
    reason = "pool '" + pool + "' is not a pooling op";
    return nullptr;
  }
  for (size_t i = 1; i < ctx.inputs.size(); ++i) {
    if (i < ctx.input_formats.size() && ctx.input_formats[i]) {
      reason = "input " + std::to_string(i) + " is in a blocked layout; only X may be";
      return nullptr;
    }
    if (ctx.inputs[i].present() && ctx.inputs[i].value == nullptr) {
      reason = "input " + std::to_string(i) + " (a scale or zero point) is not constant";
      return nullptr;
    }
  }
  const double s_x = ctx.inputs.at(QIn::kXScale).value->data<float>()[0];
  const double s_y = ctx.inputs.at(QIn::kYScale).value->data<float>()[0];
  if (!(s_x > 0.0) || !(s_y > 0.0)) {
    reason = "scales must be positive (max pooling commutes only with an increasing requantization)";
    return nullptr;
  }
  Requantize r;
  r.x_zero_point = ctx.inputs.size() > QIn::kXZeroPoint ? scalar_zero_point(ctx.inputs[QIn::kXZeroPoint]) : 0;
  r.y_zero_point = scalar_zero_point(ctx.inputs.at(QIn::kYZeroPoint));
  const double alpha = s_x / s_y;
  r.alpha = static_cast<float>(alpha);
  r.beta = static_cast<float>(r.y_zero_point - r.x_zero_point * alpha);
  return create_pool(kind->kind, ctx, &r, reason);
}

KernelDef pool_def(std::string_view op_type, PoolKind kind) {
  return KernelDef{std::string(op_type), "", 1, INT_MAX, "dnnl", true,
                   [kind](const KernelContext& ctx, std::string& reason) {
                     return create_pool(kind, ctx, nullptr, reason);
                   }};
}

}  // namespace

void register_pool_kernels(KernelRegistry& registry) {
  for (const PoolKindName& k : kPoolKinds) registry.add(pool_def(k.op_type, k.kind));
  registry.add(KernelDef{std::string(ir::kQLinearPoolOp), std::string(ir::kQwacDomain), 1, INT_MAX, "dnnl", true,
                         &create_qlinear_pool});
}

}  // namespace qwac::kernels::dnnl_impl
