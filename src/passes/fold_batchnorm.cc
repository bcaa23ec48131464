#include "passes/fold_batchnorm.h"

#include <cmath>
#include <unordered_set>

#include "ir/pattern.h"

namespace qwac::passes {
namespace {

const Tensor* float_constant(const ir::Value* v, int64_t numel) {
  if (v == nullptr || !v->is_constant() || v->constant->dtype() != DType::kFloat32) return nullptr;
  if (numel >= 0 && v->constant->numel() != numel) return nullptr;
  return &*v->constant;
}

bool inference_batchnorm(const ir::Node& bn, int64_t opset) {
  if (bn.num_inputs() != 5) return false;
  for (size_t i = 1; i < bn.num_outputs(); ++i) {
    if (bn.output(i) != nullptr) return false;  // training-mode statistics requested
  }
  if (bn.attrs.get_int("training_mode", 0) != 0) return false;
  return opset >= 9 || bn.attrs.get_int("spatial", 1) == 1;
}

void remove_if_dead_constant(ir::Graph& g, ir::Value* v) {
  if (v != nullptr && v->is_constant() && v->uses().empty() && !g.is_graph_output(v) && !g.is_graph_input(v)) {
    g.remove_value(v);
  }
}

}  // namespace

bool FoldBatchNorm::run(ir::Model& model) {
  ir::Graph& g = *model.graph;
  const int64_t opset = model.opset("");
  const ir::OpMatcher bn_matcher =
      ir::with(ir::op("BatchNormalization"), [opset](const ir::Node& n) { return inference_batchnorm(n, opset); });
  std::unordered_set<const ir::Node*> removed;
  bool changed = false;
  for (ir::Node* conv : g.topological_order()) {
    if (removed.count(conv) || conv->op_type() != "Conv" || !conv->domain().empty() || conv->num_outputs() != 1) {
      continue;
    }
    ir::Node* bn = ir::single_consumer(g, *conv, bn_matcher);
    if (bn == nullptr || bn->input(0) != conv->output(0)) continue;
    const Tensor* w = float_constant(conv->input(1), -1);
    if (w == nullptr || w->rank() < 3) continue;
    const int64_t oc = w->dim(0);
    const Tensor* b = conv->has_input(2) ? float_constant(conv->input(2), oc) : nullptr;
    if (conv->has_input(2) && b == nullptr) continue;
    const Tensor* scale = float_constant(bn->input(1), oc);
    const Tensor* shift = float_constant(bn->input(2), oc);
    const Tensor* mean = float_constant(bn->input(3), oc);
    const Tensor* var = float_constant(bn->input(4), oc);
    if (!scale || !shift || !mean || !var) continue;
    const float eps = bn->attrs.get_float("epsilon", 1e-5f);

    Tensor new_w(DType::kFloat32, w->shape());
    Tensor new_b(DType::kFloat32, {oc});
    const int64_t per_oc = w->numel() / oc;
    for (int64_t o = 0; o < oc; ++o) {
      const float k = scale->data<float>()[o] / std::sqrt(var->data<float>()[o] + eps);
      for (int64_t i = 0; i < per_oc; ++i) new_w.data<float>()[o * per_oc + i] = w->data<float>()[o * per_oc + i] * k;
      const float bias = b ? b->data<float>()[o] : 0.f;
      new_b.data<float>()[o] = (bias - mean->data<float>()[o]) * k + shift->data<float>()[o];
    }

    ir::Value* x = conv->input(0);
    ir::Value* old_w = conv->input(1);
    ir::Value* old_b = conv->input(2);
    std::vector<ir::Value*> bn_params(bn->inputs().begin() + 1, bn->inputs().end());
    ir::Value* out = bn->output(0);
    ir::Value* intermediate = conv->output(0);
    const std::string name = conv->name();
    ir::Attributes attrs = conv->attrs;
    removed.insert(bn);
    removed.insert(conv);
    g.remove_node(bn);
    g.remove_node(conv);
    g.remove_value(intermediate);
    ir::Value* w_value = g.add_constant(g.unique_name(old_w->name() + "_bn_folded"), std::move(new_w));
    ir::Value* b_value = g.add_constant(g.unique_name(name + "_bias_bn_folded"), std::move(new_b));
    ir::Node* folded = g.add_node("Conv", {x, w_value, b_value}, {out}, name);
    folded->attrs = std::move(attrs);
    remove_if_dead_constant(g, old_w);
    remove_if_dead_constant(g, old_b);
    for (ir::Value* p : bn_params) remove_if_dead_constant(g, p);
    changed = true;
  }
  return changed;
}

}  // namespace qwac::passes
