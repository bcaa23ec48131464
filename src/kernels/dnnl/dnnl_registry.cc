#include "kernels/kernel.h"
namespace qwac::kernels {
void register_dnnl_kernels(KernelRegistry&) {}
}  // namespace qwac::kernels
