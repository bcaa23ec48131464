// QConv (com.qwac, ir/fused_ops.h) on oneDNN's int8 convolution: u8/s8 source, s8 weights reordered once (with
// oneDNN's s8-source compensation when it needs one), s32 accumulation, and the requantization as attributes:
//   dst = saturate(round(act(s_x * s_w[c] * (acc + bias'[c])) / s_y + zp_y))
// with the activation applied in the real domain (kernels/dnnl/dnnl_activation.h: any kind; 1 / s_y folded into the
// output scale or the activation's last linear step where it commutes), s_y = 1 for a float output, the source zero
// point as a oneDNN zero-point attribute, and the dequantized bias B passed in accumulator units,
// bias'[c] = B[c] / (s_x * s_w[c]), as f32 (oneDNN 2.x adds the bias to the accumulator before the output scale).
// This is the float simulation y = Q(act(conv(DQ(x), DQ(W)) + B)) up to float rounding. oneDNN adds the destination zero point before rounding, so an exact tie with an odd zero point
// lands one step away from QuantizeLinear's round-then-add. Integer tensors stay in the layout oneDNN picks
// (nhwc for int8) between consecutive QConvs. A float X (the QuantizeLinear before the Conv folded in) is quantized
// by one reorder with scale 1 / s_x from the producer's layout: a product instead of QuantizeLinear's division, so a
// value within an ulp of a rounding boundary may land one step away.
#include <cmath>
#include <limits>
#include <unordered_map>

#include "ir/fused_ops.h"
#include "kernels/dnnl/dnnl_common.h"
#include "kernels/dnnl/dnnl_families.h"
#include "kernels/dnnl/dnnl_requantize.h"

namespace qwac::kernels::dnnl_impl {
namespace {

using In = ir::QConvInputs;
using tag = dnnl::memory::format_tag;
using dt = dnnl::memory::data_type;

// The source descriptor as the runtime delivers it: the producer's oneDNN layout, or plain of X's type.
bool given_int8_desc(const KernelContext& ctx, dnnl::memory::desc& md, std::string& reason) {
  const BlockedFormatPtr& f = ctx.input_formats.empty() ? nullptr : ctx.input_formats[In::kX];
  if (!f) {
    md = plain_desc(ctx.inputs[In::kX].shape, int8_or_f32(ctx.inputs[In::kX].dtype));
    return true;
  }
  if (!given_desc(ctx, In::kX, md, reason)) return false;
  if (md.data_type() != int8_or_f32(ctx.inputs[In::kX].dtype)) {
    reason = "input X arrives in a layout of another data type";
    return false;
  }
  return true;
}

bool constant_input(const KernelContext& ctx, size_t i, const char* what, std::string& reason) {
  if (ctx.inputs.size() <= i || !ctx.inputs[i].present()) return true;  // absent optional inputs are fine
  if (ctx.inputs[i].value != nullptr) return true;
  reason = std::string(what) + " is not constant";
  return false;
}

class QConvKernel final : public Kernel {
 public:
  static std::unique_ptr<Kernel> create(const KernelContext& ctx, std::string& reason);

  void run(const std::vector<Tensor>& inputs, std::vector<Tensor>& outputs) override {
    dnnl::stream& stream = cpu_stream();
    if (quantize_) {
      bind(float_src_, inputs[In::kX].raw());
      quantize_->execute(stream, float_src_, quantized_src_);
      args_[DNNL_ARG_SRC] = quantized_src_;
    } else {
      args_[DNNL_ARG_SRC] = src_.bind(inputs[In::kX].raw(), stream);
    }
    bind(dst_mem_, outputs[0].raw());
    args_[DNNL_ARG_DST] = dst_mem_;
    prim_.execute(stream, args_);
    stream.wait();
  }

  BlockedFormatPtr output_format(size_t) const override { return out_format_; }

 private:
  dnnl::convolution_forward prim_;
  InputAdapter src_;
  // Float X: a reorder with scale 1 / x_scale and destination zero point quantizes it into the primitive's layout.
  std::unique_ptr<dnnl::reorder> quantize_;
  dnnl::memory float_src_, quantized_src_;
  dnnl::memory dst_mem_;
  std::unordered_map<int, dnnl::memory> args_;
  BlockedFormatPtr out_format_;
};

std::unique_ptr<Kernel> QConvKernel::create(const KernelContext& ctx, std::string& reason) {
  const ir::Node& node = ctx.node;
  for (size_t i = 1; i < ctx.input_formats.size(); ++i) {
    if (ctx.input_formats[i]) {
      reason = "input " + std::to_string(i) + " is in a blocked layout; only X may be";
      return nullptr;
    }
  }
  if (!constant_input(ctx, In::kXScale, "x_scale", reason) ||
      !constant_input(ctx, In::kXZeroPoint, "x_zero_point", reason) || !constant_input(ctx, In::kW, "W", reason) ||
      !constant_input(ctx, In::kWScale, "w_scale", reason) || !constant_input(ctx, In::kBias, "bias", reason) ||
      !constant_input(ctx, In::kYScale, "y_scale", reason) ||
      !constant_input(ctx, In::kYZeroPoint, "y_zero_point", reason)) {
    return nullptr;
  }
  const ir::TensorInfo& x = ctx.inputs.at(In::kX);
  const ir::TensorInfo& w = ctx.inputs.at(In::kW);
  if (x.shape.size() < 3 || x.shape.size() > 5 || w.shape.size() != x.shape.size()) {
    reason = "only 1D/2D/3D convolution is implemented";
    return nullptr;
  }
  const bool has_bias = ctx.inputs.size() > In::kBias && ctx.inputs[In::kBias].present();
  if (has_bias && ctx.inputs[In::kBias].dtype != DType::kFloat32) {
    reason = "bias is " + std::string(dtype_name(ctx.inputs[In::kBias].dtype)) + ", expected float";
    return nullptr;
  }
  const int64_t groups = node.attrs.get_int("group", 1);
  const int64_t c = x.shape[1], oc = w.shape[0];
  if (groups < 1 || c % groups != 0 || oc % groups != 0 || w.shape[1] * groups != c) {
    reason = "channels/groups mismatch";
    return nullptr;
  }
  std::vector<int64_t> in_spatial(x.shape.begin() + 2, x.shape.end());
  std::vector<int64_t> kernel(w.shape.begin() + 2, w.shape.end());
  SpatialGeometry g;
  if (!forward_geometry(node, in_spatial, kernel, g, reason)) return nullptr;
  const Shape& out_shape = ctx.outputs.at(0).shape;

  Requantization rq;
  if (!conv_like_requantization(ctx, oc, "channel", rq, reason)) return nullptr;
  const double s_x = rq.s_x;
  const int32_t x_zp = rq.x_zp;
  const dnnl::primitive_attr& attr = rq.attr;
  const std::vector<float>& bias = rq.bias;

  // A float X is quantized by the kernel (to x_zero_point's type); an integer X arrives quantized.
  const bool float_x = x.dtype == DType::kFloat32;
  const bool has_x_zp = ctx.inputs.size() > In::kXZeroPoint && ctx.inputs[In::kXZeroPoint].present();
  const DType x_int_type = !float_x ? x.dtype : has_x_zp ? ctx.inputs[In::kXZeroPoint].dtype : DType::kUInt8;
  dnnl::memory::desc given_src;
  if (float_x ? !given_desc(ctx, In::kX, given_src, reason) : !given_int8_desc(ctx, given_src, reason)) {
    return nullptr;
  }
  dnnl::memory::dims w_dims = to_dims(w.shape);
  if (groups > 1) {
    w_dims[0] = oc / groups;
    w_dims.insert(w_dims.begin(), groups);
  }
  const dnnl::memory::desc weights_plain = plain_desc(Shape(w_dims.begin(), w_dims.end()), dt::s8);
  const dnnl::memory::desc weights_any(w_dims, dt::s8, tag::any);
  const dnnl::memory::desc bias_md = has_bias ? plain_desc({oc}) : dnnl::memory::desc();
  const dnnl::memory::desc dst_any(to_dims(out_shape), int8_or_f32(ctx.outputs[0].dtype), tag::any);

  auto make_pd = [&](const dnnl::memory::desc& src_md) {
    dnnl::convolution_forward::desc d =
        has_bias ? dnnl::convolution_forward::desc(dnnl::prop_kind::forward_inference,
                                                   dnnl::algorithm::convolution_direct, src_md, weights_any, bias_md,
                                                   dst_any, g.strides, g.dilations, g.pad_begin, g.pad_end)
                 : dnnl::convolution_forward::desc(dnnl::prop_kind::forward_inference,
                                                   dnnl::algorithm::convolution_direct, src_md, weights_any, dst_any,
                                                   g.strides, g.dilations, g.pad_begin, g.pad_end);
    return dnnl::convolution_forward::primitive_desc(d, attr, cpu_engine());
  };
  auto is_ref = [](const dnnl::convolution_forward::primitive_desc& pd) {
    return std::string(pd.impl_info_str()).find("ref") != std::string::npos;
  };
  // Compute on the producer's layout when oneDNN has a non-reference kernel for it, else let oneDNN choose.
  dnnl::convolution_forward::primitive_desc pd;
  bool have_pd = false;
  if (!float_x) {
    try {
      pd = make_pd(given_src);
      have_pd = !is_ref(pd);
    } catch (const dnnl::error&) {
    }
  }
  if (!have_pd) {
    const dnnl::memory::desc src_any(to_dims(x.shape), int8_or_f32(x_int_type), tag::any);
    if (!try_create([&] { pd = make_pd(src_any); }, reason, "int8 convolution")) return nullptr;
    if (is_ref(pd)) {
      // oneDNN's reference int8 convolution is far slower than the float path.
      reason = "oneDNN has only its reference implementation (" + std::string(pd.impl_info_str()) +
               ") for this int8 convolution";
      return nullptr;
    }
  }
  auto k = std::make_unique<QConvKernel>();
  k->prim_ = dnnl::convolution_forward(pd);
  if (float_x) {
    dnnl::primitive_attr q_attr;
    q_attr.set_output_scales(0, {static_cast<float>(1.0 / s_x)});
    if (x_zp != 0) q_attr.set_zero_points(DNNL_ARG_DST, 0, {x_zp});
    dnnl::reorder::primitive_desc q_pd;
    if (!try_create(
            [&] { q_pd = dnnl::reorder::primitive_desc(cpu_engine(), given_src, cpu_engine(), pd.src_desc(), q_attr); },
            reason, "quantizing reorder")) {
      return nullptr;
    }
    k->quantize_ = std::make_unique<dnnl::reorder>(q_pd);
    k->float_src_ = dnnl::memory(given_src, cpu_engine(), DNNL_MEMORY_NONE);
    k->quantized_src_ = dnnl::memory(pd.src_desc(), cpu_engine());  // owned buffer
  } else {
    k->src_ = InputAdapter(given_src, pd.src_desc());
  }
  k->args_[DNNL_ARG_WEIGHTS] = reorder_constant(w.value->raw(), weights_plain, pd.weights_desc());
  if (has_bias) k->args_[DNNL_ARG_BIAS] = reorder_constant(bias.data(), bias_md, pd.bias_desc());
  k->dst_mem_ = dnnl::memory(pd.dst_desc(), cpu_engine(), DNNL_MEMORY_NONE);
  k->out_format_ = format_of(pd.dst_desc());
  return k;
}

}  // namespace

void register_qconv_kernels(KernelRegistry& registry) {
  registry.add(KernelDef{std::string(ir::kQConvOp), std::string(ir::kQwacDomain), 1, INT_MAX, "dnnl", true,
                         &QConvKernel::create});
}

}  // namespace qwac::kernels::dnnl_impl
