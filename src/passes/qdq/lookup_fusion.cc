#include "passes/qdq/lookup_fusion.h"

#include <algorithm>
#include <cstdint>
#include <map>
#include <set>
#include <string>
#include <unordered_map>
#include <unordered_set>
#include <vector>

#include "ir/fused_ops.h"
#include "passes/qdq/qdq_match.h"

namespace qwac::passes {
namespace {

using qdq::is_8bit;
using qdq::is_default_domain;

// Ops computing each output element from the elements at the same position of their inputs (scalars broadcast),
// so a chain of them applied to the 256 codes gives the table. Default domain unless marked.
const std::set<std::string>& elementwise_ops() {
  static const std::set<std::string> ops = {"DequantizeLinear", "QuantizeLinear", "Add", "Sub", "Mul", "Div", "Relu",
                                            "Clip", "Sigmoid", "HardSigmoid", "HardSwish", "Tanh", "LeakyRelu",
                                            "Neg", "Abs", "Exp", "Erf", "Elu", "Softplus", "Softsign"};
  return ops;
}
const std::set<std::string>& qwac_elementwise_ops() {
  static const std::set<std::string> ops = {std::string(ir::kQAddOp), std::string(ir::kQMulOp),
                                            std::string(ir::kActivationOp), std::string(ir::kFakeQuantizeOp)};
  return ops;
}

bool elementwise(const ir::Node& n) {
  if (n.num_outputs() != 1) return false;
  if (is_default_domain(n)) {
    if (!elementwise_ops().count(n.op_type())) return false;
    // Q / DQ with opset-21 attributes (blocks, output types) are not per-element functions of one scalar scale.
    return (n.op_type() != "QuantizeLinear" && n.op_type() != "DequantizeLinear") || qdq::extended_attribute(n) == nullptr;
  }
  return n.domain() == ir::kQwacDomain && qwac_elementwise_ops().count(n.op_type());
}

// The 8-bit type of the zero point `zp` of a quantizing node (absent: uint8); kUndefined when not 8-bit constant.
DType zero_point_type(const ir::Value* zp) {
  if (zp == nullptr) return DType::kUInt8;
  if (!zp->is_constant() || !is_8bit(zp->constant->dtype())) return DType::kUndefined;
  return zp->constant->dtype();
}

// The 8-bit type of the result of `n` when it quantizes (the region's end); kUndefined otherwise.
DType quantized_result_type(const ir::Node& n) {
  if (is_default_domain(n) && n.op_type() == "QuantizeLinear") return zero_point_type(n.input(2));
  if (n.domain() != ir::kQwacDomain) return DType::kUndefined;
  if (n.op_type() == ir::kQAddOp || n.op_type() == ir::kQMulOp) {
    return n.has_input(ir::QAddInputs::kYScale) ? zero_point_type(n.input(ir::QAddInputs::kYZeroPoint))
                                                : DType::kUndefined;
  }
  return DType::kUndefined;
}

// The 8-bit type `region` reads `x` as (the input of a DequantizeLinear, an operand of QAdd / QMul), from the value's
// type when known; kUndefined when nothing says it is 8-bit.
DType leaf_type(const ir::Value* x, const std::unordered_set<const ir::Node*>& region) {
  if (is_8bit(x->type.dtype)) return x->type.dtype;
  if (x->type.dtype != DType::kUndefined) return DType::kUndefined;
  for (const ir::Use& u : x->uses()) {
    if (!region.count(u.node)) continue;
    const ir::Node& n = *u.node;
    if (is_default_domain(n) && n.op_type() == "DequantizeLinear" && u.input_index == 0) {
      return zero_point_type(n.input(2));
    }
    if (n.domain() == ir::kQwacDomain && (n.op_type() == ir::kQAddOp || n.op_type() == ir::kQMulOp)) {
      using In = ir::QAddInputs;
      if (u.input_index == static_cast<int>(In::kA)) return zero_point_type(n.input(In::kAZeroPoint));
      if (u.input_index == static_cast<int>(In::kB)) return zero_point_type(n.input(In::kBZeroPoint));
    }
  }
  return DType::kUndefined;
}

struct Region {
  std::vector<ir::Node*> nodes;  // topological order
  ir::Value* x = nullptr;        // the one varying input
  DType x_type = DType::kUndefined;
  // DequantizeLinear nodes of the region whose result is read outside it too: copied, not moved.
  std::unordered_set<const ir::Node*> shared;
};

// The region ending at `end` (see lookup_fusion.h), or false.
bool grow_region(const ir::Graph& g, ir::Node* end, const std::unordered_map<const ir::Node*, size_t>& position,
                 Region& region) {
  std::unordered_set<const ir::Node*> members = {end};
  std::vector<ir::Node*> nodes = {end};
  std::set<ir::Value*> leaves;
  auto add_inputs = [&](const ir::Node& n) {
    for (ir::Value* v : n.inputs()) {
      if (v == nullptr) continue;
      if (v->is_constant()) {
        if (v->constant->numel() != 1) return false;  // a per-channel constant: no function of x alone
        continue;
      }
      leaves.insert(v);
    }
    return true;
  };
  if (!add_inputs(*end)) return false;
  while (true) {
    if (leaves.size() == 1) {
      ir::Value* x = *leaves.begin();
      const DType t = leaf_type(x, members);
      if (is_8bit(t)) {
        region.x = x;
        region.x_type = t;
        break;
      }
    }
    // Absorb the producer of the most recently computed leaf that can be absorbed.
    ir::Value* next = nullptr;
    for (ir::Value* v : leaves) {
      ir::Node* p = v->producer();
      if (p == nullptr || !position.count(p) || !elementwise(*p)) continue;
      const bool inside = !g.is_graph_output(v) && std::all_of(v->uses().begin(), v->uses().end(), [&](const ir::Use& u) {
        return members.count(u.node) > 0;
      });
      // A DequantizeLinear others read too is copied into the region rather than moved (cheap, and x's codes
      // stay the region's one input).
      if (!inside && !(is_default_domain(*p) && p->op_type() == "DequantizeLinear")) continue;
      if (next == nullptr || position.at(p) > position.at(next->producer())) next = v;
    }
    if (next == nullptr) return false;
    leaves.erase(next);
    ir::Node* p = next->producer();
    members.insert(p);
    nodes.push_back(p);
    const bool shared = g.is_graph_output(next) || std::any_of(next->uses().begin(), next->uses().end(),
                                                               [&](const ir::Use& u) { return !members.count(u.node); });
    if (shared) region.shared.insert(p);
    if (!add_inputs(*next->producer())) return false;
  }
  // A lone QuantizeLinear reads a float tensor: no chain of an 8-bit one.
  if (members.size() == 1 && is_default_domain(*end) && end->op_type() == "QuantizeLinear") return false;
  region.nodes = std::move(nodes);
  std::sort(region.nodes.begin(), region.nodes.end(),
            [&](const ir::Node* a, const ir::Node* b) { return position.at(a) < position.at(b); });
  for (ir::Node* n : region.nodes) {
    if (n != end && std::any_of(n->outputs().begin() + 1, n->outputs().end(), [](ir::Value* v) { return v; })) {
      return false;
    }
  }
  return true;
}

// The 256 codes of `t` in table order: byte value i at index i.
Tensor codes(DType t) {
  Tensor c(t, Shape{256});
  auto* bytes = static_cast<uint8_t*>(c.raw());
  for (int i = 0; i < 256; ++i) bytes[i] = static_cast<uint8_t>(i);
  return c;
}

// Replaces `region` by QLookup(x, Table); the region's nodes move to the Table's computation from the codes.
ir::Node* rewrite(ir::Graph& g, const Region& region, std::unordered_set<const ir::Node*>& removed) {
  ir::Node* end = region.nodes.back();
  const std::string name = end->name();
  ir::Value* codes_value = g.add_constant(g.unique_name(name + "_lookup_codes"), codes(region.x_type));
  std::unordered_set<const ir::Node*> members(region.nodes.begin(), region.nodes.end());
  std::vector<ir::Node*> nodes = region.nodes;
  for (ir::Node*& n : nodes) {
    if (!region.shared.count(n)) continue;
    // The copy serves the region's readers; the original keeps the others.
    ir::Value* out = n->output(0);
    ir::Value* copy_out = g.add_value(g.unique_name(out->name() + "_lookup"));
    ir::Node* copy = g.add_node(n->op_type(), n->inputs(), {copy_out}, g.unique_name(n->name() + "_lookup"), n->domain());
    copy->attrs = n->attrs;
    const std::vector<ir::Use> uses = out->uses();
    for (const ir::Use& u : uses) {
      if (members.count(u.node)) g.set_input(u.node, static_cast<size_t>(u.input_index), copy_out);
    }
    n = copy;
  }
  // The region's nodes read the codes instead of x and keep their constants; the end writes the table.
  for (ir::Node* n : nodes) {
    for (size_t i = 0; i < n->num_inputs(); ++i) {
      if (n->input(i) == region.x) g.set_input(n, i, codes_value);
    }
    if (n != end) n->output(0)->type.shape.reset();  // now [256], no longer the declared shape
  }
  ir::Value* y = end->output(0);
  ir::Value* table = g.add_value(g.unique_name(name + "_lookup_table"));
  // Rewire y's readers (and a graph output) to the QLookup writing a fresh value, then swap: the lookup keeps `y`.
  std::vector<ir::Value*> inputs = end->inputs();
  std::vector<ir::Value*> outputs = {table};
  const std::string end_op = end->op_type(), end_domain = end->domain();
  ir::Attributes end_attrs = end->attrs;
  removed.insert(end);
  g.remove_node(end);
  ir::Node* table_node = g.add_node(end_op, inputs, outputs, g.unique_name(name + "_table"), end_domain);
  table_node->attrs = std::move(end_attrs);
  ir::Node* lookup = g.add_node(std::string(ir::kQLookupOp), {region.x, table}, {y}, name, std::string(ir::kQwacDomain));
  return lookup;
}

}  // namespace

bool FuseQdqLookup::run(ir::Model& model) {
  clear_notes();
  ir::Graph& g = *model.graph;
  const std::vector<ir::Node*> order = g.topological_order();
  std::unordered_map<const ir::Node*, size_t> position;
  for (size_t i = 0; i < order.size(); ++i) position[order[i]] = i;
  std::unordered_set<const ir::Node*> removed, absorbed;
  bool changed = false;
  for (auto it = order.rbegin(); it != order.rend(); ++it) {
    ir::Node* n = *it;
    if (removed.count(n) || absorbed.count(n) || !elementwise(*n) || !is_8bit(quantized_result_type(*n))) continue;
    Region region;
    if (!grow_region(g, n, position, region)) continue;
    if (std::any_of(region.nodes.begin(), region.nodes.end(), [&](ir::Node* r) { return absorbed.count(r) > 0; })) {
      continue;
    }
    for (ir::Node* r : region.nodes) {
      if (!region.shared.count(r)) absorbed.insert(r);
    }
    rewrite(g, region, removed);
    changed = true;
  }
  if (changed) qdq::import_qwac_domain(model);
  return changed;
}

}  // namespace qwac::passes
