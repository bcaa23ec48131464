// QLayerNorm (com.qwac, ir/fused_ops.h) in one pass per row, on the baseline ISA: the row's statistics from its
// integer codes, then the normalization, Scale, B and the quantization of the result, without the float copies of
// the unfused DequantizeLinear -> LayerNorm -> QuantizeLinear (the reference kernel, its twin and oracle in
// tests/kernels/qlayer_norm_test.cc).
//
// Numerics. LayerNorm is invariant to the dequantization's affine map up to epsilon: with d = q - zp,
// mean(x) = s * mean(d) and var(x) = s^2 * var(d), so y = (d - mean(d)) * (s / sqrt(s^2 var(d) + eps)) * Scale + B.
// The sums of d and d^2 are integers, accumulated exactly in int32 over blocks and in int64 across blocks; the
// variance is formed in double, as the reference does. The quantization multiplies by
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
constexpr int64_t kExactBlock = 16384;     // 255^2 * 16384 < 2^31: int32 sums of d^2 over a block are exact

template <typename QX, typename QY>
__attribute__((always_inline)) inline void normalize_row(const QX* x, QY* y, int64_t n, float x_scale, int32_t x_zp, double eps, const float* g,
                   const float* b, float y_zp) {
  // Integer sums (they vectorize; float sums would not without reassociation), exact within a block.
  int64_t sum = 0, sum_sq = 0;
  for (int64_t begin = 0; begin < n; begin += kExactBlock) {
    const int64_t end = std::min(n, begin + kExactBlock);
    int32_t s = 0, sq = 0;
    for (int64_t i = begin; i < end; ++i) {
      const int32_t d = static_cast<int32_t>(x[i]) - x_zp;
      s += d;
      sq += d * d;
    }
    sum += s;
    sum_sq += sq;
  }
  const double mean = static_cast<double>(sum) / static_cast<double>(n);
  const double var = std::max(0.0, static_cast<double>(sum_sq) / static_cast<double>(n) - mean * mean);
  const double s = x_scale;
  const float a = static_cast<float>(s / std::sqrt(s * s * var + eps));
  const float center = static_cast<float>(mean + x_zp);  // d - mean(d) = x - (zp + mean(d)), exact in float
  constexpr float qmin = static_cast<float>(std::numeric_limits<QY>::min());
  constexpr float qmax = static_cast<float>(std::numeric_limits<QY>::max());
  const float lo = qmin - y_zp, hi = qmax - y_zp;
  for (int64_t i = 0; i < n; ++i) {
    float t = (static_cast<float>(x[i]) - center) * a * g[i] + b[i];
    t = t == t ? t : 0.f;
    t = std::min(std::max(t, lo), hi);
    const float v = (t + kRoundMagic) - kRoundMagic + y_zp;
    y[i] = static_cast<QY>(static_cast<int32_t>(v));
  }
}

// The rows [begin, end): compiled for the baseline ISA and for AVX2 and AVX-512 (the same loops; the wider vectors
// halve or quarter the conversions between bytes and floats that dominate at transformer widths of 64-768). The
// AVX-512 target implies FMA, so this file is built with -ffp-contract=off (CMakeLists.txt): contracted
// multiply-adds would round differently from the baseline.
struct RowArgs {
  const void* x;
  void* y;
  int64_t n, begin, end;
  float x_scale;
  int32_t x_zp;
  double eps;
  const float* g;
  const float* b;
  float y_zp;
};

template <typename QX, typename QY>
__attribute__((always_inline)) inline void normalize_rows(const RowArgs& a) {
  const QX* x = static_cast<const QX*>(a.x);
  QY* y = static_cast<QY*>(a.y);
  for (int64_t r = a.begin; r < a.end; ++r) {
    normalize_row(x + r * a.n, y + r * a.n, a.n, a.x_scale, a.x_zp, a.eps, a.g, a.b, a.y_zp);
  }
}

template <typename QX, typename QY>
void normalize_rows_any(const RowArgs& a) {
  normalize_rows<QX, QY>(a);
}
template <typename QX, typename QY>
__attribute__((target("avx2"))) void normalize_rows_avx2(const RowArgs& a) {
  normalize_rows<QX, QY>(a);
}
template <typename QX, typename QY>
__attribute__((target("avx512f,avx512bw,avx512vl,avx512dq,prefer-vector-width=512"))) void normalize_rows_avx512(
    const RowArgs& a) {
  normalize_rows<QX, QY>(a);
}

using RowsFn = void (*)(const RowArgs&);

template <typename QX, typename QY>
RowsFn pick_rows_fn() {
  static const bool avx512 = __builtin_cpu_supports("avx512f") && __builtin_cpu_supports("avx512bw") &&
                             __builtin_cpu_supports("avx512vl") && __builtin_cpu_supports("avx512dq");
  static const bool avx2 = __builtin_cpu_supports("avx2");
  return avx512 ? &normalize_rows_avx512<QX, QY> : avx2 ? &normalize_rows_avx2<QX, QY> : &normalize_rows_any<QX, QY>;
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
    const int32_t x_zp = ref::zero_point_of(in, In::kXZeroPoint);
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
        const RowsFn fn = pick_rows_fn<QX, QY>();
        const int64_t rows = outer_, n = inner_;
        const int threads = rows * n > (1 << 14) ? static_cast<int>(std::min<int64_t>(threads_, rows)) : 1;
        RowArgs args{in[In::kX].raw(), out[0].raw(), n, 0, rows, x_scale, x_zp, eps_, g_.data(), b_.data(), y_zp};
#pragma omp parallel for num_threads(threads) schedule(static) if (threads > 1)
        for (int t = 0; t < threads; ++t) {
          RowArgs part = args;
          part.begin = rows * t / threads;
          part.end = rows * (t + 1) / threads;
          fn(part);
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
