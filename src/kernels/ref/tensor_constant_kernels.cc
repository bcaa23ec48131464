// Kernels whose output does not depend on input data: Constant, ConstantOfShape, Range, Shape, Size.
// (The engine usually folds them at compile time; these kernels are what it folds with.)
#include <climits>
#include <cstring>

#include "ir/shape/tensor_params.h"
#include "kernels/ref/tensor_families.h"
#include "kernels/ref/tensor_kernel_util.h"

namespace qwac::kernels::ref {

namespace {

std::unique_ptr<Kernel> create_constant(const KernelContext& ctx, std::string& reason) {
  const Tensor value = ir::constant_attribute_value(ctx.node);
  if (!is_movable_dtype(value.dtype())) {
    reason = "constant of type " + std::string(dtype_name(value.dtype())) + " is not supported";
    return nullptr;
  }
  return make_fn_kernel([value](const std::vector<Tensor>&, std::vector<Tensor>& out) {
    if (value.nbytes() > 0) std::memcpy(out[0].raw(), value.raw(), value.nbytes());
  });
}

std::unique_ptr<Kernel> create_constant_of_shape(const KernelContext& ctx, std::string&) {
  const Tensor value = ir::constant_of_shape_value(ctx.node);
  const size_t elem = dtype_size(value.dtype());
  return make_fn_kernel([value, elem](const std::vector<Tensor>&, std::vector<Tensor>& out) {
    auto* dst = static_cast<unsigned char*>(out[0].raw());
    for (int64_t i = 0, n = out[0].numel(); i < n; ++i) std::memcpy(dst + i * elem, value.raw(), elem);
  });
}

std::unique_ptr<Kernel> create_range(const KernelContext& ctx, std::string& reason) {
  const DType t = ctx.inputs.at(0).dtype;
  if (!is_computable_dtype(t) || t == DType::kBool) {
    reason = "dtype " + std::string(dtype_name(t)) + " is not supported";
    return nullptr;
  }
  return make_fn_kernel([](const std::vector<Tensor>& in, std::vector<Tensor>& out) {
    dispatch_dtype(out[0].dtype(), [&](auto tag) {
      using T = decltype(tag);
      if constexpr (!std::is_same_v<T, bool>) {
        const T start = in[0].data<T>()[0];
        const T delta = in[2].data<T>()[0];
        T* dst = out[0].data<T>();
        for (int64_t i = 0, n = out[0].numel(); i < n; ++i) dst[i] = static_cast<T>(start + static_cast<T>(i) * delta);
      }
    });
  });
}

std::unique_ptr<Kernel> create_shape(const KernelContext& ctx, std::string&) {
  const auto [start, end] = ir::shape_op_range(infer_context(ctx));
  return make_fn_kernel([start = start, end = end](const std::vector<Tensor>& in, std::vector<Tensor>& out) {
    int64_t* dst = out[0].data<int64_t>();
    for (int64_t i = start; i < end; ++i) dst[i - start] = in[0].shape()[i];
  });
}

std::unique_ptr<Kernel> create_size(const KernelContext&, std::string&) {
  return make_fn_kernel(
      [](const std::vector<Tensor>& in, std::vector<Tensor>& out) { out[0].data<int64_t>()[0] = in[0].numel(); });
}

}  // namespace

void register_tensor_constant_kernels(KernelRegistry& registry) {
  registry.add(ref_kernel_def("Constant", 1, create_constant));
  registry.add(ref_kernel_def("ConstantOfShape", 9, create_constant_of_shape));
  registry.add(ref_kernel_def("Range", 11, create_range));
  registry.add(ref_kernel_def("Shape", 1, create_shape));
  registry.add(ref_kernel_def("Size", 1, create_size));
}

}  // namespace qwac::kernels::ref
