// Actions: how a selected node group (passes/qdq/node_group.h) is rewritten (ONNX Runtime's qdq_actions.h). Each
// returns the node it created; the nodes and constants the rewrite leaves without readers are removed and recorded
// in ActionContext::removed (the driver iterates over a node order computed before the rewrites).
#pragma once

#include <string>
#include <string_view>
#include <unordered_set>
#include <vector>

#include "ir/graph.h"
#include "passes/qdq/node_group.h"

namespace qwac::passes::qdq {

struct ActionContext {
  ir::Graph& graph;
  int64_t opset;
  std::unordered_set<const ir::Node*>& removed;
};

class Action {
 public:
  virtual ~Action() = default;
  virtual ir::Node* apply(ActionContext& ctx, const NodeGroup& group) const = 0;
};

// DQ(X), DQ(W), bias -> op [-> tail] [-> activation] [-> Q] => one com.qwac op with QConv's input layout
// (ir/fused_ops.h: QConv, QGemm), the target's attributes (all, or only `kept_attributes` when given) and the
// activation's. X is DQ(X)'s input, or the float tensor when the QuantizeLinear producing it has DQ(X)'s parameters
// (the op quantizes it itself).
class ReplaceWithConvLikeOp final : public Action {
 public:
  ReplaceWithConvLikeOp(std::string_view op_type, std::vector<std::string> kept_attributes = {})
      : op_type_(op_type), kept_attributes_(std::move(kept_attributes)) {}
  ir::Node* apply(ActionContext& ctx, const NodeGroup& group) const override;

 private:
  std::string op_type_;
  std::vector<std::string> kept_attributes_;  // empty: every attribute of the target
};

// DQ(A), DQ(B) -> op [-> activation] [-> Q] => one com.qwac op with QAdd's input layout; consumers that quantized
// the float result themselves (NodeGroup::requantizing_consumers) read the integer output instead.
class ReplaceWithBinaryOp final : public Action {
 public:
  explicit ReplaceWithBinaryOp(std::string_view op_type) : op_type_(op_type) {}
  ir::Node* apply(ActionContext& ctx, const NodeGroup& group) const override;

 private:
  std::string op_type_;
};

// DQ(A), DQ(B) -> MatMul [-> Mul by c or Div by c] => com.qwac QMatMul (alpha = c or 1/c), float output.
class ReplaceWithQMatMul final : public Action {
 public:
  ir::Node* apply(ActionContext& ctx, const NodeGroup& group) const override;
};

// DQ -> op -> Q with equal parameters => the same op on the integers, writing the Q's output.
class DropQdq final : public Action {
 public:
  ir::Node* apply(ActionContext& ctx, const NodeGroup& group) const override;
};

// DQ(x) -> op -> readers => op(x) -> DQ -> the float readers; QuantizeLinear readers with the DQ's parameters read
// op(x) directly (Q(DQ(q)) == q for per-tensor parameters: |(q - zp) * s / s - (q - zp)| is far below a half).
class SinkDequantize final : public Action {
 public:
  ir::Node* apply(ActionContext& ctx, const NodeGroup& group) const override;
};

// DQ -> pooling -> Q => com.qwac QLinearPool (attribute pool = the op type).
class ReplaceWithQLinearPool final : public Action {
 public:
  ir::Node* apply(ActionContext& ctx, const NodeGroup& group) const override;
};

// DQ -> LayerNormalization -> Q => com.qwac QLayerNorm (LayerNormalization's axis and epsilon).
class ReplaceWithQLayerNorm final : public Action {
 public:
  ir::Node* apply(ActionContext& ctx, const NodeGroup& group) const override;
};

}  // namespace qwac::passes::qdq
