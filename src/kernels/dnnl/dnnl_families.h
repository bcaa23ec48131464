// Per-family registration of the oneDNN kernels (one file each), called in order by register_dnnl_kernels.
#pragma once

#include "kernels/kernel.h"

namespace qwac::kernels::dnnl_impl {

void register_conv_kernels(KernelRegistry& registry);       // Conv, FusedConv (com.qwac)
void register_qconv_kernels(KernelRegistry& registry);      // QConv (com.qwac): int8 convolution
void register_qadd_kernels(KernelRegistry& registry);       // QAdd, QMul (com.qwac): int8 element-wise add, product
void register_qgemm_kernels(KernelRegistry& registry);      // QGemm (com.qwac): int8 matmul
void register_qlookup_kernels(KernelRegistry& registry);    // QLookup (com.qwac): 256-entry table lookup
void register_qmatmul_kernels(KernelRegistry& registry);    // QMatMul (com.qwac): int8 x int8 batched matmul
void register_dequantize_kernels(KernelRegistry& registry);  // DequantizeLinear (per-tensor, 8-bit)
void register_quantize_kernels(KernelRegistry& registry);    // QuantizeLinear (per-tensor, from a blocked layout)
void register_deconv_kernels(KernelRegistry& registry);     // ConvTranspose
void register_matmul_kernels(KernelRegistry& registry);     // Gemm, MatMul
void register_fused_matmul_kernels(KernelRegistry& registry);  // FusedMatMul (com.qwac)
void register_pool_kernels(KernelRegistry& registry);       // MaxPool, AveragePool, Global*Pool
void register_eltwise_kernels(KernelRegistry& registry);    // Relu, LeakyRelu, Sigmoid, Tanh, Clip, Elu, ...
void register_binary_kernels(KernelRegistry& registry);     // Add, Sub, Mul, Div
void register_batchnorm_kernels(KernelRegistry& registry);  // BatchNormalization (inference)
void register_concat_kernels(KernelRegistry& registry);     // Concat
void register_softmax_kernels(KernelRegistry& registry);    // Softmax, LogSoftmax
void register_lrn_kernels(KernelRegistry& registry);        // LRN
void register_layer_norm_kernels(KernelRegistry& registry);  // LayerNormalization
void register_transpose_kernels(KernelRegistry& registry);  // Transpose (one reorder, from a blocked layout too)

}  // namespace qwac::kernels::dnnl_impl
