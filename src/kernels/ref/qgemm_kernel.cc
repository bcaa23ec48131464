// QGemm (com.qwac, ir/fused_ops.h), the oracle: exactly the float simulation of DQ(X), DQ(W) [+ B] -> Gemm /
// MatMul [-> Relu/Clip] [-> Q]. A float X is first quantized (QuantizeLinear's arithmetic), X and W are
// dequantized as DequantizeLinear does (float(q - zp) * scale), each output accumulates in float over k, then the
// bias, the activation and QuantizeLinear's saturate(nearbyint(y / scale) + zp).
#include <algorithm>
#include <cmath>
#include <limits>
#include <vector>

#include "ir/fused_ops.h"
#include "kernels/ref/ref_families.h"

namespace qwac::kernels::ref {
namespace {

using In = ir::QGemmInputs;

int32_t zero_point_of(const std::vector<Tensor>& in, size_t i) {
  if (in.size() <= i || in[i].empty()) return 0;
  return in[i].dtype() == DType::kUInt8 ? in[i].data<uint8_t>()[0] : in[i].data<int8_t>()[0];
}

template <typename Q>
Q quantize(float x, float scale, int32_t zp) {
  constexpr float qmin = static_cast<float>(std::numeric_limits<Q>::min());
  constexpr float qmax = static_cast<float>(std::numeric_limits<Q>::max());
  const float z = static_cast<float>(zp);
  float v = std::nearbyint(x / scale) + z;
  if (std::isnan(v)) v = z;
  return static_cast<Q>(static_cast<int32_t>(std::min(std::max(v, qmin), qmax)));
}

class QGemmRefKernel final : public Kernel {
 public:
  static std::unique_ptr<Kernel> create(const KernelContext& ctx, std::string& reason) {
    for (const BlockedFormatPtr& f : ctx.input_formats) {
      if (f) {
        reason = "reference QGemm reads plain tensors only";
        return nullptr;
      }
    }
    const std::string act = ctx.node.attrs.get_string("activation", "");
    if (!act.empty() && act != "Relu" && act != "Clip") {
      reason = "activation '" + act + "' (QGemm takes Relu or Clip)";
      return nullptr;
    }
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
    k->relu_ = act == "Relu";
    if (act == "Clip") {
      const std::vector<float> p = ctx.node.attrs.get_floats("activation_params", {});
      k->lo_ = p.size() > 0 ? p[0] : -std::numeric_limits<float>::infinity();
      k->hi_ = p.size() > 1 ? p[1] : std::numeric_limits<float>::infinity();
      k->clip_ = true;
    }
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
        q = x_type_ == DType::kUInt8 ? in[In::kX].data<uint8_t>()[i] : in[In::kX].data<int8_t>()[i];
      }
      xf[static_cast<size_t>(i)] = static_cast<float>(q - x_zp) * x_scale;
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
        if (relu_) acc = std::max(acc, 0.f);
        if (clip_) acc = std::min(std::max(acc, lo_), hi_);
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
  bool trans_b_ = false, has_bias_ = false, relu_ = false, clip_ = false;
  DType x_type_ = DType::kUInt8, x_int_type_ = DType::kUInt8, y_type_ = DType::kFloat32;
  float lo_ = 0.f, hi_ = 0.f;
};

}  // namespace

void register_qgemm_kernels(KernelRegistry& registry) {
  registry.add(KernelDef{std::string(ir::kQGemmOp), std::string(ir::kQwacDomain), 1, INT_MAX, "ref", false,
                         &QGemmRefKernel::create});
}

}  // namespace qwac::kernels::ref
