#include "passes/fuse_matmul.h"

#include <map>
#include <optional>
#include <set>
#include <unordered_set>

#include "ir/activation.h"
#include "ir/fused_matmul.h"
#include "ir/fused_ops.h"
#include "ir/pattern.h"
#include "passes/qdq/qdq_match.h"

namespace qwac::passes {
namespace {

using In = ir::FusedMatMulInputs;

// Ops whose output has the type of one of their inputs (the index), for the float proof.
const std::map<std::string, size_t>& type_following_ops() {
  static const std::map<std::string, size_t> kOps = {
      {"Add", 0},       {"Sub", 0},        {"Mul", 0},         {"Div", 0},
      {"Pow", 0},       {"Neg", 0},        {"Abs", 0},         {"Sqrt", 0},
      {"Erf", 0},       {"Exp", 0},        {"Tanh", 0},        {"Sigmoid", 0},
      {"Relu", 0},      {"Clip", 0},       {"Softmax", 0},     {"LogSoftmax", 0},
      {"MatMul", 0},    {"Gemm", 0},       {"Conv", 0},        {"ReduceMean", 0},
      {"ReduceSum", 0}, {"Transpose", 0},  {"Reshape", 0},     {"Flatten", 0},
      {"Squeeze", 0},   {"Unsqueeze", 0},  {"Gather", 0},      {"Slice", 0},
      {"Concat", 0},    {"Expand", 0},     {"Identity", 0},    {"Dropout", 0},
      {"Where", 1},     {"LayerNormalization", 0}, {"Gelu", 0}, {"HardSwish", 0},
      {"HardSigmoid", 0}, {"LeakyRelu", 0}, {"Elu", 0},        {"MaxPool", 0},
      {"AveragePool", 0}, {"GlobalAveragePool", 0}, {"BatchNormalization", 0}};
  return kOps;
}

// Which values are proven float32: declared or constant float, or produced from such a value by an op that keeps
// its type (a Cast to float; DequantizeLinear; qwac's float ops).
class FloatProof {
 public:
  explicit FloatProof(const ir::Graph& g) {
    for (const ir::Value* v : g.inputs()) float_[v] = v->type.dtype == DType::kFloat32;
    for (const ir::Node* n : g.topological_order()) {
      bool f = false;
      if (n->domain() == ir::kQwacDomain) {
        f = true;  // FusedConv, FusedMatMul, Activation, FakeQuantize: float outputs (QConv etc. declare theirs)
        if (n->op_type() != ir::kFusedConvOp && n->op_type() != ir::kFusedMatMulOp &&
            n->op_type() != ir::kActivationOp && n->op_type() != ir::kFakeQuantizeOp) {
          f = false;
        }
      } else if (n->op_type() == "Cast") {
        f = n->attrs.get_int("to", 0) == static_cast<int64_t>(1);
      } else if (n->op_type() == "DequantizeLinear") {
        f = !n->attrs.has("output_dtype");
      } else if (auto it = type_following_ops().find(n->op_type()); it != type_following_ops().end()) {
        f = is_float(n->input(it->second));
      }
      for (const ir::Value* o : n->outputs()) {
        if (o != nullptr) float_[o] = o->type.dtype == DType::kFloat32 || (o->type.dtype == DType::kUndefined && f);
      }
    }
  }

  bool is_float(const ir::Value* v) const {
    if (v == nullptr) return false;
    if (v->is_constant()) return v->constant->dtype() == DType::kFloat32;
    if (v->type.dtype != DType::kUndefined) return v->type.dtype == DType::kFloat32;
    auto it = float_.find(v);
    return it != float_.end() && it->second;
  }

 private:
  std::map<const ir::Value*, bool> float_;
};

bool default_op(const ir::Node* n, const char* op_type) {
  return n != nullptr && n->op_type() == op_type && qdq::is_default_domain(*n);
}

// A constant scalar integer index (rank 0), as Gather takes to pick one slice and drop the axis.
std::optional<int64_t> scalar_index(const ir::Value* v) {
  if (v == nullptr || !v->is_constant() || v->constant->rank() != 0) return std::nullopt;
  if (v->constant->dtype() == DType::kInt64) return v->constant->data<int64_t>()[0];
  if (v->constant->dtype() == DType::kInt32) return v->constant->data<int32_t>()[0];
  return std::nullopt;
}

// An operand read through Transpose / Gather(one index) / Transpose as a view of the tensor before them.
struct OperandView {
  ir::Value* base = nullptr;
  std::vector<int64_t> select;  // [axis, index] on base, or empty
  std::vector<int64_t> perm;    // after the select, or empty
  std::vector<ir::Node*> through;  // the view nodes read through (removed once dead)
};

OperandView operand_view(ir::Value* v) {
  OperandView view{v, {}, {}, {}};
  // Outermost Transpose (nearest the MatMul).
  std::vector<int64_t> outer_perm;
  if (ir::Node* t = v->producer(); default_op(t, "Transpose") && t->attrs.has("perm")) {
    outer_perm = t->attrs.get_ints("perm");
    view.through.push_back(t);
    v = t->input(0);
  }
  ir::Node* gather = v->producer();
  std::optional<int64_t> index = gather != nullptr ? scalar_index(gather->input(1)) : std::nullopt;
  if (default_op(gather, "Gather") && index) {
    int64_t axis = gather->attrs.get_int("axis", 0);
    ir::Value* data = gather->input(0);
    ir::Node* inner = data->producer();
    if (default_op(inner, "Transpose") && inner->attrs.has("perm")) {
      // Gather(Transpose(x, p), i, a) == Transpose(Gather(x, i, p[a]), p without a, renumbered).
      const std::vector<int64_t> p = inner->attrs.get_ints("perm");
      if (axis < 0) axis += static_cast<int64_t>(p.size());
      if (axis >= 0 && axis < static_cast<int64_t>(p.size())) {
        const int64_t source_axis = p[static_cast<size_t>(axis)];
        std::vector<int64_t> rest;
        for (size_t j = 0; j < p.size(); ++j) {
          if (static_cast<int64_t>(j) == axis) continue;
          rest.push_back(p[j] > source_axis ? p[j] - 1 : p[j]);
        }
        view.select = {source_axis, *index};
        view.perm = ir::compose_perm(rest, outer_perm);
        view.through.push_back(gather);
        view.through.push_back(inner);
        view.base = inner->input(0);
        return view;
      }
    } else if (axis >= 0) {  // a negative axis needs the rank, unknown here
      view.select = {axis, *index};
      view.perm = outer_perm;
      view.through.push_back(gather);
      view.base = data;
      return view;
    }
  }
  view.perm = outer_perm;
  view.base = v;
  return view;
}

// The other input of a two-input node than `from` (nullptr when both are `from`).
ir::Value* other_input(const ir::Node& n, const ir::Value* from) {
  if (n.num_inputs() != 2) return nullptr;
  if (n.input(0) == from && n.input(1) != from) return n.input(1);
  if (n.input(1) == from && n.input(0) != from) return n.input(0);
  return nullptr;
}

// A float constant of one element that cannot raise the rank of what it multiplies.
std::optional<float> scalar_factor(const ir::Value* v) {
  if (v == nullptr || !v->is_constant() || v->constant->dtype() != DType::kFloat32) return std::nullopt;
  if (v->constant->numel() != 1 || v->constant->rank() > 1) return std::nullopt;
  return v->constant->data<float>()[0];
}

}  // namespace

bool FuseMatMul::run(ir::Model& model) {
  clear_notes();
  ir::Graph& g = *model.graph;
  const int64_t opset = model.opset("");
  const ir::OpMatcher act_matcher = qdq::activation_matcher(opset);
  const FloatProof proof(g);
  std::unordered_set<const ir::Node*> removed;
  bool changed = false;
  for (ir::Node* mm : g.topological_order()) {
    if (removed.count(mm) != 0 || !default_op(mm, "MatMul") || mm->num_inputs() != 2 || mm->num_outputs() != 1) {
      continue;
    }
    if (!proof.is_float(mm->input(0)) || !proof.is_float(mm->input(1))) {
      note(*mm, "kept as MatMul: its operands are not known to be float");
      continue;
    }
    const OperandView a = operand_view(mm->input(0));
    const OperandView b = operand_view(mm->input(1));
    ir::Attributes attrs;
    if (!a.select.empty()) attrs.set("select_a", a.select);
    if (!a.perm.empty()) attrs.set("perm_a", a.perm);
    if (!b.select.empty()) attrs.set("select_b", b.select);
    if (!b.perm.empty()) attrs.set("perm_b", b.perm);

    // The result's chain, each step the single reader of the previous one.
    std::vector<ir::Node*> chain = {mm};
    ir::Value* bias = nullptr;
    ir::Value* z = nullptr;
    float alpha = 1.f;
    if (ir::Node* s = ir::single_consumer(g, *mm, ir::ops({"Mul", "Div"}))) {
      ir::Value* c = other_input(*s, mm->output(0));
      const std::optional<float> factor = scalar_factor(c);
      const bool divisor = s->op_type() == "Div" && s->input(1) == c;
      if (factor && (s->op_type() == "Mul" || divisor) && *factor != 0.f) {
        alpha = s->op_type() == "Mul" ? *factor : 1.f / *factor;
        chain.push_back(s);
      }
    }
    for (int step = 0; step < 2; ++step) {
      ir::Node* add = ir::single_consumer(g, *chain.back(), ir::op("Add"));
      if (add == nullptr) break;
      ir::Value* c = other_input(*add, chain.back()->output(0));
      if (c == nullptr || !proof.is_float(c)) break;
      if (c->is_constant() ? bias != nullptr : z != nullptr) break;
      (c->is_constant() ? bias : z) = c;
      chain.push_back(add);
    }
    ir::Node* act = ir::single_consumer(g, *chain.back(), act_matcher);
    if (act != nullptr) chain.push_back(act);
    // A transposed output takes no added tensor: oneDNN 2.6 cannot add one into strided memory
    // (kernels/dnnl/dnnl_fused_matmul.cc); attention's scores (+ mask) and its context (transposed) never need both.
    ir::Node* t = z == nullptr && bias == nullptr ? ir::single_consumer(g, *chain.back(), ir::op("Transpose")) : nullptr;
    if (t != nullptr && t->attrs.has("perm")) {
      attrs.set("perm_y", t->attrs.get_ints("perm"));
      chain.push_back(t);
    }
    if (chain.size() == 1 && a.through.empty() && b.through.empty()) continue;  // nothing to fold
    if (alpha != 1.f) attrs.set("alpha", alpha);
    qdq::set_activation(attrs, act, opset);

    std::vector<ir::Value*> inputs(In::kCount, nullptr);
    inputs[In::kA] = a.base;
    inputs[In::kB] = b.base;
    inputs[In::kBias] = bias;
    inputs[In::kZ] = z;
    while (inputs.back() == nullptr) inputs.pop_back();
    qdq::replace_chain(g, chain, ir::kFusedMatMulOp, std::move(inputs), std::move(attrs), removed);
    // The view nodes go once nothing else reads them (the other heads' MatMuls may still: a Transpose feeding the
    // Gathers of Q, K and V dies with the last of them).
    for (const OperandView* v : {&a, &b}) {
      for (ir::Node* n : v->through) qdq::remove_if_dead(g, n, removed);
    }
    changed = true;
  }
  if (changed) qdq::import_qwac_domain(model);
  return changed;
}

}  // namespace qwac::passes
