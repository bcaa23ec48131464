#include "onnx/opset_upgrade.h"

#include <onnx/onnx_pb.h>
#include <onnx/shape_inference/implementation.h>
#include <onnx/version_converter/convert.h>

#include <algorithm>
#include <string>
#include <utility>

#include "onnx/model_check.h"
#include "onnx/model_io.h"
#include "qwac/error.h"

namespace qwac::onnxio {
namespace {

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

}  // namespace

void upgrade_opset(ir::Model& model, int64_t target) {
  const int64_t current = model.opset("");
  if (current >= target) return;
  // ONNX 1.12's converter looks every node up in the default-domain schemas and fails with a bare
  // "unordered_map::at" on any other op (e.g. qwac's com.qwac fused ops), so say which node is the problem.
  for (const ir::Node* n : model.graph->nodes()) {
    if (n->domain().empty() || n->domain() == "ai.onnx") continue;
    throw InvalidModel("cannot upgrade the model from default-domain opset " + std::to_string(current) + " to " +
                       std::to_string(target) + ": " + n->describe() + " is in domain '" + n->domain() +
                       "', which ONNX's version converter does not know; upgrade before fusing or quantizing");
  }
  onnx::ModelProto converted;
  try {
    onnx::ModelProto proto = model_to_proto(model);
    check_model_proto(proto);  // ONNX's shape inference divides by attributes such as strides: check them first
    // The converter's adapters need the shapes of broadcast operands (e.g. Add's legacy broadcast attribute).
    onnx::shape_inference::InferShapes(proto);
    converted = onnx::version_conversion::ConvertVersion(proto, static_cast<int>(target));
  } catch (const Error&) {
    throw;
  } catch (const std::exception& e) {
    throw InvalidModel("cannot upgrade the model from default-domain opset " + std::to_string(current) + " to " +
                       std::to_string(target) + ": ONNX's version converter failed: " + e.what());
  }
  // The converter rewrites the default-domain import only; keep every other domain's import as it was (nodes of
  // those domains are not touched by the conversion).
  for (const ir::OpsetImport& op : model.opset_imports) {
    if (op.domain.empty() || op.domain == "ai.onnx") continue;
    bool present = false;
    for (const auto& imp : converted.opset_import()) present = present || imp.domain() == op.domain;
    if (!present) {
      auto* imp = converted.add_opset_import();
      imp->set_domain(op.domain);
      imp->set_version(op.version);
    }
  }
  // Every tensor was embedded by model_to_proto: no external data to resolve.
  ir::Model upgraded = model_from_proto(converted, "");
  if (upgraded.opset("") != target) {
    throw InvalidModel("ONNX's version converter was asked for default-domain opset " + std::to_string(target) +
                       " but produced opset " + std::to_string(upgraded.opset("")));
  }
  upgraded.ir_version = std::max(upgraded.ir_version, min_ir_version_for_opset(target));
  model = std::move(upgraded);
}

}  // namespace qwac::onnxio
