#include "passes/fuse_qdq_gemm.h"

#include <algorithm>
#include <unordered_set>
#include <vector>

#include "ir/fused_ops.h"
#include "ir/pattern.h"
#include "passes/qdq_match.h"

namespace qwac::passes {
namespace {

using In = ir::QGemmInputs;
constexpr int64_t kDefaultAxis = 1;  // DequantizeLinear's default

// DQ(W): constant 2-D int8, symmetric, scale per-tensor or along `n_axis` (the output columns). Empty when it
// fits, else why not.
std::string weight_mismatch(const ir::Node& dq, int64_t n_axis) {
  if (!qdq::plain_q_or_dq(dq, "DequantizeLinear")) return "is not a plain DequantizeLinear";
  const ir::Value* w = dq.input(0);
  const ir::Value* scale = dq.input(1);
  if (!w->is_constant() || w->constant->dtype() != DType::kInt8 || w->constant->shape().size() != 2) {
    return "does not dequantize a constant 2-D int8 tensor";
  }
  if (scale == nullptr || !scale->is_constant() || scale->constant->dtype() != DType::kFloat32) {
    return "has no constant float scale";
  }
  if (scale->constant->numel() != 1) {
    int64_t axis = dq.attrs.get_int("axis", kDefaultAxis);
    if (axis < 0) axis += 2;
    const int64_t n = w->constant->shape()[static_cast<size_t>(n_axis)];
    if (axis != n_axis || scale->constant->shape() != Shape{n}) return "has a scale that is not per output column";
  }
  const ir::Value* zp = dq.input(2);
  if (zp == nullptr) return "";
  if (!zp->is_constant() || zp->constant->dtype() != DType::kInt8) return "has a zero point that is not int8";
  const int8_t* z = zp->constant->data<int8_t>();
  if (!std::all_of(z, z + zp->constant->numel(), [](int8_t v) { return v == 0; })) return "has a nonzero zero point";
  return "";
}

// The constant behind C: C itself, or the constant its DequantizeLinear reads (folded by the engine).
const Tensor* bias_constant(const ir::Value* c) {
  if (c->is_constant()) return &*c->constant;
  const ir::Node* p = c->producer();
  if (p == nullptr || p->op_type() != "DequantizeLinear" || !qdq::is_default_domain(*p)) return nullptr;
  for (const ir::Value* v : p->inputs()) {
    if (v != nullptr && !v->is_constant()) return nullptr;
  }
  return &*p->input(0)->constant;
}

// A float constant (or DequantizeLinear of constants) of shape [n] or [1, n].
bool row_of(const ir::Value* c, int64_t n) {
  if (c == nullptr || (c->type.dtype != DType::kFloat32 && c->type.dtype != DType::kUndefined)) return false;
  const Tensor* t = bias_constant(c);
  if (t == nullptr || (c->is_constant() && t->dtype() != DType::kFloat32)) return false;
  return t->shape() == Shape{n} || t->shape() == Shape{1, n};
}

}  // namespace

bool FuseQdqGemm::run(ir::Model& model) {
  clear_notes();
  ir::Graph& g = *model.graph;
  const int64_t opset = model.opset("");
  const ir::OpMatcher any_dq = ir::op("DequantizeLinear");
  const ir::OpMatcher act_matcher = ir::with(
      ir::ops({"Relu", "Clip"}), [opset](const ir::Node& n) { return qdq::activation_params(n, opset).has_value(); });
  const ir::OpMatcher q_matcher = ir::with(ir::op("QuantizeLinear"), qdq::output_quantize);

  std::unordered_set<const ir::Node*> removed;
  bool changed = false;
  for (ir::Node* mm : g.topological_order()) {
    if (removed.count(mm)) continue;
    const bool gemm = mm->op_type() == "Gemm";
    if ((!gemm && mm->op_type() != "MatMul") || !qdq::is_default_domain(*mm) || mm->num_outputs() != 1) continue;
    ir::Node* dq_x = ir::producer(*mm, 0, any_dq);
    ir::Node* dq_w = ir::producer(*mm, 1, any_dq);
    if (dq_x == nullptr && dq_w == nullptr) continue;  // a float layer: nothing to say
    if (dq_x == nullptr || !qdq::activation_dequantize(*dq_x)) {
      note(*mm, "input A is not a DequantizeLinear of uint8/int8 with a constant scalar scale and zero point");
      continue;
    }
    const bool trans_b = gemm && mm->attrs.get_int("transB", 0) != 0;
    if (gemm && (mm->attrs.get_int("transA", 0) != 0 || mm->attrs.get_float("alpha", 1.f) != 1.f ||
                 (mm->has_input(2) && mm->attrs.get_float("beta", 1.f) != 1.f))) {
      note(*mm, "transA, alpha or beta is not the default");
      continue;
    }
    if (dq_w == nullptr) {
      note(*mm, "input B is not a DequantizeLinear of constant int8 weights");
      continue;
    }
    const std::string w_problem = weight_mismatch(*dq_w, trans_b ? 0 : 1);
    if (!w_problem.empty()) {
      note(*mm, "the weights' DequantizeLinear " + w_problem);
      continue;
    }
    const Shape& w_shape = dq_w->input(0)->constant->shape();
    const int64_t n = w_shape[trans_b ? 0 : 1];
    ir::Value* bias = gemm ? mm->input(2) : nullptr;
    if (bias != nullptr && !row_of(bias, n)) {
      note(*mm, "C is not a constant float row of N values");
      continue;
    }

    // MatMul -> Add of a constant row (how some exporters write a fully connected layer's bias).
    ir::Node* bias_add = nullptr;
    if (!gemm) {
      const ir::Value* mm_out = mm->output(0);
      bias_add = ir::single_consumer(g, *mm, ir::with(ir::op("Add"), [&](const ir::Node& add) {
                                       if (add.num_inputs() != 2 || add.num_outputs() != 1) return false;
                                       const ir::Value* c = add.input(add.input(0) == mm_out ? 1 : 0);
                                       return c != mm_out && row_of(c, n);
                                     }));
      if (bias_add != nullptr) bias = bias_add->input(bias_add->input(0) == mm_out ? 1 : 0);
    }
    const ir::Node* before_act = bias_add != nullptr ? bias_add : mm;
    ir::Node* act = ir::single_consumer(g, *before_act, act_matcher);
    ir::Node* q = ir::single_consumer(g, act != nullptr ? *act : *before_act, q_matcher);
    ir::Attributes attrs;
    if (trans_b) attrs.set("transB", int64_t{1});
    if (act != nullptr) {
      attrs.set("activation", act->op_type());
      const std::vector<float> params = *qdq::activation_params(*act, opset);
      if (!params.empty()) attrs.set("activation_params", params);
    }
    std::vector<ir::Value*> inputs(In::kCount, nullptr);
    ir::Node* q_x = qdq::float_source_quantize(*dq_x);
    inputs[In::kX] = q_x != nullptr ? q_x->input(0) : dq_x->input(0);
    inputs[In::kXScale] = dq_x->input(1);
    inputs[In::kXZeroPoint] = dq_x->input(2);
    inputs[In::kW] = dq_w->input(0);
    inputs[In::kWScale] = dq_w->input(1);
    inputs[In::kBias] = bias;
    if (q != nullptr) {
      inputs[In::kYScale] = q->input(1);
      inputs[In::kYZeroPoint] = q->input(2);
    }
    while (!inputs.empty() && inputs.back() == nullptr) inputs.pop_back();

    std::vector<ir::Node*> chain = {mm};
    if (bias_add != nullptr) chain.push_back(bias_add);
    if (act != nullptr) chain.push_back(act);
    if (q != nullptr) chain.push_back(q);
    ir::Value* out = chain.back()->output(0);
    std::vector<ir::Value*> intermediates, dropped;
    for (size_t i = 0; i + 1 < chain.size(); ++i) intermediates.push_back(chain[i]->output(0));
    for (size_t i = 1; i < chain.size(); ++i) {
      for (ir::Value* v : chain[i]->inputs()) {
        if (v != chain[i - 1]->output(0)) dropped.push_back(v);
      }
    }
    const std::string name = mm->name();
    for (size_t i = chain.size(); i-- > 0;) {
      removed.insert(chain[i]);
      g.remove_node(chain[i]);
    }
    for (ir::Value* v : intermediates) g.remove_value(v);
    ir::Node* fused = g.add_node(std::string(ir::kQGemmOp), inputs, {out}, name, std::string(ir::kQwacDomain));
    fused->attrs = std::move(attrs);
    qdq::remove_if_dead(g, dq_x, removed);
    qdq::remove_if_dead(g, dq_w, removed);
    if (q_x != nullptr) qdq::remove_if_dead(g, q_x, removed);
    std::sort(dropped.begin(), dropped.end());
    dropped.erase(std::unique(dropped.begin(), dropped.end()), dropped.end());
    for (ir::Value* v : dropped) qdq::remove_if_dead_constant(g, v);
    changed = true;
  }
  if (changed) qdq::import_qwac_domain(model);
  return changed;
}

}  // namespace qwac::passes
