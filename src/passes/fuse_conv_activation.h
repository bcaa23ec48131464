// Conv [-> Add(residual)] [-> activation] => FusedConv (com.qwac, see ir/fused_ops.h): Y = act(Conv(X,W,B) + Z).
//
// Conditions (ONNX Runtime's rewrite-rule safety checks): every intermediate value has a single consumer and is
// not a graph output; the Conv is a float ONNX Conv; the residual Z of the Add is computed (not a constant, which
// would be a bias that broadcasts) and, where both shapes are declared, has the Conv output's shape; activation
// parameters are known (Clip bounds constant). At least one of Add/activation must be present.
#pragma once

#include "passes/pass.h"

namespace qwac::passes {

class FuseConvActivation final : public Pass {
 public:
  std::string name() const override { return "fuse_conv_activation"; }
  bool run(ir::Model& model) override;
};

}  // namespace qwac::passes
