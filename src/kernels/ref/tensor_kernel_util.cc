#include "kernels/ref/tensor_kernel_util.h"

#include <cstring>

namespace qwac::kernels::ref {

namespace {

// Below this many elements the OpenMP fork costs more than the copy.
constexpr int64_t kParallelThreshold = 1 << 15;

template <size_t N>
struct Elem {
  unsigned char bytes[N];
};

template <typename E>
void strided_copy_typed(const Shape& out_shape, const std::vector<int64_t>& strides, const E* in, E* out) {
  const int64_t numel = shape_numel(out_shape);
  if (numel == 0) return;
  const int64_t rank = static_cast<int64_t>(out_shape.size());
  if (rank == 0) {
    out[0] = in[0];
    return;
  }
  const int64_t n = out_shape.back();
  const int64_t s = strides.back();
  const int64_t rows = numel / n;
#pragma omp parallel for if (numel > kParallelThreshold)
  for (int64_t r = 0; r < rows; ++r) {
    int64_t rem = r, off = 0;
    for (int64_t d = rank - 2; d >= 0; --d) {
      off += (rem % out_shape[d]) * strides[d];
      rem /= out_shape[d];
    }
    const E* src = in + off;
    E* dst = out + r * n;
    if (s == 1) {
      std::memcpy(dst, src, static_cast<size_t>(n) * sizeof(E));
    } else {
      for (int64_t i = 0; i < n; ++i) dst[i] = src[i * s];
    }
  }
}

}  // namespace

bool is_computable_dtype(DType t) {
  switch (t) {
    case DType::kUndefined:
    case DType::kString:
    case DType::kFloat16:
      return false;
    default:
      return true;
  }
}

void strided_copy(size_t elem_size, const Shape& out_shape, const std::vector<int64_t>& in_strides, const void* in_base,
                  void* out) {
  switch (elem_size) {
    case 1:
      return strided_copy_typed(out_shape, in_strides, static_cast<const Elem<1>*>(in_base),
                                static_cast<Elem<1>*>(out));
    case 2:
      return strided_copy_typed(out_shape, in_strides, static_cast<const Elem<2>*>(in_base),
                                static_cast<Elem<2>*>(out));
    case 4:
      return strided_copy_typed(out_shape, in_strides, static_cast<const Elem<4>*>(in_base),
                                static_cast<Elem<4>*>(out));
    case 8:
      return strided_copy_typed(out_shape, in_strides, static_cast<const Elem<8>*>(in_base),
                                static_cast<Elem<8>*>(out));
    default:
      throw InternalError("strided_copy: unsupported element size " + std::to_string(elem_size));
  }
}

int64_t dims_product(const Shape& shape, size_t begin, size_t end) {
  int64_t p = 1;
  for (size_t i = begin; i < end && i < shape.size(); ++i) p *= shape[i];
  return p;
}

}  // namespace qwac::kernels::ref
