#pragma once

#include "kernels/kernel.h"

namespace qwac::kernels::ref {

void register_elementwise_kernels(KernelRegistry& registry);  // elementwise.cc and friends
void register_nn_kernels(KernelRegistry& registry);           // conv, pooling, gemm, normalization, ...
void register_tensor_kernels(KernelRegistry& registry);       // shape manipulation, indexing, Q/DQ
void register_fused_kernels(KernelRegistry& registry);        // qwac-domain fused ops (FusedConv, ...)
void register_fake_quantize_kernels(KernelRegistry& registry);  // com.qwac FakeQuantize (fused Q -> DQ)
void register_qconv_kernels(KernelRegistry& registry);          // com.qwac QConv (float simulation)
void register_qlinear_pool_kernels(KernelRegistry& registry);    // com.qwac QLinearPool (float simulation)
void register_qlayer_norm_kernels(KernelRegistry& registry);     // com.qwac QLayerNorm (float simulation)
void register_qadd_kernels(KernelRegistry& registry);           // com.qwac QAdd, QMul (float simulation)
void register_qgemm_kernels(KernelRegistry& registry);          // com.qwac QGemm (float simulation)
void register_qlookup_kernels(KernelRegistry& registry);        // com.qwac QLookup (table lookup)
void register_qmatmul_kernels(KernelRegistry& registry);        // com.qwac QMatMul (int32 sum, one multiplier)
void register_fused_matmul_kernels(KernelRegistry& registry);   // com.qwac FusedMatMul

}  // namespace qwac::kernels::ref
