// Unary elementwise reference kernels: one functor per op (its math and the dtypes its spec allows), one generic
// kernel, and a table of (op, first opset, factory) rows. Clip, whose bounds may be runtime inputs, has its own
// kernel.
#include <algorithm>
#include <cmath>
#include <limits>
#include <optional>
#include <string>
#include <type_traits>

#include "ir/activation.h"
#include "kernels/kernel.h"
#include "kernels/ref/activation.h"
#include "kernels/ref/elementwise_common.h"
#include "kernels/ref/ref_families.h"

namespace qwac::kernels::ref {
namespace {

// ---------------------------------------------------------------------------------------------------------------
// Functors. `accepts<T>` is the op's type constraint; operator() is the math, in T (float ops in float or double).

#define QWAC_FLOAT_UNARY(Name, ...)                      \
  struct Name {                                          \
    template <typename T>                                \
    static constexpr bool accepts = kIsFloat<T>;         \
    template <typename T>                                \
    T operator()(T x) const {                            \
      return __VA_ARGS__;                                \
    }                                                    \
  };

QWAC_FLOAT_UNARY(Softsign, x / (T(1) + std::fabs(x)))
QWAC_FLOAT_UNARY(Erf, std::erf(x))
QWAC_FLOAT_UNARY(Sqrt, std::sqrt(x))
QWAC_FLOAT_UNARY(Exp, std::exp(x))
QWAC_FLOAT_UNARY(Log, std::log(x))
QWAC_FLOAT_UNARY(Reciprocal, T(1) / x)
QWAC_FLOAT_UNARY(Floor, std::floor(x))
QWAC_FLOAT_UNARY(Ceil, std::ceil(x))
QWAC_FLOAT_UNARY(Round, std::nearbyint(x))  // default rounding mode: round half to even, as the spec requires
QWAC_FLOAT_UNARY(Sin, std::sin(x))
QWAC_FLOAT_UNARY(Cos, std::cos(x))
QWAC_FLOAT_UNARY(Tan, std::tan(x))
QWAC_FLOAT_UNARY(Asin, std::asin(x))
QWAC_FLOAT_UNARY(Acos, std::acos(x))
QWAC_FLOAT_UNARY(Atan, std::atan(x))
QWAC_FLOAT_UNARY(Sinh, std::sinh(x))
QWAC_FLOAT_UNARY(Cosh, std::cosh(x))
QWAC_FLOAT_UNARY(Asinh, std::asinh(x))
QWAC_FLOAT_UNARY(Acosh, std::acosh(x))
QWAC_FLOAT_UNARY(Atanh, std::atanh(x))
#undef QWAC_FLOAT_UNARY

// log(1 + exp(x)) without overflow for large x.
template <typename T>
T softplus(T x) {
  return x > T(0) ? x + std::log1p(std::exp(-x)) : std::log1p(std::exp(x));
}


struct Softplus {
  template <typename T>
  static constexpr bool accepts = kIsFloat<T>;
  template <typename T>
  T operator()(T x) const {
    return softplus(x);
  }
};

struct Relu {
  template <typename T>
  static constexpr bool accepts = kIsSignedNumeric<T>;
  template <typename T>
  T operator()(T x) const {
    return x > T(0) ? x : T(0);
  }
};


// The float activations of the table in ir/activation.h that ONNX has an op for and that have no kernel of their
// own below (Relu and Clip take integers too): the node's descriptor, parsed once, and the scalar oracle.
struct ActivationFn {
  template <typename T>
  static constexpr bool accepts = kIsFloat<T>;
  explicit ActivationFn(const KernelContext& ctx) {
    const std::optional<ir::Activation> parsed = ir::activation_from_node(ctx.node, ctx.opset);
    if (!parsed) throw InvalidModel(ctx.node.describe() + ": attributes do not describe a known activation");
    act = *parsed;
  }
  template <typename T>
  T operator()(T x) const {
    return activation_scalar(act, x);
  }
  ir::Activation act;
};

struct ThresholdedRelu {
  template <typename T>
  static constexpr bool accepts = kIsFloat<T>;
  explicit ThresholdedRelu(const KernelContext& ctx) : alpha(ctx.node.attrs.get_float("alpha", 1.0f)) {}
  template <typename T>
  T operator()(T x) const {
    return x > static_cast<T>(alpha) ? x : T(0);
  }
  float alpha;
};




struct Celu {
  template <typename T>
  static constexpr bool accepts = kIsFloat<T>;
  explicit Celu(const KernelContext& ctx) : alpha(ctx.node.attrs.get_float("alpha", 1.0f)) {}
  template <typename T>
  T operator()(T x) const {
    const T a = static_cast<T>(alpha);
    return std::max(T(0), x) + std::min(T(0), a * (std::exp(x / a) - T(1)));
  }
  float alpha;
};

struct Selu {
  template <typename T>
  static constexpr bool accepts = kIsFloat<T>;
  explicit Selu(const KernelContext& ctx)
      : alpha(ctx.node.attrs.get_float("alpha", 1.67326319217681884765625f)),
        gamma(ctx.node.attrs.get_float("gamma", 1.05070102214813232421875f)) {}
  template <typename T>
  T operator()(T x) const {
    const T g = static_cast<T>(gamma);
    return x > T(0) ? g * x : g * (static_cast<T>(alpha) * std::exp(x) - static_cast<T>(alpha));
  }
  float alpha, gamma;
};


struct Shrink {
  template <typename T>
  static constexpr bool accepts = kIsNumeric<T>;
  explicit Shrink(const KernelContext& ctx)
      : lambd(ctx.node.attrs.get_float("lambd", 0.5f)), bias(ctx.node.attrs.get_float("bias", 0.0f)) {}
  template <typename T>
  T operator()(T x) const {
    const double v = static_cast<double>(x);
    if (v < -lambd) return static_cast<T>(v + bias);
    if (v > lambd) return static_cast<T>(v - bias);
    return T(0);
  }
  double lambd, bias;
};

struct Abs {
  template <typename T>
  static constexpr bool accepts = kIsNumeric<T>;
  template <typename T>
  T operator()(T x) const {
    if constexpr (kIsFloat<T>) {
      return std::fabs(x);
    } else if constexpr (std::is_signed_v<T>) {
      return x < T(0) ? wrapping_negate(x) : x;
    } else {
      return x;
    }
  }
};

struct Neg {
  template <typename T>
  static constexpr bool accepts = kIsSignedNumeric<T>;
  template <typename T>
  T operator()(T x) const {
    return wrapping_negate(x);
  }
};

struct Sign {
  template <typename T>
  static constexpr bool accepts = kIsNumeric<T>;
  template <typename T>
  T operator()(T x) const {
    if constexpr (kIsFloat<T>) {
      if (std::isnan(x)) return x;
    }
    if constexpr (std::is_unsigned_v<T>) {
      return static_cast<T>(x > T(0));
    } else {
      return static_cast<T>(static_cast<int>(x > T(0)) - static_cast<int>(x < T(0)));
    }
  }
};

struct Not {
  template <typename T>
  static constexpr bool accepts = kIsBool<T>;
  template <typename T>
  T operator()(T x) const {
    return !x;
  }
};

struct IsNaN {
  template <typename T>
  static constexpr bool accepts = kIsFloat<T>;
  template <typename T>
  bool operator()(T x) const {
    return std::isnan(x);
  }
};

struct IsInf {
  template <typename T>
  static constexpr bool accepts = kIsFloat<T>;
  explicit IsInf(const KernelContext& ctx)
      : negative(ctx.node.attrs.get_int("detect_negative", 1) != 0),
        positive(ctx.node.attrs.get_int("detect_positive", 1) != 0) {}
  template <typename T>
  bool operator()(T x) const {
    return std::isinf(x) && (x > T(0) ? positive : negative);
  }
  bool negative, positive;
};

// ---------------------------------------------------------------------------------------------------------------
// The generic kernel.

template <typename Fn, typename T>
class UnaryKernel final : public Kernel {
 public:
  using Out = std::invoke_result_t<const Fn&, T>;
  UnaryKernel(Fn fn, int num_threads) : fn_(std::move(fn)), num_threads_(std::max(num_threads, 1)) {}

  void run(const std::vector<Tensor>& inputs, std::vector<Tensor>& outputs) override {
    const T* src = inputs[0].data<T>();
    Out* dst = outputs[0].data<Out>();
    const int64_t n = inputs[0].numel();
    const Fn fn = fn_;
#pragma omp parallel for schedule(static) num_threads(num_threads_) \
    if (num_threads_ > 1 && n >= kElementwiseParallelMinWork)
    for (int64_t i = 0; i < n; ++i) dst[i] = fn(src[i]);
  }

 private:
  Fn fn_;
  int num_threads_;
};

template <typename Fn>
std::unique_ptr<Kernel> make_unary(const KernelContext& ctx, std::string& reason) {
  const DType dt = ctx.inputs.at(0).dtype;
  return dispatch_or_decline(ctx, dt, reason, [&](auto tag) -> std::unique_ptr<Kernel> {
    using T = decltype(tag);
    if constexpr (Fn::template accepts<T>) {
      return std::make_unique<UnaryKernel<Fn, T>>(make_functor<Fn>(ctx), ctx.num_threads);
    } else {
      reason = unsupported_dtype_reason(ctx, dt);
      return nullptr;
    }
  });
}

// ---------------------------------------------------------------------------------------------------------------
// Clip: bounds are attributes before opset 11 and optional scalar inputs from opset 11 (read at run time, they may
// be computed). When min > max every output is max (spec, opset 13 text).

template <typename T>
class ClipKernel final : public Kernel {
 public:
  ClipKernel(const KernelContext& ctx) : from_inputs_(ctx.opset >= 11), num_threads_(std::max(ctx.num_threads, 1)) {
    if (!from_inputs_) {
      lo_ = static_cast<T>(ctx.node.attrs.get_float("min", std::numeric_limits<float>::lowest()));
      hi_ = static_cast<T>(ctx.node.attrs.get_float("max", std::numeric_limits<float>::max()));
    }
  }

  void run(const std::vector<Tensor>& inputs, std::vector<Tensor>& outputs) override {
    T lo = lo_, hi = hi_;
    if (from_inputs_) {
      if (inputs.size() > 1 && !inputs[1].empty()) lo = inputs[1].data<T>()[0];
      if (inputs.size() > 2 && !inputs[2].empty()) hi = inputs[2].data<T>()[0];
    }
    const T* src = inputs[0].data<T>();
    T* dst = outputs[0].data<T>();
    const int64_t n = inputs[0].numel();
#pragma omp parallel for schedule(static) num_threads(num_threads_) \
    if (num_threads_ > 1 && n >= kElementwiseParallelMinWork)
    for (int64_t i = 0; i < n; ++i) {
      const T x = src[i];
      // NaN stays NaN: comparisons with NaN are false and keep x.
      const T lower = x < lo ? lo : x;
      dst[i] = lower > hi ? hi : lower;
    }
  }

 private:
  bool from_inputs_;
  int num_threads_;
  T lo_ = std::numeric_limits<T>::lowest();
  T hi_ = std::numeric_limits<T>::max();
};

std::unique_ptr<Kernel> make_clip(const KernelContext& ctx, std::string& reason) {
  const DType dt = ctx.inputs.at(0).dtype;
  return dispatch_or_decline(ctx, dt, reason, [&](auto tag) -> std::unique_ptr<Kernel> {
    using T = decltype(tag);
    if constexpr (kIsNumeric<T>) {
      return std::make_unique<ClipKernel<T>>(ctx);
    } else {
      reason = unsupported_dtype_reason(ctx, dt);
      return nullptr;
    }
  });
}

// ---------------------------------------------------------------------------------------------------------------
// The table.

using FactoryFn = std::unique_ptr<Kernel> (*)(const KernelContext&, std::string&);

struct UnaryOpDef {
  const char* op_type;
  int64_t since_version;
  FactoryFn create;
};

const UnaryOpDef kUnaryOps[] = {
    {"Relu", 6, &make_unary<Relu>},
    {"Selu", 6, &make_unary<Selu>},
    {"Softplus", 1, &make_unary<Softplus>},
    {"Softsign", 1, &make_unary<Softsign>},
    {"Erf", 9, &make_unary<Erf>},
    {"Sqrt", 6, &make_unary<Sqrt>},
    {"Exp", 6, &make_unary<Exp>},
    {"Log", 6, &make_unary<Log>},
    {"Abs", 6, &make_unary<Abs>},
    {"Neg", 6, &make_unary<Neg>},
    {"Reciprocal", 6, &make_unary<Reciprocal>},
    {"Floor", 6, &make_unary<Floor>},
    {"Ceil", 6, &make_unary<Ceil>},
    {"Sign", 9, &make_unary<Sign>},
    {"Round", 11, &make_unary<Round>},
    {"Sin", 7, &make_unary<Sin>},
    {"Cos", 7, &make_unary<Cos>},
    {"Tan", 7, &make_unary<Tan>},
    {"Asin", 7, &make_unary<Asin>},
    {"Acos", 7, &make_unary<Acos>},
    {"Atan", 7, &make_unary<Atan>},
    {"Sinh", 9, &make_unary<Sinh>},
    {"Cosh", 9, &make_unary<Cosh>},
    {"Asinh", 9, &make_unary<Asinh>},
    {"Acosh", 9, &make_unary<Acosh>},
    {"Atanh", 9, &make_unary<Atanh>},
    {"ThresholdedRelu", 10, &make_unary<ThresholdedRelu>},
    {"Celu", 12, &make_unary<Celu>},
    {"Not", 1, &make_unary<Not>},
    {"Shrink", 9, &make_unary<Shrink>},
    {"IsNaN", 9, &make_unary<IsNaN>},
    {"IsInf", 10, &make_unary<IsInf>},
    {"Clip", 6, &make_clip},
};

}  // namespace

void register_elementwise_unary_kernels(KernelRegistry& registry) {
  for (const UnaryOpDef& op : kUnaryOps) {
    registry.add(KernelDef{op.op_type, "", op.since_version, INT_MAX, "ref", false, op.create});
  }
  // Every other activation of the table, read from it: a kind added there gets its ONNX op's kernel here.
  for (const ir::ActivationFacts& f : ir::kActivationFacts) {
    const bool own_kernel = std::any_of(std::begin(kUnaryOps), std::end(kUnaryOps),
                                        [&](const UnaryOpDef& op) { return f.onnx_op == op.op_type; });
    if (f.onnx_op.empty() || own_kernel) continue;
    registry.add(
        KernelDef{std::string(f.onnx_op), "", f.since_opset, INT_MAX, "ref", false, &make_unary<ActivationFn>});
  }
}

}  // namespace qwac::kernels::ref
