// The reference kernel list: one registration function per family, each in its own file.
#include "kernels/kernel.h"
#include "kernels/ref/ref_families.h"

namespace qwac::kernels {

void register_reference_kernels(KernelRegistry& registry) {
  ref::register_elementwise_kernels(registry);
  ref::register_nn_kernels(registry);
  ref::register_tensor_kernels(registry);
  ref::register_fused_kernels(registry);
  ref::register_fake_quantize_kernels(registry);
  ref::register_qconv_kernels(registry);
  ref::register_qlinear_pool_kernels(registry);
  ref::register_qlayer_norm_kernels(registry);
  ref::register_qadd_kernels(registry);
  ref::register_qmatmul_kernels(registry);
  ref::register_qgemm_kernels(registry);
  ref::register_qlookup_kernels(registry);
  ref::register_fused_matmul_kernels(registry);
}

}  // namespace qwac::kernels
