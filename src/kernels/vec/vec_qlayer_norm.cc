// QLayerNorm (com.qwac, ir/fused_ops.h) in one pass per row, on the baseline ISA: the row's statistics from its
// integer codes, then the normalization, Scale, B and the quantization of the result, without the float copies of
// the unfused DequantizeLinear -> LayerNorm -> QuantizeLinear (the reference kernel, its twin and oracle in
// tests/kernels/qlayer_norm_test.cc).
//
// Numerics. LayerNorm is invariant to the dequantization's affine map up to epsilon: with d = q - zp,
// mean(x) = s * mean(d) and var(x) = s^2 * var(d), so y = (d - mean(d)) * (s / sqrt(s^2 var(d) + eps)) * Scale + B.
// The sums of d and d^2 are integers, accumulated exactly in float over blocks of 256 elements (|sum| < 2^24) and
// in double across blocks; the variance is formed in double, as the reference does. The quantization multiplies by
// Scale / y_scale and B / y_scale, precomputed, instead of dividing each result by y_scale: the same value up to
// float rounding, so a result within rounding of a half step may land one step away (the tests' tolerance), then
// rounds half to even and saturates as QuantizeLinear does.
#include <algorithm>
#include <cmath>
#include <limits>
#include <vector>

#include "ir/fused_ops.h"
#include "kernels/ref/quantized_kernel_util.h"
#include "kernels/vec/vec_families.h"

namespace qwac::kernels::vec {
namespace {

using In = ir::QLayerNormInputs;
constexpr float kRoundMagic = 12582912.f;  // 1.5 * 2^23: (v + M) - M rounds |v| < 2^22 half to even
constexpr int64_t kExactBlock = 256;       // 255^2 * 256 < 2^24: float sums of d^2 over a block are exact

template <typename QX, typename QY>
void normalize_row(const QX* x, QY* y, int64_t n, float x_scale, float x_zp, double eps, const float* g,
                   const float* b, float y_zp, float* scratch) {
  double sum = 0, sum_sq = 0;
  for (int64_t begin = 0; begin < n; begin += kExactBlock) {
    const int64_t end = std::min(n, begin + kExactBlock);
    float s = 0.f, sq = 0.f;
    for (int64_t i = begin; i < end; ++i) {
      const float d = static_cast<float>(x[i]) - x_zp;
      scratch[i] = d;
      s += d;
      sq += d * d;
    }
    sum += s;
    sum_sq += sq;
  }
  const double mean = sum / static_cast<double>(n);
  const double var = std::max(0.0, sum_sq / static_cast<double>(n) - mean * mean);
  const double s = x_scale;
  const float a = static_cast<float>(s / std::sqrt(s * s * var + eps));
  const float m = static_cast<float>(mean);
  constexpr float qmin = static_cast<float>(std::numeric_limits<QY>::min());
  constexpr float qmax = static_cast<float>(std::numeric_limits<QY>::max());
  const float lo = qmin - y_zp, hi = qmax - y_zp;
  for (int64_t i = 0; i < n; ++i) {
    float t = (scratch[i] - m) * a * g[i] + b[i];
    t = t == t ? t : 0.f;
    t = std::min(std::max(t, lo), hi);
    const float v = (t + kRoundMagic) - kRoundMagic + y_zp;
    y[i] = static_cast<QY>(static_cast<int32_t>(v));
  }
}

class QLayerNormKernel final : public Kernel {
 public:
  static std::unique_ptr<Kernel> create(const KernelContext& ctx, std::string& reason) {
    for (const BlockedFormatPtr& f : ctx.input_formats) {
      if (f) {
        reason = "reads plain tensors only";
        return nullptr;
      }
    }
    const ir::TensorInfo& x = ctx.inputs.at(In::kX);
    const int64_t rank = static_cast<int64_t>(x.shape.size());
    const int64_t axis = normalize_axis(ctx.node.attrs.get_int("axis", -1), rank, ctx.node.describe());
    const int64_t inner = shape_numel(Shape(x.shape.begin() + axis, x.shape.end()));
    const bool has_bias = ctx.inputs.size() > In::kBias && ctx.inputs[In::kBias].present();
    if (shape_numel(ctx.inputs.at(In::kScale).shape) != inner ||
        (has_bias && shape_numel(ctx.inputs[In::kBias].shape) != inner)) {
      reason = "Scale and B must have the normalized size (no broadcasting)";
      return nullptr;
    }
    if (inner <= 0) {
      reason = "empty normalized axes";
      return nullptr;
    }
    auto k = std::make_unique<QLayerNormKernel>();
    k->inner_ = inner;
    k->outer_ = shape_numel(x.shape) / inner;
    k->has_bias_ = has_bias;
    k->eps_ = ctx.node.attrs.get_float("epsilon", 1e-5f);
    k->x_type_ = x.dtype;
    k->y_type_ = ctx.outputs.at(0).dtype;
    k->threads_ = std::max(1, ctx.num_threads);
    return k;
  }

  void run(const std::vector<Tensor>& in, std::vector<Tensor>& out) override {
    const float x_scale = in[In::kXScale].data<float>()[0];
    const float x_zp = static_cast<float>(ref::zero_point_of(in, In::kXZeroPoint));
    const float y_scale = in[In::kYScale].data<float>()[0];
    const float y_zp = static_cast<float>(ref::zero_point_of(in[In::kYZeroPoint]));
    // Scale and B in output steps (they are constants in practice; recomputed per run, `inner` values).
    g_.resize(static_cast<size_t>(inner_));
    b_.assign(static_cast<size_t>(inner_), 0.f);
    const float* scale = in[In::kScale].data<float>();
    const float* bias = has_bias_ ? in[In::kBias].data<float>() : nullptr;
    for (int64_t i = 0; i < inner_; ++i) {
      g_[static_cast<size_t>(i)] = scale[i] / y_scale;
      if (bias != nullptr) b_[static_cast<size_t>(i)] = bias[i] / y_scale;
    }
    ref::with_8bit(x_type_, [&](auto xt) {
      ref::with_8bit(y_type_, [&](auto yt) {
        using QX = decltype(xt);
        using QY = decltype(yt);
        const QX* x = in[In::kX].data<QX>();
        QY* y = out[0].data<QY>();
        const int64_t rows = outer_, n = inner_;
#pragma omp parallel num_threads(threads_) if (threads_ > 1 && rows * n > (1 << 14))
        {
          std::vector<float> scratch(static_cast<size_t>(n));
#pragma omp for schedule(static)
          for (int64_t r = 0; r < rows; ++r) {
            normalize_row(x + r * n, y + r * n, n, x_scale, x_zp, eps_, g_.data(), b_.data(), y_zp, scratch.data());
          }
        }
      });
    });
  }

 private:
  int64_t inner_ = 1, outer_ = 1;
  bool has_bias_ = false;
  double eps_ = 1e-5;
  DType x_type_ = DType::kUInt8, y_type_ = DType::kUInt8;
  int threads_ = 1;
  std::vector<float> g_, b_;
};

}  // namespace

void register_qlayer_norm_kernels(KernelRegistry& registry) {
  registry.add(KernelDef{std::string(ir::kQLayerNormOp), std::string(ir::kQwacDomain), 1, INT_MAX, "vec", false,
                         &QLayerNormKernel::create});
}

}  // namespace qwac::kernels::vec
