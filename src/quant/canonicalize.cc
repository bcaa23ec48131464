#include "quant/canonicalize.h"

#include "onnx/opset_upgrade.h"
#include "passes/eliminate_dropout.h"
#include "passes/fold_batchnorm.h"
#include "passes/pass_list.h"
#include "qwac/error.h"
#include "runtime/constant_folding.h"

namespace qwac::quant {
namespace {

constexpr int64_t kMinQdqOpset = 10;         // QuantizeLinear / DequantizeLinear
constexpr int64_t kPerChannelQdqOpset = 13;  // their `axis` attribute

size_t count_op(const ir::Graph& g, const std::string& op) {
  size_t n = 0;
  for (const ir::Node* node : g.nodes()) n += node->op_type() == op && node->domain().empty();
  return n;
}

// ONNX's version converter upgrades Softmax/LogSoftmax/Hardmax below opset 13 (which flattened the input to 2-D)
// as Flatten -> op -> Reshape back, with the shape it inferred as a constant: batch 1 gets baked in. The Reshape
// only restores the Flatten input's shape, so it reads that shape at run time instead and the model batches again.
size_t restore_dynamic_reshapes_after_upgrade(ir::Graph& g) {
  size_t fixed = 0;
  for (ir::Node* reshape : g.nodes()) {
    if (reshape->op_type() != "Reshape" || !reshape->domain().empty() || reshape->num_inputs() < 2) continue;
    ir::Value* data = reshape->input(0);
    ir::Value* shape = reshape->input(1);
    if (shape == nullptr || !shape->is_constant() || data == nullptr || data->producer() == nullptr) continue;
    const ir::Node* op = data->producer();
    if (op->op_type() != "Softmax" && op->op_type() != "LogSoftmax" && op->op_type() != "Hardmax") continue;
    if (op->input(0) == nullptr || op->input(0)->producer() == nullptr) continue;
    const ir::Node* flatten = op->input(0)->producer();
    if (flatten->op_type() != "Flatten" || flatten->input(0) == nullptr) continue;
    ir::Value* original = flatten->input(0);
    ir::Value* dynamic_shape = g.add_value(g.unique_name(original->name() + "_shape"));
    dynamic_shape->type.dtype = DType::kInt64;
    g.add_node("Shape", {original}, {dynamic_shape}, g.unique_name(reshape->name() + "_shape"));
    g.set_input(reshape, 1, dynamic_shape);
    if (shape->uses().empty() && !g.is_graph_output(shape)) g.remove_value(shape);
    ++fixed;
  }
  return fixed;
}

}  // namespace

CanonicalModel canonicalize(const ir::Model& model, const std::map<std::string, Shape>& input_shapes,
                            const CanonicalizeOptions& options, Logger& logger) {
  CanonicalModel out{model.clone(), true, model.opset(""), {}};
  ir::Model& m = out.model;

  const size_t bn_before = count_op(*m.graph, "BatchNormalization");
  passes::EliminateDropout().run(m);
  passes::FoldBatchNorm().run(m);
  const size_t folded_bn = bn_before - count_op(*m.graph, "BatchNormalization");
  if (folded_bn > 0) out.changes.push_back("folded " + std::to_string(folded_bn) + " BatchNormalization");

  const int64_t opset = m.opset("");
  if (opset < kPerChannelQdqOpset && options.want_per_channel) {
    try {
      onnxio::upgrade_opset(m, kPerChannelQdqOpset);
      out.changes.push_back("opset " + std::to_string(opset) + " -> " + std::to_string(kPerChannelQdqOpset) +
                            " (per-channel QuantizeLinear/DequantizeLinear)");
      logger.info("model opset " + std::to_string(opset) + " raised to " + std::to_string(kPerChannelQdqOpset) +
                  " for per-channel weight quantizers");
    } catch (const InvalidModel& e) {
      if (opset < kMinQdqOpset) throw;
      out.per_channel_allowed = false;
      logger.warning(std::string("cannot raise the opset to 13 (") + e.what() +
                     "); weights use per-tensor quantizers, which opset " + std::to_string(opset) + " supports");
    }
  }
  if (m.opset("") < kMinQdqOpset) {
    // Per-tensor only was asked for: opset 10 is enough.
    try {
      onnxio::upgrade_opset(m, kMinQdqOpset);
    } catch (const InvalidModel& e) {
      throw InvalidModel("the model's opset " + std::to_string(opset) + " has no QuantizeLinear/DequantizeLinear (opset " +
                         std::to_string(kMinQdqOpset) + "+) and ONNX's version converter cannot upgrade it: " +
                         e.what() + "; upgrade the model to opset 13 first");
    }
  }
  const size_t nodes_before = m.graph->num_nodes();
  // Shape reads stay: the exported model must accept every batch the original accepted.
  if (runtime::fold_constants(m, {}, /*fold_shape_reads=*/false)) {
    out.changes.push_back("folded " + std::to_string(nodes_before - m.graph->num_nodes()) + " constant node(s)");
  }

  passes::run_passes(passes::recognize_passes(), m);  // activation decompositions -> one ONNX op

  if (m.opset("") != opset) restore_dynamic_reshapes_after_upgrade(*m.graph);
  if (m.opset("") < kPerChannelQdqOpset) out.per_channel_allowed = false;

  // Only the dtypes are kept: concrete batch-1 shapes would otherwise be exported as declared shapes.
  std::map<const ir::Value*, ir::TypeInfo> declared;
  for (const ir::Value* v : m.graph->values()) declared[v] = v->type;
  runtime::infer_value_types(m, input_shapes);
  for (ir::Value* v : m.graph->values()) {
    auto it = declared.find(v);
    if (it == declared.end()) continue;
    const DType inferred = v->type.dtype;
    v->type = it->second;
    if (v->type.dtype == DType::kUndefined) v->type.dtype = inferred;
  }
  return out;
}

}  // namespace qwac::quant
