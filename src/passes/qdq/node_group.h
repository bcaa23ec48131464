// The unit of QDQ rewriting (ONNX Runtime's NodeGroup, qdq_selectors.h): a target op with the DequantizeLinear
// nodes feeding its data inputs, what is fused after it (an activation, a bias Add), and the QuantizeLinear of its
// result. A selector (passes/qdq/selectors.h) finds one; an action (passes/qdq/actions.h) rewrites it into an op
// that computes on 8-bit tensors; the rule table (passes/qdq/qdq_rules.h) pairs them.
#pragma once

#include <vector>

#include "ir/graph.h"

namespace qwac::passes::qdq {

struct NodeGroup {
  ir::Node* target = nullptr;
  // The DequantizeLinear of each data input, in input order (conv-like ops: X, then W).
  std::vector<ir::Node*> dq_inputs;
  // Nodes fused between the target and the activation, in order (a MatMul's bias Add).
  std::vector<ir::Node*> tail;
  ir::Value* bias = nullptr;       // conv-like ops: the float bias passed on as it is (may be absent)
  ir::Node* activation = nullptr;  // optional: a node ir::activation_from_node reads
  ir::Node* q = nullptr;           // optional: the QuantizeLinear of the result; without one the op outputs float
  // Binary ops: the output's quantization parameters, from `q` or from consumers that quantize the float result
  // themselves (QConvs with a float X), which then read the integer output instead.
  ir::Value* y_scale = nullptr;
  ir::Value* y_zero_point = nullptr;
  std::vector<ir::Node*> requantizing_consumers;

  // The last node of the group's float computation: the activation, else the last tail node, else the target.
  ir::Node* last() const {
    if (activation != nullptr) return activation;
    return tail.empty() ? target : tail.back();
  }
};

}  // namespace qwac::passes::qdq
