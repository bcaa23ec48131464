#include "passes/fuse_qdq_gemm.h"

#include <algorithm>
#include <unordered_set>
#include <vector>

#include "ir/fused_ops.h"
#include "ir/pattern.h"
#include "passes/qdq_match.h"

namespace qwac::passes {
namespace {

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
  const ir::OpMatcher act_matcher = qdq::activation_matcher(opset);
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
    qdq::ConvLikeMatch match{{mm}, dq_x, dq_w, bias, act, q};
    if (bias_add != nullptr) match.head.push_back(bias_add);
    qdq::replace_conv_like(g, match, ir::kQGemmOp, std::move(attrs), opset, removed);
    changed = true;
  }
  if (changed) qdq::import_qwac_domain(model);
  return changed;
}

}  // namespace qwac::passes
