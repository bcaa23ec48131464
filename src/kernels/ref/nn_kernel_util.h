// Small pieces the NN reference kernels share: a kernel made from a lambda, dtype checks that decline with a
// reason, the thread count, and the valid-index range of a strided window over a bounded axis.
#pragma once

#include <omp.h>

#include <algorithm>
#include <functional>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "kernels/kernel.h"

namespace qwac::kernels::ref::nn {

// A kernel whose run() is a closure capturing everything resolved at creation (geometry, sizes).
class FunctionKernel final : public Kernel {
 public:
  using RunFn = std::function<void(const std::vector<Tensor>&, std::vector<Tensor>&)>;
  explicit FunctionKernel(RunFn fn) : fn_(std::move(fn)) {}
  void run(const std::vector<Tensor>& inputs, std::vector<Tensor>& outputs) override { fn_(inputs, outputs); }

 private:
  RunFn fn_;
};

inline std::unique_ptr<Kernel> make_function_kernel(FunctionKernel::RunFn fn) {
  return std::make_unique<FunctionKernel>(std::move(fn));
}

// True when every present input among `indices` is float32; otherwise sets `reason` and returns false.
inline bool inputs_are_float32(const KernelContext& ctx, std::initializer_list<size_t> indices, std::string& reason) {
  for (size_t i : indices) {
    if (i >= ctx.inputs.size() || !ctx.inputs[i].present()) continue;
    if (ctx.inputs[i].dtype != DType::kFloat32) {
      reason = "reference " + ctx.node.op_type() + " computes float32 only; input " + std::to_string(i) + " is " +
               std::string(dtype_name(ctx.inputs[i].dtype));
      return false;
    }
  }
  return true;
}

inline int kernel_threads(const KernelContext& ctx) {
  return ctx.num_threads > 0 ? ctx.num_threads : omp_get_max_threads();
}

// Output tensor i when the node requested it (optional outputs may be absent or empty).
inline Tensor* optional_output(std::vector<Tensor>& outputs, size_t i) {
  return i < outputs.size() && !outputs[i].empty() ? &outputs[i] : nullptr;
}

// Indices i in [0, count) with 0 <= i * stride + offset < limit, as a half-open range [first, second).
// stride > 0. Used to skip padding without a bounds test per element.
inline std::pair<int64_t, int64_t> valid_range(int64_t count, int64_t limit, int64_t stride, int64_t offset) {
  const int64_t lo = offset >= 0 ? 0 : (-offset + stride - 1) / stride;
  const int64_t top = limit - 1 - offset;
  const int64_t hi = top < 0 ? 0 : top / stride + 1;
  const int64_t first = std::min(lo, count);
  return {first, std::max(first, std::min(hi, count))};
}

}  // namespace qwac::kernels::ref::nn
