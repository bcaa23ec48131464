#include "kernels/ref/ref_families.h"
namespace qwac::kernels::ref {
void register_elementwise_kernels(KernelRegistry&) {}
}  // namespace qwac::kernels::ref
