// FakeQuantize (com.qwac, ir/fused_ops.h): QuantizeLinear then DequantizeLinear in one float pass, bit-exact with
// the two reference kernels (tensor_quantize_kernels.cc): t = x / scale (a division, as ONNX), NaN -> 0, round half
// to even, + zero-point, saturate, then (q - zero-point) * scale.
//
// Speed: the loop body is branch-free float arithmetic so it vectorizes on the baseline ISA (no SSE4.1 round
// instruction needed): t is clamped first to [qmin - zp, qmax - zp], which gives the saturated result, and then
// rounded with the 1.5 * 2^23 trick, exact under round-to-nearest-even for |t| < 2^22 (|t| <= 65535 here).
// Per-tensor FakeQuantize is element-wise with 0 -> 0 exactly (q(0) = zp), so it runs on a blocked (oneDNN)
// layout as it is, padding included, and gives its output the same layout.
#include <algorithm>
#include <cmath>
#include <limits>
#include <type_traits>

#include "ir/fused_ops.h"
#include "ir/shape/tensor_quantize_params.h"
#include "kernels/ref/ref_families.h"
#include "kernels/ref/tensor_kernel_util.h"

namespace qwac::kernels::ref {
namespace {

constexpr int64_t kParallelThreshold = 1 << 15;
constexpr int64_t kQuantizeOpset = 13;  // layout rules of FakeQuantize are QuantizeLinear's at opset 13
constexpr float kRoundMagic = 12582912.f;  // 1.5 * 2^23

struct IntRange {
  float qmin = 0.f, qmax = 255.f;
};

IntRange range_of(DType zp_type) {
  IntRange r;
  dispatch_dtype(zp_type, [&](auto tag) {
    using Q = decltype(tag);
    if constexpr (std::is_integral_v<Q>) {
      r.qmin = static_cast<float>(std::numeric_limits<Q>::min());
      r.qmax = static_cast<float>(std::numeric_limits<Q>::max());
    }
  });
  return r;
}

// y[i] = fake_quant(x[i]) for one (scale, zero-point); the hot loop. Clamping t to [qmin - zp, qmax - zp] (integers)
// before rounding gives the saturated result directly: rounding cannot leave an interval with integer bounds.
void fake_quantize_run(const float* x, float* y, int64_t n, float scale, float zp, IntRange r) {
  const float lo = r.qmin - zp, hi = r.qmax - zp;
  for (int64_t i = 0; i < n; ++i) {
    float t = x[i] / scale;
    t = t == t ? t : 0.f;  // NaN quantizes to the zero-point
    t = std::min(std::max(t, lo), hi);
    const float v = (t + kRoundMagic) - kRoundMagic + zp;
    y[i] = (v - zp) * scale;
  }
}

float zero_point_at(const Tensor* zp, int64_t c) {
  if (zp == nullptr) return 0.f;
  float v = 0.f;
  dispatch_dtype(zp->dtype(), [&](auto tag) {
    using Q = decltype(tag);
    if constexpr (std::is_integral_v<Q>) v = static_cast<float>(zp->data<Q>()[c]);
  });
  return v;
}

class FakeQuantizeKernel final : public Kernel {
 public:
  static std::unique_ptr<Kernel> create(const KernelContext& ctx, std::string& reason) {
    for (size_t i = 1; i < ctx.input_formats.size(); ++i) {
      if (ctx.input_formats[i]) {
        reason = "scale and zero point must be plain tensors";
        return nullptr;
      }
    }
    if (ctx.inputs.at(0).dtype != DType::kFloat32) {
      reason = "input type " + std::string(dtype_name(ctx.inputs[0].dtype)) + " (expected float)";
      return nullptr;
    }
    std::vector<ir::TensorInfo> inputs = ctx.inputs;
    const ir::InferContext ictx(ctx.node, kQuantizeOpset, std::move(inputs));
    auto k = std::make_unique<FakeQuantizeKernel>();
    k->layout_ = ir::quant_layout(ictx);
    const bool blocked = !ctx.input_formats.empty() && ctx.input_formats[0] != nullptr;
    if (blocked && k->layout_.axis >= 0) {
      reason = "per-channel FakeQuantize needs a plain input";
      return nullptr;
    }
    if (blocked) k->format_ = ctx.input_formats[0];
    const DType zp_type = ctx.inputs.size() > 2 && ctx.inputs[2].present() ? ctx.inputs[2].dtype : DType::kUInt8;
    if (!ir::is_quantized_dtype(zp_type)) {
      reason = "zero point type " + std::string(dtype_name(zp_type)) + " (expected int8, uint8, int16 or uint16)";
      return nullptr;
    }
    k->range_ = range_of(zp_type);
    return k;
  }

  void run(const std::vector<Tensor>& inputs, std::vector<Tensor>& outputs) override {
    const float* x = static_cast<const float*>(inputs[0].raw());
    float* y = static_cast<float*>(outputs[0].raw());
    const float* scale = inputs[1].data<float>();
    const Tensor* zp = inputs.size() > 2 && !inputs[2].empty() ? &inputs[2] : nullptr;
    if (layout_.axis < 0) {
      // Blocked layouts: every element of the buffer, padding included (0 stays 0).
      const int64_t n = format_ ? static_cast<int64_t>(format_->nbytes() / sizeof(float)) : inputs[0].numel();
      run_chunked(x, y, n, scale[0], zero_point_at(zp, 0));
      return;
    }
    const int64_t channels = layout_.channels, inner = layout_.inner, rows = layout_.outer * channels;
    std::vector<float> zps(static_cast<size_t>(channels));
    for (int64_t c = 0; c < channels; ++c) zps[static_cast<size_t>(c)] = zero_point_at(zp, c);
    const IntRange r = range_;
#pragma omp parallel for if (rows * inner > kParallelThreshold)
    for (int64_t row = 0; row < rows; ++row) {
      const int64_t c = row % channels;
      fake_quantize_run(x + row * inner, y + row * inner, inner, scale[c], zps[static_cast<size_t>(c)], r);
    }
  }

  BlockedFormatPtr output_format(size_t) const override { return format_; }

 private:
  void run_chunked(const float* x, float* y, int64_t n, float scale, float zp) const {
    constexpr int64_t kChunk = 4096;
    const int64_t chunks = (n + kChunk - 1) / kChunk;
    const IntRange r = range_;
#pragma omp parallel for if (n > kParallelThreshold)
    for (int64_t c = 0; c < chunks; ++c) {
      const int64_t begin = c * kChunk;
      fake_quantize_run(x + begin, y + begin, std::min(kChunk, n - begin), scale, zp, r);
    }
  }

  ir::QuantLayout layout_;
  IntRange range_;
  BlockedFormatPtr format_;  // input layout (and so the output's) when blocked
};

}  // namespace

void register_fake_quantize_kernels(KernelRegistry& registry) {
  // Blocked inputs first (per-tensor); the plain candidate takes what it declines (per-channel on a blocked input,
  // which the runtime then converts to plain).
  registry.add(KernelDef{std::string(ir::kFakeQuantizeOp), std::string(ir::kQwacDomain), 1, INT_MAX, "ref", true,
                         &FakeQuantizeKernel::create});
  registry.add(KernelDef{std::string(ir::kFakeQuantizeOp), std::string(ir::kQwacDomain), 1, INT_MAX, "ref", false,
                         &FakeQuantizeKernel::create});
}

}  // namespace qwac::kernels::ref
