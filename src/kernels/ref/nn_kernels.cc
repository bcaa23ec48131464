#include "kernels/ref/ref_families.h"
namespace qwac::kernels::ref {
void register_nn_kernels(KernelRegistry&) {}
}  // namespace qwac::kernels::ref
