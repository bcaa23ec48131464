#include "passes/qdq/qdq_match.h"

#include <algorithm>
#include <cstring>
#include <limits>
#include <string>

#include "ir/activation.h"
#include "ir/fused_ops.h"

namespace qwac::passes::qdq {
namespace {

constexpr int64_t kFusedOpsetVersion = 1;

}  // namespace

bool is_default_domain(const ir::Node& n) {
  return n.domain().empty() || n.domain() == "ai.onnx";
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

const char* extended_attribute(const ir::Node& n) {
  for (const char* attr : {"block_size", "output_dtype", "saturate"}) {
    if (n.attrs.has(attr)) return attr;
  }
  return nullptr;
}

bool plain_q_or_dq(const ir::Node& n, const char* op_type) {
  return n.op_type() == op_type && is_default_domain(n) && n.num_outputs() == 1 && n.num_inputs() >= 2 &&
         n.input(0) != nullptr && extended_attribute(n) == nullptr;
}

std::string activation_dequantize_problem(const ir::Node& dq) {
  if (!plain_q_or_dq(dq, "DequantizeLinear")) {
    return "its DequantizeLinear is not a plain default-domain one (opset-21 block_size/output_dtype/saturate)";
  }
  if (!constant_float_scalar(dq.input(1))) {
    return "its scale is not a constant float scalar (only per-tensor activations run in int8)";
  }
  const ir::Value* zp = dq.input(2);
  const DType x_type = dq.input(0)->type.dtype;
  if (zp == nullptr) {  // absent zero point: uint8
    if (x_type == DType::kUInt8 || x_type == DType::kUndefined) return "";
    return "it has no zero point and its input is " + std::string(dtype_name(x_type)) + ", not uint8";
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

bool output_quantize(const ir::Node& q) {
  return plain_q_or_dq(q, "QuantizeLinear") && constant_float_scalar(q.input(1)) && constant_8bit_scalar(q.input(2));
}

ir::OpMatcher activation_matcher(int64_t opset) {
  return ir::with(ir::OpMatcher{{}, ir::kAnyDomain, {}}, [opset](const ir::Node& n) {
    return ir::activation_from_node(n, opset).has_value();
  });
}

void set_activation(ir::Attributes& attrs, const ir::Node* act, int64_t opset) {
  if (act == nullptr) return;
  ir::activation_from_node(*act, opset)->to_attributes(attrs);
}

std::string symmetric_weight_problem(const ir::Node& dq) {
  const ir::Value* zp = dq.input(2);
  if (zp == nullptr) return "";
  if (!zp->is_constant() || zp->constant->dtype() != DType::kInt8) {
    return "the weight zero point is not a constant int8 tensor";
  }
  const int8_t* z = zp->constant->data<int8_t>();
  if (!std::all_of(z, z + zp->constant->numel(), [](int8_t v) { return v == 0; })) return kAsymmetricWeights;
  return "";
}

std::optional<QuantParams> per_tensor_params(const ir::Node& n, bool zp_optional, std::string& why) {
  if (!is_default_domain(n) || n.num_outputs() != 1 || n.num_inputs() < 2) {
    why = "not a default-domain single-output " + n.op_type();
    return std::nullopt;
  }
  if (const char* attr = extended_attribute(n); attr != nullptr) {
    why = "uses the attribute " + std::string(attr);
    return std::nullopt;
  }
  const ir::Value* s = n.input(1);
  if (!constant_float_scalar(s)) {
    why = "the scale is not a constant float scalar (per-channel quantization)";
    return std::nullopt;
  }
  QuantParams p;
  p.scale = s->constant->data<float>()[0];
  if (!(p.scale > 0.f)) {
    why = "the scale " + std::to_string(p.scale) + " is not positive";
    return std::nullopt;
  }
  const ir::Value* zp = n.input(2);
  if (zp == nullptr) {
    if (!zp_optional) {
      why = "no zero point (the output type is not explicit)";
      return std::nullopt;
    }
  } else if (!constant_8bit_scalar(zp)) {
    why = "the zero point is not a constant 8-bit scalar";
    return std::nullopt;
  } else {
    p.type = zp->constant->dtype();
    p.zero_point = p.type == DType::kUInt8 ? zp->constant->data<uint8_t>()[0] : zp->constant->data<int8_t>()[0];
  }
  return p;
}

bool same_constant(const ir::Value* a, const ir::Value* b) {
  if (a == b) return true;
  if (a == nullptr || b == nullptr || !a->is_constant() || !b->is_constant()) return false;
  const Tensor& ta = *a->constant;
  const Tensor& tb = *b->constant;
  return ta.dtype() == tb.dtype() && ta.shape() == tb.shape() && std::memcmp(ta.raw(), tb.raw(), ta.nbytes()) == 0;
}

ir::Node* float_source_quantize(const ir::Node& dq) {
  ir::Node* q = dq.input(0)->producer();
  if (q == nullptr || !plain_q_or_dq(*q, "QuantizeLinear") || dq.input(0)->producer_output_index() != 0) return nullptr;
  const DType x_type = q->input(0)->type.dtype;
  if (x_type != DType::kFloat32 && x_type != DType::kUndefined) return nullptr;
  if (!constant_float_scalar(q->input(1)) || !constant_8bit_scalar(q->input(2))) return nullptr;
  if (!same_constant(q->input(1), dq.input(1)) || !same_constant(q->input(2), dq.input(2))) return nullptr;
  return q;
}

ir::Node* replace_chain(ir::Graph& g, const std::vector<ir::Node*>& chain, std::string_view op_type,
                        std::vector<ir::Value*> inputs, ir::Attributes attrs,
                        std::unordered_set<const ir::Node*>& removed, ir::Value* out) {
  std::vector<ir::Value*> dropped_values;  // the outputs between the nodes, and the last one when replaced
  for (size_t i = 0; i + 1 < chain.size(); ++i) dropped_values.push_back(chain[i]->output(0));
  if (out == nullptr) {
    out = chain.back()->output(0);
  } else {
    dropped_values.push_back(chain.back()->output(0));
  }
  std::vector<ir::Value*> dropped_inputs;  // what the later nodes read besides the previous node's output
  for (size_t i = 1; i < chain.size(); ++i) {
    for (ir::Value* v : chain[i]->inputs()) {
      if (v != chain[i - 1]->output(0)) dropped_inputs.push_back(v);
    }
  }
  const std::string name = chain.front()->name();
  for (size_t i = chain.size(); i-- > 0;) {
    removed.insert(chain[i]);
    g.remove_node(chain[i]);
  }
  for (ir::Value* v : dropped_values) g.remove_value(v);
  ir::Node* fused = g.add_node(std::string(op_type), inputs, {out}, name, std::string(ir::kQwacDomain));
  fused->attrs = std::move(attrs);
  remove_dead_constants(g, std::move(dropped_inputs));
  return fused;
}

void remove_if_dead_constant(ir::Graph& g, ir::Value* v) {
  if (v != nullptr && v->is_constant() && v->uses().empty() && !g.is_graph_output(v) && !g.is_graph_input(v)) {
    g.remove_value(v);
  }
}

void remove_dead_constants(ir::Graph& g, std::vector<ir::Value*> values) {
  std::sort(values.begin(), values.end());
  values.erase(std::unique(values.begin(), values.end()), values.end());
  for (ir::Value* v : values) remove_if_dead_constant(g, v);
}

void remove_if_dead(ir::Graph& g, ir::Node* n, std::unordered_set<const ir::Node*>& removed) {
  if (n == nullptr || removed.count(n)) return;
  ir::Value* out = n->output(0);
  if (!out->uses().empty() || g.is_graph_output(out)) return;
  const std::vector<ir::Value*> inputs = n->inputs();
  removed.insert(n);
  g.remove_node(n);
  g.remove_value(out);
  remove_dead_constants(g, inputs);
}

void import_qwac_domain(ir::Model& model) {
  if (model.opset(std::string(ir::kQwacDomain)) == 0) {
    model.opset_imports.push_back(ir::OpsetImport{std::string(ir::kQwacDomain), kFusedOpsetVersion});
  }
}

}  // namespace qwac::passes::qdq
