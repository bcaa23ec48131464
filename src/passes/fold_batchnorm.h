// Conv -> BatchNormalization (inference) => Conv with rescaled weights and bias:
//   W'[o] = W[o] * s[o] / sqrt(v[o] + eps),  B'[o] = (B[o] - m[o]) * s[o] / sqrt(v[o] + eps) + b[o]
// Conditions: W, B (if any) and the four BN parameters are float constants; the BN is in inference mode with a
// single output; the Conv output has the BN as its only consumer and is not a graph output. The folded weights
// are new constants (constants may be shared and are immutable); the BN's output value is kept.
#pragma once

#include "passes/pass.h"

namespace qwac::passes {

class FoldBatchNorm final : public Pass {
 public:
  std::string name() const override { return "fold_batchnorm"; }
  bool run(ir::Model& model) override;
};

}  // namespace qwac::passes
