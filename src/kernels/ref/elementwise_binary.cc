// Broadcasting binary, variadic and ternary elementwise reference kernels: arithmetic, comparisons, logic, Pow,
// Mod, BitShift, PRelu, Max/Min/Sum/Mean and Where. One functor per op (math + allowed dtypes), generic kernels
// driven by a BroadcastPlan made at creation, and a table of (op, first opset, factory) rows.
#include <array>
#include <cmath>
#include <limits>
#include <string>
#include <type_traits>

#include "kernels/kernel.h"
#include "kernels/ref/elementwise_broadcast.h"
#include "kernels/ref/elementwise_common.h"
#include "kernels/ref/ref_families.h"

namespace qwac::kernels::ref {
namespace {

// ---------------------------------------------------------------------------------------------------------------
// Functors: `accepts<T>` is the op's constraint on the (common) input type; operator() the math.

struct Add {
  template <typename T>
  static constexpr bool accepts = kIsNumeric<T>;
  template <typename T>
  T operator()(T a, T b) const {
    return static_cast<T>(a + b);
  }
};

struct Sub {
  template <typename T>
  static constexpr bool accepts = kIsNumeric<T>;
  template <typename T>
  T operator()(T a, T b) const {
    return static_cast<T>(a - b);
  }
};

struct Mul {
  template <typename T>
  static constexpr bool accepts = kIsNumeric<T>;
  template <typename T>
  T operator()(T a, T b) const {
    return static_cast<T>(a * b);
  }
};

// Integer division truncates toward zero (C++ semantics, as ONNX Runtime and the spec's reference do). Integer
// division by zero is undefined in the spec; it yields 0 here instead of crashing the process.
struct Div {
  template <typename T>
  static constexpr bool accepts = kIsNumeric<T>;
  template <typename T>
  T operator()(T a, T b) const {
    if constexpr (kIsInteger<T>) {
      if (b == T(0)) return T(0);
      if constexpr (std::is_signed_v<T>) {
        if (b == T(-1)) return wrapping_negate(a);  // avoids the INT_MIN / -1 trap
      }
    }
    return static_cast<T>(a / b);
  }
};

// Mod: fmod = 0 takes the sign of the divisor (Python %), fmod = 1 the sign of the dividend (C fmod).
struct Mod {
  template <typename T>
  static constexpr bool accepts = kIsNumeric<T>;
  explicit Mod(const KernelContext& ctx) : c_style(ctx.node.attrs.get_int("fmod", 0) != 0) {}
  template <typename T>
  T operator()(T a, T b) const {
    T r;
    if constexpr (kIsFloat<T>) {
      r = std::fmod(a, b);
    } else {
      if (b == T(0)) return T(0);  // undefined in the spec; no trap
      if constexpr (std::is_signed_v<T>) {
        if (b == T(-1)) return T(0);
      }
      r = static_cast<T>(a % b);
    }
    if constexpr (std::is_signed_v<T>) {  // unsigned remainders never need the sign fix-up
      if (!c_style && r != T(0) && ((r < T(0)) != (b < T(0)))) r = static_cast<T>(r + b);
    }
    return r;
  }
  bool c_style;
};

// Max/Min propagate NaN like numpy's maximum/minimum (the spec's reference implementation).
struct Max {
  template <typename T>
  static constexpr bool accepts = kIsNumeric<T>;
  template <typename T>
  T operator()(T a, T b) const {
    if constexpr (kIsFloat<T>) {
      if (std::isnan(a) || std::isnan(b)) return std::numeric_limits<T>::quiet_NaN();
    }
    return a < b ? b : a;
  }
};

struct Min {
  template <typename T>
  static constexpr bool accepts = kIsNumeric<T>;
  template <typename T>
  T operator()(T a, T b) const {
    if constexpr (kIsFloat<T>) {
      if (std::isnan(a) || std::isnan(b)) return std::numeric_limits<T>::quiet_NaN();
    }
    return b < a ? b : a;
  }
};

struct PRelu {
  template <typename T>
  static constexpr bool accepts = kIsNumeric<T>;
  template <typename T>
  T operator()(T x, T slope) const {
    return x < T(0) ? static_cast<T>(slope * x) : x;
  }
};

struct BitShift {
  template <typename T>
  static constexpr bool accepts = kIsUnsignedInteger<T>;
  explicit BitShift(const KernelContext& ctx) {
    const std::string dir = ctx.node.attrs.get_string("direction");
    if (dir != "LEFT" && dir != "RIGHT") {
      throw InvalidModel(ctx.node.describe() + ": attribute 'direction' is '" + dir + "', expected LEFT or RIGHT");
    }
    left = dir == "LEFT";
  }
  template <typename T>
  T operator()(T a, T b) const {
    if (b >= static_cast<T>(sizeof(T) * 8)) return T(0);  // shifting out every bit (UB in C++)
    return static_cast<T>(left ? a << b : a >> b);
  }
  bool left = true;
};

struct And {
  template <typename T>
  static constexpr bool accepts = kIsBool<T>;
  bool operator()(bool a, bool b) const { return a && b; }
};
struct Or {
  template <typename T>
  static constexpr bool accepts = kIsBool<T>;
  bool operator()(bool a, bool b) const { return a || b; }
};
struct Xor {
  template <typename T>
  static constexpr bool accepts = kIsBool<T>;
  bool operator()(bool a, bool b) const { return a != b; }
};

struct Equal {
  template <typename T>
  static constexpr bool accepts = kIsAnyComputable<T>;
  template <typename T>
  bool operator()(T a, T b) const {
    return a == b;
  }
};
struct Less {
  template <typename T>
  static constexpr bool accepts = kIsNumeric<T>;
  template <typename T>
  bool operator()(T a, T b) const {
    return a < b;
  }
};
struct Greater {
  template <typename T>
  static constexpr bool accepts = kIsNumeric<T>;
  template <typename T>
  bool operator()(T a, T b) const {
    return a > b;
  }
};
struct LessOrEqual {
  template <typename T>
  static constexpr bool accepts = kIsNumeric<T>;
  template <typename T>
  bool operator()(T a, T b) const {
    return a <= b;
  }
};
struct GreaterOrEqual {
  template <typename T>
  static constexpr bool accepts = kIsNumeric<T>;
  template <typename T>
  bool operator()(T a, T b) const {
    return a >= b;
  }
};

// Pow: the exponent may have another type than the base; the result has the base's type. Integer powers with a
// non-negative integer exponent are computed exactly by squaring; everything else through double.
struct Pow {
  template <typename A, typename B>
  A operator()(A base, B exponent) const {
    if constexpr (std::is_same_v<A, float> && std::is_same_v<B, float>) {
      return std::pow(base, exponent);
    } else if constexpr (kIsInteger<A> && kIsInteger<B>) {
      bool non_negative = true;
      if constexpr (std::is_signed_v<B>) non_negative = exponent >= B(0);
      if (non_negative) {
        A result = A(1), factor = base;
        for (B e = exponent; e > B(0); e = static_cast<B>(e >> 1)) {
          if (e & B(1)) result = static_cast<A>(result * factor);
          factor = static_cast<A>(factor * factor);
        }
        return result;
      }
    }
    return static_cast<A>(std::pow(static_cast<double>(base), static_cast<double>(exponent)));
  }
};

// ---------------------------------------------------------------------------------------------------------------
// Kernels.

// out = fn(a, b) with numpy broadcasting; A and B are the input types. Runs where an input is constant along the
// run (scalar, per-channel) read it once per run.
template <typename Fn, typename A, typename B>
class BinaryKernel final : public Kernel {
 public:
  using Out = std::invoke_result_t<const Fn&, A, B>;
  BinaryKernel(Fn fn, const KernelContext& ctx)
      : fn_(std::move(fn)),
        plan_(ctx.outputs.at(0).shape, {ctx.inputs.at(0).shape, ctx.inputs.at(1).shape}),
        num_threads_(ctx.num_threads) {}

  void run(const std::vector<Tensor>& inputs, std::vector<Tensor>& outputs) override {
    const A* a = inputs[0].data<A>();
    const B* b = inputs[1].data<B>();
    Out* dst = outputs[0].data<Out>();
    const int64_t sa = plan_.inner_stride(0), sb = plan_.inner_stride(1);
    const Fn fn = fn_;
    plan_.for_each_chunk<2>(num_threads_, [&](int64_t o, const std::array<int64_t, 2>& off, int64_t n) {
      const A* pa = a + off[0];
      const B* pb = b + off[1];
      Out* pd = dst + o;
      if (sa == 1 && sb == 1) {
        for (int64_t i = 0; i < n; ++i) pd[i] = fn(pa[i], pb[i]);
      } else if (sa == 1) {
        const B vb = *pb;
        for (int64_t i = 0; i < n; ++i) pd[i] = fn(pa[i], vb);
      } else if (sb == 1) {
        const A va = *pa;
        for (int64_t i = 0; i < n; ++i) pd[i] = fn(va, pb[i]);
      } else {
        const Out v = fn(*pa, *pb);
        for (int64_t i = 0; i < n; ++i) pd[i] = v;
      }
    });
  }

 private:
  Fn fn_;
  BroadcastPlan plan_;
  int num_threads_;
};

template <typename Fn>
std::unique_ptr<Kernel> make_binary(const KernelContext& ctx, std::string& reason) {
  const DType dt = ctx.inputs.at(0).dtype;
  return dispatch_or_decline(ctx, dt, reason, [&](auto tag) -> std::unique_ptr<Kernel> {
    using T = decltype(tag);
    if constexpr (Fn::template accepts<T>) {
      return std::make_unique<BinaryKernel<Fn, T, T>>(make_functor<Fn>(ctx), ctx);
    } else {
      reason = unsupported_dtype_reason(ctx, dt);
      return nullptr;
    }
  });
}

std::unique_ptr<Kernel> make_pow(const KernelContext& ctx, std::string& reason) {
  const DType base_dt = ctx.inputs.at(0).dtype;
  const DType exp_dt = ctx.inputs.at(1).dtype;
  if (!has_computational_type(exp_dt)) {
    reason = unsupported_dtype_reason(ctx, exp_dt);
    return nullptr;
  }
  return dispatch_or_decline(ctx, base_dt, reason, [&](auto base_tag) -> std::unique_ptr<Kernel> {
    using A = decltype(base_tag);
    if constexpr (kIsNumeric<A>) {
      return dispatch_dtype(exp_dt, [&](auto exp_tag) -> std::unique_ptr<Kernel> {
        using B = decltype(exp_tag);
        if constexpr (kIsNumeric<B>) {
          return std::make_unique<BinaryKernel<Pow, A, B>>(Pow{}, ctx);
        } else {
          reason = unsupported_dtype_reason(ctx, exp_dt);
          return nullptr;
        }
      });
    } else {
      reason = unsupported_dtype_reason(ctx, base_dt);
      return nullptr;
    }
  });
}

// Max/Min/Sum/Mean over any number of inputs: out = broadcast(input 0), then out = fn(out, input k) for each
// further input (each step with its own plan); Mean divides by the count at the end.
template <typename Fn, typename T>
class VariadicKernel final : public Kernel {
 public:
  VariadicKernel(const KernelContext& ctx, bool mean) : mean_(mean), num_threads_(ctx.num_threads) {
    const Shape& out = ctx.outputs.at(0).shape;
    copy_plan_ = BroadcastPlan(out, {ctx.inputs.at(0).shape});
    for (size_t k = 1; k < ctx.inputs.size(); ++k) {
      step_plans_.emplace_back(out, std::vector<Shape>{out, ctx.inputs[k].shape});
    }
  }

  void run(const std::vector<Tensor>& inputs, std::vector<Tensor>& outputs) override {
    T* dst = outputs[0].data<T>();
    const T* first = inputs[0].data<T>();
    const int64_t s0 = copy_plan_.inner_stride(0);
    copy_plan_.for_each_chunk<1>(num_threads_, [&](int64_t o, const std::array<int64_t, 1>& off, int64_t n) {
      for (int64_t i = 0; i < n; ++i) dst[o + i] = first[off[0] + i * s0];
    });
    const Fn fn{};
    for (size_t k = 0; k < step_plans_.size(); ++k) {
      const BroadcastPlan& plan = step_plans_[k];
      const T* src = inputs[k + 1].data<T>();
      const int64_t s = plan.inner_stride(1);
      plan.for_each_chunk<2>(num_threads_, [&](int64_t o, const std::array<int64_t, 2>& off, int64_t n) {
        T* pd = dst + o;
        const T* ps = src + off[1];
        if (s == 1) {
          for (int64_t i = 0; i < n; ++i) pd[i] = fn(pd[i], ps[i]);
        } else {
          const T v = *ps;
          for (int64_t i = 0; i < n; ++i) pd[i] = fn(pd[i], v);
        }
      });
    }
    if (mean_) {
      const T count = static_cast<T>(inputs.size());
      const int64_t n = outputs[0].numel();
      const int threads = std::max(num_threads_, 1);
#pragma omp parallel for schedule(static) num_threads(threads) if (threads > 1 && n >= kElementwiseParallelMinWork)
      for (int64_t i = 0; i < n; ++i) dst[i] = static_cast<T>(dst[i] / count);
    }
  }

 private:
  bool mean_;
  int num_threads_;
  BroadcastPlan copy_plan_;
  std::vector<BroadcastPlan> step_plans_;
};

template <typename Fn, bool kMean>
std::unique_ptr<Kernel> make_variadic(const KernelContext& ctx, std::string& reason) {
  const DType dt = ctx.inputs.at(0).dtype;
  for (const ir::TensorInfo& in : ctx.inputs) {
    if (!in.present()) {
      reason = ctx.node.describe() + ": omitted inputs are not allowed";
      return nullptr;
    }
  }
  return dispatch_or_decline(ctx, dt, reason, [&](auto tag) -> std::unique_ptr<Kernel> {
    using T = decltype(tag);
    if constexpr (Fn::template accepts<T> && (!kMean || kIsFloat<T>)) {
      return std::make_unique<VariadicKernel<Fn, T>>(ctx, kMean);
    } else {
      reason = unsupported_dtype_reason(ctx, dt);
      return nullptr;
    }
  });
}

// Where(cond, x, y) with three-way broadcasting.
template <typename T>
class WhereKernel final : public Kernel {
 public:
  explicit WhereKernel(const KernelContext& ctx)
      : plan_(ctx.outputs.at(0).shape, {ctx.inputs.at(0).shape, ctx.inputs.at(1).shape, ctx.inputs.at(2).shape}),
        num_threads_(ctx.num_threads) {}

  void run(const std::vector<Tensor>& inputs, std::vector<Tensor>& outputs) override {
    const bool* cond = inputs[0].data<bool>();
    const T* x = inputs[1].data<T>();
    const T* y = inputs[2].data<T>();
    T* dst = outputs[0].data<T>();
    const int64_t sc = plan_.inner_stride(0), sx = plan_.inner_stride(1), sy = plan_.inner_stride(2);
    plan_.for_each_chunk<3>(num_threads_, [&](int64_t o, const std::array<int64_t, 3>& off, int64_t n) {
      for (int64_t i = 0; i < n; ++i) {
        dst[o + i] = cond[off[0] + i * sc] ? x[off[1] + i * sx] : y[off[2] + i * sy];
      }
    });
  }

 private:
  BroadcastPlan plan_;
  int num_threads_;
};

std::unique_ptr<Kernel> make_where(const KernelContext& ctx, std::string& reason) {
  const DType dt = ctx.inputs.at(1).dtype;
  return dispatch_or_decline(ctx, dt, reason,
                             [&](auto tag) -> std::unique_ptr<Kernel> {
                               return std::make_unique<WhereKernel<decltype(tag)>>(ctx);
                             });
}

// ---------------------------------------------------------------------------------------------------------------
// The table.

using FactoryFn = std::unique_ptr<Kernel> (*)(const KernelContext&, std::string&);

struct BinaryOpDef {
  const char* op_type;
  int64_t since_version;
  FactoryFn create;
};

const BinaryOpDef kBinaryOps[] = {
    {"Add", 7, &make_binary<Add>},
    {"Sub", 7, &make_binary<Sub>},
    {"Mul", 7, &make_binary<Mul>},
    {"Div", 7, &make_binary<Div>},
    {"Mod", 10, &make_binary<Mod>},
    {"Pow", 7, &make_pow},
    {"PRelu", 7, &make_binary<PRelu>},
    {"BitShift", 11, &make_binary<BitShift>},
    {"And", 7, &make_binary<And>},
    {"Or", 7, &make_binary<Or>},
    {"Xor", 7, &make_binary<Xor>},
    {"Equal", 7, &make_binary<Equal>},
    {"Less", 7, &make_binary<Less>},
    {"Greater", 7, &make_binary<Greater>},
    {"LessOrEqual", 12, &make_binary<LessOrEqual>},
    {"GreaterOrEqual", 12, &make_binary<GreaterOrEqual>},
    {"Max", 6, &make_variadic<Max, false>},
    {"Min", 6, &make_variadic<Min, false>},
    {"Sum", 6, &make_variadic<Add, false>},
    {"Mean", 6, &make_variadic<Add, true>},
    {"Where", 9, &make_where},
};

}  // namespace

void register_elementwise_binary_kernels(KernelRegistry& registry) {
  for (const BinaryOpDef& op : kBinaryOps) {
    registry.add(KernelDef{op.op_type, "", op.since_version, INT_MAX, "ref", false, op.create});
  }
}

}  // namespace qwac::kernels::ref
