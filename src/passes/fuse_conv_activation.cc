#include "passes/fuse_conv_activation.h"

#include <algorithm>
#include <limits>
#include <optional>
#include <unordered_set>

#include "ir/fused_ops.h"
#include "ir/pattern.h"

namespace qwac::passes {
namespace {

constexpr int64_t kFusedOpsetVersion = 1;

struct ActivationSpec {
  std::string name;
  std::vector<float> params;
};

std::optional<float> constant_scalar(const ir::Value* v) {
  if (v == nullptr || !v->is_constant() || v->constant->dtype() != DType::kFloat32 || v->constant->numel() != 1) {
    return std::nullopt;
  }
  return v->constant->data<float>()[0];
}

// The fused form of an activation node, or nullopt when it cannot be fused (unknown bounds, other op).
std::optional<ActivationSpec> activation_spec(const ir::Node& n, int64_t opset) {
  const std::string& t = n.op_type();
  if (!n.domain().empty() || ir::find_fused_activation(t) == nullptr) return std::nullopt;
  if (t == "LeakyRelu") return ActivationSpec{t, {n.attrs.get_float("alpha", 0.01f)}};
  if (t == "Elu") return ActivationSpec{t, {n.attrs.get_float("alpha", 1.f)}};
  if (t == "HardSigmoid") return ActivationSpec{t, {n.attrs.get_float("alpha", 0.2f), n.attrs.get_float("beta", 0.5f)}};
  if (t == "Clip") {
    float lo = std::numeric_limits<float>::lowest(), hi = std::numeric_limits<float>::max();
    if (opset < 11) {
      lo = n.attrs.get_float("min", lo);
      hi = n.attrs.get_float("max", hi);
    } else {
      for (size_t i = 1; i <= 2; ++i) {
        if (!n.has_input(i)) continue;
        const std::optional<float> v = constant_scalar(n.input(i));
        if (!v) return std::nullopt;
        (i == 1 ? lo : hi) = *v;
      }
    }
    return ActivationSpec{t, {lo, hi}};
  }
  return ActivationSpec{t, {}};
}

bool fully_known(const std::optional<ir::SymbolicShape>& s) {
  return s && std::all_of(s->begin(), s->end(), [](const ir::Dim& d) { return d.size >= 0; });
}

// The Add's operand that is not `from`, if it qualifies as a residual.
ir::Value* residual_of(const ir::Node& add, const ir::Value* from) {
  if (add.num_inputs() != 2) return nullptr;
  ir::Value* other = add.input(0) == from ? add.input(1) : add.input(0);
  if (other == nullptr || other == from || other->is_constant()) return nullptr;
  if (other->type.dtype != DType::kUndefined && other->type.dtype != DType::kFloat32) return nullptr;
  if (fully_known(other->type.shape) && fully_known(from->type.shape) && *other->type.shape != *from->type.shape) {
    return nullptr;
  }
  return other;
}

bool is_float_conv(const ir::Node& conv) {
  if (conv.num_outputs() != 1 || conv.num_inputs() < 2) return false;
  for (const ir::Value* v : {conv.input(0), conv.input(1), conv.output(0)}) {
    if (v != nullptr && v->type.dtype != DType::kUndefined && v->type.dtype != DType::kFloat32) return false;
  }
  return true;
}

void remove_if_dead_constant(ir::Graph& g, ir::Value* v) {
  if (v != nullptr && v->is_constant() && v->uses().empty() && !g.is_graph_output(v) && !g.is_graph_input(v)) {
    g.remove_value(v);
  }
}

}  // namespace

bool FuseConvActivation::run(ir::Model& model) {
  ir::Graph& g = *model.graph;
  const int64_t opset = model.opset("");
  if (opset < 7) return false;  // Add before opset 7 has legacy broadcast attributes
  const ir::OpMatcher conv_matcher = ir::with(ir::op("Conv"), is_float_conv);
  const ir::OpMatcher add_matcher = ir::op("Add");
  const ir::OpMatcher act_matcher =
      ir::with(ir::OpMatcher{}, [opset](const ir::Node& n) { return activation_spec(n, opset).has_value(); });

  std::unordered_set<const ir::Node*> removed;
  bool changed = false;
  for (ir::Node* conv : g.topological_order()) {
    if (removed.count(conv)) continue;
    std::optional<ir::ChainMatch> m =
        ir::match_chain(g, *conv, conv_matcher, {{add_matcher, true}, {act_matcher, true}});
    if (!m) continue;
    ir::Node* add = m->steps[0];
    ir::Node* act = m->steps[1];
    ir::Value* residual = add != nullptr ? residual_of(*add, conv->output(0)) : nullptr;
    if (add != nullptr && residual == nullptr) {
      // The Add is not a residual: fuse only an activation directly after the Conv.
      add = nullptr;
      act = ir::single_consumer(g, *conv, act_matcher);
    }
    if (add == nullptr && act == nullptr) continue;

    ir::Attributes attrs = conv->attrs;
    if (act != nullptr) {
      const ActivationSpec spec = *activation_spec(*act, opset);
      attrs.set("activation", spec.name);
      if (!spec.params.empty()) attrs.set("activation_params", spec.params);
    }
    std::vector<ir::Value*> inputs = {conv->input(0), conv->input(1), conv->input(2)};
    if (residual != nullptr) inputs.push_back(residual);
    while (!inputs.empty() && inputs.back() == nullptr) inputs.pop_back();
    const std::string name = conv->name();

    // Unlink from the end of the chain back to the Conv, then drop the intermediate values.
    std::vector<ir::Node*> chain = {conv};
    if (add != nullptr) chain.push_back(add);
    if (act != nullptr) chain.push_back(act);
    ir::Value* out = chain.back()->output(0);
    std::vector<ir::Value*> intermediates, dropped_inputs;
    for (size_t i = 0; i + 1 < chain.size(); ++i) intermediates.push_back(chain[i]->output(0));
    if (act != nullptr) {
      for (size_t i = 1; i < act->num_inputs(); ++i) dropped_inputs.push_back(act->input(i));
    }
    for (size_t i = chain.size(); i-- > 0;) {
      removed.insert(chain[i]);
      g.remove_node(chain[i]);
    }
    for (ir::Value* v : intermediates) g.remove_value(v);
    for (ir::Value* v : dropped_inputs) remove_if_dead_constant(g, v);

    ir::Node* fused = g.add_node(std::string(ir::kFusedConvOp), inputs, {out}, name, std::string(ir::kQwacDomain));
    fused->attrs = std::move(attrs);
    changed = true;
  }
  if (changed && model.opset(std::string(ir::kQwacDomain)) == 0) {
    model.opset_imports.push_back(ir::OpsetImport{std::string(ir::kQwacDomain), kFusedOpsetVersion});
  }
  return changed;
}

}  // namespace qwac::passes
