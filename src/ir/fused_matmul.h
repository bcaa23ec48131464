// com.qwac FusedMatMul: a MatMul with what transformer graphs put around it folded in, created by
// passes/fuse_matmul.h for the engine (never exported):
//   FusedMatMul(A, B, [bias], [Z]) with attributes
//     select_a, select_b: ints [axis, index] (optional): the operand is first indexed at `index` along `axis`,
//       which removes that axis (what Gather with a scalar index computes);
//     perm_a, perm_b: ints (optional): then transposed with this permutation (Transpose's perm);
//     alpha: float (default 1): scales the product;
//     activation / activation_params: as FusedConv's (ir/activation.h);
//     perm_y: ints (optional): the result is transposed with this permutation.
//   A' = Transpose(Gather(A, select_a), perm_a), B' likewise (each step only when its attribute is present)
//   R  = activation(alpha * MatMul(A', B') + bias + Z)     bias: a float constant, Z: a computed float tensor, both
//                                                           added with numpy broadcasting as Add does (in practice
//                                                           bias is a row of N and Z a residual or attention mask
//                                                           that broadcasts into the product)
//   Y  = Transpose(R, perm_y), or R
// Every step is a view of memory (strides, an offset) or a post-op of one oneDNN matmul: the Transposes and Gathers
// of attention heads, the 1/sqrt(d) scale, the additive mask, the bias, the residual Add and GELU cost no pass over
// memory of their own (kernels/dnnl/dnnl_fused_matmul.cc). MatMul's numpy semantics hold for A', B' (1-D operands,
// broadcast batch dims).
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "core/shape.h"
#include "ir/attribute.h"

namespace qwac::ir {

inline constexpr std::string_view kFusedMatMulOp = "FusedMatMul";

struct FusedMatMulInputs {
  static constexpr size_t kA = 0, kB = 1, kBias = 2, kZ = 3, kCount = 4;
};

// A strided view of a plain tensor: element (i0, i1, ...) of the view is element offset + sum(i_k * strides_k) of
// the tensor's memory.
struct StridedView {
  Shape dims;
  std::vector<int64_t> strides;
  int64_t offset = 0;
};

// The view FusedMatMul reads for an operand of plain shape `shape` with the optional select ([axis, index]) and perm
// attributes. Throws InvalidModel naming `owner` for an axis, index or permutation that does not fit the shape.
StridedView operand_view(const Shape& shape, const std::vector<int64_t>& select, const std::vector<int64_t>& perm,
                         const std::string& owner);

// The plain view of a tensor of shape `shape`, transposed by `perm` (empty = not transposed): the layout of R when
// Y = Transpose(R, perm_y) is written plainly. dims are R's (the inverse permutation of Y's shape).
StridedView transposed_output_view(const Shape& y_shape, const std::vector<int64_t>& perm_y);

// Shapes of a FusedMatMul from its operand views.
struct FusedMatMulShapes {
  Shape a, b;           // A', B' as read (after select and perm)
  Shape product;        // MatMul(A', B') (numpy MatMul shape)
  Shape r;              // R = the product broadcast with bias and Z
  Shape y;              // Y = R transposed by perm_y
  int64_t m = 1, k = 1, n = 1;
  bool a_vector = false, b_vector = false;  // a 1-D operand (its dim removed from R)
};
// `bias` and `z`: the addends' shapes (nullptr when absent).
FusedMatMulShapes fused_matmul_shapes(const Shape& a, const Shape& b, const Shape* bias, const Shape* z,
                                      const Attributes& attrs, const std::string& owner);

// Composes perms: Transpose(Transpose(x, first), second) == Transpose(x, compose_perm(first, second)).
std::vector<int64_t> compose_perm(const std::vector<int64_t>& first, const std::vector<int64_t>& second);

}  // namespace qwac::ir
