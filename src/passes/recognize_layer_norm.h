// Recognizes layer normalization written out op by op, as PyTorch exports nn.LayerNorm below opset 17:
//   mean = ReduceMean(x, axes)         axes: the trailing dims (keepdims 1)
//   d    = Sub(x, mean)
//   var  = ReduceMean(Pow(d, 2), axes)  (or Mul(d, d))
//   y    = Div(d, Sqrt(Add(var, eps)))  [* scale] [+ bias]    (eps a constant scalar; scale, bias constants)
// and rewrites it into one LayerNormalization(x, scale, [bias]) node with axis = the first normalized dim and
// epsilon = eps, which the engine runs on oneDNN's layer normalization. Without the decomposition's nine steps on
// reference kernels, LayerNorm goes from a fifth of a BERT-style encoder's time to a few percent.
//
// LayerNormalization is written in the default domain whatever the model's opset: ONNX Runtime accepts it there at
// every opset (its former contrib op, registered in the ONNX domain for opsets 1-16), and so does qwac
// (ir/shape/nn_shapes.cc). A decomposition without a scale (y = Div(...) alone) gets a scale of ones only when the
// normalized size is known from the declared shape of x.
//
// Notes name the ReduceMean of a candidate left alone and why (axes not trailing, non-constant scale...).
#pragma once

#include "passes/pass.h"

namespace qwac::passes {

class RecognizeLayerNorm final : public Pass {
 public:
  std::string name() const override { return "recognize_layer_norm"; }
  bool run(ir::Model& model) override;
};

}  // namespace qwac::passes
