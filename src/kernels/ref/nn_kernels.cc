// The NN family of reference kernels: one file per op group, listed here explicitly.
#include "kernels/ref/nn_families.h"
#include "kernels/ref/ref_families.h"

namespace qwac::kernels::ref {

void register_nn_kernels(KernelRegistry& registry) {
  register_nn_conv_kernels(registry);
  register_nn_gemm_kernels(registry);
  register_nn_pool_kernels(registry);
  register_nn_norm_kernels(registry);
  register_nn_softmax_kernels(registry);
}

}  // namespace qwac::kernels::ref
