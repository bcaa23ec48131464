// Decompositions of activations => one op, so that placement, export and the engine see one activation: every row
// of passes/activation_patterns.h (hard-sigmoid and hard-swish written with Add/Clip/Div/Mul or HardSigmoid + Mul,
// SiLU as x * Sigmoid(x), Mish as x * Tanh(Softplus(x)), GELU in its erf and tanh forms), tried on every node as
// the pattern's root, in row order, repeated until nothing changes (a recognized hard-sigmoid then takes part in
// x * HardSigmoid(x)).
//
// Two targets:
//   - kOnnx (canonicalization, before placement): only into the ONNX op of the model's default-domain opset
//     (HardSigmoid from opset 6, HardSwish from 14, Mish from 18, Gelu from 20); other matches are left as they are.
//   - kEngine (the engine's private copy): into com.qwac Activation (ir/fused_ops.h) for every match, which
//     FuseConvActivation / the QDQ rules then fuse into the producing op, or one element-wise kernel runs.
// The new node takes the root's name and output value; the pattern's other nodes and the constants only they read
// go. The safety checks are the matcher's: no intermediate value is read outside the match or is a graph output.
#pragma once

#include "passes/pass.h"

namespace qwac::passes {

class RecognizeActivations final : public Pass {
 public:
  enum class Target { kOnnx, kEngine };
  explicit RecognizeActivations(Target target) : target_(target) {}
  std::string name() const override { return "recognize_activations"; }
  bool run(ir::Model& model) override;

 private:
  Target target_;
};

}  // namespace qwac::passes
