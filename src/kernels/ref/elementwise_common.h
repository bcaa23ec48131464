// Helpers shared by the elementwise reference kernels: dtype classes the op tables refer to, dispatch that declines
// (instead of throwing) on dtypes without a computational C++ type, and the per-family registration functions.
#pragma once

#include <memory>
#include <string>
#include <type_traits>

#include "core/dtype.h"
#include "kernels/kernel.h"

namespace qwac::kernels::ref {

// Elementwise loops below this many elements run on one thread: OpenMP fork/join would cost more.
inline constexpr int64_t kElementwiseParallelMinWork = 32768;

// Dtype classes used by the op tables' `accepts` facts.
template <typename T>
inline constexpr bool kIsFloat = std::is_floating_point_v<T>;
template <typename T>
inline constexpr bool kIsNumeric = std::is_arithmetic_v<T> && !std::is_same_v<T, bool>;
template <typename T>
inline constexpr bool kIsSignedNumeric = kIsNumeric<T> && std::is_signed_v<T>;
template <typename T>
inline constexpr bool kIsInteger = kIsNumeric<T> && std::is_integral_v<T>;
template <typename T>
inline constexpr bool kIsUnsignedInteger = kIsInteger<T> && std::is_unsigned_v<T>;
template <typename T>
inline constexpr bool kIsBool = std::is_same_v<T, bool>;
template <typename T>
inline constexpr bool kIsAnyComputable = true;

// -x with two's-complement wrap-around for integers (-INT_MIN is INT_MIN, as in every C runtime, instead of UB).
template <typename T>
T wrapping_negate(T x) {
  if constexpr (std::is_integral_v<T> && std::is_signed_v<T>) {
    using U = std::make_unsigned_t<T>;
    return static_cast<T>(static_cast<U>(U(0) - static_cast<U>(x)));
  } else {
    return static_cast<T>(-x);
  }
}

inline bool has_computational_type(DType t) { return dtype_size(t) != 0 && t != DType::kFloat16; }

// Like dispatch_dtype, but for a dtype without computational C++ type (string, float16, undefined) it sets
// `reason` and returns nullptr, so a kernel factory declines instead of throwing.
template <typename Fn>
std::unique_ptr<Kernel> dispatch_or_decline(const KernelContext& ctx, DType t, std::string& reason, Fn&& fn) {
  if (!has_computational_type(t)) {
    reason = ctx.node.describe() + ": dtype " + std::string(dtype_name(t)) + " is not supported";
    return nullptr;
  }
  return dispatch_dtype(t, std::forward<Fn>(fn));
}

// The decline reason for a dtype an op's spec does not allow.
inline std::string unsupported_dtype_reason(const KernelContext& ctx, DType t) {
  return ctx.node.describe() + ": dtype " + std::string(dtype_name(t)) + " is not supported by this op";
}

// Builds an op functor: from the kernel context when it has such a constructor (attributes, opset), else default.
template <typename Fn>
Fn make_functor(const KernelContext& ctx) {
  if constexpr (std::is_constructible_v<Fn, const KernelContext&>) {
    return Fn(ctx);
  } else {
    return Fn{};
  }
}

// Per-family registration, one file each (elementwise_kernels.cc calls them all).
void register_elementwise_unary_kernels(KernelRegistry& registry);   // elementwise_unary.cc
void register_elementwise_binary_kernels(KernelRegistry& registry);  // elementwise_binary.cc
void register_elementwise_cast_kernels(KernelRegistry& registry);    // elementwise_cast.cc
void register_elementwise_copy_kernels(KernelRegistry& registry);    // elementwise_copy.cc (Identity, Dropout)

}  // namespace qwac::kernels::ref
