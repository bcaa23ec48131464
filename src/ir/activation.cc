#include "ir/activation.h"

#include <limits>
#include <sstream>
#include <vector>

#include "ir/fused_ops.h"
#include "qwac/error.h"

namespace qwac::ir {
namespace {

using K = ActivationKind;

bool is_default_domain(const Node& n) {
  return n.domain().empty() || n.domain() == "ai.onnx";
}

// A constant float scalar input, or nullopt (absent input: `fallback`).
std::optional<float> scalar_input(const Node& n, size_t i, float fallback) {
  const Value* v = n.input(i);
  if (v == nullptr) return fallback;
  if (!v->is_constant() || v->constant->dtype() != DType::kFloat32 || v->constant->numel() != 1) return std::nullopt;
  return v->constant->data<float>()[0];
}

}  // namespace

const ActivationFacts& activation_facts(ActivationKind kind) {
  return kActivationFacts.at(static_cast<size_t>(kind));
}

const ActivationFacts* find_activation(std::string_view name) {
  if (name.empty()) return nullptr;
  for (const ActivationFacts& f : kActivationFacts) {
    if (f.name == name) return &f;
  }
  return nullptr;
}

Activation Activation::from_attributes(const Attributes& attrs, const std::string& owner) {
  if (!attrs.has("activation")) {
    if (attrs.has("activation_params")) throw InvalidModel(owner + ": activation_params without activation");
    return {};
  }
  const std::string& name = attrs.get_string("activation");
  const ActivationFacts* facts = find_activation(name);
  if (facts == nullptr) {
    std::string known;
    for (const ActivationFacts& f : kActivationFacts) {
      if (!f.name.empty()) known += (known.empty() ? "" : ", ") + std::string(f.name);
    }
    throw InvalidModel(owner + ": activation '" + name + "' is not one of the fusable activations (" + known + ")");
  }
  const std::vector<float> params = attrs.get_floats("activation_params", {});
  if (!params.empty() && params.size() != static_cast<size_t>(facts->num_params)) {
    throw InvalidModel(owner + ": activation_params has " + std::to_string(params.size()) + " values, " + name +
                       " takes " + std::to_string(facts->num_params));
  }
  Activation a;
  a.kind = facts->kind;
  if (facts->num_params > 0) a.alpha = params.empty() ? facts->defaults[0] : params[0];
  if (facts->num_params > 1) a.beta = params.empty() ? facts->defaults[1] : params[1];
  return a;
}

void Activation::to_attributes(Attributes& attrs) const {
  attrs.erase("activation");
  attrs.erase("activation_params");
  if (none()) return;
  const ActivationFacts& f = activation_facts(kind);
  attrs.set("activation", std::string(f.name));
  if (f.num_params == 1) attrs.set("activation_params", std::vector<float>{alpha});
  if (f.num_params == 2) attrs.set("activation_params", std::vector<float>{alpha, beta});
}

std::string Activation::describe() const {
  if (none()) return "none";
  const ActivationFacts& f = activation_facts(kind);
  std::ostringstream os;
  os << f.name;
  if (f.num_params > 0) os << "(" << f.params[0] << "=" << alpha;
  if (f.num_params > 1) os << ", " << f.params[1] << "=" << beta;
  if (f.num_params > 0) os << ")";
  return os.str();
}

std::optional<Activation> activation_from_node(const Node& node, int64_t opset) {
  if (node.num_outputs() != 1 || node.input(0) == nullptr) return std::nullopt;
  if (node.domain() == kQwacDomain && node.op_type() == kActivationOp) {
    try {
      return Activation::from_attributes(node.attrs, node.describe());
    } catch (const InvalidModel&) {
      return std::nullopt;
    }
  }
  if (!is_default_domain(node)) return std::nullopt;
  const std::string& op = node.op_type();
  if (op == "Gelu") {
    if (opset < activation_facts(K::kGelu).since_opset) return std::nullopt;
    const std::string mode = node.attrs.get_string("approximate", "none");
    if (mode != "none" && mode != "tanh") return std::nullopt;
    return Activation{mode == "tanh" ? K::kGeluTanh : K::kGelu, 0.f, 0.f};
  }
  const ActivationFacts* f = nullptr;
  for (const ActivationFacts& row : kActivationFacts) {
    if (!row.onnx_op.empty() && row.onnx_op == op) f = &row;
  }
  if (f == nullptr || opset < f->since_opset) return std::nullopt;
  Activation a{f->kind, f->defaults[0], f->defaults[1]};
  if (f->kind == K::kClip && opset >= 11) {
    // Bounds are optional constant scalar inputs from opset 11 on; data-dependent bounds do not fuse.
    const std::optional<float> lo = scalar_input(node, 1, kNoLowerBound);
    const std::optional<float> hi = scalar_input(node, 2, kNoUpperBound);
    if (!lo || !hi) return std::nullopt;
    a.alpha = *lo;
    a.beta = *hi;
  } else {
    if (node.num_inputs() > 1) return std::nullopt;
    if (f->num_params > 0) a.alpha = node.attrs.get_float(std::string(f->params[0]), f->defaults[0]);
    if (f->num_params > 1) a.beta = node.attrs.get_float(std::string(f->params[1]), f->defaults[1]);
  }
  if (f->num_params < 1) a.alpha = 0.f;
  if (f->num_params < 2) a.beta = 0.f;
  return a;
}

}  // namespace qwac::ir
