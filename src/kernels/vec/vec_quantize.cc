// QuantizeLinear (float -> uint8/int8, per-tensor and per-axis, plain tensors) as a branch-free loop the compiler
// vectorizes on the baseline ISA, bit-exact with the reference kernel (kernels/ref/tensor_quantize_kernels.cc, its
// twin and oracle in the tests). Transformers quantize most activations outside a fused int8 op (LayerNorm, GELU,
// Softmax and attention outputs), where the reference loop's nearbyint call and per-element channel division
// cost more than the matmuls they feed.
//
// Numerics (as FakeQuantize's kernel): t = x / scale (a division, as ONNX; not a reciprocal multiplication, which
// rounds differently on ties), NaN -> 0, clamped to [qmin - zp, qmax - zp] (integer bounds, so clamping before
// rounding gives the saturated result), rounded half to even with the 1.5 * 2^23 trick (exact for |t| < 2^22),
// then + zp, converted exactly.
#include <algorithm>
#include <cmath>
#include <limits>
#include <type_traits>

#include "ir/shape/tensor_quantize_params.h"
#include "kernels/ref/tensor_kernel_util.h"
#include "kernels/vec/vec_families.h"
#include "kernels/vec/vec_quantize_span.h"

namespace qwac::kernels::vec {
namespace {

constexpr int64_t kParallelThreshold = 1 << 15;
constexpr int64_t kChunk = 8192;

// Per-axis with the channel innermost (inner == 1, e.g. the last axis of [tokens, channels]): one row of
// `channels` values, each with its own scale and zero point.
template <typename Q>
void quantize_row_per_channel(const float* x, Q* y, int64_t channels, const float* scale, const float* zp) {
  constexpr float qmin = static_cast<float>(std::numeric_limits<Q>::min());
  constexpr float qmax = static_cast<float>(std::numeric_limits<Q>::max());
  for (int64_t c = 0; c < channels; ++c) {
    float t = x[c] / scale[c];
    t = t == t ? t : 0.f;
    t = std::min(std::max(t, qmin - zp[c]), qmax - zp[c]);
    const float v = (t + kRoundMagic) - kRoundMagic + zp[c];
    y[c] = static_cast<Q>(static_cast<int32_t>(v));
  }
}

class QuantizeKernel final : public Kernel {
 public:
  static std::unique_ptr<Kernel> create(const KernelContext& ctx, std::string& reason) {
    for (const char* attr : {"block_size", "output_dtype"}) {
      if (ctx.node.attrs.has(attr)) {
        reason = std::string("attribute ") + attr + " is not implemented";
        return nullptr;
      }
    }
    if (ctx.inputs.at(0).dtype != DType::kFloat32) {
      reason = "input type " + std::string(dtype_name(ctx.inputs[0].dtype)) + " (only float is vectorized)";
      return nullptr;
    }
    const ir::InferContext ictx = ref::infer_context(ctx);
    const DType q = ir::quantize_output_dtype(ictx);
    if (q != DType::kUInt8 && q != DType::kInt8) {
      reason = "output type " + std::string(dtype_name(q)) + " (only uint8 and int8 are vectorized)";
      return nullptr;
    }
    auto k = std::make_unique<QuantizeKernel>();
    k->layout_ = ir::quant_layout(ictx);
    k->signed_ = q == DType::kInt8;
    return k;
  }

  void run(const std::vector<Tensor>& in, std::vector<Tensor>& out) override {
    if (signed_) {
      run_typed<int8_t>(in, out[0]);
    } else {
      run_typed<uint8_t>(in, out[0]);
    }
  }

 private:
  template <typename Q>
  void run_typed(const std::vector<Tensor>& in, Tensor& y_t) const {
    const float* x = in[0].data<float>();
    Q* y = y_t.data<Q>();
    const float* scale = in[1].data<float>();
    const bool has_zp = in.size() > 2 && !in[2].empty();
    const int64_t channels = layout_.channels, inner = layout_.inner, outer = layout_.outer;
    std::vector<float> zps(static_cast<size_t>(channels), 0.f);
    if (has_zp) {
      const Q* zp = in[2].data<Q>();
      for (int64_t c = 0; c < channels; ++c) zps[static_cast<size_t>(c)] = static_cast<float>(zp[c]);
    }
    const int64_t n = in[0].numel();
    if (layout_.axis < 0) {
      const int64_t chunks = (n + kChunk - 1) / kChunk;
      const float s = scale[0], z = zps[0];
#pragma omp parallel for if (n > kParallelThreshold)
      for (int64_t c = 0; c < chunks; ++c) {
        const int64_t begin = c * kChunk;
        quantize_run<Q>(x + begin, y + begin, std::min(kChunk, n - begin), s, z);
      }
    } else if (inner == 1) {
#pragma omp parallel for if (n > kParallelThreshold)
      for (int64_t o = 0; o < outer; ++o) {
        quantize_row_per_channel<Q>(x + o * channels, y + o * channels, channels, scale, zps.data());
      }
    } else {
      const int64_t rows = outer * channels;
#pragma omp parallel for if (n > kParallelThreshold)
      for (int64_t row = 0; row < rows; ++row) {
        const int64_t c = row % channels;
        quantize_run<Q>(x + row * inner, y + row * inner, inner, scale[c], zps[static_cast<size_t>(c)]);
      }
    }
  }

  ir::QuantLayout layout_;
  bool signed_ = false;
};

}  // namespace

void register_quantize_kernels(KernelRegistry& registry) {
  registry.add(KernelDef{"QuantizeLinear", "", 10, INT_MAX, "vec", false, &QuantizeKernel::create});
}

}  // namespace qwac::kernels::vec
