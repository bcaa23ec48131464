// DequantizeLinear -> {pooling, Concat, reshaping} -> QuantizeLinear => the op on the 8-bit tensor, so int8 data
// stays int8 between QConvs instead of going to float and back. Enabled by EngineOptions::int8.
//
// Two rewrites (anything else is left as it is, with a note saying why):
//   - Exact: MaxPool, GlobalMaxPool (single output), Concat, Reshape, Flatten, Squeeze, Unsqueeze and Transpose
//     whose data inputs are all DequantizeLinear with the same per-tensor parameters as the QuantizeLinear reading
//     the op's output. These ops only select and move elements, and DequantizeLinear is strictly increasing (the
//     scale must be positive), so the op on the integers gives exactly Q(op(DQ(x))): the standard ONNX op then
//     runs on the uint8/int8 tensor under the Q output's name.
//   - Requantizing: MaxPool / GlobalMaxPool with other output parameters, and AveragePool / GlobalAveragePool
//     (whatever the parameters: an average of integers is not an integer) become com.qwac QLinearPool (see
//     ir/fused_ops.h), which the kernels compute on the integers with the requantization folded in.
// Conditions: default-domain Q/DQ without opset-21 attributes, constant scalar float scale (positive), constant
// 8-bit scalar zero point (DQ's may be absent: uint8 0); the op's output has exactly one use, the Q, and is no graph
// output. A DQ whose output has other consumers stays for them. Data inputs are every input of Concat and input 0
// of the others (Reshape's shape and Squeeze/Unsqueeze's axes stay as they are).
// Runs before FuseQdqConv, so that a QConv's DequantizeLinear(X) then reads the 8-bit result directly.
#pragma once

#include "passes/pass.h"

namespace qwac::passes {

class FuseQdqInt8Ops final : public Pass {
 public:
  std::string name() const override { return "fuse_qdq_int8_ops"; }
  bool run(ir::Model& model) override;
};

}  // namespace qwac::passes
