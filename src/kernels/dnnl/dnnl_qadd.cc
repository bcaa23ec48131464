// QAdd and QMul (com.qwac, ir/fused_ops.h) as a vectorizable loop over the 8-bit operands, parallel with OpenMP. It
// computes exactly the reference's float simulation, float(q - zp) * scale per operand, the float sum (product), the
// activation and
// QuantizeLinear's division by y_scale and round-half-to-even (done by adding and subtracting 1.5 * 2^23 after the
// clamp to the output range, which the compiler can vectorize, where std::nearbyint is a library call). Relu and
// Clip are a clamp of the sum; other activations (kernels/ref/activation.h) are applied to blocks of sums.
//
// Element-wise math does not care about layout as long as both operands and the output share one: when an operand
// arrives in a oneDNN layout (the nhwc output of a QConv), the other is reordered into that layout if it is not
// already in it, and the output is written in it, so a residual block stays in the integer layout of its QConvs.
// Such a layout must hold no padding (nhwc, not nChw16c with 10 channels), since padded bytes would not stay zero.
// Plain operands broadcast as Add's; blocked ones must have equal shapes, except one broadcast case: a dense
// channels-last operand (a QConv's nhwc output) times a per-channel [N or 1, C, 1, ..., 1] one (the
// squeeze-and-excitation scale), computed row by row of C channels in the channels-last layout (else the kernel
// declines and the reference runs on plain tensors).
#include <algorithm>
#include <array>
#include <cmath>
#include <limits>
#include <type_traits>
#include <vector>

#include "ir/activation.h"
#include "ir/fused_ops.h"
#include "kernels/dnnl/dnnl_common.h"
#include "kernels/dnnl/dnnl_families.h"
#include "kernels/dnnl/dnnl_requantize.h"
#include "kernels/ref/activation.h"
#include "kernels/ref/elementwise_broadcast.h"
#include "kernels/ref/quantized_kernel_util.h"

namespace qwac::kernels::dnnl_impl {
namespace {

using In = ir::QAddInputs;
using dt = dnnl::memory::data_type;
using ref::with_8bit;

constexpr float kRoundMagic = 12582912.f;  // 1.5 * 2^23: (v + M) - M rounds |v| < 2^22 half to even
constexpr int64_t kChunk = 16384;          // elements per parallel task
constexpr int64_t kParallelMinWork = 32768;

struct QAddParams {
  float a_scale = 1.f, b_scale = 1.f, y_scale = 1.f;
  int32_t a_zp = 0, b_zp = 0, y_zp = 0;
  // Relu and Clip as a clamp of the sum (vectorizes); any other activation is applied by the oracle to blocks of
  // sums (`act`, kNone when the clamp does it).
  float lo = -std::numeric_limits<float>::infinity(), hi = std::numeric_limits<float>::infinity();
  ir::Activation act;
  float q_lo = 0.f, q_hi = 0.f;  // bounds of y / y_scale: the output type's range minus y_zp
};

// QuantizeLinear of the activated sum `s` (or the float itself for a float output).
template <typename Y>
__attribute__((always_inline)) inline Y store(float s, const QAddParams& p) {
  if constexpr (std::is_same_v<Y, float>) {
    return s;
  } else {
    float v = std::min(std::max(s / p.y_scale, p.q_lo), p.q_hi);
    v = (v + kRoundMagic) - kRoundMagic;
    return static_cast<Y>(static_cast<int32_t>(v) + p.y_zp);
  }
}

// y[i] = QuantizeLinear(activation(sum(i))) for i < n; `p` is the caller's local copy.
template <typename Y, typename Sum>
__attribute__((always_inline)) inline void store_span(Sum sum, Y* y, int64_t n, const QAddParams& p) {
  if (p.act.none()) {
    for (int64_t i = 0; i < n; ++i) y[i] = store<Y>(std::min(std::max(sum(i), p.lo), p.hi), p);
    return;
  }
  constexpr int64_t kBlock = 256;
  float s[kBlock];
  for (int64_t begin = 0; begin < n; begin += kBlock) {
    const int64_t count = std::min(kBlock, n - begin);
    for (int64_t i = 0; i < count; ++i) s[i] = sum(begin + i);
    ref::apply_activation(p.act, s, count);
    for (int64_t i = 0; i < count; ++i) y[begin + i] = store<Y>(s[i], p);
  }
}

// SA / SB: how far an operand advances per element (1, or 0 for a broadcast one). The parameters are copied to
// locals: the compiler cannot know that the 8-bit stores do not alias them.
template <bool M, typename A, typename B, typename Y, int SA, int SB>
__attribute__((always_inline)) inline void qadd_span(const A* a, const B* b, Y* y, int64_t n,
                                                     const QAddParams& params) {
  const QAddParams p = params;
  auto sum = [&](int64_t i) {
    const float fa = static_cast<float>(static_cast<int32_t>(a[i * SA]) - p.a_zp) * p.a_scale;
    const float fb = static_cast<float>(static_cast<int32_t>(b[i * SB]) - p.b_zp) * p.b_scale;
    return M ? fa * fb : fa + fb;
  };
  store_span<Y>(sum, y, n, p);
}

// The per-channel case: the 8-bit operand x (scale and zero point in p.a_*) against `f`, the other operand already
// dequantized and repeated along the span (a tile of whole channel rows). Float sums and products commute, so this
// is the reference's result whichever operand A was.
template <bool M, typename X, typename Y>
__attribute__((always_inline)) inline void qtile_span(const X* x, const float* f, Y* y, int64_t n,
                                                      const QAddParams& params) {
  const QAddParams p = params;
  auto sum = [&](int64_t i) {
    const float fx = static_cast<float>(static_cast<int32_t>(x[i]) - p.a_zp) * p.a_scale;
    return M ? fx * f[i] : fx + f[i];
  };
  store_span<Y>(sum, y, n, p);
}

using SpanFn = void (*)(const void* a, const void* b, void* y, int64_t n, int64_t sa, int64_t sb,
                        const QAddParams& p);

template <bool M, typename A, typename B, typename Y>
__attribute__((always_inline)) inline void qadd_dispatch(const void* a_raw, const void* b_raw, void* y_raw, int64_t n,
                                                         int64_t sa, int64_t sb, const QAddParams& p) {
  const A* a = static_cast<const A*>(a_raw);
  const B* b = static_cast<const B*>(b_raw);
  Y* y = static_cast<Y*>(y_raw);
  if (sa == 1 && sb == 1) {
    qadd_span<M, A, B, Y, 1, 1>(a, b, y, n, p);
  } else if (sa == 1) {
    qadd_span<M, A, B, Y, 1, 0>(a, b, y, n, p);
  } else if (sb == 1) {
    qadd_span<M, A, B, Y, 0, 1>(a, b, y, n, p);
  } else {
    qadd_span<M, A, B, Y, 0, 0>(a, b, y, n, p);
  }
}

// The same loops for the baseline x86-64 target and for AVX2 (twice the vector width, and 8-bit to float
// conversions in one instruction), picked at kernel creation. No FMA: a fused multiply-add would round
// differently from the reference's separate product and sum.
template <bool M, typename A, typename B, typename Y>
void qadd_span_any(const void* a, const void* b, void* y, int64_t n, int64_t sa, int64_t sb, const QAddParams& p) {
  qadd_dispatch<M, A, B, Y>(a, b, y, n, sa, sb, p);
}

#if defined(__x86_64__) && defined(__GNUC__)
template <bool M, typename A, typename B, typename Y>
__attribute__((target("avx2"))) void qadd_span_avx2(const void* a, const void* b, void* y, int64_t n, int64_t sa,
                                                    int64_t sb, const QAddParams& p) {
  qadd_dispatch<M, A, B, Y>(a, b, y, n, sa, sb, p);
}
constexpr bool kHaveAvx2Variant = true;
#else
template <bool M, typename A, typename B, typename Y>
void qadd_span_avx2(const void* a, const void* b, void* y, int64_t n, int64_t sa, int64_t sb, const QAddParams& p) {
  qadd_dispatch<M, A, B, Y>(a, b, y, n, sa, sb, p);
}
constexpr bool kHaveAvx2Variant = false;
#endif

using TileSpanFn = void (*)(const void* x, const float* f, void* y, int64_t n, const QAddParams& p);

template <bool M, typename X, typename Y>
void qtile_span_any(const void* x, const float* f, void* y, int64_t n, const QAddParams& p) {
  qtile_span<M>(static_cast<const X*>(x), f, static_cast<Y*>(y), n, p);
}

#if defined(__x86_64__) && defined(__GNUC__)
template <bool M, typename X, typename Y>
__attribute__((target("avx2"))) void qtile_span_avx2(const void* x, const float* f, void* y, int64_t n,
                                                     const QAddParams& p) {
  qtile_span<M>(static_cast<const X*>(x), f, static_cast<Y*>(y), n, p);
}
#else
template <bool M, typename X, typename Y>
void qtile_span_avx2(const void* x, const float* f, void* y, int64_t n, const QAddParams& p) {
  qtile_span<M>(static_cast<const X*>(x), f, static_cast<Y*>(y), n, p);
}
#endif

bool cpu_has_avx2() {
#if defined(__x86_64__) && defined(__GNUC__)
  static const bool avx2 = __builtin_cpu_supports("avx2");
  return avx2;
#else
  return false;
#endif
}

template <bool M>
SpanFn span_fn(DType a, DType b, DType y) {
  const bool avx2 = kHaveAvx2Variant && cpu_has_avx2();
  SpanFn fn = nullptr;
  with_8bit(a, [&](auto ta) {
    with_8bit(b, [&](auto tb) {
      using A = decltype(ta);
      using B = decltype(tb);
      if (y == DType::kFloat32) {
        fn = avx2 ? &qadd_span_avx2<M, A, B, float> : &qadd_span_any<M, A, B, float>;
      } else {
        with_8bit(y, [&](auto ty) {
          using Y = decltype(ty);
          fn = avx2 ? &qadd_span_avx2<M, A, B, Y> : &qadd_span_any<M, A, B, Y>;
        });
      }
    });
  });
  return fn;
}

template <bool M>
TileSpanFn tile_fn(DType x, DType y) {
  const bool avx2 = kHaveAvx2Variant && cpu_has_avx2();
  TileSpanFn fn = nullptr;
  with_8bit(x, [&](auto tx) {
    using X = decltype(tx);
    if (y == DType::kFloat32) {
      fn = avx2 ? &qtile_span_avx2<M, X, float> : &qtile_span_any<M, X, float>;
    } else {
      with_8bit(y, [&](auto ty) {
        using Y = decltype(ty);
        fn = avx2 ? &qtile_span_avx2<M, X, Y> : &qtile_span_any<M, X, Y>;
      });
    }
  });
  return fn;
}

dt dnnl_8bit(DType t) {
  return t == DType::kUInt8 ? dt::u8 : dt::s8;
}

// `md` with another element type (same dims and layout).
dnnl::memory::desc with_type(const dnnl::memory::desc& md, dt t) {
  dnnl_memory_desc_t d = md.data;
  d.data_type = static_cast<dnnl_data_type_t>(t);
  return dnnl::memory::desc(d);
}

// Whether `md` holds `shape` densely in channels-last order (dims 0, 2, 3, ..., 1 from outer to inner).
bool channels_last_dense(const dnnl::memory::desc& md, const Shape& shape) {
  if (shape.size() < 3) return false;
  dnnl::memory::dims strides(shape.size());
  int64_t stride = 1;
  strides[1] = stride;
  stride *= shape[1];
  for (size_t d = shape.size() - 1; d >= 2; --d) {
    strides[d] = stride;
    stride *= shape[d];
  }
  strides[0] = stride;
  const dnnl::memory::desc want(dnnl::memory::dims(shape.begin(), shape.end()), md.data_type(), strides);
  return md == want;
}

// Whether `small` is [N or 1, C, 1, ..., 1] against the full `shape` [N, C, ...] (a per-channel operand).
bool per_channel_of(const Shape& small, const Shape& shape) {
  if (small.size() != shape.size() || shape.size() < 3) return false;
  if (small[0] != shape[0] && small[0] != 1) return false;
  if (small[1] != shape[1]) return false;
  for (size_t d = 2; d < shape.size(); ++d) {
    if (small[d] != 1) return false;
  }
  return true;
}

// kMul: QMul (product), else QAdd (sum).
template <bool kMul>
class QBinaryKernel final : public Kernel {
 public:
  static std::unique_ptr<Kernel> create(const KernelContext& ctx, std::string& reason);

  void run(const std::vector<Tensor>& inputs, std::vector<Tensor>& outputs) override {
    const char* a = static_cast<const char*>(inputs[In::kA].raw());
    const char* b = static_cast<const char*>(inputs[In::kB].raw());
    char* y = static_cast<char*>(outputs[0].raw());
    const int64_t y_size = outputs[0].dtype() == DType::kFloat32 ? 4 : 1;
    if (blocked_ || rows_ > 0) {
      dnnl::stream& stream = cpu_stream();
      a = static_cast<const char*>(a_.bind(a, stream).get_data_handle());
      b = static_cast<const char*>(b_.bind(b, stream).get_data_handle());
      if (a_.reorders() || b_.reorders()) stream.wait();
    }
    if (rows_ > 0) {
      run_per_channel(a_per_channel_ ? b : a, a_per_channel_ ? a : b, y, y_size);
      return;
    }
    if (blocked_) {
      const int64_t tasks = (numel_ + kChunk - 1) / kChunk;
      const int threads = numel_ >= kParallelMinWork ? threads_ : 1;
#pragma omp parallel for schedule(static) num_threads(threads) if (threads > 1)
      for (int64_t t = 0; t < tasks; ++t) {
        const int64_t begin = t * kChunk, count = std::min(kChunk, numel_ - begin);
        span_(a + begin, b + begin, y + begin * y_size, count, 1, 1, params_);
      }
      return;
    }
    const int64_t sa = plan_.inner_stride(0), sb = plan_.inner_stride(1);
    plan_.for_each_chunk<2>(threads_, [&](int64_t o, const std::array<int64_t, 2>& off, int64_t count) {
      span_(a + off[0], b + off[1], y + o * y_size, count, sa, sb, params_);
    });
  }

  BlockedFormatPtr output_format(size_t) const override { return out_format_; }

 private:
  // A blocked operand against a per-channel one: the channels-last path; false (with `reason`) when it does not fit.
  bool create_per_channel(const KernelContext& ctx, std::string& reason);

  // Channels-last rows of C elements of `big` against the per-channel `small`: the small operand dequantized once
  // per image into a tile of `tile_rows_` whole rows, then spans of up to that many rows at a time, so that the loop
  // vectorizes however few channels there are (a row-by-row loop over 16 channels ran at a fraction of the speed).
  void run_per_channel(const char* big, const char* small, char* y, int64_t y_size) {
    const int64_t c = channels_, tile = tile_rows_ * c;
    for (int64_t n = 0; n < small_batch_; ++n) {
      float* f = tiles_.data() + n * tile;
      for (int64_t j = 0; j < c; ++j) {
        const int32_t q = small_signed_ ? static_cast<int8_t>(small[n * c + j]) : static_cast<uint8_t>(small[n * c + j]);
        f[j] = static_cast<float>(q - small_zp_) * small_scale_;
      }
      for (int64_t r = 1; r < tile_rows_; ++r) std::copy(f, f + c, f + r * c);
    }
    const int64_t images = rows_ / rows_per_batch_;
    const int64_t tasks_per_image = (rows_per_batch_ + tile_rows_ - 1) / tile_rows_;
    const int64_t tasks = images * tasks_per_image;
    const int threads = rows_ * c >= kParallelMinWork ? threads_ : 1;
#pragma omp parallel for schedule(static) num_threads(threads) if (threads > 1)
    for (int64_t t = 0; t < tasks; ++t) {
      const int64_t image = t / tasks_per_image, r0 = (t % tasks_per_image) * tile_rows_;
      const int64_t count = std::min(tile_rows_, rows_per_batch_ - r0) * c;
      const int64_t begin = (image * rows_per_batch_ + r0) * c;
      const float* f = tiles_.data() + (small_batch_ > 1 ? image : 0) * tile;
      tile_span_(big + begin, f, y + begin * y_size, count, tile_params_);
    }
  }

  QAddParams params_;
  SpanFn span_ = nullptr;
  int threads_ = 1;
  ref::BroadcastPlan plan_;  // plain operands
  bool blocked_ = false;     // operands and output in one oneDNN layout, `numel_` elements each
  int64_t numel_ = 0;
  // Channels-last against per-channel: `rows_` rows of `channels_`; the small operand has `small_batch_` rows.
  int64_t rows_ = 0, channels_ = 0, rows_per_batch_ = 1, small_batch_ = 1;
  bool a_per_channel_ = false;
  // The per-channel path: the big operand's scale and zero point as tile_params_.a_*, the small one's below, and
  // one tile of dequantized rows per image of the small operand.
  TileSpanFn tile_span_ = nullptr;
  QAddParams tile_params_;
  int64_t tile_rows_ = 1;
  bool small_signed_ = false;
  float small_scale_ = 1.f;
  int32_t small_zp_ = 0;
  std::vector<float> tiles_;
  InputAdapter a_, b_;
  BlockedFormatPtr out_format_;
};

template <bool kMul>
bool QBinaryKernel<kMul>::create_per_channel(const KernelContext& ctx, std::string& reason) {
  const Shape& y_shape = ctx.outputs[0].shape;
  const Shape& sa = ctx.inputs[In::kA].shape;
  const Shape& sb = ctx.inputs[In::kB].shape;
  const bool a_small = sa != y_shape;
  const size_t big = a_small ? In::kB : In::kA, small = a_small ? In::kA : In::kB;
  const BlockedFormatPtr f_big = big < ctx.input_formats.size() ? ctx.input_formats[big] : nullptr;
  if ((a_small ? sb : sa) != y_shape || !per_channel_of(a_small ? sa : sb, y_shape) || !f_big) {
    reason = "an operand in a blocked layout is broadcast";
    return false;
  }
  dnnl::memory::desc given_big = plain_desc(ctx.inputs[big].shape, dnnl_8bit(ctx.inputs[big].dtype));
  if (!given_desc(ctx, big, given_big, reason)) return false;
  if (!channels_last_dense(given_big, y_shape)) {
    reason = "an operand in a blocked layout is broadcast, and the full one is not dense channels-last";
    return false;
  }
  const dnnl::memory::desc plain_small = plain_desc(ctx.inputs[small].shape, dnnl_8bit(ctx.inputs[small].dtype));
  dnnl::memory::desc given_small = plain_small;
  const bool small_blocked = small < ctx.input_formats.size() && ctx.input_formats[small];
  if (small_blocked && !given_desc(ctx, small, given_small, reason)) return false;
  InputAdapter& big_adapter = a_small ? b_ : a_;
  InputAdapter& small_adapter = a_small ? a_ : b_;
  if (!try_create([&] { big_adapter = InputAdapter(given_big, given_big); }, reason, "binding of the full operand") ||
      !try_create([&] { small_adapter = InputAdapter(given_small, plain_small); }, reason,
                  "reorder of the per-channel operand")) {
    return false;
  }
  channels_ = y_shape[1];
  rows_ = shape_numel(y_shape) / channels_;
  rows_per_batch_ = rows_ / y_shape[0];
  small_batch_ = ctx.inputs[small].shape[0];
  a_per_channel_ = a_small;
  // Tiles of about 1024 elements: whole rows, at least one.
  tile_rows_ = std::max<int64_t>(1, std::min<int64_t>(rows_per_batch_, 1024 / channels_));
  tiles_.assign(static_cast<size_t>(small_batch_ * tile_rows_ * channels_), 0.f);
  tile_span_ = tile_fn<kMul>(ctx.inputs[big].dtype, ctx.outputs[0].dtype);
  tile_params_ = params_;
  tile_params_.a_scale = a_small ? params_.b_scale : params_.a_scale;
  tile_params_.a_zp = a_small ? params_.b_zp : params_.a_zp;
  small_scale_ = a_small ? params_.a_scale : params_.b_scale;
  small_zp_ = a_small ? params_.a_zp : params_.b_zp;
  small_signed_ = ctx.inputs[small].dtype == DType::kInt8;
  const DType y_type = ctx.outputs[0].dtype;
  out_format_ = format_of(with_type(given_big, y_type == DType::kFloat32 ? dt::f32 : dnnl_8bit(y_type)));
  return true;
}

template <bool kMul>
std::unique_ptr<Kernel> QBinaryKernel<kMul>::create(const KernelContext& ctx, std::string& reason) {
  for (size_t i = 0; i < ctx.inputs.size(); ++i) {
    if (i == In::kA || i == In::kB) continue;
    if (i < ctx.input_formats.size() && ctx.input_formats[i]) {
      reason = "input " + std::to_string(i) + " is in a blocked layout; only A and B may be";
      return nullptr;
    }
    if (ctx.inputs[i].present() && ctx.inputs[i].value == nullptr) {
      reason = "input " + std::to_string(i) + " (a scale or zero point) is not constant";
      return nullptr;
    }
  }
  const ir::Node& node = ctx.node;
  auto k = std::make_unique<QBinaryKernel>();
  QAddParams& p = k->params_;
  p.a_scale = ctx.inputs.at(In::kAScale).value->data<float>()[0];
  p.b_scale = ctx.inputs.at(In::kBScale).value->data<float>()[0];
  p.a_zp = constant_zero_point(ctx, In::kAZeroPoint);
  p.b_zp = constant_zero_point(ctx, In::kBZeroPoint);
  const DType y_type = ctx.outputs.at(0).dtype;
  if (y_type != DType::kFloat32) {
    p.y_scale = ctx.inputs.at(In::kYScale).value->data<float>()[0];
    p.y_zp = constant_zero_point(ctx, In::kYZeroPoint);
    const bool u8 = y_type == DType::kUInt8;
    p.q_lo = static_cast<float>((u8 ? 0 : -128) - p.y_zp);
    p.q_hi = static_cast<float>((u8 ? 255 : 127) - p.y_zp);
  }
  for (float s : {p.a_scale, p.b_scale, p.y_scale}) {
    if (!(s > 0.f) || !std::isfinite(s)) {
      reason = "a scale is " + std::to_string(s) + ", expected positive and finite";
      return nullptr;
    }
  }
  const ir::Activation act = ir::Activation::from_attributes(node.attrs, node.describe());
  if (act.kind == ir::ActivationKind::kRelu) {
    p.lo = 0.f;
  } else if (act.kind == ir::ActivationKind::kClip) {
    p.lo = act.alpha;
    p.hi = act.beta;
  } else {
    p.act = act;
  }
  k->span_ = span_fn<kMul>(ctx.inputs[In::kA].dtype, ctx.inputs[In::kB].dtype, y_type);
  k->threads_ = std::max(1, ctx.num_threads);

  const BlockedFormatPtr fa = In::kA < ctx.input_formats.size() ? ctx.input_formats[In::kA] : nullptr;
  const BlockedFormatPtr fb = In::kB < ctx.input_formats.size() ? ctx.input_formats[In::kB] : nullptr;
  const Shape& y_shape = ctx.outputs[0].shape;
  if (!fa && !fb) {
    k->plan_ = ref::BroadcastPlan(y_shape, {ctx.inputs[In::kA].shape, ctx.inputs[In::kB].shape});
    return k;
  }
  if (ctx.inputs[In::kA].shape != y_shape || ctx.inputs[In::kB].shape != y_shape) {
    if (!k->create_per_channel(ctx, reason)) return nullptr;
    return k;
  }
  dnnl::memory::desc given_a = plain_desc(ctx.inputs[In::kA].shape, dnnl_8bit(ctx.inputs[In::kA].dtype));
  dnnl::memory::desc given_b = plain_desc(ctx.inputs[In::kB].shape, dnnl_8bit(ctx.inputs[In::kB].dtype));
  if (fa && !given_desc(ctx, In::kA, given_a, reason)) return nullptr;
  if (fb && !given_desc(ctx, In::kB, given_b, reason)) return nullptr;
  const dnnl::memory::desc& layout = fa ? given_a : given_b;
  k->numel_ = shape_numel(y_shape);
  if (static_cast<int64_t>(layout.get_size()) != k->numel_) {
    reason = "the operands' layout has padding or is not 8-bit";
    return nullptr;
  }
  const dnnl::memory::desc want_a = with_type(layout, dnnl_8bit(ctx.inputs[In::kA].dtype));
  const dnnl::memory::desc want_b = with_type(layout, dnnl_8bit(ctx.inputs[In::kB].dtype));
  if (!try_create([&] { k->a_ = InputAdapter(given_a, want_a); }, reason, "reorder of A") ||
      !try_create([&] { k->b_ = InputAdapter(given_b, want_b); }, reason, "reorder of B")) {
    return nullptr;
  }
  k->blocked_ = true;
  k->out_format_ = format_of(with_type(layout, y_type == DType::kFloat32 ? dt::f32 : dnnl_8bit(y_type)));
  return k;
}

}  // namespace

void register_qadd_kernels(KernelRegistry& registry) {
  registry.add(KernelDef{std::string(ir::kQAddOp), std::string(ir::kQwacDomain), 1, INT_MAX, "dnnl", true,
                         &QBinaryKernel<false>::create});
  registry.add(KernelDef{std::string(ir::kQMulOp), std::string(ir::kQwacDomain), 1, INT_MAX, "dnnl", true,
                         &QBinaryKernel<true>::create});
}

}  // namespace qwac::kernels::dnnl_impl
