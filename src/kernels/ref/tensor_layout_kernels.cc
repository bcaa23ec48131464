// Data-movement kernels: Reshape-like copies, Transpose, Concat, Split, Slice, Expand, Tile, Pad.
// They only move elements, so they work for every fixed-size dtype (float16 included) on element size.
#include <algorithm>
#include <climits>
#include <cstring>

#include "ir/shape/tensor_params.h"
#include "kernels/ref/tensor_families.h"
#include "kernels/ref/tensor_kernel_util.h"

namespace qwac::kernels::ref {

namespace {

constexpr int64_t kParallelThreshold = 1 << 15;

// Declines string tensors (the only dtype without a fixed element size).
bool check_movable(const KernelContext& ctx, std::string& reason) {
  if (!is_movable_dtype(ctx.inputs.at(0).dtype)) {
    reason = "dtype " + std::string(dtype_name(ctx.inputs.at(0).dtype)) + " has no fixed element size";
    return false;
  }
  return true;
}

// Reshape, Flatten, Squeeze, Unsqueeze: same bytes, another shape.
std::unique_ptr<Kernel> create_copy(const KernelContext& ctx, std::string& reason) {
  if (!check_movable(ctx, reason)) return nullptr;
  return make_fn_kernel([](const std::vector<Tensor>& in, std::vector<Tensor>& out) {
    if (out[0].raw() != in[0].raw() && in[0].nbytes() > 0) std::memcpy(out[0].raw(), in[0].raw(), in[0].nbytes());
  });
}

std::unique_ptr<Kernel> create_transpose(const KernelContext& ctx, std::string& reason) {
  if (!check_movable(ctx, reason)) return nullptr;
  const std::vector<int64_t> perm = ir::transpose_perm(infer_context(ctx));
  const std::vector<int64_t> in_strides = shape_strides(ctx.inputs[0].shape);
  std::vector<int64_t> strides;
  for (int64_t p : perm) strides.push_back(in_strides[p]);
  const size_t elem = dtype_size(ctx.inputs[0].dtype);
  return make_fn_kernel([strides, elem](const std::vector<Tensor>& in, std::vector<Tensor>& out) {
    strided_copy(elem, out[0].shape(), strides, in[0].raw(), out[0].raw());
  });
}

// Concat and Split copy [outer, axis*inner] blocks between one big tensor and several small ones.
void copy_blocks(int64_t outer, size_t bytes, const std::byte* src, size_t src_row, size_t src_off, std::byte* dst,
                 size_t dst_row, size_t dst_off) {
#pragma omp parallel for if (outer * static_cast <int64_t>(bytes) > kParallelThreshold)
  for (int64_t o = 0; o < outer; ++o) {
    std::memcpy(dst + o * dst_row + dst_off, src + o * src_row + src_off, bytes);
  }
}

std::unique_ptr<Kernel> create_concat(const KernelContext& ctx, std::string& reason) {
  if (!check_movable(ctx, reason)) return nullptr;
  const int64_t axis = ir::concat_axis(infer_context(ctx));
  const size_t elem = dtype_size(ctx.inputs[0].dtype);
  return make_fn_kernel([axis, elem](const std::vector<Tensor>& in, std::vector<Tensor>& out) {
    const Shape& os = out[0].shape();
    const int64_t outer = dims_product(os, 0, static_cast<size_t>(axis));
    const size_t inner = static_cast<size_t>(dims_product(os, static_cast<size_t>(axis) + 1, os.size())) * elem;
    const size_t out_row = static_cast<size_t>(os[axis]) * inner;
    size_t offset = 0;
    auto* dst = static_cast<std::byte*>(out[0].raw());
    for (const Tensor& t : in) {
      const size_t row = static_cast<size_t>(t.shape()[axis]) * inner;
      if (row > 0 && outer > 0) {
        copy_blocks(outer, row, static_cast<const std::byte*>(t.raw()), row, 0, dst, out_row, offset);
      }
      offset += row;
    }
  });
}

std::unique_ptr<Kernel> create_split(const KernelContext& ctx, std::string& reason) {
  if (!check_movable(ctx, reason)) return nullptr;
  // The part sizes are the inferred output shapes; only the axis is needed here.
  const int64_t axis = normalize_axis(ctx.node.attrs.get_int("axis", 0),
                                      static_cast<int64_t>(ctx.inputs[0].shape.size()), ctx.node.describe());
  const size_t elem = dtype_size(ctx.inputs[0].dtype);
  return make_fn_kernel([axis, elem](const std::vector<Tensor>& in, std::vector<Tensor>& out) {
    const Shape& is = in[0].shape();
    const int64_t outer = dims_product(is, 0, static_cast<size_t>(axis));
    const size_t inner = static_cast<size_t>(dims_product(is, static_cast<size_t>(axis) + 1, is.size())) * elem;
    const size_t in_row = static_cast<size_t>(is[axis]) * inner;
    size_t offset = 0;
    const auto* src = static_cast<const std::byte*>(in[0].raw());
    for (Tensor& t : out) {
      if (t.empty()) continue;
      const size_t row = static_cast<size_t>(t.shape()[axis]) * inner;
      if (row > 0 && outer > 0) {
        copy_blocks(outer, row, src, in_row, offset, static_cast<std::byte*>(t.raw()), row, 0);
      }
      offset += row;
    }
  });
}

std::unique_ptr<Kernel> create_slice(const KernelContext& ctx, std::string& reason) {
  if (!check_movable(ctx, reason)) return nullptr;
  const ir::SliceParams p = ir::slice_params(infer_context(ctx));
  const std::vector<int64_t> in_strides = shape_strides(ctx.inputs[0].shape);
  std::vector<int64_t> strides(in_strides.size());
  int64_t base = 0;
  for (size_t d = 0; d < in_strides.size(); ++d) {
    strides[d] = in_strides[d] * p.steps[d];
    base += p.starts[d] * in_strides[d];
  }
  const size_t elem = dtype_size(ctx.inputs[0].dtype);
  return make_fn_kernel([strides, base, elem](const std::vector<Tensor>& in, std::vector<Tensor>& out) {
    if (out[0].numel() == 0) return;
    strided_copy(elem, out[0].shape(), strides, static_cast<const std::byte*>(in[0].raw()) + base * elem, out[0].raw());
  });
}

std::unique_ptr<Kernel> create_expand(const KernelContext& ctx, std::string& reason) {
  if (!check_movable(ctx, reason)) return nullptr;
  const Shape& in_shape = ctx.inputs[0].shape;
  const Shape& out_shape = ctx.outputs.at(0).shape;
  const std::vector<int64_t> in_strides = shape_strides(in_shape);
  std::vector<int64_t> strides(out_shape.size(), 0);
  const size_t lead = out_shape.size() - in_shape.size();
  for (size_t i = 0; i < in_shape.size(); ++i) strides[lead + i] = in_shape[i] == 1 ? 0 : in_strides[i];
  const size_t elem = dtype_size(ctx.inputs[0].dtype);
  return make_fn_kernel([strides, elem](const std::vector<Tensor>& in, std::vector<Tensor>& out) {
    strided_copy(elem, out[0].shape(), strides, in[0].raw(), out[0].raw());
  });
}

std::unique_ptr<Kernel> create_tile(const KernelContext& ctx, std::string& reason) {
  if (!check_movable(ctx, reason)) return nullptr;
  const std::vector<int64_t> repeats = ir::tile_repeats(infer_context(ctx));
  const Shape& in_shape = ctx.inputs[0].shape;
  const std::vector<int64_t> in_strides = shape_strides(in_shape);
  // The output [r0*d0, r1*d1, ...] in row-major order is the tensor [r0, d0, r1, d1, ...]; repeat dims read
  // with stride 0.
  Shape view_shape;
  std::vector<int64_t> strides;
  for (size_t i = 0; i < in_shape.size(); ++i) {
    view_shape.push_back(repeats[i]);
    strides.push_back(0);
    view_shape.push_back(in_shape[i]);
    strides.push_back(in_strides[i]);
  }
  const size_t elem = dtype_size(ctx.inputs[0].dtype);
  return make_fn_kernel([view_shape, strides, elem](const std::vector<Tensor>& in, std::vector<Tensor>& out) {
    strided_copy(elem, view_shape, strides, in[0].raw(), out[0].raw());
  });
}

// Pad: per output dim a map to the input index, or -1 for the constant value.
std::vector<int64_t> pad_index_map(int64_t n, int64_t begin, int64_t end, int64_t out_len, const std::string& mode) {
  // Negative pads crop first; the mode then pads the cropped region [s, s + len).
  const int64_t s = std::max<int64_t>(0, -begin);
  const int64_t len = n + std::min<int64_t>(0, begin) + std::min<int64_t>(0, end);
  const int64_t pre = std::max<int64_t>(0, begin);
  std::vector<int64_t> map(static_cast<size_t>(out_len));
  for (int64_t o = 0; o < out_len; ++o) {
    const int64_t r = o - pre;
    int64_t m = -1;
    if (r >= 0 && r < len) {
      m = s + r;
    } else if (mode == "edge") {
      m = s + std::clamp<int64_t>(r, 0, len - 1);
    } else if (mode == "reflect") {
      if (len == 1) {
        m = s;
      } else {
        const int64_t period = 2 * (len - 1);
        int64_t k = ((r % period) + period) % period;
        if (k >= len) k = period - k;
        m = s + k;
      }
    } else if (mode == "wrap") {
      m = s + ((r % len) + len) % len;
    }
    map[static_cast<size_t>(o)] = m;
  }
  return map;
}

template <size_t N>
struct Bytes {
  unsigned char b[N];
};

template <typename E>
void pad_typed(const Shape& out_shape, const std::vector<int64_t>& in_strides,
               const std::vector<std::vector<int64_t>>& maps, const E* in, E* out, E value) {
  const int64_t numel = shape_numel(out_shape);
  if (numel == 0) return;
  const int64_t rank = static_cast<int64_t>(out_shape.size());
  if (rank == 0) {
    out[0] = in[0];
    return;
  }
  const int64_t n = out_shape.back();
  const int64_t rows = numel / n;
  const std::vector<int64_t>& last = maps.back();
  const int64_t last_stride = in_strides.back();
#pragma omp parallel for if (numel > kParallelThreshold)
  for (int64_t r = 0; r < rows; ++r) {
    int64_t rem = r, off = 0;
    bool outside = false;
    for (int64_t d = rank - 2; d >= 0; --d) {
      const int64_t m = maps[d][rem % out_shape[d]];
      rem /= out_shape[d];
      if (m < 0) outside = true;
      off += m * in_strides[d];
    }
    E* dst = out + r * n;
    if (outside) {
      for (int64_t i = 0; i < n; ++i) dst[i] = value;
      continue;
    }
    const E* src = in + off;
    for (int64_t i = 0; i < n; ++i) dst[i] = last[i] < 0 ? value : src[last[i] * last_stride];
  }
}

template <size_t N>
void pad_sized(const Shape& out_shape, const std::vector<int64_t>& in_strides,
               const std::vector<std::vector<int64_t>>& maps, const void* in, void* out, const void* value) {
  Bytes<N> v;
  std::memcpy(&v, value, N);
  pad_typed(out_shape, in_strides, maps, static_cast<const Bytes<N>*>(in), static_cast<Bytes<N>*>(out), v);
}

std::unique_ptr<Kernel> create_pad(const KernelContext& ctx, std::string& reason) {
  if (!check_movable(ctx, reason)) return nullptr;
  const ir::PadParams p = ir::pad_params(infer_context(ctx));
  const DType dtype = ctx.inputs[0].dtype;
  const size_t elem = dtype_size(dtype);
  std::vector<std::vector<int64_t>> maps;
  for (size_t d = 0; d < p.out_shape.size(); ++d) {
    maps.push_back(pad_index_map(ctx.inputs[0].shape[d], p.begin[d], p.end[d], p.out_shape[d], p.mode));
  }
  // Constant value as the element's bytes: attribute `value` (float) before opset 11, input 2 from opset 11.
  std::vector<unsigned char> attr_value(elem, 0);
  const bool value_from_input = ctx.opset >= 11;
  if (!value_from_input) {
    const float v = ctx.node.attrs.get_float("value", 0.f);
    if (v != 0.f) {
      if (!is_computable_dtype(dtype)) {
        reason = "non-zero pad value for dtype " + std::string(dtype_name(dtype)) + " is not supported";
        return nullptr;
      }
      dispatch_dtype(dtype, [&](auto tag) {
        using T = decltype(tag);
        const T t = static_cast<T>(v);
        std::memcpy(attr_value.data(), &t, sizeof(T));
      });
    }
  } else if (ctx.inputs.size() > 2 && ctx.inputs[2].present() && ctx.inputs[2].dtype != dtype) {
    reason = "constant_value type differs from the data type";
    return nullptr;
  }
  const std::vector<int64_t> in_strides = shape_strides(ctx.inputs[0].shape);
  return make_fn_kernel([=](const std::vector<Tensor>& in, std::vector<Tensor>& out) {
    std::vector<unsigned char> value = attr_value;
    if (value_from_input && in.size() > 2 && !in[2].empty() && in[2].numel() > 0) {
      std::memcpy(value.data(), in[2].raw(), elem);
    }
    const Shape& os = out[0].shape();
    switch (elem) {
      case 1:
        return pad_sized<1>(os, in_strides, maps, in[0].raw(), out[0].raw(), value.data());
      case 2:
        return pad_sized<2>(os, in_strides, maps, in[0].raw(), out[0].raw(), value.data());
      case 4:
        return pad_sized<4>(os, in_strides, maps, in[0].raw(), out[0].raw(), value.data());
      case 8:
        return pad_sized<8>(os, in_strides, maps, in[0].raw(), out[0].raw(), value.data());
      default:
        throw InternalError("Pad: unsupported element size " + std::to_string(elem));
    }
  });
}

}  // namespace

void register_tensor_layout_kernels(KernelRegistry& registry) {
  for (const char* op : {"Reshape", "Flatten", "Squeeze", "Unsqueeze"})
    registry.add(ref_kernel_def(op, 1, create_copy));
  registry.add(ref_kernel_def("Transpose", 1, create_transpose));
  registry.add(ref_kernel_def("Concat", 1, create_concat));
  registry.add(ref_kernel_def("Split", 1, create_split));
  registry.add(ref_kernel_def("Slice", 1, create_slice));
  registry.add(ref_kernel_def("Expand", 8, create_expand));
  registry.add(ref_kernel_def("Tile", 6, create_tile));
  registry.add(ref_kernel_def("Pad", 2, create_pad));
}

}  // namespace qwac::kernels::ref
