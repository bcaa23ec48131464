// Registration functions of the NN reference kernel files; register_nn_kernels (nn_kernels.cc) calls them in order.
#pragma once

#include "kernels/kernel.h"

namespace qwac::kernels::ref {

void register_nn_conv_kernels(KernelRegistry& registry);     // nn_conv.cc: Conv, ConvTranspose
void register_nn_gemm_kernels(KernelRegistry& registry);     // nn_gemm.cc: Gemm, MatMul
void register_nn_pool_kernels(KernelRegistry& registry);     // nn_pool.cc: MaxPool, AveragePool, Global*Pool
void register_nn_norm_kernels(KernelRegistry& registry);     // nn_norm.cc: BatchNorm, InstanceNorm, LRN, LayerNorm
void register_nn_softmax_kernels(KernelRegistry& registry);  // nn_softmax.cc: Softmax, LogSoftmax, Hardmax

}  // namespace qwac::kernels::ref
