// Small building blocks of the tensor-family reference kernels: a kernel made of a run function, dtype checks,
// and dtype-agnostic data movement (ops that only move elements work on element size, not on the C++ type).
#pragma once

#include <climits>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "core/tensor.h"
#include "kernels/kernel.h"

namespace qwac::kernels::ref {

// A kernel whose run() is a closure over what the factory computed at compile time.
class FnKernel : public Kernel {
 public:
  using RunFn = std::function<void(const std::vector<Tensor>&, std::vector<Tensor>&)>;
  explicit FnKernel(RunFn fn) : fn_(std::move(fn)) {}
  void run(const std::vector<Tensor>& inputs, std::vector<Tensor>& outputs) override { fn_(inputs, outputs); }

 private:
  RunFn fn_;
};

inline std::unique_ptr<Kernel> make_fn_kernel(FnKernel::RunFn fn) {
  return std::make_unique<FnKernel>(std::move(fn));
}

// An InferContext over the kernel context, so kernels derive their parameters with the same functions as shape
// inference (valid only during the factory call: it refers to ctx).
inline ir::InferContext infer_context(const KernelContext& ctx) {
  return ir::InferContext(ctx.node, ctx.opset, ctx.inputs);
}

// A reference kernel candidate for a default-domain op, valid from opset `since` on.
inline KernelDef ref_kernel_def(const std::string& op, int64_t since, KernelFactory factory) {
  return KernelDef{op, "", since, INT_MAX, "ref", false, std::move(factory)};
}

// True when elements of `t` can be moved as fixed-size bytes (every dtype except string/undefined).
inline bool is_movable_dtype(DType t) {
  return dtype_size(t) != 0;
}

// True when dispatch_dtype has a C++ type for `t` (not float16, string).
bool is_computable_dtype(DType t);

// Copies elements of size `elem_size`: out[i0..in-1] (row-major over out_shape) =
// in_base[sum_k i_k * in_strides[k]] (strides in elements, may be 0 or negative). Parallel over rows.
void strided_copy(size_t elem_size, const Shape& out_shape, const std::vector<int64_t>& in_strides, const void* in_base,
                  void* out);

// The product of shape[begin:end).
int64_t dims_product(const Shape& shape, size_t begin, size_t end);

}  // namespace qwac::kernels::ref
