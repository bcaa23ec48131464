// Checks on an ONNX ModelProto made before anything else reads it (ONNX's shape inference, its version converter,
// qwac's import): facts that, violated, make those crash (a Conv with strides 0 divides by zero inside ONNX's
// shape inference) or make the model meaningless (no outputs, two default-domain opset imports). Each violation is
// an InvalidModel naming the node (op type and name), the attribute, the offending value and what is expected.
#pragma once

namespace onnx {
class ModelProto;
}  // namespace onnx

namespace qwac::onnxio {

void check_model_proto(const onnx::ModelProto& proto);

}  // namespace qwac::onnxio
