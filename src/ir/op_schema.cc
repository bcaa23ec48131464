#include "ir/op_schema.h"

#include "qwac/error.h"

namespace qwac::ir {

const TensorInfo& InferContext::input(size_t i) const {
  if (!has_input(i)) fail("required input " + std::to_string(i) + " is missing");
  return inputs_[i];
}

const Tensor& InferContext::constant_input(size_t i, const std::string& what) const {
  const TensorInfo& info = input(i);
  if (info.value == nullptr) {
    throw UnsupportedOp(node_.describe() + ": input " + std::to_string(i) + " (" + what +
                        ") must be a constant or computable from shapes at compile time; data-dependent " + what +
                        " is not supported");
  }
  return *info.value;
}

std::vector<int64_t> InferContext::constant_ints(size_t i, const std::string& what) const {
  const Tensor& t = constant_input(i, what);
  std::vector<int64_t> out(static_cast<size_t>(t.numel()));
  if (t.dtype() == DType::kInt64) {
    for (size_t k = 0; k < out.size(); ++k) out[k] = t.data<int64_t>()[k];
  } else if (t.dtype() == DType::kInt32) {
    for (size_t k = 0; k < out.size(); ++k) out[k] = t.data<int32_t>()[k];
  } else {
    fail("input " + std::to_string(i) + " (" + what + ") must be int32 or int64, got " + t.describe());
  }
  return out;
}

void InferContext::fail(const std::string& message) const { throw InvalidModel(node_.describe() + ": " + message); }

void OpRegistry::add(OpSchema schema) {
  auto key = std::make_pair(schema.op_type, schema.domain);
  if (schemas_.count(key)) throw InternalError("op schema registered twice: " + schema.op_type);
  schemas_.emplace(key, std::move(schema));
}

const OpSchema* OpRegistry::find(const std::string& op_type, const std::string& domain) const {
  const std::string dom = domain == "ai.onnx" ? "" : domain;
  auto it = schemas_.find(std::make_pair(op_type, dom));
  return it == schemas_.end() ? nullptr : &it->second;
}

std::vector<std::string> OpRegistry::op_types() const {
  std::vector<std::string> out;
  for (const auto& [key, schema] : schemas_) out.push_back(key.second.empty() ? key.first : key.second + "." + key.first);
  return out;
}

const OpRegistry& builtin_op_registry() {
  static const OpRegistry registry = [] {
    OpRegistry r;
    register_elementwise_shapes(r);
    register_nn_shapes(r);
    register_tensor_shapes(r);
    register_qwac_ops(r);
    register_transformer_shapes(r);
    return r;
  }();
  return registry;
}

std::vector<OutputInfo> infer_node(const Node& node, int64_t opset, std::vector<TensorInfo> inputs) {
  const OpSchema* schema = builtin_op_registry().find(node.op_type(), node.domain());
  if (schema == nullptr) throw UnsupportedOp(node.describe() + ": op type is not supported");
  InferContext ctx(node, opset, std::move(inputs));
  std::vector<OutputInfo> outputs = schema->infer(ctx);
  if (outputs.size() < node.num_outputs()) {
    // Optional trailing outputs (e.g. Dropout's mask) may be declared by the model; infer functions return at
    // least the mandatory ones and the caller rejects use of ones they did not describe.
    outputs.resize(node.num_outputs());
  }
  return outputs;
}

}  // namespace qwac::ir
