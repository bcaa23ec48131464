// The tensor family of reference kernels, split by concept; register_tensor_kernels (tensor_kernels.cc) lists them.
#pragma once

#include "kernels/kernel.h"

namespace qwac::kernels::ref {

void register_tensor_layout_kernels(KernelRegistry& registry);    // Reshape, Transpose, Concat, Split, Slice, Pad, ...
void register_tensor_constant_kernels(KernelRegistry& registry);  // Constant, ConstantOfShape, Range, Shape, Size
void register_tensor_indexing_kernels(KernelRegistry& registry);  // Gather, GatherElements
void register_tensor_quantize_kernels(KernelRegistry& registry);  // QuantizeLinear, DequantizeLinear
void register_tensor_resize_kernels(KernelRegistry& registry);    // Resize, Upsample
void register_tensor_reduce_kernels(KernelRegistry& registry);    // Reduce*, ArgMax, ArgMin

}  // namespace qwac::kernels::ref
