#include "runtime/partial_model.h"

#include <set>
#include <unordered_set>

#include "qwac/error.h"
#include "runtime/node_signature.h"

namespace qwac::runtime {
namespace {

std::vector<std::string> input_names(const ir::Graph& g) {
  std::vector<std::string> names;
  for (const ir::Value* v : g.inputs()) names.push_back(v->name());
  return names;
}

}  // namespace

std::optional<ChangedPart> find_changed_part(const ir::Model& base, const ir::Model& variant) {
  const ir::Graph& bg = *base.graph;
  const ir::Graph& vg = *variant.graph;
  if (input_names(bg) != input_names(vg)) return std::nullopt;
  ChangedPart part;
  const std::vector<ir::Node*> order = vg.topological_order();
  part.total_nodes = order.size();
  // Values known at compile time (dequantized weights; shape arithmetic such as Shape -> Gather -> Concat feeding
  // a Reshape): the part recomputes them, as the engine folds them, instead of reading them from the base model
  // (a Reshape target fed as a tensor would be data-dependent).
  std::unordered_set<const ir::Value*> constant_only;
  std::unordered_set<const ir::Value*> changed_values;
  std::set<const ir::Node*> in_part;
  for (const ir::Node* n : order) {
    const bool reads_shape_only =
        (n->domain().empty() || n->domain() == "ai.onnx") && (n->op_type() == "Shape" || n->op_type() == "Size");
    bool all_constant = true;
    for (const ir::Value* v : n->inputs()) {
      all_constant = all_constant && (v == nullptr || v->is_constant() || constant_only.count(v));
    }
    all_constant = all_constant || reads_shape_only;
    if (all_constant) {
      for (const ir::Value* v : n->outputs()) {
        if (v != nullptr) constant_only.insert(v);
      }
    }
    bool changed = false;
    for (const ir::Value* v : n->inputs()) changed = changed || (v != nullptr && changed_values.count(v));
    if (!changed) {
      const ir::Node* twin = bg.find_node(n->name());
      changed = twin == nullptr || node_signature(*twin) != node_signature(*n);
    }
    if (!changed) continue;
    in_part.insert(n);
    for (const ir::Value* v : n->outputs()) {
      if (v != nullptr) changed_values.insert(v);
    }
  }
  for (const ir::Value* v : vg.outputs()) {
    if (!changed_values.count(v)) return std::nullopt;  // an output the variant shares with the base
  }
  // Pull in the constant-only producers the part reads.
  std::vector<const ir::Node*> stack(in_part.begin(), in_part.end());
  while (!stack.empty()) {
    const ir::Node* n = stack.back();
    stack.pop_back();
    for (const ir::Value* v : n->inputs()) {
      if (v == nullptr || !constant_only.count(v) || v->producer() == nullptr) continue;
      if (in_part.insert(v->producer()).second) stack.push_back(v->producer());
    }
  }
  std::set<std::string> cut;
  std::unordered_set<const ir::Value*> produced;
  for (const ir::Node* n : order) {
    if (!in_part.count(n)) continue;
    part.changed_nodes.push_back(n->name());
    for (const ir::Value* v : n->outputs()) produced.insert(v);
  }
  for (const ir::Node* n : order) {
    if (!in_part.count(n)) continue;
    for (const ir::Value* v : n->inputs()) {
      if (v != nullptr && !v->is_constant() && !produced.count(v)) cut.insert(v->name());
    }
  }
  // The sub-model keeps the model's inputs (used or not), so they are fed too.
  for (const ir::Value* v : vg.inputs()) cut.insert(v->name());
  part.cut.assign(cut.begin(), cut.end());
  return part;
}

ir::Model changed_part_model(const ir::Model& variant, const ChangedPart& part,
                             const std::map<std::string, std::pair<DType, Shape>>& cut_types) {
  ir::Model sub = variant.clone();
  ir::Graph& g = *sub.graph;
  const std::set<std::string> changed(part.changed_nodes.begin(), part.changed_nodes.end());
  std::vector<ir::Node*> order = g.topological_order();
  for (auto it = order.rbegin(); it != order.rend(); ++it) {
    if (!changed.count((*it)->name())) g.remove_node(*it);
  }
  for (const std::string& name : part.cut) {
    ir::Value* v = g.value(name);
    const auto& [dtype, dims] = cut_types.at(name);
    v->type.dtype = dtype;
    ir::SymbolicShape shape;
    for (int64_t d : dims) shape.push_back({d, ""});
    v->type.shape = shape;
    if (!g.is_graph_input(v)) g.add_input(v);
  }
  for (ir::Value* v : g.values()) {
    if (v->producer() == nullptr && v->uses().empty() && !g.is_graph_input(v) && !g.is_graph_output(v)) {
      g.remove_value(v);
    }
  }
  return sub;
}

PartialEngine::PartialEngine(const ir::Model& variant, ChangedPart part, EngineOptions options)
    : variant_(variant), part_(std::move(part)), options_(std::move(options)) {}

void PartialEngine::compile(const std::map<std::string, std::pair<DType, Shape>>& cut_types,
                            std::shared_ptr<const PreparedPart> shared) {
  std::map<std::string, std::pair<DType, Shape>> types;
  std::map<std::string, Shape> shapes;
  for (const std::string& name : part_.cut) {
    auto it = cut_types.find(name);
    if (it == cut_types.end()) throw InternalError("PartialEngine::compile: cut tensor '" + name + "' has no type");
    types[name] = it->second;
    shapes[name] = it->second.second;
  }
  if (engine_ && shapes == shapes_) return;
  if (!prepared_) {
    if (shared && shared->cut_types == types) {
      prepared_ = std::move(shared);
    } else {
      auto part = std::make_shared<PreparedPart>();
      part->cut_types = types;
      part->sub = std::make_shared<const ir::Model>(changed_part_model(variant_, part_, types));
      part->prepared = prepare_model(*part->sub, options_);
      prepared_ = std::move(part);
    }
  }
  if (!engine_) {
    engine_ = std::make_unique<Engine>(prepared_->prepared, options_, shapes);
  } else {
    engine_->reshape(shapes);  // another batch size: the same sub-model, another plan
  }
  shapes_ = std::move(shapes);
}

std::vector<Tensor> PartialEngine::run_from(const std::map<std::string, Tensor>& cut) {
  std::map<std::string, std::pair<DType, Shape>> types;
  for (const std::string& name : part_.cut) {
    auto it = cut.find(name);
    if (it == cut.end()) throw InternalError("run_from: cut tensor '" + name + "' was not given");
    types[name] = {it->second.dtype(), it->second.shape()};
  }
  compile(types);  // nothing to do when compiled for these shapes
  std::map<std::string, Tensor> feed;
  for (const ir::Value* in : prepared_->sub->graph->inputs()) feed[in->name()] = cut.at(in->name());
  return engine_->run(feed);
}

const std::vector<IoSpec>& PartialEngine::outputs() const {
  if (!engine_) throw InternalError("PartialEngine::outputs before the first run_from");
  return engine_->outputs();
}

}  // namespace qwac::runtime
