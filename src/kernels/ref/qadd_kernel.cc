// QAdd (com.qwac, ir/fused_ops.h), the oracle: exactly the float simulation of DQ(A) + DQ(B) -> Add [-> activation]
// [-> Q]: DequantizeLinear's float(q - zp) * scale for each operand, the float sum, the activation, then
// QuantizeLinear's saturate(nearbyint(y / scale) + zp) with a division and round-half-to-even.
#include <algorithm>

#include "ir/fused_ops.h"
#include "kernels/ref/elementwise_broadcast.h"
#include "kernels/ref/activation.h"
#include "kernels/ref/quantized_kernel_util.h"
#include "kernels/ref/ref_families.h"

namespace qwac::kernels::ref {
namespace {

using In = ir::QAddInputs;

class QAddRefKernel final : public Kernel {
 public:
  static std::unique_ptr<Kernel> create(const KernelContext& ctx, std::string& reason) {
    if (!plain_inputs(ctx, "QAdd", reason)) return nullptr;
    auto k = std::make_unique<QAddRefKernel>();
    k->plan_ = BroadcastPlan(ctx.outputs.at(0).shape, {ctx.inputs.at(In::kA).shape, ctx.inputs.at(In::kB).shape});
    k->y_type_ = ctx.outputs[0].dtype;
    k->act_ = ir::Activation::from_attributes(ctx.node.attrs, ctx.node.describe());
    k->threads_ = std::max(1, ctx.num_threads);
    return k;
  }

  void run(const std::vector<Tensor>& in, std::vector<Tensor>& out) override {
    const Tensor& a = in[In::kA];
    const Tensor& b = in[In::kB];
    const float a_scale = in[In::kAScale].data<float>()[0], b_scale = in[In::kBScale].data<float>()[0];
    const int32_t a_zp = zero_point_of(in, In::kAZeroPoint), b_zp = zero_point_of(in, In::kBZeroPoint);
    const bool quantized = in.size() > In::kYScale && !in[In::kYScale].empty();
    const float y_scale = quantized ? in[In::kYScale].data<float>()[0] : 1.f;
    const int32_t y_zp = quantized ? zero_point_of(in, In::kYZeroPoint) : 0;
    const int64_t sa = plan_.inner_stride(0), sb = plan_.inner_stride(1);
    Tensor& y = out[0];
    plan_.for_each_chunk<2>(threads_, [&](int64_t o, const std::array<int64_t, 2>& off, int64_t count) {
      for (int64_t k = 0; k < count; ++k) {
        float s = dequantize(element_8bit(a, off[0] + k * sa), a_zp, a_scale) +
                  dequantize(element_8bit(b, off[1] + k * sb), b_zp, b_scale);
        s = activation_scalar(act_, s);
        if (!quantized) {
          y.data<float>()[o + k] = s;
        } else if (y_type_ == DType::kUInt8) {
          y.data<uint8_t>()[o + k] = quantize<uint8_t>(s, y_scale, y_zp);
        } else {
          y.data<int8_t>()[o + k] = quantize<int8_t>(s, y_scale, y_zp);
        }
      }
    });
  }

 private:
  BroadcastPlan plan_;
  DType y_type_ = DType::kFloat32;
  ir::Activation act_;
  int threads_ = 1;
};

}  // namespace

void register_qadd_kernels(KernelRegistry& registry) {
  registry.add(KernelDef{std::string(ir::kQAddOp), std::string(ir::kQwacDomain), 1, INT_MAX, "ref", false,
                         &QAddRefKernel::create});
}

}  // namespace qwac::kernels::ref
