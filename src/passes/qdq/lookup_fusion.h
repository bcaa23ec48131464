// Element-wise chains of one 8-bit tensor as a table lookup (ONNX Runtime's QLinearSigmoid / QLinearLeakyRelu do
// the same for one op). After the QDQ rule table, the glue between quantized convolutions in MobileNetV3 /
// EfficientNet blocks is a small DAG whose only varying input is one 8-bit tensor x, with scalar constants:
// hard-swish as QAdd(x, c) -> QMul(x, that), SiLU as DQ(x) -> Sigmoid -> Q -> DQ -> QMul(x, that), the hard-sigmoid
// of an SE block as QAdd(x, c). Its 8-bit result is then an exact function of x's 256 codes: the pass replaces the
// DAG by com.qwac QLookup(x, Table) and keeps the DAG itself, applied to a constant holding the 256 codes, as the
// Table's producer, so that the engine's compile-time constant folding computes the table with the very kernels
// (the reference ones) that would have computed the chain: no second implementation of its numbers.
//
// A region is grown backwards from a node with an 8-bit result (a QuantizeLinear, or a QAdd / QMul / QLookup with a
// quantized output), absorbing the producer of the most recent input until a single 8-bit tensor is left; every
// node must be element-wise (the ops listed in lookup_fusion.cc), read only scalar constants besides the region's
// values, and have every reader of its result inside the region (a DequantizeLinear read outside too is copied into
// the region instead). Runs after the QDQ rule table (which makes QAdd and
// QMul) in passes::engine_int8_passes.
#pragma once

#include "passes/pass.h"

namespace qwac::passes {

class FuseQdqLookup final : public Pass {
 public:
  std::string name() const override { return "fuse_qdq_lookup"; }
  bool run(ir::Model& model) override;
};

}  // namespace qwac::passes
