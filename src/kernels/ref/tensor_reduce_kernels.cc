// Reductions (ReduceSum, ReduceMean, ReduceMax, ...) over any set of axes, and ArgMax / ArgMin.
//
// Each reduction is a small functor (init / step / finish) in a table keyed by op type; one generic loop runs
// them. Float inputs accumulate in double: this is the oracle, it should be the most accurate, not the fastest.
#include <cmath>
#include <cstring>
#include <limits>
#include <map>
#include <type_traits>

#include "ir/shape/tensor_reduce_params.h"
#include "kernels/ref/tensor_families.h"
#include "kernels/ref/tensor_kernel_util.h"

namespace qwac::kernels::ref {

namespace {

constexpr int64_t kParallelThreshold = 1 << 14;

template <typename T>
using Acc =
    std::conditional_t<std::is_floating_point_v<T>, double, std::conditional_t<std::is_signed_v<T>, int64_t, uint64_t>>;

template <typename T>
Acc<T> abs_value(T v) {
  if constexpr (std::is_signed_v<T>) return static_cast<Acc<T>>(v < 0 ? -v : v);
  return static_cast<Acc<T>>(v);
}

struct SumOp {
  template <typename T>
  static Acc<T> init() {
    return 0;
  }
  template <typename T>
  static Acc<T> step(Acc<T> a, T v) {
    return a + static_cast<Acc<T>>(v);
  }
  template <typename T>
  static T finish(Acc<T> a, int64_t) {
    return static_cast<T>(a);
  }
};
struct MeanOp {
  template <typename T>
  static Acc<T> init() {
    return 0;
  }
  template <typename T>
  static Acc<T> step(Acc<T> a, T v) {
    return a + static_cast<Acc<T>>(v);
  }
  template <typename T>
  static T finish(Acc<T> a, int64_t n) {
    if constexpr (std::is_floating_point_v<T>) return static_cast<T>(a / static_cast<double>(n));
    return n == 0 ? T{0} : static_cast<T>(a / static_cast<Acc<T>>(n));
  }
};
struct MaxOp {
  template <typename T>
  static Acc<T> init() {
    if constexpr (std::is_floating_point_v<T>) return -std::numeric_limits<double>::infinity();
    return static_cast<Acc<T>>(std::numeric_limits<T>::lowest());
  }
  template <typename T>
  static Acc<T> step(Acc<T> a, T v) {
    const Acc<T> x = static_cast<Acc<T>>(v);
    return x > a || x != x ? x : a;  // NaN propagates
  }
  template <typename T>
  static T finish(Acc<T> a, int64_t) {
    return static_cast<T>(a);
  }
};
struct MinOp {
  template <typename T>
  static Acc<T> init() {
    if constexpr (std::is_floating_point_v<T>) return std::numeric_limits<double>::infinity();
    return static_cast<Acc<T>>(std::numeric_limits<T>::max());
  }
  template <typename T>
  static Acc<T> step(Acc<T> a, T v) {
    const Acc<T> x = static_cast<Acc<T>>(v);
    return x < a || x != x ? x : a;
  }
  template <typename T>
  static T finish(Acc<T> a, int64_t) {
    return static_cast<T>(a);
  }
};
struct ProdOp {
  template <typename T>
  static Acc<T> init() {
    return 1;
  }
  template <typename T>
  static Acc<T> step(Acc<T> a, T v) {
    return a * static_cast<Acc<T>>(v);
  }
  template <typename T>
  static T finish(Acc<T> a, int64_t) {
    return static_cast<T>(a);
  }
};
struct L1Op {
  template <typename T>
  static Acc<T> init() {
    return 0;
  }
  template <typename T>
  static Acc<T> step(Acc<T> a, T v) {
    return a + abs_value(v);
  }
  template <typename T>
  static T finish(Acc<T> a, int64_t) {
    return static_cast<T>(a);
  }
};
struct SumSquareOp {
  template <typename T>
  static Acc<T> init() {
    return 0;
  }
  template <typename T>
  static Acc<T> step(Acc<T> a, T v) {
    return a + static_cast<Acc<T>>(v) * static_cast<Acc<T>>(v);
  }
  template <typename T>
  static T finish(Acc<T> a, int64_t) {
    return static_cast<T>(a);
  }
};
struct L2Op {
  template <typename T>
  static Acc<T> init() {
    return 0;
  }
  template <typename T>
  static Acc<T> step(Acc<T> a, T v) {
    return a + static_cast<Acc<T>>(v) * static_cast<Acc<T>>(v);
  }
  template <typename T>
  static T finish(Acc<T> a, int64_t) {
    return static_cast<T>(std::sqrt(static_cast<double>(a)));
  }
};
struct LogSumOp {
  template <typename T>
  static Acc<T> init() {
    return 0;
  }
  template <typename T>
  static Acc<T> step(Acc<T> a, T v) {
    return a + static_cast<Acc<T>>(v);
  }
  template <typename T>
  static T finish(Acc<T> a, int64_t) {
    return static_cast<T>(std::log(static_cast<double>(a)));
  }
};

// Offsets (in elements) of every element of the reduced sub-tensor relative to its first element, and of the
// first element of each output's sub-tensor.
struct ReduceLayout {
  std::vector<int64_t> reduced_offsets;
  std::vector<int64_t> output_bases;
};

// Enumerates the offsets of all index combinations of the dims where `select` is true (row-major order).
std::vector<int64_t> offsets_of(const Shape& shape, const std::vector<int64_t>& strides,
                                const std::vector<bool>& select, bool want) {
  std::vector<int64_t> offs = {0};
  for (size_t d = 0; d < shape.size(); ++d) {
    if (select[d] != want) continue;
    std::vector<int64_t> next;
    next.reserve(offs.size() * static_cast<size_t>(shape[d]));
    for (int64_t o : offs) {
      for (int64_t i = 0; i < shape[d]; ++i) next.push_back(o + i * strides[d]);
    }
    offs.swap(next);
  }
  return offs;
}

ReduceLayout reduce_layout(const Shape& in, const std::vector<bool>& reduced) {
  const std::vector<int64_t> strides = shape_strides(in);
  return {offsets_of(in, strides, reduced, true), offsets_of(in, strides, reduced, false)};
}

template <typename Op, typename T>
void reduce_typed(const ReduceLayout& l, const T* in, T* out) {
  const int64_t n_out = static_cast<int64_t>(l.output_bases.size());
  const int64_t n_red = static_cast<int64_t>(l.reduced_offsets.size());
#pragma omp parallel for if (n_out * n_red > kParallelThreshold)
  for (int64_t o = 0; o < n_out; ++o) {
    const T* base = in + l.output_bases[o];
    Acc<T> a = Op::template init<T>();
    for (int64_t r = 0; r < n_red; ++r) a = Op::template step<T>(a, base[l.reduced_offsets[r]]);
    out[o] = Op::template finish<T>(a, n_red);
  }
}

// log(sum(exp(x))) computed as max + log(sum(exp(x - max))) so large inputs do not overflow.
template <typename T>
void reduce_log_sum_exp(const ReduceLayout& l, const T* in, T* out) {
  const int64_t n_out = static_cast<int64_t>(l.output_bases.size());
  const int64_t n_red = static_cast<int64_t>(l.reduced_offsets.size());
#pragma omp parallel for if (n_out * n_red > kParallelThreshold)
  for (int64_t o = 0; o < n_out; ++o) {
    const T* base = in + l.output_bases[o];
    double m = -std::numeric_limits<double>::infinity();
    for (int64_t r = 0; r < n_red; ++r) m = std::max(m, static_cast<double>(base[l.reduced_offsets[r]]));
    if (!std::isfinite(m)) {
      out[o] = static_cast<T>(m);
      continue;
    }
    double s = 0;
    for (int64_t r = 0; r < n_red; ++r) s += std::exp(static_cast<double>(base[l.reduced_offsets[r]]) - m);
    out[o] = static_cast<T>(m + std::log(s));
  }
}

struct LogSumExpOp {};

template <typename Op>
KernelFactory make_reduce_factory() {
  return [](const KernelContext& ctx, std::string& reason) -> std::unique_ptr<Kernel> {
    const DType dtype = ctx.inputs.at(0).dtype;
    if (!is_computable_dtype(dtype) || dtype == DType::kBool) {
      reason = "dtype " + std::string(dtype_name(dtype)) + " is not supported";
      return nullptr;
    }
    const ir::ReduceParams p = ir::reduce_params(infer_context(ctx));
    if (p.noop) {
      return make_fn_kernel([](const std::vector<Tensor>& in, std::vector<Tensor>& out) {
        if (in[0].nbytes() > 0) std::memcpy(out[0].raw(), in[0].raw(), in[0].nbytes());
      });
    }
    const ReduceLayout layout = reduce_layout(ctx.inputs[0].shape, p.reduced);
    return make_fn_kernel([layout, dtype](const std::vector<Tensor>& in, std::vector<Tensor>& out) {
      dispatch_dtype(dtype, [&](auto tag) {
        using T = decltype(tag);
        if constexpr (!std::is_same_v<T, bool>) {
          if constexpr (std::is_same_v<Op, LogSumExpOp>) {
            reduce_log_sum_exp<T>(layout, in[0].data<T>(), out[0].data<T>());
          } else {
            reduce_typed<Op, T>(layout, in[0].data<T>(), out[0].data<T>());
          }
        }
      });
    });
  };
}

template <bool kMax>
std::unique_ptr<Kernel> create_arg_reduce(const KernelContext& ctx, std::string& reason) {
  const DType dtype = ctx.inputs.at(0).dtype;
  if (!is_computable_dtype(dtype) || dtype == DType::kBool) {
    reason = "dtype " + std::string(dtype_name(dtype)) + " is not supported";
    return nullptr;
  }
  const ir::ArgReduceParams p = ir::arg_reduce_params(infer_context(ctx));
  const Shape in_shape = ctx.inputs[0].shape;
  const int64_t outer = dims_product(in_shape, 0, static_cast<size_t>(p.axis));
  const int64_t dim = in_shape[p.axis];
  const int64_t inner = dims_product(in_shape, static_cast<size_t>(p.axis) + 1, in_shape.size());
  const bool last = p.select_last_index;
  return make_fn_kernel([=](const std::vector<Tensor>& in, std::vector<Tensor>& out) {
    int64_t* dst = out[0].data<int64_t>();
    dispatch_dtype(dtype, [&](auto tag) {
      using T = decltype(tag);
      if constexpr (!std::is_same_v<T, bool>) {
        const T* src = in[0].data<T>();
#pragma omp parallel for if (outer * dim * inner > kParallelThreshold)
        for (int64_t t = 0; t < outer * inner; ++t) {
          const int64_t o = t / inner, i = t % inner;
          const T* base = src + o * dim * inner + i;
          T best = base[0];
          int64_t best_k = 0;
          for (int64_t k = 1; k < dim; ++k) {
            const T v = base[k * inner];
            const bool better = kMax ? (last ? v >= best : v > best) : (last ? v <= best : v < best);
            if (better) {
              best = v;
              best_k = k;
            }
          }
          dst[t] = best_k;
        }
      }
    });
  });
}

}  // namespace

void register_tensor_reduce_kernels(KernelRegistry& registry) {
  const std::vector<std::pair<std::string, KernelFactory>> reductions = {
      {"ReduceSum", make_reduce_factory<SumOp>()},       {"ReduceMean", make_reduce_factory<MeanOp>()},
      {"ReduceMax", make_reduce_factory<MaxOp>()},       {"ReduceMin", make_reduce_factory<MinOp>()},
      {"ReduceProd", make_reduce_factory<ProdOp>()},     {"ReduceL1", make_reduce_factory<L1Op>()},
      {"ReduceL2", make_reduce_factory<L2Op>()},         {"ReduceSumSquare", make_reduce_factory<SumSquareOp>()},
      {"ReduceLogSum", make_reduce_factory<LogSumOp>()}, {"ReduceLogSumExp", make_reduce_factory<LogSumExpOp>()},
  };
  for (const auto& [op, factory] : reductions) registry.add(ref_kernel_def(op, 1, factory));
  registry.add(ref_kernel_def("ArgMax", 1, create_arg_reduce<true>));
  registry.add(ref_kernel_def("ArgMin", 1, create_arg_reduce<false>));
}

}  // namespace qwac::kernels::ref
