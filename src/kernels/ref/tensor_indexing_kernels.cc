// Indexing kernels: Gather and GatherElements (negative indices count from the end; out-of-range indices throw).
#include <cstring>

#include "ir/shape/tensor_params.h"
#include "kernels/ref/tensor_families.h"
#include "kernels/ref/tensor_kernel_util.h"

namespace qwac::kernels::ref {

namespace {

constexpr int64_t kParallelThreshold = 1 << 15;

// Reads index i of an int32/int64 tensor.
inline int64_t index_at(const Tensor& t, int64_t i) {
  return t.dtype() == DType::kInt64 ? t.data<int64_t>()[i] : static_cast<int64_t>(t.data<int32_t>()[i]);
}

[[noreturn]] void throw_out_of_range(const std::string& node, int64_t index, int64_t dim) {
  throw InvalidModel(node + ": index " + std::to_string(index) + " is out of range for an axis of size " +
                     std::to_string(dim) + " (expected " + std::to_string(-dim) + ".." + std::to_string(dim - 1) + ")");
}

bool check_inputs(const KernelContext& ctx, std::string& reason) {
  if (!is_movable_dtype(ctx.inputs.at(0).dtype)) {
    reason = "dtype " + std::string(dtype_name(ctx.inputs[0].dtype)) + " has no fixed element size";
    return false;
  }
  const DType it = ctx.inputs.at(1).dtype;
  if (it != DType::kInt32 && it != DType::kInt64) {
    reason = "indices of type " + std::string(dtype_name(it)) + " (expected int32 or int64)";
    return false;
  }
  return true;
}

std::unique_ptr<Kernel> create_gather(const KernelContext& ctx, std::string& reason) {
  if (!check_inputs(ctx, reason)) return nullptr;
  const int64_t axis = ir::gather_axis(infer_context(ctx));
  const size_t elem = dtype_size(ctx.inputs[0].dtype);
  const std::string node = ctx.node.describe();
  return make_fn_kernel([axis, elem, node](const std::vector<Tensor>& in, std::vector<Tensor>& out) {
    const Shape& ds = in[0].shape();
    const int64_t outer = dims_product(ds, 0, static_cast<size_t>(axis));
    const int64_t dim = ds[axis];
    const size_t block = static_cast<size_t>(dims_product(ds, static_cast<size_t>(axis) + 1, ds.size())) * elem;
    const Tensor& indices = in[1];
    const int64_t n_idx = indices.numel();
    // Validate once, then copy without checks.
    std::vector<int64_t> idx(static_cast<size_t>(n_idx));
    for (int64_t i = 0; i < n_idx; ++i) {
      int64_t k = index_at(indices, i);
      if (k < -dim || k >= dim) throw_out_of_range(node, k, dim);
      idx[i] = k < 0 ? k + dim : k;
    }
    const auto* src = static_cast<const std::byte*>(in[0].raw());
    auto* dst = static_cast<std::byte*>(out[0].raw());
    const int64_t total = outer * n_idx;
#pragma omp parallel for if (total * static_cast <int64_t>(block) > kParallelThreshold)
    for (int64_t t = 0; t < total; ++t) {
      const int64_t o = t / n_idx, i = t % n_idx;
      std::memcpy(dst + t * block, src + (o * dim + idx[i]) * block, block);
    }
  });
}

template <size_t N>
struct Bytes {
  unsigned char b[N];
};

template <typename E>
void gather_elements_typed(const Tensor& data, const Tensor& indices, int64_t axis, const std::string& node, E* out) {
  const E* src = static_cast<const E*>(data.raw());
  const Shape& is = indices.shape();
  const std::vector<int64_t> data_strides = shape_strides(data.shape());
  const int64_t dim = data.shape()[axis];
  const int64_t rank = static_cast<int64_t>(is.size());
  const int64_t n = indices.numel();
  bool bad = false;
  int64_t bad_value = 0;
#pragma omp parallel for if (n > kParallelThreshold)
  for (int64_t i = 0; i < n; ++i) {
    int64_t rem = i, off = 0;
    for (int64_t d = rank - 1; d >= 0; --d) {
      const int64_t c = rem % is[d];
      rem /= is[d];
      if (d != axis) off += c * data_strides[d];
    }
    int64_t k = index_at(indices, i);
    if (k < -dim || k >= dim) {
#pragma omp critical
      {
        bad = true;
        bad_value = k;
      }
      continue;
    }
    if (k < 0) k += dim;
    out[i] = src[off + k * data_strides[axis]];
  }
  if (bad) throw_out_of_range(node, bad_value, dim);
}

std::unique_ptr<Kernel> create_gather_elements(const KernelContext& ctx, std::string& reason) {
  if (!check_inputs(ctx, reason)) return nullptr;
  const int64_t axis = ir::gather_axis(infer_context(ctx));
  const size_t elem = dtype_size(ctx.inputs[0].dtype);
  const std::string node = ctx.node.describe();
  return make_fn_kernel([axis, elem, node](const std::vector<Tensor>& in, std::vector<Tensor>& out) {
    // The data dims other than `axis` may be larger than the indices' (spec); offsets use the data strides.
    switch (elem) {
      case 1:
        return gather_elements_typed(in[0], in[1], axis, node, static_cast<Bytes<1>*>(out[0].raw()));
      case 2:
        return gather_elements_typed(in[0], in[1], axis, node, static_cast<Bytes<2>*>(out[0].raw()));
      case 4:
        return gather_elements_typed(in[0], in[1], axis, node, static_cast<Bytes<4>*>(out[0].raw()));
      case 8:
        return gather_elements_typed(in[0], in[1], axis, node, static_cast<Bytes<8>*>(out[0].raw()));
      default:
        throw InternalError("GatherElements: unsupported element size " + std::to_string(elem));
    }
  });
}

}  // namespace

void register_tensor_indexing_kernels(KernelRegistry& registry) {
  registry.add(ref_kernel_def("Gather", 1, create_gather));
  registry.add(ref_kernel_def("GatherElements", 11, create_gather_elements));
}

}  // namespace qwac::kernels::ref
