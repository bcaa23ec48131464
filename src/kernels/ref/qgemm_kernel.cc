// QGemm (com.qwac, ir/fused_ops.h), the oracle: exactly the float simulation of DQ(X), DQ(W) [+ B] -> Gemm /
// MatMul [-> activation] [-> Q]. A float X is first quantized (QuantizeLinear's arithmetic), X and W are
// dequantized as DequantizeLinear does (float(q - zp) * scale), each output accumulates in float over k, then the
// bias, the activation and QuantizeLinear's saturate(nearbyint(y / scale) + zp).
#include <algorithm>
#include <vector>

#include "ir/fused_ops.h"
#include "kernels/ref/activation.h"
#include "kernels/ref/quantized_kernel_util.h"
#include "kernels/ref/ref_families.h"

namespace qwac::kernels::ref {
namespace {

using In = ir::QGemmInputs;

class QGemmRefKernel final : public Kernel {
 public:
  static std::unique_ptr<Kernel> create(const KernelContext& ctx, std::string& reason) {
    if (!plain_inputs(ctx, "QGemm", reason)) return nullptr;
    auto k = std::make_unique<QGemmRefKernel>();
    const Shape& x = ctx.inputs.at(In::kX).shape;
    const Shape& w = ctx.inputs.at(In::kW).shape;
    k->trans_b_ = ctx.node.attrs.get_int("transB", 0) != 0;
    k->k_ = x.back();
    k->m_ = shape_numel(x) / std::max<int64_t>(k->k_, 1);
    k->n_ = w[k->trans_b_ ? 0 : 1];
    k->x_type_ = ctx.inputs[In::kX].dtype;
    const bool has_x_zp = ctx.inputs.size() > In::kXZeroPoint && ctx.inputs[In::kXZeroPoint].present();
    k->x_int_type_ = has_x_zp ? ctx.inputs[In::kXZeroPoint].dtype : DType::kUInt8;
    k->y_type_ = ctx.outputs.at(0).dtype;
    k->has_bias_ = ctx.inputs.size() > In::kBias && ctx.inputs[In::kBias].present();
    k->act_ = ir::Activation::from_attributes(ctx.node.attrs, ctx.node.describe());
    return k;
  }

  void run(const std::vector<Tensor>& in, std::vector<Tensor>& out) override {
    const float x_scale = in[In::kXScale].data<float>()[0];
    const int32_t x_zp = zero_point_of(in, In::kXZeroPoint);
    std::vector<float> xf(static_cast<size_t>(m_ * k_));
    for (int64_t i = 0; i < m_ * k_; ++i) {
      int32_t q = 0;
      if (x_type_ == DType::kFloat32) {
        const float v = in[In::kX].data<float>()[i];
        q = x_int_type_ == DType::kUInt8 ? quantize<uint8_t>(v, x_scale, x_zp) : quantize<int8_t>(v, x_scale, x_zp);
      } else {
        q = element_8bit(in[In::kX], i);
      }
      xf[static_cast<size_t>(i)] = dequantize(q, x_zp, x_scale);
    }
    // W as [K, N] floats; the scale is per output column or one for all.
    const Tensor& w_scale = in[In::kWScale];
    std::vector<float> wf(static_cast<size_t>(k_ * n_));
    for (int64_t kk = 0; kk < k_; ++kk) {
      for (int64_t j = 0; j < n_; ++j) {
        const int8_t q = in[In::kW].data<int8_t>()[trans_b_ ? j * k_ + kk : kk * n_ + j];
        const float s = w_scale.numel() == 1 ? w_scale.data<float>()[0] : w_scale.data<float>()[j];
        wf[static_cast<size_t>(kk * n_ + j)] = static_cast<float>(q) * s;
      }
    }
    const bool quantized = y_type_ != DType::kFloat32;
    const float y_scale = quantized ? in[In::kYScale].data<float>()[0] : 1.f;
    const int32_t y_zp = quantized ? zero_point_of(in, In::kYZeroPoint) : 0;
    for (int64_t i = 0; i < m_; ++i) {
      for (int64_t j = 0; j < n_; ++j) {
        const float* x_row = xf.data() + i * k_;
        float acc = 0.f;
        for (int64_t kk = 0; kk < k_; ++kk) acc += x_row[kk] * wf[static_cast<size_t>(kk * n_ + j)];
        if (has_bias_) acc += in[In::kBias].data<float>()[j];
        acc = activation_scalar(act_, acc);
        const int64_t o = i * n_ + j;
        if (!quantized) {
          out[0].data<float>()[o] = acc;
        } else if (y_type_ == DType::kUInt8) {
          out[0].data<uint8_t>()[o] = quantize<uint8_t>(acc, y_scale, y_zp);
        } else {
          out[0].data<int8_t>()[o] = quantize<int8_t>(acc, y_scale, y_zp);
        }
      }
    }
  }

 private:
  int64_t m_ = 0, k_ = 0, n_ = 0;
  bool trans_b_ = false, has_bias_ = false;
  DType x_type_ = DType::kUInt8, x_int_type_ = DType::kUInt8, y_type_ = DType::kFloat32;
  ir::Activation act_;
};

}  // namespace

void register_qgemm_kernels(KernelRegistry& registry) {
  registry.add(KernelDef{std::string(ir::kQGemmOp), std::string(ir::kQwacDomain), 1, INT_MAX, "ref", false,
                         &QGemmRefKernel::create});
}

}  // namespace qwac::kernels::ref
