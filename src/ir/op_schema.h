// Shape and type inference per op, held in a registry of op facts (no switch over op types).
//
// Inference here is concrete: the engine calls it at compile time with the actual input shapes, and with the
// values of inputs known at compile time (initializers, and anything computed only from them or from shapes —
// e.g. Shape -> Gather -> Concat -> Reshape chains). That is how stale declared shapes are ignored and how a model
// exported with batch 1 runs at another batch.
#pragma once

#include <cstdint>
#include <functional>
#include <map>
#include <string>
#include <vector>

#include "core/tensor.h"
#include "ir/graph.h"

namespace qwac::ir {

// What is known about a tensor at compile time. `value` is set when its contents are known too.
struct TensorInfo {
  DType dtype = DType::kUndefined;  // kUndefined = omitted optional input
  Shape shape;
  const Tensor* value = nullptr;
  bool present() const { return dtype != DType::kUndefined; }
};

struct OutputInfo {
  DType dtype = DType::kUndefined;
  Shape shape;
};

class InferContext {
 public:
  InferContext(const Node& node, int64_t opset, std::vector<TensorInfo> inputs)
      : node_(node), opset_(opset), inputs_(std::move(inputs)) {}

  const Node& node() const { return node_; }
  const Attributes& attrs() const { return node_.attrs; }
  int64_t opset() const { return opset_; }
  size_t num_inputs() const { return inputs_.size(); }
  bool has_input(size_t i) const { return i < inputs_.size() && inputs_[i].present(); }
  // Throws InvalidModel naming the node when input i is absent.
  const TensorInfo& input(size_t i) const;
  // The value of input i, which must be known at compile time; throws UnsupportedOp naming the node and `what`
  // otherwise (e.g. a Reshape whose target shape is computed from data).
  const Tensor& constant_input(size_t i, const std::string& what) const;
  // Reads an integer tensor (int32/int64) known at compile time as int64 values.
  std::vector<int64_t> constant_ints(size_t i, const std::string& what) const;

  // Error helpers producing "<Op 'name'>: message".
  [[noreturn]] void fail(const std::string& message) const;

 private:
  const Node& node_;
  int64_t opset_;
  std::vector<TensorInfo> inputs_;
};

using ShapeInferenceFn = std::function<std::vector<OutputInfo>(const InferContext&)>;

struct OpSchema {
  std::string op_type;
  std::string domain;      // "" = ONNX default domain
  int64_t since_version;   // first opset of the default domain this op exists in (model opset checked against it)
  ShapeInferenceFn infer;  // handles all opset versions (branches on ctx.opset() where semantics changed)
};

class OpRegistry {
 public:
  void add(OpSchema schema);  // throws InternalError on a duplicate (op_type, domain)
  const OpSchema* find(const std::string& op_type, const std::string& domain) const;
  std::vector<std::string> op_types() const;

 private:
  std::map<std::pair<std::string, std::string>, OpSchema> schemas_;
};

// The registry of every op qwac understands, built once from the explicit per-family lists below.
const OpRegistry& builtin_op_registry();

// Per-family registration (one file each under ir/shape/). Listed explicitly in op_schema.cc.
void register_elementwise_shapes(OpRegistry& registry);
void register_nn_shapes(OpRegistry& registry);
void register_tensor_shapes(OpRegistry& registry);
void register_qwac_ops(OpRegistry& registry);  // com.qwac ops, from their definitions (ir/qwac_ops.h)
void register_transformer_shapes(OpRegistry& registry);  // FusedMatMul (com.qwac)

// Infers outputs for one node; throws UnsupportedOp when the op has no schema.
std::vector<OutputInfo> infer_node(const Node& node, int64_t opset, std::vector<TensorInfo> inputs);

}  // namespace qwac::ir
