// The elementwise reference kernel family, registered from its per-kind files.
#include "kernels/ref/elementwise_common.h"
#include "kernels/ref/ref_families.h"

namespace qwac::kernels::ref {

void register_elementwise_kernels(KernelRegistry& registry) {
  register_elementwise_unary_kernels(registry);
  register_elementwise_binary_kernels(registry);
  register_elementwise_cast_kernels(registry);
  register_elementwise_copy_kernels(registry);
}

}  // namespace qwac::kernels::ref
