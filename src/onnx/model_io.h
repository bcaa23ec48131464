// ONNX ModelProto <-> ir::Model. Import keeps everything export needs to write the model back losslessly.
#pragma once

#include <string>

#include "core/tensor.h"
#include "ir/graph.h"

namespace onnx {
class ModelProto;
class TensorProto;
}  // namespace onnx

namespace qwac::onnxio {

// Loads an ONNX file (IR 3-10, default-domain opsets 7-21), resolving external-data tensors relative to the
// model's folder, upcasting float16 initializers to float32. Throws IoError (missing/unreadable file),
// InvalidModel (malformed protobuf, inconsistent graph) or UnsupportedOp (sub-graph ops, unknown domains).
ir::Model load_model(const std::string& path);

// The same from an in-memory proto; `base_dir` resolves external data.
ir::Model model_from_proto(const onnx::ModelProto& proto, const std::string& base_dir);

// A serialized ModelProto (what ModelProto.SerializeToString() gives); InvalidModel when it does not parse.
ir::Model model_from_bytes(const std::string& bytes, const std::string& base_dir);

onnx::ModelProto model_to_proto(const ir::Model& model);

// The bytes save_model writes (checked by onnx::checker, deterministic serialization).
std::string model_to_bytes(const ir::Model& model);

// Writes the model (running onnx::checker first; InvalidModel if it fails) to a temp file beside `path`, then
// renames it: a failure never leaves a half-written file.
void save_model(const ir::Model& model, const std::string& path);

Tensor tensor_from_proto(const onnx::TensorProto& proto, const std::string& base_dir);
onnx::TensorProto tensor_to_proto(const Tensor& tensor, const std::string& name);

}  // namespace qwac::onnxio
