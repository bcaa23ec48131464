// {Conv, ConvTranspose, Gemm} -> BatchNormalization (inference) => the same op with rescaled weights and bias. With
// k[c] = s[c] / sqrt(v[c] + eps) per output channel c (axis 1 of the op's output):
//   Conv:          W'[c] = W[c] * k[c] (W [C, I/group, k...]),  B'[c] = (B[c] - m[c]) * k[c] + b[c]
//   ConvTranspose: W'[i, j] = W[i, j] * k[c(i, j)] (W [I, C/group, k...], c = group(i) * C/group + j), B' as Conv
//   Gemm (2-D):    column c of B' (row c when transB) scaled by k[c]; C'[c] = (beta * C[c] - m[c]) * k[c] + b[c]
//                  with beta 1 (C created if absent; a C that varies along M does not fold)
// Conditions: weights, bias (if any) and the four BN parameters are float constants; the BN is in inference mode
// with a single output; the producer's output has the BN as its only consumer and is not a graph output. The folded
// weights are new constants (constants may be shared and are immutable); the BN's output value is kept.
#pragma once

#include "passes/pass.h"

namespace qwac::passes {

class FoldBatchNorm final : public Pass {
 public:
  std::string name() const override { return "fold_batchnorm"; }
  bool run(ir::Model& model) override;
};

}  // namespace qwac::passes
