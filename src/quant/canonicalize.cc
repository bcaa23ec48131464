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

// Folds constant sub-graphs; returns the number of nodes removed. Shape reads stay: the exported model must accept
// every batch the original accepted.
size_t fold_constants(ir::Model& m) {
  const size_t before = m.graph->num_nodes();
  runtime::fold_constants(m, {}, /*fold_shape_reads=*/false);
  return before - m.graph->num_nodes();
}

// Every value's concrete type for one sample, by qwac's shape inference (on a copy: declared types stay as they are).
onnxio::ValueTypes concrete_types(const ir::Model& m, const std::map<std::string, Shape>& input_shapes) {
  ir::Model copy = m.clone();
  runtime::infer_value_types(copy, input_shapes);
  onnxio::ValueTypes types;
  for (const ir::Value* v : copy.graph->values()) types[v->name()] = v->type;
  return types;
}

// Raises the opset to 13 (per-channel Q/DQ) or, when that is impossible or not wanted, to 10 if below; sets
// per_channel_allowed and logs what it did.
void raise_opset(CanonicalModel& out, const onnxio::ValueTypes& types, const CanonicalizeOptions& options,
                 Logger& logger) {
  ir::Model& m = out.model;
  const int64_t opset = m.opset("");
  const std::string from = "opset " + std::to_string(opset);
  if (opset < kPerChannelQdqOpset && options.want_per_channel) {
    try {
      onnxio::upgrade_opset(m, kPerChannelQdqOpset, types);
      out.changes.push_back(from + " -> " + std::to_string(kPerChannelQdqOpset) +
                            " (per-channel QuantizeLinear/DequantizeLinear)");
      logger.info("model " + from + " raised to " + std::to_string(kPerChannelQdqOpset) +
                  " for per-channel weight quantizers");
    } catch (const InvalidModel& e) {
      const std::string why = std::string("per-channel weights need opset 13, but ") + e.what();
      out.changes.push_back("per-tensor weights: " + why);
      logger.warning(why + "; weights use per-tensor quantizers instead");
    }
  }
  if (m.opset("") < kMinQdqOpset) {
    try {
      onnxio::upgrade_opset(m, kMinQdqOpset, types);
      out.changes.push_back(from + " -> " + std::to_string(kMinQdqOpset) + " (QuantizeLinear/DequantizeLinear)");
    } catch (const InvalidModel& e) {
      throw InvalidModel("the model's " + from + " has no QuantizeLinear/DequantizeLinear (opset " +
                         std::to_string(kMinQdqOpset) + "+) and " + e.what() + "; upgrade the model to opset 13 first");
    }
  }
  out.per_channel_allowed = m.opset("") >= kPerChannelQdqOpset;
}

}  // namespace

CanonicalModel canonicalize(const ir::Model& model, const std::map<std::string, Shape>& input_shapes,
                            const CanonicalizeOptions& options, Logger& logger) {
  CanonicalModel out{model.clone(), true, model.opset(""), {}};
  ir::Model& m = out.model;

  // Constants first: a Dropout's training_mode or a BN's parameters may come from Constant nodes.
  size_t folded_nodes = fold_constants(m);
  passes::EliminateDropout().run(m);

  const size_t bn_before = count_op(*m.graph, "BatchNormalization");
  passes::FoldBatchNorm().run(m);
  const size_t folded_bn = bn_before - count_op(*m.graph, "BatchNormalization");
  if (folded_bn > 0) out.changes.push_back("folded " + std::to_string(folded_bn) + " BatchNormalization");

  raise_opset(out, concrete_types(m, input_shapes), options, logger);
  folded_nodes += fold_constants(m);
  if (folded_nodes > 0) out.changes.push_back("folded " + std::to_string(folded_nodes) + " constant node(s)");

  passes::run_passes(passes::recognize_passes(), m);  // activation decompositions -> one ONNX op, before placement

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
