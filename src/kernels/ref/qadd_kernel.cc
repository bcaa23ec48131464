// QAdd (com.qwac, ir/fused_ops.h), the oracle: exactly the float simulation of DQ(A) + DQ(B) -> Add [-> Relu/Clip]
// [-> Q]: DequantizeLinear's float(q - zp) * scale for each operand, the float sum, the activation, then
// QuantizeLinear's saturate(nearbyint(y / scale) + zp) with a division and round-half-to-even.
#include <algorithm>
#include <cmath>
#include <limits>

#include "ir/fused_ops.h"
#include "kernels/ref/elementwise_broadcast.h"
#include "kernels/ref/ref_families.h"

namespace qwac::kernels::ref {
namespace {

using In = ir::QAddInputs;

int32_t zero_point_of(const std::vector<Tensor>& in, size_t i) {
  if (in.size() <= i || in[i].empty()) return 0;
  return in[i].dtype() == DType::kUInt8 ? in[i].data<uint8_t>()[0] : in[i].data<int8_t>()[0];
}

float dequantize(const Tensor& t, int64_t i, int32_t zp, float scale) {
  const int32_t q = t.dtype() == DType::kUInt8 ? t.data<uint8_t>()[i] : t.data<int8_t>()[i];
  return static_cast<float>(q - zp) * scale;
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

class QAddRefKernel final : public Kernel {
 public:
  static std::unique_ptr<Kernel> create(const KernelContext& ctx, std::string& reason) {
    for (const BlockedFormatPtr& f : ctx.input_formats) {
      if (f) {
        reason = "reference QAdd reads plain tensors only";
        return nullptr;
      }
    }
    const std::string act = ctx.node.attrs.get_string("activation", "");
    if (!act.empty() && act != "Relu" && act != "Clip") {
      reason = "activation '" + act + "' (QAdd takes Relu or Clip)";
      return nullptr;
    }
    auto k = std::make_unique<QAddRefKernel>();
    k->plan_ = BroadcastPlan(ctx.outputs.at(0).shape, {ctx.inputs.at(In::kA).shape, ctx.inputs.at(In::kB).shape});
    k->y_type_ = ctx.outputs[0].dtype;
    k->relu_ = act == "Relu";
    if (act == "Clip") {
      const std::vector<float> p = ctx.node.attrs.get_floats("activation_params", {});
      k->lo_ = p.size() > 0 ? p[0] : -std::numeric_limits<float>::infinity();
      k->hi_ = p.size() > 1 ? p[1] : std::numeric_limits<float>::infinity();
      k->clip_ = true;
    }
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
        float s = dequantize(a, off[0] + k * sa, a_zp, a_scale) + dequantize(b, off[1] + k * sb, b_zp, b_scale);
        if (relu_) s = std::max(s, 0.f);
        if (clip_) s = std::min(std::max(s, lo_), hi_);
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
  bool relu_ = false, clip_ = false;
  float lo_ = 0.f, hi_ = 0.f;
  int threads_ = 1;
};

}  // namespace

void register_qadd_kernels(KernelRegistry& registry) {
  registry.add(KernelDef{std::string(ir::kQAddOp), std::string(ir::kQwacDomain), 1, INT_MAX, "ref", false,
                         &QAddRefKernel::create});
}

}  // namespace qwac::kernels::ref
