// DequantizeLinear(X) + DequantizeLinear(W) [+ bias] -> Gemm / MatMul [-> Relu/Clip] [-> QuantizeLinear] => QGemm
// (com.qwac, see ir/fused_ops.h), the fully connected layers of a QDQ model on oneDNN's int8 matmul. Enabled by
// EngineOptions::int8.
//
// Conditions (anything else is left as it is, with a note, and runs in float):
//   - Gemm with transA = 0, alpha = 1 and beta = 1 (or no C), transB 0 or 1; or MatMul whose second operand is
//     the weight (a Gemm with transB = 0 and no bias).
//   - X's DequantizeLinear as FuseQdqConv's (per-tensor uint8/int8, constant scale and zero point); when X is the
//     output of a QuantizeLinear of a float tensor with the same scale and zero point, the QGemm reads the float
//     tensor and quantizes it itself.
//   - W's DequantizeLinear: constant 2-D int8 weights, constant float scale that is a scalar or per output column
//     (the axis of N), zero point absent or all zeros.
//   - C, if any, is a constant or the DequantizeLinear of a constant with N values ([N] or [1, N]). A MatMul's
//     bias is the same kind of row added by the Add that is the MatMul's single consumer.
//   - Relu, or Clip with constant bounds, and a trailing QuantizeLinear as in FuseQdqConv.
#pragma once

#include "passes/pass.h"

namespace qwac::passes {

class FuseQdqGemm final : public Pass {
 public:
  std::string name() const override { return "fuse_qdq_gemm"; }
  bool run(ir::Model& model) override;
};

}  // namespace qwac::passes
