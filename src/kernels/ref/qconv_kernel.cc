// QConv (com.qwac, ir/fused_ops.h), the oracle: exactly the float simulation the engine runs for the unfused QDQ
// pattern. A float X is first quantized (QuantizeLinear's arithmetic). X and W are dequantized as DequantizeLinear
// does (float(q - zp) * scale), the Conv is the reference float convolution (nn_conv.h), then the bias, the
// activation (kernels/ref/activation.h) and QuantizeLinear's saturate(nearbyint(y / scale) + zp) with a division and
// round-half-to-even (tensor_quantize_kernels.cc; the shared arithmetic is in quantized_kernel_util.h).
#include <algorithm>

#include "ir/fused_ops.h"
#include "ir/shape/nn_attrs.h"
#include "ir/shape/nn_window.h"
#include "kernels/ref/nn_conv.h"
#include "kernels/ref/activation.h"
#include "kernels/ref/quantized_kernel_util.h"
#include "kernels/ref/ref_families.h"

namespace qwac::kernels::ref {
namespace {

using In = ir::QConvInputs;

class QConvRefKernel final : public Kernel {
 public:
  static std::unique_ptr<Kernel> create(const KernelContext& ctx, std::string& reason) {
    if (!plain_inputs(ctx, "QConv", reason)) return nullptr;
    const ir::Node& node = ctx.node;
    const Shape& x = ctx.inputs.at(In::kX).shape;
    const Shape& w = ctx.inputs.at(In::kW).shape;
    const ir::nn::WindowGeometry g = ir::nn::conv_geometry(node, x, w);
    const int64_t group = ir::nn::attr_int(node, "group", 1);
    auto k = std::make_unique<QConvRefKernel>();
    if (!make_conv_problem(g, x[0], x[1], w[0], group, k->problem_, reason)) return nullptr;
    k->x_type_ = ctx.inputs[In::kX].dtype;
    const bool has_x_zp = ctx.inputs.size() > In::kXZeroPoint && ctx.inputs[In::kXZeroPoint].present();
    k->x_int_type_ = has_x_zp ? ctx.inputs[In::kXZeroPoint].dtype : DType::kUInt8;
    k->y_type_ = ctx.outputs.at(0).dtype;
    k->has_bias_ = ctx.inputs.size() > In::kBias && ctx.inputs[In::kBias].present();
    k->quantized_output_ = ctx.inputs.size() > In::kYScale && ctx.inputs[In::kYScale].present();
    k->act_ = ir::Activation::from_attributes(ctx.node.attrs, ctx.node.describe());
    k->threads_ = std::max(1, ctx.num_threads);
    k->x_float_.resize(static_cast<size_t>(shape_numel(x)));
    k->w_float_.resize(static_cast<size_t>(shape_numel(w)));
    if (k->quantized_output_) k->y_float_.resize(static_cast<size_t>(shape_numel(ctx.outputs[0].shape)));
    return k;
  }

  void run(const std::vector<Tensor>& in, std::vector<Tensor>& out) override {
    const float x_scale = in[In::kXScale].data<float>()[0];
    const int32_t x_zp = zero_point_of(in, In::kXZeroPoint);
    if (x_type_ == DType::kFloat32) {
      // Float X: QuantizeLinear to the zero point's type first, then DequantizeLinear, as the Q -> DQ pair did.
      const int64_t n = in[In::kX].numel();
      with_8bit(x_int_type_, [&](auto tag) {
        using Q = decltype(tag);
        std::vector<Q> q(static_cast<size_t>(n));
        quantize(in[In::kX].data<float>(), n, x_scale, x_zp, q.data());
        dequantize(q.data(), n, x_scale, x_zp, x_float_.data());
      });
    } else {
      with_8bit(x_type_, [&](auto tag) {
        using Q = decltype(tag);
        dequantize(in[In::kX].data<Q>(), in[In::kX].numel(), x_scale, x_zp, x_float_.data());
      });
    }
    // W: per-tensor or per output channel (axis 0), zero point 0.
    const Tensor& w_scale = in[In::kWScale];
    const int64_t out_channels = problem_.out_channels;
    const int64_t per_channel = static_cast<int64_t>(w_float_.size()) / out_channels;
    for (int64_t m = 0; m < out_channels; ++m) {
      const float s = w_scale.numel() == 1 ? w_scale.data<float>()[0] : w_scale.data<float>()[m];
      dequantize(in[In::kW].data<int8_t>() + m * per_channel, per_channel, s, 0, w_float_.data() + m * per_channel);
    }
    const float* bias = has_bias_ ? in[In::kBias].data<float>() : nullptr;
    float* y = quantized_output_ ? y_float_.data() : out[0].data<float>();
    conv_forward(problem_, x_float_.data(), w_float_.data(), bias, y, threads_);
    const int64_t n = out[0].numel();
    apply_activation(act_, y, n);
    if (!quantized_output_) return;
    const float y_scale = in[In::kYScale].data<float>()[0];
    with_8bit(y_type_, [&](auto tag) {
      using Q = decltype(tag);
      quantize(y, n, y_scale, in[In::kYZeroPoint].data<Q>()[0], out[0].data<Q>());
    });
  }

 private:
  ConvProblem problem_;
  DType x_type_ = DType::kUInt8, y_type_ = DType::kFloat32;
  DType x_int_type_ = DType::kUInt8;  // the integer type X is (or, for a float X, is quantized to)
  bool has_bias_ = false, quantized_output_ = false;
  ir::Activation act_;
  int threads_ = 1;
  std::vector<float> x_float_, w_float_, y_float_;  // scratch: dequantized X and W, float Conv output
};

}  // namespace

void register_qconv_kernels(KernelRegistry& registry) {
  registry.add(KernelDef{std::string(ir::kQConvOp), std::string(ir::kQwacDomain), 1, INT_MAX, "ref", false,
                         &QConvRefKernel::create});
}

}  // namespace qwac::kernels::ref
