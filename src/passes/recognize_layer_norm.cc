#include "passes/recognize_layer_norm.h"

#include <algorithm>
#include <optional>
#include <unordered_set>

#include "ir/pattern.h"
#include "passes/qdq/qdq_match.h"

namespace qwac::passes {
namespace {

// From opset 18 ReduceMean reads its axes from input 1 instead of an attribute.
constexpr int64_t kAxesInputOpset = 18;

bool float_scalar_constant(const ir::Value& v) {
  return v.is_constant() && v.constant->dtype() == DType::kFloat32 && v.constant->numel() == 1;
}

bool float_constant(const ir::Value* v) {
  return v != nullptr && v->is_constant() && v->constant->dtype() == DType::kFloat32;
}

// The core of the decomposition, up to the division by the standard deviation.
ir::Pattern core_pattern(bool square_by_mul, bool axes_input) {
  ir::Pattern p;
  p.input("x");
  if (axes_input) {
    p.input("axes1", [](const ir::Value& v) { return v.is_constant(); });
    p.input("axes2", [](const ir::Value& v) { return v.is_constant(); });
  }
  p.input("eps", float_scalar_constant);
  p.node("mean", ir::op("ReduceMean"), axes_input ? std::vector<std::string>{"x", "axes1"} : std::vector<std::string>{"x"});
  p.node("d", ir::op("Sub"), {"x", "mean"});
  if (square_by_mul) {
    p.node("sq", ir::op("Mul"), {"d", "d"});
  } else {
    p.input("two", ir::scalar_near(2.f, 0.f));
    p.node("sq", ir::op("Pow"), {"d", "two"});
  }
  p.node("var", ir::op("ReduceMean"), axes_input ? std::vector<std::string>{"sq", "axes2"} : std::vector<std::string>{"sq"});
  p.node("var_eps", ir::op("Add"), {"var", "eps"}, /*commutative=*/true);
  p.node("std", ir::op("Sqrt"), {"var_eps"});
  p.node("y", ir::op("Div"), {"d", "std"});
  return p;
}

// The reduced axes of a ReduceMean (attribute or constant input), with keepdims; nullopt when not readable.
std::optional<std::vector<int64_t>> reduce_axes(const ir::Node& n, int64_t opset) {
  if (n.attrs.get_int("keepdims", 1) != 1) return std::nullopt;
  if (opset < kAxesInputOpset) {
    if (!n.attrs.has("axes")) return std::nullopt;  // all axes: not a layer normalization
    return n.attrs.get_ints("axes");
  }
  const ir::Value* axes = n.input(1);
  if (axes == nullptr || !axes->is_constant() || axes->constant->dtype() != DType::kInt64) return std::nullopt;
  const Tensor& t = *axes->constant;
  return std::vector<int64_t>(t.data<int64_t>(), t.data<int64_t>() + t.numel());
}

// The other input of a binary node than `from`.
ir::Value* other_input(const ir::Node& n, const ir::Value* from) {
  if (n.num_inputs() != 2) return nullptr;
  return n.input(0) == from ? n.input(1) : n.input(0);
}

// A constant scale or bias reshaped to the normalized dims: its leading dims beyond `normalized_rank` must be 1
// (Mul / Add would otherwise broadcast it over the non-normalized dims). nullopt when it does not fit.
std::optional<Tensor> as_normalized_param(const Tensor& t, size_t normalized_rank) {
  Shape shape = t.shape();
  while (shape.size() > normalized_rank) {
    if (shape.front() != 1) return std::nullopt;
    shape.erase(shape.begin());
  }
  return t.clone().reshaped(shape);
}

}  // namespace

bool RecognizeLayerNorm::run(ir::Model& model) {
  clear_notes();
  ir::Graph& g = *model.graph;
  const int64_t opset = model.opset("");
  const bool axes_input = opset >= kAxesInputOpset;
  const std::vector<ir::Pattern> patterns = {core_pattern(false, axes_input), core_pattern(true, axes_input)};

  std::unordered_set<const ir::Node*> removed;
  bool changed = false;
  for (ir::Node* div : g.topological_order()) {
    if (removed.count(div) != 0 || div->op_type() != "Div" || !qdq::is_default_domain(*div)) continue;
    std::optional<ir::PatternMatch> m;
    const ir::Pattern* pattern = nullptr;
    for (const ir::Pattern& p : patterns) {
      m = ir::match_pattern(g, p, *div);
      if (m) {
        pattern = &p;
        break;
      }
    }
    if (!m) continue;
    ir::Node* mean = m->node("mean");
    const auto axes1 = reduce_axes(*mean, opset);
    const auto axes2 = reduce_axes(*m->node("var"), opset);
    if (!axes1 || !axes2 || *axes1 != *axes2 || axes1->empty()) {
      note(*mean, "layer normalization not recognized: the two ReduceMean reduce different or unreadable axes");
      continue;
    }
    ir::Value* x = m->value("x");
    std::optional<int64_t> rank;
    if (x->type.shape) rank = static_cast<int64_t>(x->type.shape->size());
    // The reduced axes as negative indices; they must be the trailing dims -r..-1.
    std::vector<int64_t> axes = *axes1;
    bool ok = true;
    for (int64_t& a : axes) {
      if (a >= 0) {
        if (!rank || a >= *rank) ok = false;
        a -= rank.value_or(0);
      }
    }
    std::sort(axes.begin(), axes.end());
    const int64_t r = static_cast<int64_t>(axes.size());
    for (int64_t i = 0; ok && i < r; ++i) ok = axes[static_cast<size_t>(i)] == i - r;
    if (!ok) {
      note(*mean, "layer normalization not recognized: the reduced axes are not the trailing dims of a tensor of "
                  "known rank");
      continue;
    }

    // Optional affine tail: * scale, then + bias, each a constant.
    std::vector<ir::Node*> nodes = m->ordered(*pattern);
    ir::Node* last = div;
    std::optional<Tensor> scale, bias;
    std::vector<ir::Value*> old_params;
    if (ir::Node* mul = ir::single_consumer(g, *div, ir::op("Mul"))) {
      ir::Value* s = other_input(*mul, div->output(0));
      if (float_constant(s) && s != div->output(0)) {
        scale = as_normalized_param(*s->constant, static_cast<size_t>(r));
        if (scale) {
          nodes.push_back(mul);
          old_params.push_back(s);
          last = mul;
        }
      }
    }
    if (scale) {
      if (ir::Node* add = ir::single_consumer(g, *last, ir::op("Add"))) {
        ir::Value* b = other_input(*add, last->output(0));
        if (float_constant(b) && b != last->output(0)) {
          bias = as_normalized_param(*b->constant, static_cast<size_t>(r));
          if (bias) {
            nodes.push_back(add);
            old_params.push_back(b);
            last = add;
          }
        }
      }
    } else {
      // No scale: ones over the normalized dims, which must then be known.
      Shape normalized;
      for (int64_t i = 0; x->type.shape && i < r; ++i) {
        const ir::Dim& d = (*x->type.shape)[x->type.shape->size() - static_cast<size_t>(r - i)];
        if (d.size < 0) break;
        normalized.push_back(d.size);
      }
      if (static_cast<int64_t>(normalized.size()) != r) {
        note(*mean, "layer normalization not recognized: no constant scale follows it and the normalized dims of '" +
                        x->name() + "' are not known");
        continue;
      }
      scale = Tensor(DType::kFloat32, normalized);
      std::fill(scale->data<float>(), scale->data<float>() + scale->numel(), 1.f);
    }

    const float epsilon = m->value("eps")->constant->data<float>()[0];
    ir::Value* y = last->output(0);
    const std::string name = last->name();
    std::vector<ir::Value*> dropped;  // constants the matched nodes read
    for (ir::Node* n : nodes) {
      for (ir::Value* v : n->inputs()) {
        if (v != nullptr && v->is_constant()) dropped.push_back(v);
      }
    }
    std::vector<ir::Value*> inner;  // values between the matched nodes
    for (ir::Node* n : nodes) {
      if (n != last) inner.push_back(n->output(0));
    }
    for (size_t i = nodes.size(); i-- > 0;) {
      removed.insert(nodes[i]);
      g.remove_node(nodes[i]);
    }
    for (ir::Value* v : inner) g.remove_value(v);
    ir::Value* scale_value = g.add_constant(g.unique_name(name + "_scale"), std::move(*scale));
    std::vector<ir::Value*> inputs = {x, scale_value};
    if (bias) inputs.push_back(g.add_constant(g.unique_name(name + "_bias"), std::move(*bias)));
    ir::Node* ln = g.add_node("LayerNormalization", inputs, {y}, name);
    ln->attrs.set("axis", -r);
    ln->attrs.set("epsilon", epsilon);
    qdq::remove_dead_constants(g, dropped);
    changed = true;
  }
  return changed;
}

}  // namespace qwac::passes
