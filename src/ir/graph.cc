#include "ir/graph.h"

#include <algorithm>
#include <deque>
#include <functional>
#include <unordered_map>
#include <unordered_set>

#include "qwac/error.h"

namespace qwac::ir {

std::string Node::describe() const {
  return op_type_ + " '" + name_ + "'";
}

// ---------------------------------------------------------------------------------------------------------------
// values

std::string Graph::unique_name(const std::string& hint) const {
  const std::string base = hint.empty() ? "qwac_v" : hint;
  if (!value_by_name_.count(base)) return base;
  for (size_t i = name_counter_;; ++i) {
    std::string candidate = base + "_" + std::to_string(i);
    if (!value_by_name_.count(candidate)) return candidate;
  }
}

Value* Graph::add_value(const std::string& name) {
  std::string final_name = name.empty() ? unique_name("qwac_v") : name;
  if (value_by_name_.count(final_name)) {
    throw InvalidModel("value name '" + final_name + "' is defined twice (every tensor name must be unique)");
  }
  values_.push_back(std::unique_ptr<Value>(new Value(final_name)));
  Value* v = values_.back().get();
  value_by_name_[final_name] = v;
  ++name_counter_;
  return v;
}

Value* Graph::add_constant(const std::string& name, Tensor data) {
  Value* v = add_value(name);
  v->type.dtype = data.dtype();
  SymbolicShape shape;
  for (int64_t d : data.shape()) shape.push_back(Dim{d, ""});
  v->type.shape = shape;
  v->constant = std::move(data);
  return v;
}

Value* Graph::find_value(const std::string& name) const {
  auto it = value_by_name_.find(name);
  return it == value_by_name_.end() ? nullptr : it->second;
}

Value* Graph::value(const std::string& name) const {
  Value* v = find_value(name);
  if (v == nullptr) throw InvalidModel("tensor '" + name + "' does not exist in graph '" + this->name + "'");
  return v;
}

void Graph::remove_value(Value* v) {
  if (!v->uses_.empty() || v->producer_ != nullptr || is_graph_output(v) || is_graph_input(v)) {
    throw InternalError("cannot remove value '" + v->name() + "': it is still used or produced");
  }
  value_by_name_.erase(v->name());
  // find + erase, not remove_if: stops at the value instead of walking the whole list (removing the unused values
  // of a large graph one by one, as partial re-execution's sub-models do, was quadratic).
  const auto it =
      std::find_if(values_.begin(), values_.end(), [v](const std::unique_ptr<Value>& p) { return p.get() == v; });
  if (it != values_.end()) values_.erase(it);
}

std::vector<Value*> Graph::values() const {
  std::vector<Value*> out;
  out.reserve(values_.size());
  for (const auto& v : values_) out.push_back(v.get());
  return out;
}

bool Graph::is_graph_output(const Value* v) const {
  return std::find(outputs_.begin(), outputs_.end(), v) != outputs_.end();
}
bool Graph::is_graph_input(const Value* v) const {
  return std::find(inputs_.begin(), inputs_.end(), v) != inputs_.end();
}

// ---------------------------------------------------------------------------------------------------------------
// nodes

Node* Graph::add_node(const std::string& op_type, const std::vector<Value*>& inputs,
                      const std::vector<Value*>& outputs, const std::string& name, const std::string& domain) {
  nodes_.push_back(std::unique_ptr<Node>(new Node(name, op_type, domain)));
  Node* n = nodes_.back().get();
  n->inputs_ = inputs;
  for (size_t i = 0; i < inputs.size(); ++i) {
    if (inputs[i] != nullptr) inputs[i]->uses_.push_back(Use{n, static_cast<int>(i)});
  }
  n->outputs_ = outputs;
  for (size_t i = 0; i < outputs.size(); ++i) {
    Value* o = outputs[i];
    if (o == nullptr) continue;  // omitted optional output
    if (o->producer_ != nullptr) {
      throw InvalidModel("tensor '" + o->name() + "' is produced by both " + o->producer_->describe() + " and " +
                         n->describe());
    }
    if (o->is_constant()) {
      throw InvalidModel("tensor '" + o->name() + "' is both an initializer and the output of " + n->describe());
    }
    o->producer_ = n;
    o->producer_index_ = static_cast<int>(i);
  }
  return n;
}

void Graph::extend_inputs(Node* n, size_t count) {
  if (n->inputs_.size() < count) n->inputs_.resize(count, nullptr);
}

void Graph::set_input(Node* n, size_t i, Value* v) {
  if (i >= n->inputs_.size()) n->inputs_.resize(i + 1, nullptr);
  Value* old = n->inputs_[i];
  if (old != nullptr) {
    auto& uses = old->uses_;
    uses.erase(std::find_if(uses.begin(), uses.end(),
                            [&](const Use& u) { return u.node == n && u.input_index == static_cast<int>(i); }));
  }
  n->inputs_[i] = v;
  if (v != nullptr) v->uses_.push_back(Use{n, static_cast<int>(i)});
}

void Graph::remove_node(Node* n) {
  for (size_t i = 0; i < n->inputs_.size(); ++i) {
    if (n->inputs_[i] != nullptr) set_input(n, i, nullptr);
  }
  for (Value* o : n->outputs_) {
    if (o != nullptr && o->producer_ == n) {
      o->producer_ = nullptr;
      o->producer_index_ = -1;
    }
  }
  // Searched from the back: passes and sub-model extraction remove nodes in reverse topological order, near the
  // list's end (remove_if walked the whole list every time).
  const auto it =
      std::find_if(nodes_.rbegin(), nodes_.rend(), [n](const std::unique_ptr<Node>& p) { return p.get() == n; });
  if (it != nodes_.rend()) nodes_.erase(std::next(it).base());
}

void Graph::replace_all_uses(Value* from, Value* to) {
  const std::vector<Use> uses = from->uses_;
  for (const Use& u : uses) set_input(u.node, static_cast<size_t>(u.input_index), to);
  for (auto& o : outputs_) {
    if (o == from) o = to;
  }
}

std::vector<Node*> Graph::nodes() const {
  std::vector<Node*> out;
  out.reserve(nodes_.size());
  for (const auto& n : nodes_) out.push_back(n.get());
  return out;
}

Node* Graph::find_node(const std::string& node_name) const {
  for (const auto& n : nodes_) {
    if (n->name() == node_name) return n.get();
  }
  return nullptr;
}

std::vector<Node*> Graph::topological_order() const {
  // Kahn's algorithm; the ready set is processed in insertion order so the result is deterministic and equals
  // the file order for models that are already sorted. Nodes are handled by their insertion position (one hash
  // lookup per edge, no per-node sets): the engine passes and the accuracy search's partial models call this
  // hundreds of times per candidate.
  const std::vector<Node*> all = nodes();
  std::unordered_map<const Node*, size_t> position;
  position.reserve(all.size());
  for (size_t i = 0; i < all.size(); ++i) position.emplace(all[i], i);
  std::vector<int> pending(all.size(), 0);
  std::vector<size_t> scratch;
  for (size_t i = 0; i < all.size(); ++i) {
    const Node* n = all[i];
    scratch.clear();
    for (Value* v : n->inputs()) {
      if (v != nullptr && v->producer() != nullptr && v->producer() != n) {
        // A producer outside the graph never becomes ready: reported as a cycle below, as before.
        auto it = position.find(v->producer());
        scratch.push_back(it != position.end() ? it->second : all.size());
      }
      if (v != nullptr && v->producer() == n) throw InvalidModel(n->describe() + " consumes its own output");
    }
    std::sort(scratch.begin(), scratch.end());
    pending[i] = static_cast<int>(std::unique(scratch.begin(), scratch.end()) - scratch.begin());  // distinct producers
  }
  std::vector<Node*> order;
  order.reserve(all.size());
  // A min-heap on insertion position keeps the order stable.
  const auto later = std::greater<size_t>();
  std::vector<size_t> ready;
  for (size_t i = 0; i < all.size(); ++i) {
    if (pending[i] == 0) ready.push_back(i);
  }
  std::make_heap(ready.begin(), ready.end(), later);
  while (!ready.empty()) {
    std::pop_heap(ready.begin(), ready.end(), later);
    Node* n = all[ready.back()];
    ready.pop_back();
    order.push_back(n);
    scratch.clear();
    for (Value* o : n->outputs()) {
      if (o == nullptr) continue;
      for (const Use& u : o->uses()) {
        auto it = position.find(u.node);
        if (it != position.end()) scratch.push_back(it->second);
      }
    }
    std::sort(scratch.begin(), scratch.end());
    scratch.erase(std::unique(scratch.begin(), scratch.end()), scratch.end());  // each consumer once
    for (size_t c : scratch) {
      if (--pending[c] == 0) {
        ready.push_back(c);
        std::push_heap(ready.begin(), ready.end(), later);
      }
    }
  }
  if (order.size() != all.size()) {
    for (size_t i = 0; i < all.size(); ++i) {
      if (pending[i] > 0) throw InvalidModel("graph '" + name + "' has a cycle through " + all[i]->describe());
    }
  }
  return order;
}

void Graph::verify() const {
  std::unordered_set<std::string> node_names;
  for (const auto& n : nodes_) {
    for (size_t i = 0; i < n->inputs().size(); ++i) {
      Value* v = n->inputs()[i];
      if (v == nullptr) continue;
      if (value_by_name_.count(v->name()) == 0 || value_by_name_.at(v->name()) != v) {
        throw InvalidModel(n->describe() + " input " + std::to_string(i) + " refers to a value not in the graph");
      }
      if (v->producer() == nullptr && !v->is_constant() && !is_graph_input(v)) {
        throw InvalidModel(n->describe() + " input '" + v->name() +
                           "' is neither a graph input, an initializer nor a node output");
      }
      const auto& uses = v->uses();
      if (std::none_of(uses.begin(), uses.end(),
                       [&](const Use& u) { return u.node == n.get() && u.input_index == static_cast<int>(i); })) {
        throw InternalError("use list of '" + v->name() + "' misses " + n->describe());
      }
    }
    for (Value* o : n->outputs()) {
      if (o != nullptr && o->producer() != n.get()) {
        throw InternalError("output '" + o->name() + "' of " + n->describe() + " has another producer");
      }
    }
  }
  for (Value* o : outputs_) {
    if (o->producer() == nullptr && !o->is_constant() && !is_graph_input(o)) {
      throw InvalidModel("graph output '" + o->name() + "' is not produced by any node");
    }
  }
  (void)topological_order();  // throws on cycles
}

std::unique_ptr<Graph> Graph::clone() const {
  auto g = std::make_unique<Graph>();
  g->name = name;
  g->doc_string = doc_string;
  g->initializer_inputs = initializer_inputs;
  std::unordered_map<const Value*, Value*> map;
  for (const auto& v : values_) {
    Value* c = g->add_value(v->name());
    c->type = v->type;
    c->constant = v->constant;
    c->doc_string = v->doc_string;
    map[v.get()] = c;
  }
  auto mapped = [&](const std::vector<Value*>& vs) {
    std::vector<Value*> out;
    for (Value* v : vs) out.push_back(v == nullptr ? nullptr : map.at(v));
    return out;
  };
  for (const auto& n : nodes_) {
    Node* c = g->add_node(n->op_type(), mapped(n->inputs()), mapped(n->outputs()), n->name(), n->domain());
    c->attrs = n->attrs;
    c->doc_string = n->doc_string;
  }
  g->inputs_ = mapped(inputs_);
  g->outputs_ = mapped(outputs_);
  g->name_counter_ = name_counter_;
  return g;
}

int64_t Model::opset(const std::string& dom) const {
  const bool default_domain = dom.empty() || dom == "ai.onnx";
  for (const auto& o : opset_imports) {
    const bool o_default = o.domain.empty() || o.domain == "ai.onnx";
    if ((default_domain && o_default) || o.domain == dom) return o.version;
  }
  return 0;
}

Model Model::clone() const {
  Model m;
  m.ir_version = ir_version;
  m.opset_imports = opset_imports;
  m.producer_name = producer_name;
  m.producer_version = producer_version;
  m.domain = domain;
  m.doc_string = doc_string;
  m.model_version = model_version;
  m.metadata_props = metadata_props;
  m.graph = graph ? graph->clone() : nullptr;
  return m;
}

}  // namespace qwac::ir
