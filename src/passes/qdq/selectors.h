// Selectors: which node groups around a target op can run on 8-bit tensors, by structural class rather than by op
// name (ONNX Runtime's qdq_selectors.h): conv-like (DQ(X), DQ(W) -> op), matmul-like (Gemm / MatMul with a bias
// row), binary (DQ(A), DQ(B) -> op), data movement whose QDQ can be dropped (DQ -> op -> Q with equal parameters),
// and unary requantizing ops (DQ -> op -> Q with other parameters). Each either returns the group or declines; a
// decline with a reason becomes a PassNote shown by `qwac inspect --plan --int8` (an empty reason: the node is no
// candidate at all, e.g. a float op between no quantizers).
#pragma once

#include <optional>
#include <string>

#include "ir/graph.h"
#include "passes/qdq/node_group.h"

namespace qwac::passes::qdq {

struct SelectContext {
  const ir::Graph& graph;
  int64_t opset;
};

class Selector {
 public:
  virtual ~Selector() = default;
  // The group around `target`, or nullopt with `why` (empty: not worth a note).
  virtual std::optional<NodeGroup> select(const SelectContext& ctx, ir::Node& target, std::string& why) const = 0;
};

// DQ(X) (per-tensor 8-bit), DQ(W) (constant int8, symmetric, per-tensor or per output channel on axis 0, rank >= 3),
// optional float bias -> Conv [-> activation] [-> Q]. Notes every Conv it cannot take, float ones included.
class ConvSelector final : public Selector {
 public:
  std::optional<NodeGroup> select(const SelectContext& ctx, ir::Node& target, std::string& why) const override;
};

// DQ(X), DQ(W) (constant 2-D int8, symmetric, per-tensor or per output column) -> Gemm (transA 0, alpha = beta = 1,
// C a constant row) or MatMul [-> Add of a constant row] [-> activation] [-> Q]. Float layers get no note.
class MatMulSelector final : public Selector {
 public:
  std::optional<NodeGroup> select(const SelectContext& ctx, ir::Node& target, std::string& why) const override;
};

// DQ(A), DQ(B) -> MatMul [-> Mul or Div by a constant float scalar] with two computed (non-constant) 8-bit operands
// (attention's Q x K^T and its 1/sqrt(d)), the output left float: NodeGroup::tail holds the Mul / Div. A
// constant B is MatMulSelector's (QGemm); a float operand gets no note.
class ActivationMatMulSelector final : public Selector {
 public:
  std::optional<NodeGroup> select(const SelectContext& ctx, ir::Node& target, std::string& why) const override;
};

// DQ(A), DQ(B) (per-tensor 8-bit) -> op [-> activation] -> output quantized by one QuantizeLinear and/or by QConvs
// quantizing their float X with the same parameters (or float output). Float ops get no note.
class BinarySelector final : public Selector {
 public:
  std::optional<NodeGroup> select(const SelectContext& ctx, ir::Node& target, std::string& why) const override;
};

// DQ -> op -> Q around an op that only selects or moves elements (max pooling, Concat, reshaping), where every
// data input is dequantized and the output quantized with one set of per-tensor parameters: the op gives exactly
// Q(op(DQ(x))) on the integers (DequantizeLinear is strictly increasing). `all_inputs_data`: every input is data
// (Concat); otherwise input 0 only.
class DropQdqSelector final : public Selector {
 public:
  explicit DropQdqSelector(bool all_inputs_data) : all_inputs_data_(all_inputs_data) {}
  std::optional<NodeGroup> select(const SelectContext& ctx, ir::Node& target, std::string& why) const override;

 private:
  bool all_inputs_data_;
};

// DQ -> op around an op that only moves elements (reshaping, Transpose, Gather), whose output has several readers,
// one a QuantizeLinear with the DQ's parameters, the others float (attention's qkv split: Q and K requantized, V
// read in float): the op can run on the integers with the DequantizeLinear moved below it (per-tensor:
// op(DQ(x)) == DQ(op(x)) exactly), so the QuantizeLinear vanishes. Skips dequantized constants (weights, folded)
// and ops without a dequantized data input (no note: float regions).
class SinkDequantizeSelector final : public Selector {
 public:
  std::optional<NodeGroup> select(const SelectContext& ctx, ir::Node& target, std::string& why) const override;
};

// DQ -> op -> Q around a single-input op whose output is requantized with any per-tensor parameters (pooling).
class UnarySelector final : public Selector {
 public:
  std::optional<NodeGroup> select(const SelectContext& ctx, ir::Node& target, std::string& why) const override;
};

// DQ -> LayerNormalization -> Q (a transformer's residual stream normalized into the next int8 matmul's input):
// UnarySelector's group, with a computed 8-bit X and a Q that names its zero point (the output type).
class LayerNormSelector final : public Selector {
 public:
  std::optional<NodeGroup> select(const SelectContext& ctx, ir::Node& target, std::string& why) const override;
};

}  // namespace qwac::passes::qdq
