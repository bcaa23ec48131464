#include "passes/fuse_qdq_int8_ops.h"

#include <algorithm>
#include <optional>
#include <unordered_set>
#include <vector>

#include "ir/fused_ops.h"
#include "ir/pattern.h"
#include "passes/qdq_match.h"

namespace qwac::passes {
namespace {

using In = ir::QLinearPoolInputs;

// What the pass may do with an op type.
struct Int8OpRule {
  const char* op_type;
  bool all_inputs_data;  // Concat: every input is data; otherwise input 0 only
  bool exact;            // runs on the integers unchanged when the parameters match
  bool requantizing;     // can become a QLinearPool (pooling ops)
};

constexpr Int8OpRule kRules[] = {
    {"MaxPool", false, true, true},        {"GlobalMaxPool", false, true, true},
    {"AveragePool", false, false, true},   {"GlobalAveragePool", false, false, true},
    {"Concat", true, true, false},         {"Reshape", false, true, false},
    {"Flatten", false, true, false},       {"Squeeze", false, true, false},
    {"Unsqueeze", false, true, false},     {"Transpose", false, true, false},
};

const Int8OpRule* find_rule(const ir::Node& n) {
  if (!qdq::is_default_domain(n)) return nullptr;
  for (const Int8OpRule& r : kRules) {
    if (n.op_type() == r.op_type) return &r;
  }
  return nullptr;
}

// Per-tensor quantization parameters of a Q or DQ.
struct QuantParams {
  float scale = 0.f;
  DType type = DType::kUInt8;
  int32_t zero_point = 0;
  bool operator==(const QuantParams&) const = default;
};

std::string describe(const QuantParams& p) {
  return "scale " + std::to_string(p.scale) + ", zero point " + std::to_string(p.zero_point) + " (" +
         std::string(dtype_name(p.type)) + ")";
}

// A default-domain Q/DQ without the opset-21 attributes, with constant scalar float scale and 8-bit scalar zero
// point (absent allowed when `zp_optional`): its parameters, or a reason.
std::optional<QuantParams> quant_params(const ir::Node& n, bool zp_optional, std::string& why) {
  if (!qdq::is_default_domain(n) || n.num_outputs() != 1 || n.num_inputs() < 2) {
    why = "not a default-domain single-output " + n.op_type();
    return std::nullopt;
  }
  if (const char* attr = qdq::extended_attribute(n); attr != nullptr) {
    why = "uses the attribute " + std::string(attr);
    return std::nullopt;
  }
  const ir::Value* s = n.input(1);
  if (!qdq::constant_float_scalar(s)) {
    why = "the scale is not a constant float scalar (per-channel quantization)";
    return std::nullopt;
  }
  QuantParams p;
  p.scale = s->constant->data<float>()[0];
  if (!(p.scale > 0.f)) {
    why = "the scale " + std::to_string(p.scale) + " is not positive";
    return std::nullopt;
  }
  const ir::Value* zp = n.input(2);
  if (zp == nullptr) {
    if (!zp_optional) {
      why = "no zero point (the output type is not explicit)";
      return std::nullopt;
    }
  } else if (!qdq::constant_8bit_scalar(zp)) {
    why = "the zero point is not a constant 8-bit scalar";
    return std::nullopt;
  } else {
    p.type = zp->constant->dtype();
    p.zero_point = p.type == DType::kUInt8 ? zp->constant->data<uint8_t>()[0] : zp->constant->data<int8_t>()[0];
  }
  return p;
}

// The DequantizeLinear producing input `i` of `n` and its parameters; nullptr with a reason otherwise.
ir::Node* input_dequantize(const ir::Node& n, size_t i, QuantParams& params, std::string& why) {
  const ir::Value* v = n.input(i);
  ir::Node* dq = v != nullptr ? v->producer() : nullptr;
  if (dq == nullptr || dq->op_type() != "DequantizeLinear") {
    why = "input " + std::to_string(i) + " is not the output of a DequantizeLinear";
    return nullptr;
  }
  std::string reason;
  const std::optional<QuantParams> p = quant_params(*dq, true, reason);
  if (!p) {
    why = "input " + std::to_string(i) + "'s DequantizeLinear '" + dq->name() + "': " + reason;
    return nullptr;
  }
  const DType x_type = dq->input(0)->type.dtype;
  if (x_type != DType::kUndefined && x_type != p->type) {
    why = "input " + std::to_string(i) + "'s DequantizeLinear reads " + std::string(dtype_name(x_type));
    return nullptr;
  }
  params = *p;
  return dq;
}

// Why the output of `n` is not read by exactly one QuantizeLinear.
std::string output_problem(const ir::Graph& g, const ir::Node& n) {
  const ir::Value* out = n.output(0);
  if (g.is_graph_output(out)) return "its output is a graph output";
  if (out->uses().size() != 1) {
    return "its output has " + std::to_string(out->uses().size()) + " consumers, not one QuantizeLinear";
  }
  const ir::Node& consumer = *out->uses()[0].node;
  return "its output goes to " + consumer.op_type() + " '" + consumer.name() + "', not to a QuantizeLinear";
}

// Replaces `op -> q` by one node named as `op` that writes q's output.
void replace_with(ir::Graph& g, ir::Node* op, ir::Node* q, const std::string& op_type, const std::string& domain,
                  std::vector<ir::Value*> inputs, ir::Attributes attrs, std::unordered_set<const ir::Node*>& removed) {
  ir::Value* out = q->output(0);
  ir::Value* mid = op->output(0);
  std::vector<ir::Value*> dropped(q->inputs().begin() + 1, q->inputs().end());
  std::vector<ir::Value*> extra_outputs(op->outputs().begin() + 1, op->outputs().end());  // omitted (nullptr)
  const std::string name = op->name();
  removed.insert(q);
  removed.insert(op);
  g.remove_node(q);
  g.remove_node(op);
  g.remove_value(mid);
  for (ir::Value* v : extra_outputs) {
    if (v != nullptr) g.remove_value(v);
  }
  ir::Node* n = g.add_node(op_type, inputs, {out}, name, domain);
  n->attrs = std::move(attrs);
  qdq::remove_dead_constants(g, dropped);
}

}  // namespace

bool FuseQdqInt8Ops::run(ir::Model& model) {
  clear_notes();
  ir::Graph& g = *model.graph;
  const ir::OpMatcher any_q = ir::op("QuantizeLinear");
  std::unordered_set<const ir::Node*> removed;
  bool changed = false, created_qwac_op = false;
  for (ir::Node* n : g.topological_order()) {
    if (removed.count(n)) continue;
    const Int8OpRule* rule = find_rule(*n);
    if (rule == nullptr) continue;

    // Is this op between quantizers at all? Ops of float regions are no candidates and get no note.
    const size_t data_inputs = rule->all_inputs_data ? n->num_inputs() : std::min<size_t>(1, n->num_inputs());
    bool touches_quantizer = false;
    for (size_t i = 0; i < data_inputs; ++i) {
      const ir::Node* p = n->input(i) != nullptr ? n->input(i)->producer() : nullptr;
      touches_quantizer |= p != nullptr && p->op_type() == "DequantizeLinear";
    }
    for (const ir::Value* out : n->outputs()) {
      if (out == nullptr) continue;
      for (const ir::Use& u : out->uses()) touches_quantizer |= u.node->op_type() == "QuantizeLinear";
    }
    if (!touches_quantizer || data_inputs == 0) continue;
    const std::string prefix = "not run in int8: ";

    // Inputs: DequantizeLinear with one set of parameters.
    std::vector<ir::Node*> dqs;
    QuantParams x_params;
    std::string why;
    for (size_t i = 0; i < data_inputs && why.empty(); ++i) {
      QuantParams p;
      ir::Node* dq = input_dequantize(*n, i, p, why);
      if (dq == nullptr) break;
      if (!dqs.empty() && !(p == x_params)) {
        why = "input " + std::to_string(i) + " is dequantized with " + describe(p) + ", input 0 with " +
              describe(x_params);
        break;
      }
      x_params = p;
      dqs.push_back(dq);
    }
    if (!why.empty()) {
      note(*n, prefix + why);
      continue;
    }
    // Output: one QuantizeLinear.
    for (size_t k = 1; k < n->num_outputs(); ++k) {
      if (n->output(k) != nullptr) why = "output " + std::to_string(k) + " (Indices) is used";
    }
    ir::Node* q = nullptr;
    if (why.empty()) {
      q = ir::single_consumer(g, *n, any_q);
      if (q == nullptr) why = output_problem(g, *n);
    }
    std::optional<QuantParams> y_params;
    if (q != nullptr) {
      std::string reason;
      y_params = quant_params(*q, false, reason);
      if (!y_params) why = "the QuantizeLinear '" + q->name() + "' after it: " + reason;
    }
    if (!why.empty()) {
      note(*n, prefix + why);
      continue;
    }

    if (rule->exact && *y_params == x_params) {
      std::vector<ir::Value*> inputs = n->inputs();
      for (size_t i = 0; i < data_inputs; ++i) inputs[i] = dqs[i]->input(0);
      replace_with(g, n, q, n->op_type(), n->domain(), inputs, n->attrs, removed);
    } else if (rule->requantizing) {
      ir::Node* dq = dqs.at(0);
      std::vector<ir::Value*> inputs(In::kCount, nullptr);
      inputs[In::kX] = dq->input(0);
      inputs[In::kXScale] = dq->input(1);
      inputs[In::kXZeroPoint] = dq->input(2);
      inputs[In::kYScale] = q->input(1);
      inputs[In::kYZeroPoint] = q->input(2);
      ir::Attributes attrs = n->attrs;
      attrs.set("pool", n->op_type());
      replace_with(g, n, q, std::string(ir::kQLinearPoolOp), std::string(ir::kQwacDomain), inputs, std::move(attrs),
                   removed);
      created_qwac_op = true;
    } else {
      note(*n, prefix + "its output is requantized with " + describe(*y_params) + ", its input dequantized with " +
                   describe(x_params) + " (only pooling has a requantizing int8 kernel)");
      continue;
    }
    for (ir::Node* dq : dqs) qdq::remove_if_dead(g, dq, removed);
    changed = true;
  }
  if (created_qwac_op) qdq::import_qwac_domain(model);
  return changed;
}

}  // namespace qwac::passes
