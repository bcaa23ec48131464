// Resize and Upsample: nearest (any dtype), n-linear and cubic (float), over any number of dims.
//
// Each output coordinate of each dim maps to a few input indices ("taps") with weights, computed once at compile
// time: 1 tap for nearest, 2 for linear, 4 for cubic. An output element is the sum over the tap combinations of
// the product of the per-dim weights times the input element, summed in the order ONNX Runtime's bilinear kernel
// uses, so results agree with it bit for bit in the common 2-D case.
#include <algorithm>
#include <array>
#include <cmath>
#include <cstring>

#include "ir/shape/tensor_resize_params.h"
#include "kernels/ref/tensor_families.h"
#include "kernels/ref/tensor_kernel_util.h"

namespace qwac::kernels::ref {

namespace {

constexpr int64_t kParallelThreshold = 1 << 14;

struct DimTaps {
  int64_t taps = 1;
  std::vector<int64_t> index;    // [out_len * taps], input index along this dim
  std::vector<float> weight;     // [out_len * taps]
  std::vector<uint8_t> outside;  // [out_len], 1 = extrapolate (tf_crop_and_resize)
};

int64_t nearest_index(ir::ResizeNearestMode mode, float x, float scale) {
  switch (mode) {
    case ir::ResizeNearestMode::kRoundPreferFloor:
      if (x == static_cast<float>(static_cast<int64_t>(x)) + 0.5f) return static_cast<int64_t>(x);
      return static_cast<int64_t>(std::round(x));
    case ir::ResizeNearestMode::kRoundPreferCeil:
      return static_cast<int64_t>(std::round(x));
    case ir::ResizeNearestMode::kFloor:
      return static_cast<int64_t>(std::floor(x));
    case ir::ResizeNearestMode::kCeil:
      return static_cast<int64_t>(std::ceil(x));
    case ir::ResizeNearestMode::kSimple:
      return scale < 1.f ? static_cast<int64_t>(std::ceil(x)) : static_cast<int64_t>(x);
  }
  return 0;
}

std::array<float, 4> cubic_coeffs(float s, float a) {
  const float s1 = s + 1, s2 = 1 - s, s3 = 2 - s;
  return {((a * s1 - 5 * a) * s1 + 8 * a) * s1 - 4 * a, ((a + 2) * s - (a + 3)) * s * s + 1,
          ((a + 2) * s2 - (a + 3)) * s2 * s2 + 1, ((a * s3 - 5 * a) * s3 + 8 * a) * s3 - 4 * a};
}

DimTaps make_dim_taps(const ir::ResizeParams& p, int64_t in_len, int64_t out_len, size_t d) {
  DimTaps t;
  t.taps = p.mode == ir::ResizeMode::kNearest ? 1 : p.mode == ir::ResizeMode::kLinear ? 2 : 4;
  t.index.assign(static_cast<size_t>(out_len * t.taps), 0);
  t.weight.assign(static_cast<size_t>(out_len * t.taps), 0.f);
  t.outside.assign(static_cast<size_t>(out_len), 0);
  const float last = static_cast<float>(in_len - 1);
  for (int64_t o = 0; o < out_len; ++o) {
    float x = ir::resize_original_coordinate(p, d, static_cast<float>(o), in_len);
    if (p.coord == ir::ResizeCoordMode::kTfCropAndResize && (x < 0.f || x > last)) {
      t.outside[o] = 1;
      continue;
    }
    int64_t* idx = &t.index[o * t.taps];
    float* w = &t.weight[o * t.taps];
    if (p.mode == ir::ResizeMode::kNearest) {
      idx[0] = std::clamp<int64_t>(nearest_index(p.nearest, x, p.scales[d]), 0, in_len - 1);
      w[0] = 1.f;
    } else if (p.mode == ir::ResizeMode::kLinear) {
      x = std::max(0.f, std::min(x, last));
      const int64_t x1 = std::min(static_cast<int64_t>(x), in_len - 1);
      const int64_t x2 = std::min(x1 + 1, in_len - 1);
      idx[0] = x1;
      idx[1] = x2;
      if (x1 == x2) {
        w[0] = w[1] = 0.5f;
      } else {
        w[0] = std::abs(x - static_cast<float>(x2));
        w[1] = std::abs(x - static_cast<float>(x1));
      }
    } else {
      const float xf = std::floor(x);
      const int64_t xi = static_cast<int64_t>(xf);
      std::array<float, 4> c = cubic_coeffs(x - xf, p.cubic_coeff_a);
      float sum = 0.f;
      for (int k = 0; k < 4; ++k) {
        const int64_t j = xi + k - 1;
        if (p.exclude_outside && (j < 0 || j >= in_len)) c[k] = 0.f;
        sum += c[k];
        idx[k] = std::clamp<int64_t>(j, 0, in_len - 1);
      }
      for (int k = 0; k < 4; ++k) w[k] = p.exclude_outside && sum != 0.f ? c[k] / sum : c[k];
    }
  }
  // A dim that maps every output to exactly one input with weight 1 (e.g. batch, channels) needs one tap only.
  if (t.taps > 1) {
    bool identity_like = true;
    for (int64_t o = 0; o < out_len && identity_like; ++o) {
      const float* w = &t.weight[o * t.taps];
      const int64_t* idx = &t.index[o * t.taps];
      float w0 = w[0];
      for (int64_t k = 1; k < t.taps; ++k) {
        if (idx[k] == idx[0]) {
          w0 += w[k];
        } else if (w[k] != 0.f) {
          identity_like = false;
        }
      }
      identity_like = identity_like && w0 == 1.f;
    }
    if (identity_like) {
      DimTaps one;
      one.outside = t.outside;
      for (int64_t o = 0; o < out_len; ++o) {
        one.index.push_back(t.index[o * t.taps]);
        one.weight.push_back(1.f);
      }
      return one;
    }
  }
  return t;
}

template <size_t N>
struct Bytes {
  unsigned char b[N];
};

// Nearest without extrapolation: a pure gather of elements, dtype-agnostic.
template <typename E>
void resize_nearest_copy(const std::vector<DimTaps>& dims, const Shape& in_shape, const Shape& out_shape, const E* in,
                         E* out) {
  const int64_t numel = shape_numel(out_shape);
  if (numel == 0) return;
  const int64_t rank = static_cast<int64_t>(out_shape.size());
  if (rank == 0) {
    out[0] = in[0];
    return;
  }
  const std::vector<int64_t> strides = shape_strides(in_shape);
  const int64_t n = out_shape.back();
  const int64_t rows = numel / n;
  const std::vector<int64_t>& last = dims.back().index;
#pragma omp parallel for if (numel > kParallelThreshold)
  for (int64_t r = 0; r < rows; ++r) {
    int64_t rem = r, off = 0;
    for (int64_t d = rank - 2; d >= 0; --d) {
      off += dims[d].index[rem % out_shape[d]] * strides[d];
      rem /= out_shape[d];
    }
    const E* src = in + off;
    E* dst = out + r * n;
    for (int64_t i = 0; i < n; ++i) dst[i] = src[last[i]];
  }
}

void resize_float(const std::vector<DimTaps>& dims, const Shape& in_shape, const Shape& out_shape, float extrapolation,
                  const float* in, float* out) {
  const int64_t numel = shape_numel(out_shape);
  if (numel == 0) return;
  const int64_t rank = static_cast<int64_t>(out_shape.size());
  if (rank == 0) {
    out[0] = in[0];
    return;
  }
  const std::vector<int64_t> strides = shape_strides(in_shape);
  const int64_t n = out_shape.back();
  const int64_t rows = numel / n;
  const DimTaps& last = dims.back();
  const int64_t last_stride = strides.back();
#pragma omp parallel for if (numel > kParallelThreshold)
  for (int64_t r = 0; r < rows; ++r) {
    // Tap combinations of the outer dims for this row: (input offset, weight), last outer dim varying fastest.
    std::vector<std::pair<int64_t, float>> combos = {{0, 1.f}};
    bool outside = false;
    int64_t rem = r;
    std::vector<int64_t> coord(static_cast<size_t>(rank - 1));
    for (int64_t d = rank - 2; d >= 0; --d) {
      coord[d] = rem % out_shape[d];
      rem /= out_shape[d];
    }
    for (int64_t d = 0; d < rank - 1 && !outside; ++d) {
      const DimTaps& t = dims[d];
      if (t.outside[coord[d]]) {
        outside = true;
        break;
      }
      std::vector<std::pair<int64_t, float>> next;
      next.reserve(combos.size() * t.taps);
      for (const auto& [off, w] : combos) {
        for (int64_t k = 0; k < t.taps; ++k) {
          next.emplace_back(off + t.index[coord[d] * t.taps + k] * strides[d], w * t.weight[coord[d] * t.taps + k]);
        }
      }
      combos.swap(next);
    }
    float* dst = out + r * n;
    if (outside) {
      std::fill(dst, dst + n, extrapolation);
      continue;
    }
    for (int64_t i = 0; i < n; ++i) {
      if (last.outside[i]) {
        dst[i] = extrapolation;
        continue;
      }
      float acc = 0.f;
      for (const auto& [off, w] : combos) {
        for (int64_t k = 0; k < last.taps; ++k) {
          acc += last.weight[i * last.taps + k] * w * in[off + last.index[i * last.taps + k] * last_stride];
        }
      }
      dst[i] = acc;
    }
  }
}

std::unique_ptr<Kernel> create_resize(const KernelContext& ctx, std::string& reason) {
  const DType dtype = ctx.inputs.at(0).dtype;
  if (!is_movable_dtype(dtype)) {
    reason = "dtype " + std::string(dtype_name(dtype)) + " has no fixed element size";
    return nullptr;
  }
  const ir::ResizeParams p = ir::resize_params(infer_context(ctx));
  const Shape in_shape = ctx.inputs[0].shape;
  std::vector<DimTaps> dims;
  for (size_t d = 0; d < in_shape.size(); ++d) dims.push_back(make_dim_taps(p, in_shape[d], p.out_shape[d], d));
  const bool pure_gather = p.mode == ir::ResizeMode::kNearest && p.coord != ir::ResizeCoordMode::kTfCropAndResize;
  if (!pure_gather && dtype != DType::kFloat32) {
    reason = "linear/cubic interpolation and extrapolation are implemented for float only, got " +
             std::string(dtype_name(dtype));
    return nullptr;
  }
  const size_t elem = dtype_size(dtype);
  const float extrapolation = p.extrapolation_value;
  return make_fn_kernel([=](const std::vector<Tensor>& in, std::vector<Tensor>& out) {
    const Shape& os = out[0].shape();
    if (!pure_gather) {
      resize_float(dims, in_shape, os, extrapolation, in[0].data<float>(), out[0].data<float>());
      return;
    }
    switch (elem) {
      case 1:
        return resize_nearest_copy(dims, in_shape, os, static_cast<const Bytes<1>*>(in[0].raw()),
                                   static_cast<Bytes<1>*>(out[0].raw()));
      case 2:
        return resize_nearest_copy(dims, in_shape, os, static_cast<const Bytes<2>*>(in[0].raw()),
                                   static_cast<Bytes<2>*>(out[0].raw()));
      case 4:
        return resize_nearest_copy(dims, in_shape, os, static_cast<const Bytes<4>*>(in[0].raw()),
                                   static_cast<Bytes<4>*>(out[0].raw()));
      case 8:
        return resize_nearest_copy(dims, in_shape, os, static_cast<const Bytes<8>*>(in[0].raw()),
                                   static_cast<Bytes<8>*>(out[0].raw()));
      default:
        throw InternalError("Resize: unsupported element size " + std::to_string(elem));
    }
  });
}

}  // namespace

void register_tensor_resize_kernels(KernelRegistry& registry) {
  registry.add(ref_kernel_def("Resize", 10, create_resize));
  registry.add(ref_kernel_def("Upsample", 7, create_resize));
}

}  // namespace qwac::kernels::ref
