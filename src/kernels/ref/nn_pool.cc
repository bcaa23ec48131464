// Reference pooling: MaxPool and GlobalMaxPool (float32, int8, uint8; MaxPool's optional int64 Indices),
// AveragePool and GlobalAveragePool (float32). Spatial axes are normalized to three, as for convolution; planes
// (N x C) run in parallel.
#include <array>
#include <limits>
#include <tuple>
#include <type_traits>

#include "ir/shape/nn_attrs.h"
#include "ir/shape/nn_window.h"
#include "kernels/ref/nn_families.h"
#include "kernels/ref/nn_kernel_util.h"

namespace qwac::kernels::ref {
namespace {

using nn::valid_range;
using Axes3 = std::array<int64_t, 3>;

struct PoolProblem {
  int64_t planes = 0;  // N x C
  Axes3 in{}, kernel{}, out{}, strides{}, dilations{}, pad_begin{}, pad_end{};
};

int64_t volume(const Axes3& a) { return a[0] * a[1] * a[2]; }

bool make_pool_problem(const ir::nn::WindowGeometry& g, const Shape& x, PoolProblem& p, std::string& reason) {
  const size_t k = g.rank();
  if (k > 3) {
    reason = "reference pooling supports 1 to 3 spatial axes, got " + std::to_string(k);
    return false;
  }
  p.planes = x[0] * x[1];
  for (Axes3* a : {&p.in, &p.kernel, &p.out, &p.strides, &p.dilations}) a->fill(1);
  p.pad_begin.fill(0);
  p.pad_end.fill(0);
  const size_t shift = 3 - k;
  for (size_t i = 0; i < k; ++i) {
    p.in[shift + i] = g.in[i];
    p.kernel[shift + i] = g.kernel[i];
    p.out[shift + i] = g.out[i];
    p.strides[shift + i] = g.strides[i];
    p.dilations[shift + i] = g.dilations[i];
    p.pad_begin[shift + i] = g.pad_begin[i];
    p.pad_end[shift + i] = g.pad_end[i];
  }
  return true;
}

// Visits the taps of the window of output position `o` that fall inside the input: fn(input offset in the plane,
// spatial index (d, h, w)).
template <typename Fn>
void for_each_valid_tap(const PoolProblem& p, const Axes3& o, Fn&& fn) {
  Axes3 start{}, lo{}, hi{};
  for (size_t a = 0; a < 3; ++a) {
    start[a] = o[a] * p.strides[a] - p.pad_begin[a];
    std::tie(lo[a], hi[a]) = valid_range(p.kernel[a], p.in[a], p.dilations[a], start[a]);
  }
  for (int64_t kd = lo[0]; kd < hi[0]; ++kd) {
    const int64_t id = start[0] + kd * p.dilations[0];
    for (int64_t kh = lo[1]; kh < hi[1]; ++kh) {
      const int64_t ih = start[1] + kh * p.dilations[1];
      for (int64_t kw = lo[2]; kw < hi[2]; ++kw) {
        const int64_t iw = start[2] + kw * p.dilations[2];
        fn((id * p.in[1] + ih) * p.in[2] + iw, Axes3{id, ih, iw});
      }
    }
  }
}

// Runs fn(plane, output position, flat output offset in the plane) for every output element.
template <typename Fn>
void for_each_output(const PoolProblem& p, int threads, Fn&& fn) {
  const int64_t out_plane = volume(p.out);
#pragma omp parallel for num_threads(threads) schedule(static)
  for (int64_t plane = 0; plane < p.planes; ++plane) {
    int64_t flat = 0;
    for (int64_t od = 0; od < p.out[0]; ++od)
      for (int64_t oh = 0; oh < p.out[1]; ++oh)
        for (int64_t ow = 0; ow < p.out[2]; ++ow) fn(plane, Axes3{od, oh, ow}, plane * out_plane + flat++);
  }
}

template <typename T>
void max_pool(const PoolProblem& p, bool column_major, int threads, const T* src, T* dst, int64_t* indices) {
  const int64_t in_plane = volume(p.in);
  for_each_output(p, threads, [&](int64_t plane, const Axes3& o, int64_t y_index) {
    const T* x = src + plane * in_plane;
    // No valid tap (a window entirely in padding) yields the lowest value and index -1, as ONNX Runtime does.
    T best = std::numeric_limits<T>::lowest();
    int64_t best_index = -1;
    for_each_valid_tap(p, o, [&](int64_t offset, const Axes3& i) {
      if (best_index < 0 || x[offset] > best) {  // strict '>': the first maximum in scan order wins
        best = x[offset];
        best_index = column_major ? i[0] + i[1] * p.in[0] + i[2] * p.in[0] * p.in[1] : offset;
      }
    });
    dst[y_index] = best;
    // Indices address the flattened N x C x D1 x ... tensor; only the spatial part follows storage_order.
    if (indices != nullptr) indices[y_index] = best_index < 0 ? -1 : plane * in_plane + best_index;
  });
}

std::unique_ptr<Kernel> create_max_pool(const KernelContext& ctx, std::string& reason) {
  const DType dt = ctx.inputs.at(0).dtype;
  if (dt != DType::kFloat32 && dt != DType::kInt8 && dt != DType::kUInt8) {
    reason = "reference MaxPool computes float32, int8 and uint8 only; input is " + std::string(dtype_name(dt));
    return nullptr;
  }
  const Shape& x = ctx.inputs[0].shape;
  PoolProblem p;
  if (!make_pool_problem(ir::nn::pool_geometry(ctx.node, x), x, p, reason)) return nullptr;
  const bool column_major = ir::nn::attr_int(ctx.node, "storage_order", 0) == 1;
  const int threads = nn::kernel_threads(ctx);
  return nn::make_function_kernel([=](const std::vector<Tensor>& in, std::vector<Tensor>& out) {
    Tensor* idx = nn::optional_output(out, 1);
    int64_t* pi = idx != nullptr ? idx->data<int64_t>() : nullptr;
    dispatch_dtype(in[0].dtype(), [&](auto tag) {
      using T = decltype(tag);
      if constexpr (std::is_same_v<T, float> || std::is_same_v<T, int8_t> || std::is_same_v<T, uint8_t>) {
        max_pool<T>(p, column_major, threads, in[0].data<T>(), out[0].data<T>(), pi);
      }
    });
  });
}

// count_include_pad counts the taps inside the explicitly padded input [-pad_begin, in + pad_end), not the extra
// positions a ceil_mode window may reach past pad_end (ONNX reference and PyTorch semantics).
std::unique_ptr<Kernel> create_average_pool(const KernelContext& ctx, std::string& reason) {
  if (!nn::inputs_are_float32(ctx, {0}, reason)) return nullptr;
  const Shape& x = ctx.inputs[0].shape;
  PoolProblem p;
  if (!make_pool_problem(ir::nn::pool_geometry(ctx.node, x), x, p, reason)) return nullptr;
  const bool count_include_pad = ir::nn::attr_int(ctx.node, "count_include_pad", 0) != 0;
  const int threads = nn::kernel_threads(ctx);
  return nn::make_function_kernel([=](const std::vector<Tensor>& in, std::vector<Tensor>& out) {
    const float* src = in[0].data<float>();
    float* dst = out[0].data<float>();
    const int64_t in_plane = volume(p.in);
    for_each_output(p, threads, [&](int64_t plane, const Axes3& o, int64_t y_index) {
      const float* xp = src + plane * in_plane;
      double sum = 0;
      int64_t count = 0;
      for_each_valid_tap(p, o, [&](int64_t offset, const Axes3&) {
        sum += xp[offset];
        ++count;
      });
      if (count_include_pad) {
        count = 1;
        for (size_t a = 0; a < 3; ++a) {
          const int64_t start = o[a] * p.strides[a];  // relative to the padded origin
          const auto [lo, hi] = valid_range(p.kernel[a], p.in[a] + p.pad_begin[a] + p.pad_end[a], p.dilations[a],
                                            start);
          count *= hi - lo;
        }
      }
      dst[y_index] = static_cast<float>(sum / static_cast<double>(count));
    });
  });
}

template <bool kMax, typename T>
void global_pool(int64_t planes, int64_t size, int threads, const T* src, T* dst) {
#pragma omp parallel for num_threads(threads) schedule(static)
  for (int64_t plane = 0; plane < planes; ++plane) {
    const T* xp = src + plane * size;
    if constexpr (kMax) {
      T best = std::numeric_limits<T>::lowest();
      for (int64_t i = 0; i < size; ++i) best = i == 0 || xp[i] > best ? xp[i] : best;
      dst[plane] = best;
    } else {
      double sum = 0;
      for (int64_t i = 0; i < size; ++i) sum += xp[i];
      dst[plane] = static_cast<T>(sum / static_cast<double>(size));
    }
  }
}

// GlobalMaxPool also takes int8/uint8 (the int8 engine path runs it on the integers); averages are float only.
template <bool kMax>
std::unique_ptr<Kernel> create_global_pool(const KernelContext& ctx, std::string& reason) {
  const DType dt = ctx.inputs.at(0).dtype;
  if (!kMax || (dt != DType::kInt8 && dt != DType::kUInt8)) {
    if (!nn::inputs_are_float32(ctx, {0}, reason)) return nullptr;
  }
  const Shape& x = ctx.inputs[0].shape;
  const int64_t planes = x[0] * x[1];
  const int64_t size = shape_numel(Shape(x.begin() + 2, x.end()));
  const int threads = nn::kernel_threads(ctx);
  return nn::make_function_kernel([=](const std::vector<Tensor>& in, std::vector<Tensor>& out) {
    dispatch_dtype(in[0].dtype(), [&](auto tag) {
      using T = decltype(tag);
      if constexpr (std::is_same_v<T, float> || (kMax && (std::is_same_v<T, int8_t> || std::is_same_v<T, uint8_t>))) {
        global_pool<kMax, T>(planes, size, threads, in[0].data<T>(), out[0].data<T>());
      }
    });
  });
}

}  // namespace

void register_nn_pool_kernels(KernelRegistry& registry) {
  registry.add(KernelDef{"MaxPool", "", 1, INT_MAX, "ref", false, create_max_pool});
  registry.add(KernelDef{"AveragePool", "", 1, INT_MAX, "ref", false, create_average_pool});
  registry.add(KernelDef{"GlobalAveragePool", "", 1, INT_MAX, "ref", false, create_global_pool<false>});
  registry.add(KernelDef{"GlobalMaxPool", "", 1, INT_MAX, "ref", false, create_global_pool<true>});
}

}  // namespace qwac::kernels::ref
