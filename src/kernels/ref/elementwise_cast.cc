// Cast and CastLike reference kernels: every pair of computational dtypes (bool included), float -> integer by
// truncation toward zero, and FLOAT16 targets rounded to float16 but stored as float32 (see elementwise_cast.h).
#include "kernels/ref/elementwise_cast.h"

#include <bit>
#include <cmath>
#include <cstdint>
#include <limits>
#include <string>

#include "kernels/kernel.h"
#include "kernels/ref/elementwise_common.h"
#include "kernels/ref/ref_families.h"

namespace qwac::kernels::ref {

float round_to_float16(float x) {
  if (!std::isfinite(x)) return x;
  const float a = std::fabs(x);
  constexpr float kOverflow = 65520.f;            // halfway between 65504 (max float16) and 65536: ties go up
  constexpr float kMinNormal = 6.103515625e-05f;  // 2^-14
  constexpr float kSubnormalStep = 5.9604644775390625e-08f;  // 2^-24
  if (a >= kOverflow) return std::copysign(std::numeric_limits<float>::infinity(), x);
  if (a < kMinNormal) {
    // Subnormal float16: a multiple of 2^-24. The division is exact (power of two) and nearbyint rounds half to
    // even in the default rounding mode.
    return std::copysign(std::nearbyint(a / kSubnormalStep) * kSubnormalStep, x);
  }
  // Normal: keep 10 of float32's 23 mantissa bits, rounding the dropped 13 bits half to even (a carry into the
  // exponent is the correct result).
  uint32_t bits = std::bit_cast<uint32_t>(a);
  const uint32_t lsb = (bits >> 13) & 1u;
  bits += 0x0FFFu + lsb;
  bits &= ~0x1FFFu;
  return std::copysign(std::bit_cast<float>(bits), x);
}

namespace {

template <typename Dst, typename Src>
Dst convert(Src v) {
  if constexpr (std::is_same_v<Dst, bool>) {
    return v != Src(0);
  } else if constexpr (kIsFloat<Src> && kIsInteger<Dst>) {
    // Truncation toward zero; NaN and out-of-range values are undefined in the spec: NaN -> 0, others saturate
    // (avoids C++ undefined behaviour).
    if (std::isnan(v)) return Dst(0);
    const double t = std::trunc(static_cast<double>(v));
    if (t <= static_cast<double>(std::numeric_limits<Dst>::lowest())) return std::numeric_limits<Dst>::lowest();
    if (t >= static_cast<double>(std::numeric_limits<Dst>::max())) return std::numeric_limits<Dst>::max();
    return static_cast<Dst>(t);
  } else {
    return static_cast<Dst>(v);
  }
}

template <typename Src, typename Dst>
class CastKernel final : public Kernel {
 public:
  CastKernel(bool to_float16, int num_threads) : to_float16_(to_float16), num_threads_(std::max(num_threads, 1)) {}

  void run(const std::vector<Tensor>& inputs, std::vector<Tensor>& outputs) override {
    const Src* src = inputs[0].data<Src>();
    Dst* dst = outputs[0].data<Dst>();
    const int64_t n = inputs[0].numel();
    const bool half = to_float16_;
#pragma omp parallel for schedule(static) num_threads(num_threads_) \
    if (num_threads_ > 1 && n >= kElementwiseParallelMinWork)
    for (int64_t i = 0; i < n; ++i) {
      Dst v = convert<Dst>(src[i]);
      if constexpr (std::is_same_v<Dst, float>) {
        if (half) v = round_to_float16(v);
      }
      dst[i] = v;
    }
  }

 private:
  bool to_float16_;
  int num_threads_;
};

std::unique_ptr<Kernel> make_cast_to(const KernelContext& ctx, DType target, bool to_float16, std::string& reason) {
  const DType src_dt = ctx.inputs.at(0).dtype;
  if (!has_computational_type(target)) {
    reason = ctx.node.describe() + ": cast to dtype " + std::string(dtype_name(target)) + " is not supported";
    return nullptr;
  }
  return dispatch_or_decline(ctx, src_dt, reason, [&](auto src_tag) -> std::unique_ptr<Kernel> {
    using Src = decltype(src_tag);
    return dispatch_dtype(target, [&](auto dst_tag) -> std::unique_ptr<Kernel> {
      using Dst = decltype(dst_tag);
      return std::make_unique<CastKernel<Src, Dst>>(to_float16, ctx.num_threads);
    });
  });
}

std::unique_ptr<Kernel> make_cast(const KernelContext& ctx, std::string& reason) {
  const int64_t to = ctx.node.attrs.get_int("to");
  const bool to_float16 = to == static_cast<int64_t>(DType::kFloat16);
  // Shape inference already mapped FLOAT16 to float32 storage and rejected unsupported codes.
  return make_cast_to(ctx, ctx.outputs.at(0).dtype, to_float16, reason);
}

std::unique_ptr<Kernel> make_cast_like(const KernelContext& ctx, std::string& reason) {
  return make_cast_to(ctx, ctx.outputs.at(0).dtype, false, reason);
}

}  // namespace

void register_elementwise_cast_kernels(KernelRegistry& registry) {
  registry.add(KernelDef{"Cast", "", 6, INT_MAX, "ref", false, &make_cast});
  registry.add(KernelDef{"CastLike", "", 15, INT_MAX, "ref", false, &make_cast_like});
}

}  // namespace qwac::kernels::ref
