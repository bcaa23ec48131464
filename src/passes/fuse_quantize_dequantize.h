// QuantizeLinear -> DequantizeLinear(s) with the same parameters => FakeQuantize (com.qwac, see ir/fused_ops.h).
//
// A QDQ model evaluated in float spends most of its non-conv time writing and re-reading the integer tensor
// between Q and DQ; FakeQuantize computes the same numbers in one pass (and on oneDNN's blocked layouts).
// Conditions: the Q is a default-domain QuantizeLinear with an explicit zero point and no opset-21 extensions
// (block_size, output_dtype, saturate); its integer output is not a graph output and every use is input 0 of a
// default-domain DequantizeLinear whose scale and zero point are the Q's (the same values, or constants with
// equal contents) with the same effective axis. With several DQs, all their uses read the FakeQuantize output
// (the output keeps the name of a DQ output that is a graph output, if any; two such outputs block the fusion).
#pragma once

#include "passes/pass.h"

namespace qwac::passes {

class FuseQuantizeDequantize final : public Pass {
 public:
  std::string name() const override { return "fuse_quantize_dequantize"; }
  bool run(ir::Model& model) override;
};

}  // namespace qwac::passes
