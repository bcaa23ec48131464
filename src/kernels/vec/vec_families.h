// Per-family registration of the vectorized kernels (plain C++ loops the compiler vectorizes, for the element-wise
// ops oneDNN has no bit-exact primitive for), called in order by register_vectorized_kernels. Each one has a
// reference twin in kernels/ref/ that its tests compare it with.
#pragma once

#include "kernels/kernel.h"

namespace qwac::kernels {

// The list, for default_kernel_registry() (after the oneDNN kernels, before the reference ones) and the tests.
void register_vectorized_kernels(KernelRegistry& registry);

}  // namespace qwac::kernels

namespace qwac::kernels::vec {

void register_quantize_kernels(KernelRegistry& registry);  // QuantizeLinear (float -> 8-bit, per-tensor/per-axis)
void register_qlayer_norm_kernels(KernelRegistry& registry);  // com.qwac QLayerNorm (8-bit in, 8-bit out, one pass)

}  // namespace qwac::kernels::vec
