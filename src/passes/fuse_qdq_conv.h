// DequantizeLinear(X) + DequantizeLinear(W) [+ bias] -> Conv [-> Relu/Clip] [-> QuantizeLinear] => QConv (com.qwac,
// see ir/fused_ops.h), the op the int8 kernels execute with integer arithmetic. Enabled by EngineOptions::int8.
//
// Conditions (what the kernels can compute exactly; anything else is left as it is and runs in float):
//   - X's DequantizeLinear: uint8/int8 input, constant scalar float scale, constant scalar zero point (or none);
//     the DQ stays in the graph when its output has other consumers. When X is the output of a QuantizeLinear of a
//     float tensor with the same scale and zero point, the QConv reads that float tensor and quantizes it itself
//     (the Q stays for its other consumers, if any).
//   - W's DequantizeLinear: constant int8 weights, constant float scale that is a scalar or per output channel
//     (axis 0), zero point absent or all zeros.
//   - The bias input, if any, is passed on as it is (in exported models the DequantizeLinear of an int32 constant,
//     which the engine folds at compile time).
//   - Relu, or Clip with constant bounds, directly after the Conv (single consumer, not a graph output).
//   - A trailing QuantizeLinear (single consumer of what precedes it, default domain, no opset-21 attributes,
//     constant scalar float scale and uint8/int8 scalar zero point) is folded in: the QConv then outputs the
//     integer tensor under the Q output's name. Without one the QConv outputs float.
// Every Conv left alone gets a note (Pass::notes) naming the first condition it fails and the DequantizeLinear
// concerned, shown by `qwac inspect --plan --int8`.
// Must run before FuseConvActivation (which would take the Conv) and FuseQuantizeDequantize (which would take the
// Q -> DQ pair feeding the Conv).
#pragma once

#include "passes/pass.h"

namespace qwac::passes {

class FuseQdqConv final : public Pass {
 public:
  std::string name() const override { return "fuse_qdq_conv"; }
  bool run(ir::Model& model) override;
};

}  // namespace qwac::passes
