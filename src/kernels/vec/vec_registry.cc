// The vectorized kernel list. register_vectorized_kernels runs after the oneDNN kernels and before the reference
// ones in default_kernel_registry().
#include "kernels/kernel.h"
#include "kernels/vec/vec_families.h"

namespace qwac::kernels {

void register_vectorized_kernels(KernelRegistry& registry) {
  vec::register_quantize_kernels(registry);
  vec::register_qlayer_norm_kernels(registry);
}

}  // namespace qwac::kernels
