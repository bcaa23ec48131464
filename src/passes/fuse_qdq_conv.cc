#include "passes/fuse_qdq_conv.h"

#include <algorithm>
#include <cstring>
#include <limits>
#include <optional>
#include <string>
#include <unordered_set>
#include <vector>

#include "ir/fused_ops.h"
#include "ir/pattern.h"

namespace qwac::passes {
namespace {

using In = ir::QConvInputs;
constexpr int64_t kFusedOpsetVersion = 1;
constexpr int64_t kDefaultAxis = 1;  // QuantizeLinear / DequantizeLinear default

bool is_default_domain(const ir::Node& n) {
  return n.domain().empty() || n.domain() == "ai.onnx";
}

// True when the node uses none of the opset-21 attributes QConv does not model.
bool plain_quantization(const ir::Node& n) {
  for (const char* attr : {"block_size", "output_dtype", "saturate"}) {
    if (n.attrs.has(attr)) return false;
  }
  return true;
}

bool is_8bit(DType t) {
  return t == DType::kUInt8 || t == DType::kInt8;
}

bool constant_float_scalar(const ir::Value* v) {
  return v != nullptr && v->is_constant() && v->constant->dtype() == DType::kFloat32 && v->constant->numel() == 1;
}

bool constant_8bit_scalar(const ir::Value* v) {
  return v != nullptr && v->is_constant() && is_8bit(v->constant->dtype()) && v->constant->numel() == 1;
}

// A default-domain DequantizeLinear / QuantizeLinear without opset-21 extensions.
bool plain_q_or_dq(const ir::Node& n, const char* op_type) {
  return n.op_type() == op_type && is_default_domain(n) && plain_quantization(n) && n.num_outputs() == 1 &&
         n.num_inputs() >= 2 && n.input(0) != nullptr;
}

// Why a DequantizeLinear cannot be QConv's X input (per-tensor uint8/int8); empty when it can.
std::string activation_dequantize_problem(const ir::Node& dq) {
  if (!plain_q_or_dq(dq, "DequantizeLinear")) {
    return "its DequantizeLinear is not a plain default-domain one (opset-21 block_size/output_dtype/saturate)";
  }
  if (!constant_float_scalar(dq.input(1))) {
    return "its scale is not a constant float scalar (only per-tensor activations run in int8)";
  }
  const ir::Value* zp = dq.input(2);
  const DType x_type = dq.input(0)->type.dtype;
  if (zp == nullptr) {
    return x_type == DType::kUInt8 ? "" : "it has no zero point and its input is " + std::string(dtype_name(x_type)) +
                                              ", not uint8";
  }
  if (!constant_8bit_scalar(zp)) return "its zero point is not a constant 8-bit scalar";
  if (x_type != DType::kUndefined && zp->constant->dtype() != x_type) {
    return "its input is " + std::string(dtype_name(x_type)) + " but its zero point " +
           std::string(dtype_name(zp->constant->dtype()));
  }
  return "";
}

bool activation_dequantize(const ir::Node& dq) {
  return activation_dequantize_problem(dq).empty();
}

// Why a DequantizeLinear cannot be QConv's W input (int8 constant, symmetric, per-tensor or per output channel);
// empty when it can.
std::string weight_dequantize_problem(const ir::Node& dq) {
  if (!plain_q_or_dq(dq, "DequantizeLinear")) {
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

bool constant_float_or_absent(const ir::Value* v) {
  return v == nullptr || (v->is_constant() && v->constant->dtype() == DType::kFloat32 && v->constant->numel() == 1);
}

// Relu, or Clip whose bounds are known at compile time (attributes before opset 11, constant inputs after).
std::optional<std::vector<float>> activation_params(const ir::Node& n, int64_t opset) {
  if (!is_default_domain(n) || n.num_outputs() != 1) return std::nullopt;
  if (n.op_type() == "Relu") return std::vector<float>{};
  if (n.op_type() != "Clip") return std::nullopt;
  float lo = std::numeric_limits<float>::lowest(), hi = std::numeric_limits<float>::max();
  if (opset < 11) {
    lo = n.attrs.get_float("min", lo);
    hi = n.attrs.get_float("max", hi);
  } else {
    for (size_t i = 1; i <= 2; ++i) {
      const ir::Value* v = n.input(i);
      if (!constant_float_or_absent(v)) return std::nullopt;
      if (v != nullptr) (i == 1 ? lo : hi) = v->constant->data<float>()[0];
    }
  }
  return std::vector<float>{lo, hi};
}

bool same_constant(const ir::Value* a, const ir::Value* b) {
  if (a == b) return true;
  if (a == nullptr || b == nullptr || !a->is_constant() || !b->is_constant()) return false;
  const Tensor& ta = *a->constant;
  const Tensor& tb = *b->constant;
  return ta.dtype() == tb.dtype() && ta.shape() == tb.shape() && std::memcmp(ta.raw(), tb.raw(), ta.nbytes()) == 0;
}

// The QuantizeLinear of a float tensor that produced DQ(X)'s input with the same scale and zero point, if any: the
// QConv then reads the float tensor and quantizes it itself (one pass from the producer's layout), instead of the
// engine converting layouts around a separate QuantizeLinear. The Q stays for its other consumers.
ir::Node* float_source_quantize(const ir::Node& dq) {
  ir::Node* q = dq.input(0)->producer();
  if (q == nullptr || !plain_q_or_dq(*q, "QuantizeLinear") || dq.input(0)->producer_output_index() != 0) return nullptr;
  const DType x_type = q->input(0)->type.dtype;
  if (x_type != DType::kFloat32 && x_type != DType::kUndefined) return nullptr;
  if (!constant_float_scalar(q->input(1)) || !constant_8bit_scalar(q->input(2))) return nullptr;
  if (!same_constant(q->input(1), dq.input(1)) || !same_constant(q->input(2), dq.input(2))) return nullptr;
  return q;
}

bool output_quantize(const ir::Node& q) {
  return plain_q_or_dq(q, "QuantizeLinear") && constant_float_scalar(q.input(1)) && constant_8bit_scalar(q.input(2));
}

void remove_if_dead_constant(ir::Graph& g, ir::Value* v) {
  if (v != nullptr && v->is_constant() && v->uses().empty() && !g.is_graph_output(v) && !g.is_graph_input(v)) {
    g.remove_value(v);
  }
}

// Removes a single-output node (a DequantizeLinear or QuantizeLinear) whose output lost its last consumer, and the
// constants only it read.
void remove_if_dead(ir::Graph& g, ir::Node* n, std::unordered_set<const ir::Node*>& removed) {
  if (n == nullptr) return;
  ir::Value* out = n->output(0);
  if (!out->uses().empty() || g.is_graph_output(out)) return;
  std::vector<ir::Value*> inputs = n->inputs();
  std::sort(inputs.begin(), inputs.end());
  inputs.erase(std::unique(inputs.begin(), inputs.end()), inputs.end());
  removed.insert(n);
  g.remove_node(n);
  g.remove_value(out);
  for (ir::Value* v : inputs) remove_if_dead_constant(g, v);
}

}  // namespace

bool FuseQdqConv::run(ir::Model& model) {
  ir::Graph& g = *model.graph;
  const int64_t opset = model.opset("");
  const ir::OpMatcher dq_x_matcher = ir::with(ir::op("DequantizeLinear"), activation_dequantize);
  const ir::OpMatcher dq_w_matcher = ir::with(ir::op("DequantizeLinear"), weight_dequantize);
  const ir::OpMatcher act_matcher = ir::with(
      ir::ops({"Relu", "Clip"}), [opset](const ir::Node& n) { return activation_params(n, opset).has_value(); });
  const ir::OpMatcher q_matcher = ir::with(ir::op("QuantizeLinear"), output_quantize);

  std::unordered_set<const ir::Node*> removed;  // nodes of the order below that a rewrite already deleted
  bool changed = false;
  clear_notes();
  for (ir::Node* conv : g.topological_order()) {
    if (removed.count(conv)) continue;
    if (conv->op_type() != "Conv" || !is_default_domain(*conv)) continue;
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

    ir::Attributes attrs = conv->attrs;
    if (act != nullptr) {
      attrs.set("activation", act->op_type());
      const std::vector<float> params = *activation_params(*act, opset);
      if (!params.empty()) attrs.set("activation_params", params);
    }
    std::vector<ir::Value*> inputs(In::kCount, nullptr);
    ir::Node* q_x = float_source_quantize(*dq_x);
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

    // Unlink from the end of the chain back to the Conv; the last node's output becomes the QConv's.
    std::vector<ir::Node*> chain = {conv};
    if (act != nullptr) chain.push_back(act);
    if (q != nullptr) chain.push_back(q);
    ir::Value* out = chain.back()->output(0);
    std::vector<ir::Value*> intermediates, dropped;
    for (size_t i = 0; i + 1 < chain.size(); ++i) intermediates.push_back(chain[i]->output(0));
    for (size_t i = 1; i < chain.size(); ++i) {
      for (size_t k = 1; k < chain[i]->num_inputs(); ++k) dropped.push_back(chain[i]->input(k));
    }
    const std::string name = conv->name();
    for (size_t i = chain.size(); i-- > 0;) {
      removed.insert(chain[i]);
      g.remove_node(chain[i]);
    }
    for (ir::Value* v : intermediates) g.remove_value(v);

    ir::Node* fused = g.add_node(std::string(ir::kQConvOp), inputs, {out}, name, std::string(ir::kQwacDomain));
    fused->attrs = std::move(attrs);
    // The dequantize nodes go once nothing else reads them (a DQ(X) shared with a residual Add stays).
    remove_if_dead(g, dq_x, removed);
    remove_if_dead(g, dq_w, removed);
    if (q_x != nullptr && !removed.count(q_x)) remove_if_dead(g, q_x, removed);
    std::sort(dropped.begin(), dropped.end());
    dropped.erase(std::unique(dropped.begin(), dropped.end()), dropped.end());
    for (ir::Value* v : dropped) remove_if_dead_constant(g, v);
    changed = true;
  }
  if (changed && model.opset(std::string(ir::kQwacDomain)) == 0) {
    model.opset_imports.push_back(ir::OpsetImport{std::string(ir::kQwacDomain), kFusedOpsetVersion});
  }
  return changed;
}

}  // namespace qwac::passes
