#include "passes/fuse_qdq_add.h"

#include <optional>
#include <unordered_set>
#include <vector>

#include "ir/fused_ops.h"
#include "ir/pattern.h"
#include "passes/qdq_match.h"

namespace qwac::passes {
namespace {

using In = ir::QAddInputs;

// How the float result `y` of the Add chain gets quantized, when all its readers want it quantized with one scale
// and zero point: by a QuantizeLinear (folded into the QAdd), and/or by QConvs that quantize their float input X
// themselves (they then read the QAdd's integer output).
struct OutputQuantizer {
  ir::Node* q = nullptr;  // may be nullptr when QConvs are the only readers
  ir::Value* scale = nullptr;
  ir::Value* zero_point = nullptr;
  std::vector<ir::Node*> requantizing;  // the QConvs
};

bool quantizing_qconv(const ir::Use& u) {
  using QIn = ir::QConvInputs;
  const ir::Node& c = *u.node;
  return c.op_type() == ir::kQConvOp && c.domain() == ir::kQwacDomain && u.input_index == static_cast<int>(QIn::kX) &&
         qdq::constant_float_scalar(c.input(QIn::kXScale)) && qdq::constant_8bit_scalar(c.input(QIn::kXZeroPoint));
}

std::optional<OutputQuantizer> output_quantizer(const ir::Graph& g, const ir::Value* y) {
  if (g.is_graph_output(y) || y->uses().empty()) return std::nullopt;
  OutputQuantizer out;
  for (const ir::Use& u : y->uses()) {
    if (out.q == nullptr && u.input_index == 0 && qdq::output_quantize(*u.node)) out.q = u.node;
  }
  if (out.q != nullptr) {
    out.scale = out.q->input(1);
    out.zero_point = out.q->input(2);
  }
  for (const ir::Use& u : y->uses()) {
    if (u.node == out.q) continue;
    if (!quantizing_qconv(u)) return std::nullopt;
    const ir::Value* s = u.node->input(ir::QConvInputs::kXScale);
    const ir::Value* z = u.node->input(ir::QConvInputs::kXZeroPoint);
    if (out.scale == nullptr) {
      out.scale = const_cast<ir::Value*>(s);
      out.zero_point = const_cast<ir::Value*>(z);
    } else if (!qdq::same_constant(s, out.scale) || !qdq::same_constant(z, out.zero_point)) {
      return std::nullopt;
    }
    out.requantizing.push_back(u.node);
  }
  return out;
}

}  // namespace

bool FuseQdqAdd::run(ir::Model& model) {
  clear_notes();
  ir::Graph& g = *model.graph;
  const int64_t opset = model.opset("");
  const ir::OpMatcher any_dq = ir::op("DequantizeLinear");
  const ir::OpMatcher act_matcher = qdq::activation_matcher(opset);

  std::unordered_set<const ir::Node*> removed;  // nodes of the order below that a rewrite already deleted
  bool changed = false;
  for (ir::Node* add : g.topological_order()) {
    if (removed.count(add)) continue;
    if (add->op_type() != "Add" || !qdq::is_default_domain(*add) || add->num_inputs() != 2 ||
        add->num_outputs() != 1) {
      continue;
    }
    ir::Node* dq_a = ir::producer(*add, 0, any_dq);
    ir::Node* dq_b = ir::producer(*add, 1, any_dq);
    if (dq_a == nullptr && dq_b == nullptr) continue;  // a float Add: nothing to say
    bool inputs_ok = true;
    for (size_t i = 0; i < 2 && inputs_ok; ++i) {
      const ir::Node* dq = i == 0 ? dq_a : dq_b;
      if (dq == nullptr || !qdq::activation_dequantize(*dq)) {
        note(*add, "input " + std::to_string(i) +
                       " is not a DequantizeLinear of uint8/int8 with a constant scalar scale and zero point");
        inputs_ok = false;
      }
    }
    if (!inputs_ok) continue;

    ir::Node* act = ir::single_consumer(g, *add, act_matcher);
    ir::Node* tail = act != nullptr ? act : add;
    const std::optional<OutputQuantizer> quantizer = output_quantizer(g, tail->output(0));
    ir::Node* q = quantizer ? quantizer->q : nullptr;

    ir::Attributes attrs;
    qdq::set_activation(attrs, act, opset);
    std::vector<ir::Value*> inputs(In::kCount, nullptr);
    inputs[In::kA] = dq_a->input(0);
    inputs[In::kAScale] = dq_a->input(1);
    inputs[In::kAZeroPoint] = dq_a->input(2);
    inputs[In::kB] = dq_b->input(0);
    inputs[In::kBScale] = dq_b->input(1);
    inputs[In::kBZeroPoint] = dq_b->input(2);
    if (quantizer) {
      inputs[In::kYScale] = quantizer->scale;
      inputs[In::kYZeroPoint] = quantizer->zero_point;
    }
    while (!inputs.empty() && inputs.back() == nullptr) inputs.pop_back();

    std::vector<ir::Node*> chain = {add};
    if (act != nullptr) chain.push_back(act);
    if (q != nullptr) chain.push_back(q);
    ir::Value* out = nullptr;  // the last node's output, unless the QAdd needs a new integer one
    if (quantizer) {
      // The QConvs that quantized the float result read the integer one (the Q's output, or a new value).
      if (q == nullptr) {
        out = g.add_value(g.unique_name(tail->output(0)->name() + "_quantized"));
        out->type.dtype = quantizer->zero_point->constant->dtype();
      }
      ir::Value* integer = q != nullptr ? q->output(0) : out;
      for (ir::Node* c : quantizer->requantizing) g.set_input(c, ir::QConvInputs::kX, integer);
    }
    qdq::replace_chain(g, chain, ir::kQAddOp, std::move(inputs), std::move(attrs), removed, out);
    qdq::remove_if_dead(g, dq_a, removed);
    qdq::remove_if_dead(g, dq_b, removed);
    changed = true;
  }
  if (changed) qdq::import_qwac_domain(model);
  return changed;
}

}  // namespace qwac::passes
