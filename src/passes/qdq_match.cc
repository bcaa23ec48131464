#include "passes/qdq_match.h"

#include <algorithm>
#include <cstring>
#include <limits>
#include <string>

#include "ir/fused_ops.h"

namespace qwac::passes::qdq {
namespace {

constexpr int64_t kFusedOpsetVersion = 1;

bool constant_float_or_absent(const ir::Value* v) {
  return v == nullptr || constant_float_scalar(v);
}

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

bool plain_q_or_dq(const ir::Node& n, const char* op_type) {
  if (n.op_type() != op_type || !is_default_domain(n) || n.num_outputs() != 1 || n.num_inputs() < 2 ||
      n.input(0) == nullptr) {
    return false;
  }
  for (const char* attr : {"block_size", "output_dtype", "saturate"}) {
    if (n.attrs.has(attr)) return false;
  }
  return true;
}

bool activation_dequantize(const ir::Node& dq) {
  if (!plain_q_or_dq(dq, "DequantizeLinear") || !constant_float_scalar(dq.input(1))) return false;
  const ir::Value* zp = dq.input(2);
  const DType x_type = dq.input(0)->type.dtype;
  if (zp == nullptr) return x_type == DType::kUInt8 || x_type == DType::kUndefined;  // absent zero point: uint8
  return constant_8bit_scalar(zp) && (x_type == DType::kUndefined || zp->constant->dtype() == x_type);
}

bool output_quantize(const ir::Node& q) {
  return plain_q_or_dq(q, "QuantizeLinear") && constant_float_scalar(q.input(1)) && constant_8bit_scalar(q.input(2));
}

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

ir::Node* float_source_quantize(const ir::Node& dq) {
  ir::Node* q = dq.input(0)->producer();
  if (q == nullptr || !plain_q_or_dq(*q, "QuantizeLinear") || dq.input(0)->producer_output_index() != 0) return nullptr;
  const DType x_type = q->input(0)->type.dtype;
  if (x_type != DType::kFloat32 && x_type != DType::kUndefined) return nullptr;
  if (!constant_float_scalar(q->input(1)) || !constant_8bit_scalar(q->input(2))) return nullptr;
  if (!same_constant(q->input(1), dq.input(1)) || !same_constant(q->input(2), dq.input(2))) return nullptr;
  return q;
}

void remove_if_dead_constant(ir::Graph& g, ir::Value* v) {
  if (v != nullptr && v->is_constant() && v->uses().empty() && !g.is_graph_output(v) && !g.is_graph_input(v)) {
    g.remove_value(v);
  }
}

void remove_if_dead(ir::Graph& g, ir::Node* n, std::unordered_set<const ir::Node*>& removed) {
  if (n == nullptr || removed.count(n)) return;
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

void import_qwac_domain(ir::Model& model) {
  if (model.opset(std::string(ir::kQwacDomain)) == 0) {
    model.opset_imports.push_back(ir::OpsetImport{std::string(ir::kQwacDomain), kFusedOpsetVersion});
  }
}

}  // namespace qwac::passes::qdq
