#include "onnx/opset_upgrade.h"

#include <onnx/defs/schema.h>

#include <algorithm>
#include <string>
#include <utility>
#include <vector>

#include "qwac/error.h"

namespace qwac::onnxio {
namespace {

bool is_default_domain(const std::string& domain) {
  return domain.empty() || domain == "ai.onnx";
}

// Lowest IR version whose ONNX release defined each default-domain opset (ONNX's versioning table). A model
// stamped with an older IR than its opset needs is rejected by some runtimes (ONNX Runtime among them), and the
// newer IR versions only relax the format (IR 4: initializers need not be listed as inputs), so raising it is safe.
int64_t min_ir_version_for_opset(int64_t opset) {
  static const std::pair<int64_t, int64_t> table[] = {{9, 4}, {10, 5}, {11, 6}, {12, 7}, {15, 8}, {19, 9}, {21, 10}};
  int64_t ir = 3;
  for (const auto& [first_opset, version] : table) {
    if (opset >= first_opset) ir = version;
  }
  return ir;
}

// Takes `node` from opset version - 1 to `version`: unchanged unless its op's schema changed at `version`.
ir::Node* adapt_step(AdaptContext& ctx, ir::Node* node, int64_t version) {
  const onnx::OpSchema* schema =
      onnx::OpSchemaRegistry::Schema(node->op_type(), static_cast<int>(version), onnx::ONNX_DOMAIN);
  if (schema == nullptr)
    throw AdaptDeclined("ONNX defines no " + node->op_type() + " at opset " + std::to_string(version));
  if (schema->SinceVersion() != version) return node;
  const OpChange* change = find_op_change(node->op_type(), version);
  if (change == nullptr) {
    throw AdaptDeclined(node->op_type() + " changed at opset " + std::to_string(version) +
                        " and qwac has no adapter for that change");
  }
  return change->adapt != nullptr ? change->adapt(ctx, node) : node;
}

}  // namespace

void upgrade_opset(ir::Model& model, int64_t target, const ValueTypes& value_types) {
  const int64_t current = model.opset("");
  if (current >= target) return;
  const std::string what =
      "cannot upgrade the model from default-domain opset " + std::to_string(current) + " to " + std::to_string(target);
  if (target > kMaxAdaptedOpset) {
    throw InvalidModel(what + ": qwac's opset adapters reach opset " + std::to_string(kMaxAdaptedOpset));
  }
  // Work on a copy so that a failure leaves the model as it was.
  ir::Model work = model.clone();
  AdaptContext ctx(*work.graph, value_types);
  std::vector<std::string> declined;
  for (ir::Node* node : work.graph->nodes()) {
    if (!is_default_domain(node->domain())) continue;
    const std::string described = node->describe();  // the node may be replaced (and freed) by its adapter
    try {
      ir::Node* n = node;
      for (int64_t version = current + 1; version <= target; ++version) n = adapt_step(ctx, n, version);
    } catch (const AdaptDeclined& e) {
      declined.push_back(described + ": " + e.what());
    } catch (const Error& e) {
      declined.push_back(described + ": " + e.what());
    }
  }
  if (!declined.empty()) {
    std::string list;
    for (const std::string& d : declined) list += (list.empty() ? "" : "; ") + d;
    throw InvalidModel(what + ": " + list);
  }
  for (ir::OpsetImport& op : work.opset_imports) {
    if (is_default_domain(op.domain)) op.version = target;
  }
  work.ir_version = std::max(work.ir_version, min_ir_version_for_opset(target));
  work.graph->verify();
  model = std::move(work);
}

}  // namespace qwac::onnxio
