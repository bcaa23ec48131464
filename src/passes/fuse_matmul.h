// Folds what transformer graphs put around a float MatMul into one com.qwac FusedMatMul (ir/fused_matmul.h):
//   operands:  Transpose, Gather of one index along an axis (an attention head out of a fused QKV projection), and
//              Transpose again, in that order, each read as a strided view of the tensor before them;
//   result:    * or / a constant scalar (alpha), + a constant (bias) and + a computed tensor (a residual or an
//              additive attention mask) in either order, an activation of ir/activation.h, and a Transpose.
// Each folded consumer must be the single reader of what it reads (and not a graph output); a Transpose or Gather
// read through a view stays while something else reads it. A MatMul with nothing to fold stays a MatMul.
//
// Engine only (engine-fusion pipeline): FusedMatMul is qwac's own op. Only MatMuls whose operands are proven float
// (declared, constant, or flowing from such a value through ops that keep the type) are fused, since the engines'
// graphs rarely declare intermediate types and ONNX MatMul also multiplies integers.
#pragma once

#include "passes/pass.h"

namespace qwac::passes {

class FuseMatMul final : public Pass {
 public:
  std::string name() const override { return "fuse_matmul"; }
  bool run(ir::Model& model) override;
};

}  // namespace qwac::passes
