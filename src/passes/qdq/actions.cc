#include "passes/qdq/actions.h"

#include <algorithm>

#include "ir/fused_ops.h"
#include "passes/qdq/qdq_match.h"

namespace qwac::passes::qdq {
namespace {

// Replaces `op -> q` by one node named as `op` that writes q's output.
ir::Node* replace_with_quantized_output(ActionContext& ctx, ir::Node* op, ir::Node* q, const std::string& op_type,
                                        const std::string& domain, std::vector<ir::Value*> inputs,
                                        ir::Attributes attrs) {
  ir::Graph& g = ctx.graph;
  ir::Value* out = q->output(0);
  ir::Value* mid = op->output(0);
  std::vector<ir::Value*> dropped(q->inputs().begin() + 1, q->inputs().end());
  std::vector<ir::Value*> extra_outputs(op->outputs().begin() + 1, op->outputs().end());  // omitted (nullptr)
  const std::string name = op->name();
  ctx.removed.insert(q);
  ctx.removed.insert(op);
  g.remove_node(q);
  g.remove_node(op);
  g.remove_value(mid);
  for (ir::Value* v : extra_outputs) {
    if (v != nullptr) g.remove_value(v);
  }
  ir::Node* n = g.add_node(op_type, inputs, {out}, name, domain);
  n->attrs = std::move(attrs);
  remove_dead_constants(g, dropped);
  return n;
}

// The attributes of `from` named in `names` (those it has).
template <typename Names>
ir::Attributes attributes_named(const ir::Attributes& from, const Names& names) {
  ir::Attributes attrs;
  for (const auto& name : names) {
    auto it = from.all().find(name);
    if (it != from.all().end()) attrs.set(name, it->second);
  }
  return attrs;
}

// A fused single-input int8 op's X, its dequantization parameters (from `dq`) and Y's quantization parameters
// (from `q`), at the positions of the op's input enum `In`; an omitted zero point stays nullptr.
template <typename In>
void set_quantized_x_and_y(std::vector<ir::Value*>& inputs, const ir::Node& dq, const ir::Node& q) {
  inputs[In::kX] = dq.input(0);
  inputs[In::kXScale] = dq.input(1);
  inputs[In::kXZeroPoint] = dq.input(2);
  inputs[In::kYScale] = q.input(1);
  inputs[In::kYZeroPoint] = q.input(2);
}

}  // namespace

ir::Node* ReplaceWithConvLikeOp::apply(ActionContext& ctx, const NodeGroup& m) const {
  using In = ir::QConvInputs;
  ir::Attributes attrs =
      kept_attributes_.empty() ? m.target->attrs : attributes_named(m.target->attrs, kept_attributes_);
  set_activation(attrs, m.activation, ctx.opset);
  ir::Node* dq_x = m.dq_inputs.at(0);
  ir::Node* dq_w = m.dq_inputs.at(1);
  ir::Node* q_x = float_source_quantize(*dq_x);
  std::vector<ir::Value*> inputs(In::kCount, nullptr);
  inputs[In::kX] = q_x != nullptr ? q_x->input(0) : dq_x->input(0);
  inputs[In::kXScale] = dq_x->input(1);
  inputs[In::kXZeroPoint] = dq_x->input(2);
  inputs[In::kW] = dq_w->input(0);
  inputs[In::kWScale] = dq_w->input(1);
  inputs[In::kBias] = m.bias;
  if (m.q != nullptr) {
    inputs[In::kYScale] = m.q->input(1);
    inputs[In::kYZeroPoint] = m.q->input(2);
  }
  while (!inputs.empty() && inputs.back() == nullptr) inputs.pop_back();

  std::vector<ir::Node*> chain = {m.target};
  chain.insert(chain.end(), m.tail.begin(), m.tail.end());
  if (m.activation != nullptr) chain.push_back(m.activation);
  if (m.q != nullptr) chain.push_back(m.q);
  ir::Node* fused = replace_chain(ctx.graph, chain, op_type_, std::move(inputs), std::move(attrs), ctx.removed);
  // A float result is declared, so that later passes know it (FuseMatMul folds attention's V path, read in float).
  if (m.q == nullptr) fused->output(0)->type.dtype = DType::kFloat32;
  remove_if_dead(ctx.graph, dq_x, ctx.removed);
  remove_if_dead(ctx.graph, dq_w, ctx.removed);
  remove_if_dead(ctx.graph, q_x, ctx.removed);
  return fused;
}

ir::Node* ReplaceWithBinaryOp::apply(ActionContext& ctx, const NodeGroup& m) const {
  using In = ir::QAddInputs;
  ir::Graph& g = ctx.graph;
  ir::Attributes attrs;
  set_activation(attrs, m.activation, ctx.opset);
  ir::Node* dq_a = m.dq_inputs.at(0);
  ir::Node* dq_b = m.dq_inputs.at(1);
  std::vector<ir::Value*> inputs(In::kCount, nullptr);
  inputs[In::kA] = dq_a->input(0);
  inputs[In::kAScale] = dq_a->input(1);
  inputs[In::kAZeroPoint] = dq_a->input(2);
  inputs[In::kB] = dq_b->input(0);
  inputs[In::kBScale] = dq_b->input(1);
  inputs[In::kBZeroPoint] = dq_b->input(2);
  const bool quantized = m.y_scale != nullptr;
  if (quantized) {
    inputs[In::kYScale] = m.y_scale;
    inputs[In::kYZeroPoint] = m.y_zero_point;
  }
  while (!inputs.empty() && inputs.back() == nullptr) inputs.pop_back();

  std::vector<ir::Node*> chain = {m.target};
  if (m.activation != nullptr) chain.push_back(m.activation);
  if (m.q != nullptr) chain.push_back(m.q);
  ir::Value* out = nullptr;  // the last node's output, unless the op needs a new integer one
  if (quantized) {
    // The QConvs that quantized the float result read the integer one (the Q's output, or a new value).
    if (m.q == nullptr) {
      const ir::Value* y = m.last()->output(0);
      out = g.add_value(g.unique_name(y->name() + "_quantized"));
      out->type.dtype = m.y_zero_point->constant->dtype();
    }
    ir::Value* integer = m.q != nullptr ? m.q->output(0) : out;
    for (ir::Node* c : m.requantizing_consumers) g.set_input(c, ir::QConvInputs::kX, integer);
  }
  ir::Node* fused = replace_chain(g, chain, op_type_, std::move(inputs), std::move(attrs), ctx.removed, out);
  remove_if_dead(g, dq_a, ctx.removed);
  remove_if_dead(g, dq_b, ctx.removed);
  return fused;
}

ir::Node* DropQdq::apply(ActionContext& ctx, const NodeGroup& m) const {
  ir::Node* n = m.target;
  std::vector<ir::Value*> inputs = n->inputs();
  for (size_t i = 0; i < m.dq_inputs.size(); ++i) inputs[i] = m.dq_inputs[i]->input(0);
  ir::Node* out = replace_with_quantized_output(ctx, n, m.q, n->op_type(), n->domain(), inputs, n->attrs);
  for (ir::Node* dq : m.dq_inputs) remove_if_dead(ctx.graph, dq, ctx.removed);
  return out;
}

ir::Node* ReplaceWithQMatMul::apply(ActionContext& ctx, const NodeGroup& m) const {
  using In = ir::QMatMulInputs;
  ir::Node* dq_a = m.dq_inputs.at(0);
  ir::Node* dq_b = m.dq_inputs.at(1);
  std::vector<ir::Value*> inputs(In::kCount, nullptr);
  inputs[In::kA] = dq_a->input(0);
  inputs[In::kAScale] = dq_a->input(1);
  inputs[In::kAZeroPoint] = dq_a->num_inputs() > 2 ? dq_a->input(2) : nullptr;
  inputs[In::kB] = dq_b->input(0);
  inputs[In::kBScale] = dq_b->input(1);
  inputs[In::kBZeroPoint] = dq_b->num_inputs() > 2 ? dq_b->input(2) : nullptr;
  while (!inputs.empty() && inputs.back() == nullptr) inputs.pop_back();
  ir::Attributes attrs;
  std::vector<ir::Node*> chain = {m.target};
  if (!m.tail.empty()) {
    const ir::Node* mul = m.tail.front();
    const ir::Value* c = mul->input(mul->input(0) == m.target->output(0) ? 1 : 0);
    const float f = c->constant->data<float>()[0];
    attrs.set("alpha", mul->op_type() == "Div" ? 1.f / f : f);
    chain.push_back(m.tail.front());
  }
  ir::Node* fused = replace_chain(ctx.graph, chain, ir::kQMatMulOp, std::move(inputs), std::move(attrs), ctx.removed);
  // Declared, so that later passes know the result is float (FuseMatMul folds the Softmax x V MatMul after it).
  fused->output(0)->type.dtype = DType::kFloat32;
  remove_if_dead(ctx.graph, dq_a, ctx.removed);
  remove_if_dead(ctx.graph, dq_b, ctx.removed);
  return fused;
}

ir::Node* SinkDequantize::apply(ActionContext& ctx, const NodeGroup& m) const {
  ir::Graph& g = ctx.graph;
  ir::Node* n = m.target;
  ir::Node* dq = m.dq_inputs.at(0);
  std::string unused;
  const std::optional<QuantParams> params = per_tensor_params(*dq, true, unused);
  ir::Value* mid = n->output(0);
  ir::Value* integer = g.add_value(g.unique_name(mid->name() + "_quantized"));
  integer->type.dtype = dq->input(0)->type.dtype;
  std::vector<ir::Value*> inputs = n->inputs();
  inputs[0] = dq->input(0);
  const std::string name = n->name(), op_type = n->op_type(), domain = n->domain();
  const ir::Attributes attrs = n->attrs;
  ctx.removed.insert(n);
  g.remove_node(n);
  ir::Node* moved = g.add_node(op_type, inputs, {integer}, name, domain);
  moved->attrs = attrs;
  std::vector<ir::Value*> dq_inputs = {integer, dq->input(1)};
  if (dq->num_inputs() > 2 && dq->input(2) != nullptr) dq_inputs.push_back(dq->input(2));
  ir::Node* new_dq = g.add_node("DequantizeLinear", dq_inputs, {mid},
                                g.unique_name(name + "_DequantizeLinear"));
  // The new nodes may sit where the removed target was: they are alive (the driver has passed the target already).
  ctx.removed.erase(moved);
  ctx.removed.erase(new_dq);
  remove_if_dead(g, dq, ctx.removed);
  // QuantizeLinear readers with the same parameters read the integers themselves.
  const std::vector<ir::Use> uses = mid->uses();
  for (const ir::Use& u : uses) {
    ir::Node* q = u.node;
    if (q->op_type() != "QuantizeLinear" || ctx.removed.count(q) || !params) continue;
    std::string why;
    const std::optional<QuantParams> qp = per_tensor_params(*q, true, why);
    if (!qp || !(*qp == *params) || g.is_graph_output(q->output(0))) continue;
    ir::Value* q_out = q->output(0);
    g.replace_all_uses(q_out, integer);
    std::vector<ir::Value*> dropped(q->inputs().begin() + 1, q->inputs().end());
    ctx.removed.insert(q);
    g.remove_node(q);
    g.remove_value(q_out);
    remove_dead_constants(g, dropped);
  }
  if (mid->uses().empty() && !g.is_graph_output(mid)) remove_if_dead(g, new_dq, ctx.removed);
  return moved;
}

ir::Node* ReplaceWithQLinearPool::apply(ActionContext& ctx, const NodeGroup& m) const {
  using In = ir::QLinearPoolInputs;
  ir::Node* n = m.target;
  ir::Node* dq = m.dq_inputs.at(0);
  std::vector<ir::Value*> inputs(In::kCount, nullptr);
  set_quantized_x_and_y<In>(inputs, *dq, *m.q);
  ir::Attributes attrs = n->attrs;
  attrs.set("pool", n->op_type());
  ir::Node* out = replace_with_quantized_output(ctx, n, m.q, std::string(ir::kQLinearPoolOp),
                                                std::string(ir::kQwacDomain), inputs, std::move(attrs));
  remove_if_dead(ctx.graph, dq, ctx.removed);
  return out;
}

ir::Node* ReplaceWithQLayerNorm::apply(ActionContext& ctx, const NodeGroup& m) const {
  using In = ir::QLayerNormInputs;
  ir::Node* n = m.target;
  ir::Node* dq = m.dq_inputs.at(0);
  std::vector<ir::Value*> inputs(In::kCount, nullptr);
  set_quantized_x_and_y<In>(inputs, *dq, *m.q);
  inputs[In::kScale] = n->input(1);
  inputs[In::kBias] = n->input(2);  // nullptr when omitted
  ir::Attributes attrs = attributes_named(n->attrs, std::initializer_list<const char*>{"axis", "epsilon"});
  ir::Node* out = replace_with_quantized_output(ctx, n, m.q, std::string(ir::kQLayerNormOp),
                                                std::string(ir::kQwacDomain), inputs, std::move(attrs));
  remove_if_dead(ctx.graph, dq, ctx.removed);
  return out;
}

}  // namespace qwac::passes::qdq
