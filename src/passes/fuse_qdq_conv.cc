#include "passes/fuse_qdq_conv.h"

#include <algorithm>
#include <string>
#include <unordered_set>
#include <vector>

#include "ir/fused_ops.h"
#include "ir/pattern.h"
#include "passes/qdq_match.h"

namespace qwac::passes {
namespace {

constexpr int64_t kDefaultAxis = 1;  // QuantizeLinear / DequantizeLinear default

// Why a DequantizeLinear cannot be QConv's X input (per-tensor uint8/int8); empty when it can. Stricter than
// qdq::activation_dequantize_problem: without a zero point, the input's type must be known to be uint8.
std::string activation_dequantize_problem(const ir::Node& dq) {
  std::string problem = qdq::activation_dequantize_problem(dq);
  if (problem.empty() && dq.input(2) == nullptr && dq.input(0)->type.dtype == DType::kUndefined) {
    problem = "it has no zero point and its input is " + std::string(dtype_name(DType::kUndefined)) + ", not uint8";
  }
  return problem;
}

bool activation_dequantize(const ir::Node& dq) {
  return activation_dequantize_problem(dq).empty();
}

// Why a DequantizeLinear cannot be QConv's W input (int8 constant, symmetric, per-tensor or per output channel);
// empty when it can.
std::string weight_dequantize_problem(const ir::Node& dq) {
  if (!qdq::plain_q_or_dq(dq, "DequantizeLinear")) {
    return "its DequantizeLinear is not a plain default-domain one (opset-21 block_size/output_dtype/saturate)";
  }
  const ir::Value* w = dq.input(0);
  const ir::Value* scale = dq.input(1);
  if (!w->is_constant()) return "the quantized weights are not a constant";
  if (w->constant->dtype() != DType::kInt8) {
    return "the quantized weights are " + std::string(dtype_name(w->constant->dtype())) + ", not int8";
  }
  if (w->constant->shape().size() < 3) return "the weights have rank " + std::to_string(w->constant->shape().size());
  if (scale == nullptr || !scale->is_constant() || scale->constant->dtype() != DType::kFloat32) {
    return "the weight scale is not a constant float tensor";
  }
  const int64_t out_channels = w->constant->shape()[0];
  if (scale->constant->numel() != 1) {
    const int64_t rank = static_cast<int64_t>(w->constant->shape().size());
    int64_t axis = dq.attrs.get_int("axis", kDefaultAxis);
    if (axis < 0) axis += rank;
    if (axis != 0) return "the weight scale is per channel on axis " + std::to_string(axis) + ", not on axis 0";
    if (scale->constant->shape() != Shape{out_channels}) {
      return "the weight scale has " + std::to_string(scale->constant->numel()) + " values for " +
             std::to_string(out_channels) + " output channels";
    }
  }
  const ir::Value* zp = dq.input(2);
  if (zp == nullptr) return "";
  if (!zp->is_constant() || zp->constant->dtype() != DType::kInt8) {
    return "the weight zero point is not a constant int8 tensor";
  }
  const int8_t* z = zp->constant->data<int8_t>();
  if (!std::all_of(z, z + zp->constant->numel(), [](int8_t v) { return v == 0; })) {
    return "the weights are asymmetric (a nonzero zero point)";
  }
  return "";
}

bool weight_dequantize(const ir::Node& dq) {
  return weight_dequantize_problem(dq).empty();
}

// Why `conv` cannot become a QConv, looking only at its own inputs; empty when it can.
std::string conv_problem(const ir::Node& conv) {
  if (conv.num_inputs() < 2 || conv.num_inputs() > 3 || conv.num_outputs() != 1) {
    return "unexpected number of inputs or outputs";
  }
  const ir::Node* dq_x = conv.input(0) != nullptr ? conv.input(0)->producer() : nullptr;
  if (dq_x == nullptr || dq_x->op_type() != "DequantizeLinear") {
    return "input X is not the output of a DequantizeLinear (a float activation)";
  }
  if (std::string p = activation_dequantize_problem(*dq_x); !p.empty()) {
    return "input X's DequantizeLinear '" + dq_x->name() + "': " + p;
  }
  const ir::Node* dq_w = conv.input(1) != nullptr ? conv.input(1)->producer() : nullptr;
  if (dq_w == nullptr || dq_w->op_type() != "DequantizeLinear") {
    return "weights W are not the output of a DequantizeLinear (float weights)";
  }
  if (std::string p = weight_dequantize_problem(*dq_w); !p.empty()) {
    return "weights' DequantizeLinear '" + dq_w->name() + "': " + p;
  }
  const ir::Value* bias = conv.input(2);
  if (bias != nullptr && bias->type.dtype != DType::kFloat32 && bias->type.dtype != DType::kUndefined) {
    return "bias is " + std::string(dtype_name(bias->type.dtype)) + ", not float";
  }
  return "";
}

}  // namespace

bool FuseQdqConv::run(ir::Model& model) {
  ir::Graph& g = *model.graph;
  const int64_t opset = model.opset("");
  const ir::OpMatcher dq_x_matcher = ir::with(ir::op("DequantizeLinear"), activation_dequantize);
  const ir::OpMatcher dq_w_matcher = ir::with(ir::op("DequantizeLinear"), weight_dequantize);
  const ir::OpMatcher act_matcher = qdq::activation_matcher(opset);
  const ir::OpMatcher q_matcher = ir::with(ir::op("QuantizeLinear"), qdq::output_quantize);

  std::unordered_set<const ir::Node*> removed;  // nodes of the order below that a rewrite already deleted
  bool changed = false;
  clear_notes();
  for (ir::Node* conv : g.topological_order()) {
    if (removed.count(conv)) continue;
    if (conv->op_type() != "Conv" || !qdq::is_default_domain(*conv)) continue;
    if (std::string problem = conv_problem(*conv); !problem.empty()) {
      note(*conv, "not run in int8: " + problem);
      continue;
    }
    ir::Node* dq_x = ir::producer(*conv, 0, dq_x_matcher);
    ir::Node* dq_w = ir::producer(*conv, 1, dq_w_matcher);
    if (dq_x == nullptr || dq_w == nullptr) continue;  // conv_problem checked the same conditions
    ir::Value* bias = conv->input(2);

    ir::Node* act = ir::single_consumer(g, *conv, act_matcher);
    ir::Node* q = ir::single_consumer(g, act != nullptr ? *act : *conv, q_matcher);

    qdq::replace_conv_like(g, {{conv}, dq_x, dq_w, bias, act, q}, ir::kQConvOp, conv->attrs, opset, removed);
    changed = true;
  }
  if (changed) qdq::import_qwac_domain(model);
  return changed;
}

}  // namespace qwac::passes
