// QLinearPool (com.qwac, ir/fused_ops.h), the oracle: exactly the float simulation the engine runs for the unfused
// DequantizeLinear -> pooling -> QuantizeLinear pattern. X is dequantized as DequantizeLinear does
// (float(q - zp) * scale), pooled by the reference float kernel of the op named by `pool` (created through the
// reference registry, so the two cannot drift apart), then quantized as QuantizeLinear does:
// saturate(nearbyint(y / scale) + zp), a division rounding half to even (tensor_quantize_kernels.cc).
#include "ir/fused_ops.h"
#include "kernels/ref/quantized_kernel_util.h"
#include "kernels/ref/ref_families.h"

namespace qwac::kernels::ref {
namespace {

using In = ir::QLinearPoolInputs;
constexpr int64_t kPoolOpset = 12;  // the float pooling kernels are not versioned; 12 accepts every attribute

class QLinearPoolRefKernel final : public Kernel {
 public:
  static std::unique_ptr<Kernel> create(const KernelContext& ctx, std::string& reason) {
    if (!plain_inputs(ctx, "QLinearPool", reason)) return nullptr;
    const std::string pool = ctx.node.attrs.get_string("pool", "");
    const KernelContext float_ctx{ctx.node,
                                  kPoolOpset,
                                  {ir::TensorInfo{DType::kFloat32, ctx.inputs.at(In::kX).shape, nullptr}},
                                  {ir::OutputInfo{DType::kFloat32, ctx.outputs.at(0).shape}},
                                  {nullptr},
                                  ctx.num_threads};
    auto k = std::make_unique<QLinearPoolRefKernel>();
    k->pool_ = reference_float_kernel(pool, float_ctx, reason);
    if (!k->pool_) return nullptr;
    k->x_type_ = ctx.inputs[In::kX].dtype;
    k->y_type_ = ctx.outputs[0].dtype;
    k->x_float_ = Tensor(DType::kFloat32, ctx.inputs[In::kX].shape);
    k->y_float_ = Tensor(DType::kFloat32, ctx.outputs[0].shape);
    return k;
  }

  void run(const std::vector<Tensor>& in, std::vector<Tensor>& out) override {
    const float x_scale = in[In::kXScale].data<float>()[0];
    dequantize_tensor(x_type_, in[In::kX], x_scale, zero_point_of(in, In::kXZeroPoint), x_float_);
    std::vector<Tensor> pool_out = {y_float_};
    pool_->run({x_float_}, pool_out);
    quantize_tensor(y_type_, y_float_, in[In::kYScale].data<float>()[0], in[In::kYZeroPoint], out[0]);
  }

 private:
  std::unique_ptr<Kernel> pool_;  // the reference float pooling
  DType x_type_ = DType::kUInt8, y_type_ = DType::kUInt8;
  Tensor x_float_, y_float_;  // scratch: dequantized X, float pooling output
};

}  // namespace

void register_qlinear_pool_kernels(KernelRegistry& registry) {
  registry.add(KernelDef{std::string(ir::kQLinearPoolOp), std::string(ir::kQwacDomain), 1, INT_MAX, "ref", false,
                         &QLinearPoolRefKernel::create});
}

}  // namespace qwac::kernels::ref
