// Conv and FusedConv (com.qwac) on oneDNN convolution_forward: weights reordered once into the primitive's
// preferred layout, activation and residual (sum) fused as post-ops, activations kept in the layout oneDNN picks.
#include <algorithm>
#include <cstring>
#include <unordered_map>

#include "ir/fused_ops.h"
#include "kernels/dnnl/dnnl_activation.h"
#include "kernels/dnnl/dnnl_common.h"
#include "kernels/dnnl/dnnl_families.h"

namespace qwac::kernels::dnnl_impl {
namespace {

using tag = dnnl::memory::format_tag;
using dt = dnnl::memory::data_type;
constexpr size_t kResidualInput = 3;

bool fast_impl(const dnnl::primitive_desc_base& pd) {
  const std::string name = pd.impl_info_str();
  // "ref:any" and the im2col+gemm paths ("x64:gemm:jit") are much slower than the direct jit kernels.
  return name.find("ref") == std::string::npos && name.find("gemm") == std::string::npos;
}

class ConvKernel final : public Kernel {
 public:
  static std::unique_ptr<Kernel> create(const KernelContext& ctx, std::string& reason);

  void run(const std::vector<Tensor>& inputs, std::vector<Tensor>& outputs) override {
    dnnl::stream& stream = cpu_stream();
    const dnnl::memory& src = src_.bind(inputs[0].raw(), stream);
    bind(dst_mem_, outputs[0].raw());
    if (has_residual_) {
      // The sum post-op accumulates into dst: put the residual there first, in dst's layout.
      if (residual_reorder_) {
        bind(residual_mem_, inputs[kResidualInput].raw());
        residual_reorder_->execute(stream, residual_mem_, dst_mem_);
      } else {
        std::memcpy(outputs[0].raw(), inputs[kResidualInput].raw(), dst_mem_.get_desc().get_size());
      }
    }
    args_[DNNL_ARG_SRC] = src;
    args_[DNNL_ARG_DST] = dst_mem_;
    prim_.execute(stream, args_);
    stream.wait();
  }

  BlockedFormatPtr output_format(size_t) const override { return out_format_; }

 private:
  dnnl::convolution_forward prim_;
  InputAdapter src_;
  dnnl::memory dst_mem_, residual_mem_;
  std::unique_ptr<dnnl::reorder> residual_reorder_;
  bool has_residual_ = false;
  std::unordered_map<int, dnnl::memory> args_;
  BlockedFormatPtr out_format_;
};

std::unique_ptr<Kernel> ConvKernel::create(const KernelContext& ctx, std::string& reason) {
  const ir::Node& node = ctx.node;
  if (!all_float(ctx, {0, 1, 2, kResidualInput}, reason)) return nullptr;
  const ir::TensorInfo& x = ctx.inputs.at(0);
  const ir::TensorInfo& w = ctx.inputs.at(1);
  if (x.shape.size() < 3 || x.shape.size() > 5 || w.shape.size() != x.shape.size()) {
    reason = "only 1D/2D/3D convolution is implemented";
    return nullptr;
  }
  if (w.value == nullptr) {
    reason = "weights are not constant";
    return nullptr;
  }
  const bool has_bias = ctx.inputs.size() > 2 && ctx.inputs[2].present();
  if (has_bias && ctx.inputs[2].value == nullptr) {
    reason = "bias is not constant";
    return nullptr;
  }
  const int64_t groups = node.attrs.get_int("group", 1);
  const int64_t n = x.shape[0], c = x.shape[1], oc = w.shape[0];
  if (groups < 1 || c % groups != 0 || oc % groups != 0 || w.shape[1] * groups != c) {
    reason = "channels/groups mismatch";
    return nullptr;
  }
  std::vector<int64_t> in_spatial(x.shape.begin() + 2, x.shape.end());
  std::vector<int64_t> kernel(w.shape.begin() + 2, w.shape.end());
  if (node.attrs.has("kernel_shape") && node.attrs.get_ints("kernel_shape") != kernel) {
    reason = "kernel_shape attribute disagrees with the weights";
    return nullptr;
  }
  SpatialGeometry g;
  if (!forward_geometry(node, in_spatial, kernel, g, reason)) return nullptr;
  Shape out_shape{n, oc};
  for (size_t i = 0; i < in_spatial.size(); ++i) {
    const int64_t extent = (kernel[i] - 1) * (g.dilations[i] + 1) + 1;
    out_shape.push_back((in_spatial[i] + g.pad_begin[i] + g.pad_end[i] - extent) / g.strides[i] + 1);
  }
  if (ctx.outputs.empty() || ctx.outputs[0].shape != out_shape) {
    reason = "inferred output shape differs from " + shape_to_string(out_shape);
    return nullptr;
  }

  // Post-ops: residual sum first, then the activation: Y = act(conv + Z), the FusedConv definition.
  dnnl::post_ops ops;
  auto kernel_obj = std::make_unique<ConvKernel>();
  const bool has_residual = ctx.inputs.size() > kResidualInput && ctx.inputs[kResidualInput].present();
  if (has_residual) {
    if (ctx.inputs[kResidualInput].shape != out_shape) {
      reason = "residual shape " + shape_to_string(ctx.inputs[kResidualInput].shape) + " is broadcast";
      return nullptr;
    }
    ops.append_sum(1.f);
  }
  if (node.domain() == ir::kQwacDomain) {
    if (!append_activation(ops, ir::Activation::from_attributes(node.attrs, node.describe()), reason)) return nullptr;
  }
  dnnl::primitive_attr attr;
  attr.set_post_ops(ops);

  dnnl::memory::desc given_src;
  if (!given_desc(ctx, 0, given_src, reason)) return nullptr;
  dnnl::memory::dims w_dims = to_dims(w.shape);
  if (groups > 1) {
    w_dims[0] = oc / groups;
    w_dims.insert(w_dims.begin(), groups);
  }
  const dnnl::memory::desc weights_plain = plain_desc(Shape(w_dims.begin(), w_dims.end()));
  const dnnl::memory::desc weights_any(w_dims, dt::f32, tag::any);
  const dnnl::memory::desc bias_md = has_bias ? plain_desc({oc}) : dnnl::memory::desc();
  const dnnl::memory::desc dst_any(to_dims(out_shape), dt::f32, tag::any);

  auto make_pd = [&](const dnnl::memory::desc& src_md, const dnnl::memory::desc& dst_md) {
    dnnl::convolution_forward::desc d =
        has_bias ? dnnl::convolution_forward::desc(dnnl::prop_kind::forward_inference,
                                                   dnnl::algorithm::convolution_direct, src_md, weights_any, bias_md,
                                                   dst_md, g.strides, g.dilations, g.pad_begin, g.pad_end)
                 : dnnl::convolution_forward::desc(dnnl::prop_kind::forward_inference,
                                                   dnnl::algorithm::convolution_direct, src_md, weights_any, dst_md,
                                                   g.strides, g.dilations, g.pad_begin, g.pad_end);
    return dnnl::convolution_forward::primitive_desc(d, attr, cpu_engine());
  };
  dnnl::convolution_forward::primitive_desc pd;
  // Prefer computing directly on the layout the producer gave (no reorder) when oneDNN has a fast kernel for it;
  // otherwise let oneDNN choose the source layout and reorder into it. An output of one pixel per channel (the
  // 1x1 Convs of a squeeze-and-excitation block) is first tried plain: what the broadcast Mul reading it takes
  // without a reorder (oneDNN would block it as nChw16c). Channels-last has the same bytes as plain there, and
  // oneDNN's fast 1x1 kernels ask for it, so a plain one-pixel source is described as channels-last too.
  const auto all_ones = [](auto begin, auto end) { return std::all_of(begin, end, [](int64_t d) { return d == 1; }); };
  const bool one_pixel_out = all_ones(out_shape.begin() + 2, out_shape.end());
  const bool one_pixel_src = is_plain(given_src) && all_ones(x.shape.begin() + 2, x.shape.end());
  const tag channels_last = x.shape.size() == 3 ? tag::nwc : x.shape.size() == 4 ? tag::nhwc : tag::ndhwc;
  const dnnl::memory::desc src_channels_last(to_dims(x.shape), dt::f32, channels_last);
  std::vector<std::pair<dnnl::memory::desc, dnnl::memory::desc>> candidates;
  if (one_pixel_out && one_pixel_src) {
    candidates.emplace_back(src_channels_last, dnnl::memory::desc(to_dims(out_shape), dt::f32, channels_last));
  }
  if (one_pixel_out) candidates.emplace_back(given_src, plain_desc(out_shape));
  candidates.emplace_back(given_src, dst_any);
  bool have_pd = false;
  for (const auto& [src_md, dst_md] : candidates) {
    try {
      pd = make_pd(src_md, dst_md);
      have_pd = fast_impl(pd);
    } catch (const dnnl::error&) {
    }
    if (have_pd) break;
  }
  if (!have_pd && !try_create([&] { pd = make_pd(dnnl::memory::desc(to_dims(x.shape), dt::f32, tag::any), dst_any); },
                              reason, "convolution")) {
    return nullptr;
  }

  kernel_obj->prim_ = dnnl::convolution_forward(pd);
  // A one-pixel plain source is bound as is when the primitive wants it channels-last (the same bytes).
  const bool same_bytes = one_pixel_src && pd.src_desc() == src_channels_last;
  kernel_obj->src_ = same_bytes ? InputAdapter(pd.src_desc(), pd.src_desc()) : InputAdapter(given_src, pd.src_desc());
  kernel_obj->args_[DNNL_ARG_WEIGHTS] = reorder_constant(w.value->raw(), weights_plain, pd.weights_desc());
  if (has_bias) {
    kernel_obj->args_[DNNL_ARG_BIAS] = reorder_constant(ctx.inputs[2].value->raw(), bias_md, pd.bias_desc());
  }
  kernel_obj->dst_mem_ = dnnl::memory(pd.dst_desc(), cpu_engine(), DNNL_MEMORY_NONE);
  kernel_obj->out_format_ = format_of(pd.dst_desc());
  if (has_residual) {
    kernel_obj->has_residual_ = true;
    dnnl::memory::desc residual_md;
    if (!given_desc(ctx, kResidualInput, residual_md, reason)) return nullptr;
    if (residual_md != pd.dst_desc()) {
      kernel_obj->residual_mem_ = dnnl::memory(residual_md, cpu_engine(), DNNL_MEMORY_NONE);
      kernel_obj->residual_reorder_ = std::make_unique<dnnl::reorder>(
          dnnl::reorder::primitive_desc(cpu_engine(), residual_md, cpu_engine(), pd.dst_desc()));
    }
  }
  return kernel_obj;
}

}  // namespace

void register_conv_kernels(KernelRegistry& registry) {
  registry.add(KernelDef{"Conv", "", 1, INT_MAX, "dnnl", true, &ConvKernel::create});
  registry.add(KernelDef{std::string(ir::kFusedConvOp), std::string(ir::kQwacDomain), 1, INT_MAX, "dnnl", true,
                         &ConvKernel::create});
}

}  // namespace qwac::kernels::dnnl_impl
