// QLayerNorm (com.qwac, ir/fused_ops.h), the oracle: exactly the float simulation of DequantizeLinear ->
// LayerNormalization -> QuantizeLinear. X is dequantized as DequantizeLinear does, normalized by the reference
// float LayerNormalization (created through the reference registry, so the two cannot drift apart), then quantized
// as QuantizeLinear does (quantized_kernel_util.h).
#include "ir/fused_ops.h"
#include "kernels/ref/quantized_kernel_util.h"
#include "kernels/ref/ref_families.h"

namespace qwac::kernels::ref {
namespace {

using In = ir::QLayerNormInputs;
constexpr int64_t kLayerNormOpset = 17;

class QLayerNormRefKernel final : public Kernel {
 public:
  static std::unique_ptr<Kernel> create(const KernelContext& ctx, std::string& reason) {
    if (!plain_inputs(ctx, "QLayerNorm", reason)) return nullptr;
    const ir::TensorInfo& x = ctx.inputs.at(In::kX);
    std::vector<ir::TensorInfo> ln_inputs = {ir::TensorInfo{DType::kFloat32, x.shape, nullptr},
                                             ctx.inputs.at(In::kScale)};
    const bool has_bias = ctx.inputs.size() > In::kBias && ctx.inputs[In::kBias].present();
    if (has_bias) ln_inputs.push_back(ctx.inputs[In::kBias]);
    const KernelContext float_ctx{ctx.node,
                                  kLayerNormOpset,
                                  ln_inputs,
                                  {ir::OutputInfo{DType::kFloat32, ctx.outputs.at(0).shape}},
                                  std::vector<BlockedFormatPtr>(ln_inputs.size()),
                                  ctx.num_threads};
    auto k = std::make_unique<QLayerNormRefKernel>();
    k->norm_ = reference_float_kernel("LayerNormalization", float_ctx, reason);
    if (!k->norm_) return nullptr;
    k->has_bias_ = has_bias;
    k->x_type_ = x.dtype;
    k->y_type_ = ctx.outputs[0].dtype;
    k->x_float_ = Tensor(DType::kFloat32, x.shape);
    k->y_float_ = Tensor(DType::kFloat32, ctx.outputs[0].shape);
    return k;
  }

  void run(const std::vector<Tensor>& in, std::vector<Tensor>& out) override {
    const float x_scale = in[In::kXScale].data<float>()[0];
    dequantize_tensor(x_type_, in[In::kX], x_scale, zero_point_of(in, In::kXZeroPoint), x_float_);
    std::vector<Tensor> norm_in = {x_float_, in[In::kScale]};
    if (has_bias_) norm_in.push_back(in[In::kBias]);
    std::vector<Tensor> norm_out = {y_float_};
    norm_->run(norm_in, norm_out);
    quantize_tensor(y_type_, y_float_, in[In::kYScale].data<float>()[0], in[In::kYZeroPoint], out[0]);
  }

 private:
  std::unique_ptr<Kernel> norm_;  // the reference float LayerNormalization
  bool has_bias_ = false;
  DType x_type_ = DType::kUInt8, y_type_ = DType::kUInt8;
  Tensor x_float_, y_float_;  // scratch: dequantized X, float normalization output
};

}  // namespace

void register_qlayer_norm_kernels(KernelRegistry& registry) {
  registry.add(KernelDef{std::string(ir::kQLayerNormOp), std::string(ir::kQwacDomain), 1, INT_MAX, "ref", false,
                         &QLayerNormRefKernel::create});
}

}  // namespace qwac::kernels::ref
