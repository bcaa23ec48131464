// The IR: a Graph owns Nodes and Values; Values know their producer and consumers.
//
// A Value is an SSA edge: produced by at most one node (or a graph input, or constant data = an initializer),
// consumed by any number of nodes. Nodes reference inputs/outputs by Value*; an omitted optional input is nullptr.
// The Graph owns everything (unique_ptr); pointers stay valid until the node/value is removed.
#pragma once

#include <algorithm>
#include <cstdint>
#include <list>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <unordered_map>
#include <vector>

#include "core/tensor.h"
#include "ir/attribute.h"

namespace qwac::ir {

class Node;

// One dimension of a declared (possibly symbolic) shape: a size >= 0, or unknown (-1) with an optional name.
struct Dim {
  int64_t size = -1;
  std::string param;  // ONNX dim_param ("batch_size"), empty if none
  bool operator==(const Dim&) const = default;
};
using SymbolicShape = std::vector<Dim>;

// Declared type of a value as stored in the model (graph input/output/value_info). It may be stale: the engine
// re-infers concrete shapes from actual inputs and never trusts declared output shapes.
struct TypeInfo {
  DType dtype = DType::kUndefined;
  std::optional<SymbolicShape> shape;  // nullopt = rank unknown
  bool operator==(const TypeInfo&) const = default;
};

struct Use {
  Node* node;
  int input_index;
};

class Value {
 public:
  const std::string& name() const { return name_; }
  Node* producer() const { return producer_; }
  int producer_output_index() const { return producer_index_; }
  const std::vector<Use>& uses() const { return uses_; }

  TypeInfo type;                   // declared/inferred type, may be partial
  std::optional<Tensor> constant;  // initializer data (constant values have no producer)
  std::string doc_string;

  bool is_constant() const { return constant.has_value(); }

 private:
  friend class Graph;
  explicit Value(std::string name) : name_(std::move(name)) {}
  std::string name_;
  Node* producer_ = nullptr;
  int producer_index_ = -1;
  std::vector<Use> uses_;
};

class Node {
 public:
  const std::string& name() const { return name_; }
  const std::string& op_type() const { return op_type_; }
  const std::string& domain() const { return domain_; }  // "" = default ONNX domain
  const std::vector<Value*>& inputs() const { return inputs_; }
  const std::vector<Value*>& outputs() const { return outputs_; }
  Value* input(size_t i) const { return i < inputs_.size() ? inputs_[i] : nullptr; }
  Value* output(size_t i) const { return i < outputs_.size() ? outputs_[i] : nullptr; }
  size_t num_inputs() const { return inputs_.size(); }
  size_t num_outputs() const { return outputs_.size(); }
  bool has_input(size_t i) const { return input(i) != nullptr; }

  Attributes attrs;
  std::string doc_string;

  // "Conv 'conv1'" for messages.
  std::string describe() const;

 private:
  friend class Graph;
  Node(std::string name, std::string op_type, std::string domain)
      : name_(std::move(name)), op_type_(std::move(op_type)), domain_(std::move(domain)) {}
  std::string name_, op_type_, domain_;
  std::vector<Value*> inputs_;
  std::vector<Value*> outputs_;
};

class Graph {
 public:
  Graph() = default;
  Graph(const Graph&) = delete;
  Graph& operator=(const Graph&) = delete;

  // Deep copy (nodes, values, attributes; constant tensors are shared, they are immutable by convention).
  std::unique_ptr<Graph> clone() const;

  std::string name;
  std::string doc_string;

  // --- values
  // Creates a value; the name must be unique (throws InvalidModel otherwise). An empty name is allowed only
  // for values created by passes, which get a fresh unique name.
  Value* add_value(const std::string& name);
  Value* add_constant(const std::string& name, Tensor data);
  Value* find_value(const std::string& name) const;
  Value* value(const std::string& name) const;  // throws InvalidModel if absent
  std::string unique_name(const std::string& hint) const;
  void remove_value(Value* v);  // must be unused and unproduced
  std::vector<Value*> values() const;  // creation order

  // --- graph interface
  const std::vector<Value*>& inputs() const { return inputs_; }   // non-constant graph inputs, in order
  const std::vector<Value*>& outputs() const { return outputs_; }
  void add_input(Value* v) { inputs_.push_back(v); }
  void add_output(Value* v) { outputs_.push_back(v); }
  void set_output(size_t i, Value* v) { outputs_.at(i) = v; }
  void resize_outputs(size_t n) { outputs_.resize(std::min(n, outputs_.size())); }  // drops trailing outputs
  bool is_graph_output(const Value* v) const;
  bool is_graph_input(const Value* v) const;
  // Initializer names that ONNX also listed as graph inputs (IR < 4 style); kept so export is lossless.
  std::vector<std::string> initializer_inputs;

  // --- nodes
  Node* add_node(const std::string& op_type, const std::vector<Value*>& inputs, const std::vector<Value*>& outputs,
                 const std::string& name = "", const std::string& domain = "");
  void remove_node(Node* n);  // unlinks; its outputs must be unused (or are left without producer)
  void set_input(Node* n, size_t i, Value* v);  // v may be nullptr (omitted optional input)
  // Grows the input list with omitted (nullptr) inputs up to `count`, so an optional input can then be set.
  void extend_inputs(Node* n, size_t count);
  void replace_all_uses(Value* from, Value* to);  // graph outputs included
  size_t num_nodes() const { return nodes_.size(); }
  std::vector<Node*> nodes() const;  // insertion order
  Node* find_node(const std::string& name) const;

  // Nodes ordered so each comes after the producers of its inputs; ties keep insertion order (deterministic).
  // Throws InvalidModel naming a node on a cycle.
  std::vector<Node*> topological_order() const;

  // Checks structural invariants: unique names, links consistent, every input defined, no cycle, outputs produced.
  // Throws InvalidModel naming the first violation.
  void verify() const;

  // Values on which outputs depend is NOT tracked here; see runtime for liveness.

 private:
  std::list<std::unique_ptr<Node>> nodes_;
  std::list<std::unique_ptr<Value>> values_;
  std::unordered_map<std::string, Value*> value_by_name_;
  std::vector<Value*> inputs_;
  std::vector<Value*> outputs_;
  size_t name_counter_ = 0;
};

// A model = graph + the model-level metadata ONNX keeps (so import -> export is lossless).
struct OpsetImport {
  std::string domain;
  int64_t version = 0;
  bool operator==(const OpsetImport&) const = default;
};

struct Model {
  int64_t ir_version = 0;
  std::vector<OpsetImport> opset_imports;
  std::string producer_name, producer_version, domain, doc_string;
  int64_t model_version = 0;
  std::vector<std::pair<std::string, std::string>> metadata_props;
  std::unique_ptr<Graph> graph;

  // Opset of a domain ("" and "ai.onnx" are the default domain); 0 when not imported.
  int64_t opset(const std::string& domain = "") const;
  Model clone() const;
};

}  // namespace qwac::ir
