#include "passes/fuse_quantize_dequantize.h"

#include <algorithm>
#include <vector>

#include "ir/contrib_ops.h"
#include "ir/fused_ops.h"
#include "passes/qdq/qdq_match.h"

namespace qwac::passes {
namespace {

constexpr int64_t kDefaultAxis = 1;  // QuantizeLinear / DequantizeLinear default
constexpr int64_t kFirstExtendedOpset = 21;  // block_size, output_dtype, saturate

// The default-domain Q/DQ, or ONNX Runtime's contrib twins that carry 16-bit quantizers (ir/contrib_ops.h).
bool is_default_domain(const ir::Node& n) { return ir::is_qdq_domain(n.domain()); }

// True when the node uses none of the opset-21 attributes FakeQuantize does not model.
bool plain_quantization(const ir::Node& n) { return qdq::extended_attribute(n) == nullptr; }

bool matching_dequantize(const ir::Node& q, const ir::Use& use) {
  const ir::Node& dq = *use.node;
  if (dq.op_type() != "DequantizeLinear" || !is_default_domain(dq) || use.input_index != 0) return false;
  if (dq.num_outputs() != 1 || dq.output(0) == nullptr || !plain_quantization(dq)) return false;
  return qdq::same_constant(q.input(1), dq.input(1)) && dq.input(2) != nullptr &&
         qdq::same_constant(q.input(2), dq.input(2)) &&
         q.attrs.get_int("axis", kDefaultAxis) == dq.attrs.get_int("axis", kDefaultAxis);
}

bool fusable_quantize(const ir::Graph& g, const ir::Node& q, int64_t opset) {
  if (q.op_type() != "QuantizeLinear" || !is_default_domain(q) || q.num_outputs() != 1) return false;
  if (opset >= kFirstExtendedOpset && !plain_quantization(q)) return false;
  if (q.num_inputs() < 3 || q.input(0) == nullptr || q.input(1) == nullptr || q.input(2) == nullptr) return false;
  const DType x_type = q.input(0)->type.dtype;
  if (x_type != DType::kFloat32 && x_type != DType::kUndefined) return false;
  const ir::Value* y = q.output(0);
  if (y == nullptr || y->uses().empty() || g.is_graph_output(y)) return false;
  return std::all_of(y->uses().begin(), y->uses().end(), [&](const ir::Use& u) { return matching_dequantize(q, u); });
}

}  // namespace

bool FuseQuantizeDequantize::run(ir::Model& model) {
  ir::Graph& g = *model.graph;
  const int64_t opset = model.opset("");
  bool changed = false;
  for (ir::Node* q : g.topological_order()) {
    if (!fusable_quantize(g, *q, opset)) continue;
    std::vector<ir::Node*> dqs;
    for (const ir::Use& u : q->output(0)->uses()) {
      if (std::find(dqs.begin(), dqs.end(), u.node) == dqs.end()) dqs.push_back(u.node);
    }
    // The fused output: a DQ output that is a graph output keeps its name; else the first DQ's.
    size_t kept = 0;
    size_t graph_outputs = 0;
    for (size_t i = 0; i < dqs.size(); ++i) {
      if (g.is_graph_output(dqs[i]->output(0))) {
        kept = i;
        ++graph_outputs;
      }
    }
    if (graph_outputs > 1) continue;

    ir::Value* x = q->input(0);
    ir::Value* scale = q->input(1);
    ir::Value* zero_point = q->input(2);
    ir::Value* out = dqs[kept]->output(0);
    ir::Value* quantized = q->output(0);
    const std::string name = q->name();
    ir::Attributes attrs;
    if (q->attrs.has("axis")) attrs.set("axis", q->attrs.get_int("axis"));

    std::vector<ir::Value*> dropped_constants;
    std::vector<ir::Value*> other_outputs;
    for (size_t i = 0; i < dqs.size(); ++i) {
      dropped_constants.push_back(dqs[i]->input(1));
      dropped_constants.push_back(dqs[i]->input(2));
      if (i != kept) other_outputs.push_back(dqs[i]->output(0));
      g.remove_node(dqs[i]);
    }
    g.remove_node(q);
    g.remove_value(quantized);
    ir::Node* fused = g.add_node(std::string(ir::kFakeQuantizeOp), {x, scale, zero_point}, {out}, name,
                                 std::string(ir::kQwacDomain));
    fused->attrs = std::move(attrs);
    for (ir::Value* v : other_outputs) {
      g.replace_all_uses(v, out);
      g.remove_value(v);
    }
    std::sort(dropped_constants.begin(), dropped_constants.end());
    dropped_constants.erase(std::unique(dropped_constants.begin(), dropped_constants.end()), dropped_constants.end());
    for (ir::Value* v : dropped_constants) {
      if (v != scale && v != zero_point) qdq::remove_if_dead_constant(g, v);
    }
    changed = true;
  }
  if (changed) qdq::import_qwac_domain(model);
  return changed;
}

}  // namespace qwac::passes
