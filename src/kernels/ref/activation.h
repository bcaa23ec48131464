// The scalar oracle of ir::Activation: what every fused activation computes, written once. The reference kernels
// (FusedConv, QConv, QGemm, QAdd, the standalone activation ops) apply it, the oneDNN int8 QAdd applies it to its
// float sums, and tests compare the oneDNN post-ops (kernels/dnnl/dnnl_activation.h) against it.
//
// T is float or double (the standalone ONNX ops on double tensors compute in double).
#pragma once

#include <algorithm>
#include <cmath>
#include <cstdint>

#include "ir/activation.h"

namespace qwac::kernels::ref {

template <typename T>
T activation_scalar(const ir::Activation& act, T x) {
  using K = ir::ActivationKind;
  const T alpha = static_cast<T>(act.alpha), beta = static_cast<T>(act.beta);
  switch (act.kind) {
    case K::kNone:
      return x;
    case K::kRelu:
      return x > T(0) ? x : T(0);
    case K::kLeakyRelu:
      return x < T(0) ? alpha * x : x;
    case K::kClip: {
      const T lower = x < alpha ? alpha : x;  // NaN stays NaN: comparisons with NaN are false
      return lower > beta ? beta : lower;
    }
    case K::kSigmoid: {
      if (x >= T(0)) return T(1) / (T(1) + std::exp(-x));  // two forms so exp never overflows
      const T e = std::exp(x);
      return e / (T(1) + e);
    }
    case K::kTanh:
      return std::tanh(x);
    case K::kHardSigmoid:
      return std::max(T(0), std::min(T(1), alpha * x + beta));
    case K::kHardSwish:
      return x * std::max(T(0), std::min(T(1), x * (T(1) / T(6)) + T(0.5)));
    case K::kSwish: {
      const T z = alpha * x;
      const T s = z >= T(0) ? T(1) / (T(1) + std::exp(-z)) : std::exp(z) / (T(1) + std::exp(z));
      return x * s;
    }
    case K::kGelu:
      return T(0.5) * x * (T(1) + std::erf(x * static_cast<T>(0.70710678118654752440)));
    case K::kGeluTanh: {
      const T k = static_cast<T>(0.79788456080286535588);  // sqrt(2 / pi)
      return T(0.5) * x * (T(1) + std::tanh(k * (x + static_cast<T>(0.044715) * x * x * x)));
    }
    case K::kElu:
      return x < T(0) ? alpha * (std::exp(x) - T(1)) : x;
    case K::kMish: {
      const T softplus = x > T(0) ? x + std::log1p(std::exp(-x)) : std::log1p(std::exp(x));  // exp never overflows
      return x * std::tanh(softplus);
    }
    case K::kCount:
      break;
  }
  return x;
}

// y[i] = act(y[i]) for n values. The switch is outside the loops so that the simple kinds vectorize.
template <typename T>
void apply_activation(const ir::Activation& act, T* y, int64_t n) {
  using K = ir::ActivationKind;
  switch (act.kind) {
    case K::kNone:
      return;
    case K::kRelu:
      for (int64_t i = 0; i < n; ++i) y[i] = y[i] > T(0) ? y[i] : T(0);
      return;
    case K::kClip: {
      const T lo = static_cast<T>(act.alpha), hi = static_cast<T>(act.beta);
      for (int64_t i = 0; i < n; ++i) {
        const T lower = y[i] < lo ? lo : y[i];
        y[i] = lower > hi ? hi : lower;
      }
      return;
    }
    default:
      for (int64_t i = 0; i < n; ++i) y[i] = activation_scalar(act, y[i]);
      return;
  }
}

}  // namespace qwac::kernels::ref
