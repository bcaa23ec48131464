// DequantizeLinear(A) + DequantizeLinear(B) -> Add [-> Relu/Clip] [-> QuantizeLinear] => QAdd (com.qwac, see
// ir/fused_ops.h), the residual Add of a QDQ model computed on the integer tensors. Enabled by EngineOptions::int8.
//
// Conditions (anything else is left as it is, with a note, and runs in float):
//   - Both inputs of the Add are per-tensor 8-bit DequantizeLinear outputs (constant scalar float scale, constant
//     scalar zero point of the input's type or none); a DQ stays in the graph while other nodes read it.
//   - Relu, or Clip with constant bounds, directly after the Add (single consumer, not a graph output).
//   - The QAdd outputs integers when every reader of the (activated) sum quantizes it with one scale and zero
//     point: a QuantizeLinear (default domain, no opset-21 attributes, constant scalar scale and 8-bit zero point),
//     folded in, and/or QConvs that quantize that float tensor themselves (FuseQdqConv folds the Q before a
//     convolution into it), which then read the QAdd's integer output. Otherwise the QAdd outputs float.
// Shapes broadcast as Add's (checked by shape inference when the engine compiles). Runs after FuseQdqConv, so the
// Add reads the integer outputs of the QConvs around it.
#pragma once

#include "passes/pass.h"

namespace qwac::passes {

class FuseQdqAdd final : public Pass {
 public:
  std::string name() const override { return "fuse_qdq_add"; }
  bool run(ir::Model& model) override;
};

}  // namespace qwac::passes
