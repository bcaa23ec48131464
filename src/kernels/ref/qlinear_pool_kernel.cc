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
    for (const KernelDef* def : reference_kernel_registry().candidates(pool, "", kPoolOpset)) {
      std::string why;
      k->pool_ = def->create(float_ctx, why);
      if (k->pool_) break;
      reason += (reason.empty() ? "" : "; ") + why;
    }
    if (!k->pool_) {
      reason = "no reference float " + pool + " for this case (" + reason + ")";
      return nullptr;
    }
    reason.clear();
    k->x_type_ = ctx.inputs[In::kX].dtype;
    k->y_type_ = ctx.outputs[0].dtype;
    k->x_float_ = Tensor(DType::kFloat32, ctx.inputs[In::kX].shape);
    k->y_float_ = Tensor(DType::kFloat32, ctx.outputs[0].shape);
    return k;
  }

  void run(const std::vector<Tensor>& in, std::vector<Tensor>& out) override {
    const float x_scale = in[In::kXScale].data<float>()[0];
    const int32_t x_zp = zero_point_of(in, In::kXZeroPoint);
    with_8bit(x_type_, [&](auto tag) {
      using Q = decltype(tag);
      dequantize(in[In::kX].data<Q>(), x_float_.numel(), x_scale, x_zp, x_float_.data<float>());
    });
    std::vector<Tensor> pool_out = {y_float_};
    pool_->run({x_float_}, pool_out);
    const float y_scale = in[In::kYScale].data<float>()[0];
    with_8bit(y_type_, [&](auto tag) {
      using Q = decltype(tag);
      quantize(y_float_.data<float>(), out[0].numel(), y_scale, in[In::kYZeroPoint].data<Q>()[0], out[0].data<Q>());
    });
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
