// Reference kernels of the tensor family: shape manipulation, indexing, Q/DQ, resize and reductions.
#include "kernels/ref/ref_families.h"
#include "kernels/ref/tensor_families.h"

namespace qwac::kernels::ref {

void register_tensor_kernels(KernelRegistry& registry) {
  register_tensor_layout_kernels(registry);
  register_tensor_constant_kernels(registry);
  register_tensor_indexing_kernels(registry);
  register_tensor_quantize_kernels(registry);
  register_tensor_resize_kernels(registry);
  register_tensor_reduce_kernels(registry);
}

}  // namespace qwac::kernels::ref
