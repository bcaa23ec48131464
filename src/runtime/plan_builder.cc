// Stages 1 (slots) and 2 (inference) of the plan builder, and the order in which the stages run.
#include "runtime/plan_builder.h"

#include "ir/op_schema.h"
#include "qwac/error.h"

namespace qwac::runtime {
namespace {

// Shape of an input as compiled: the override if given, else the declared shape, which must be fully known.
Shape resolve_input_shape(const ir::Value& v, const std::map<std::string, Shape>& overrides) {
  auto it = overrides.find(v.name());
  if (it != overrides.end()) return it->second;
  if (!v.type.shape) {
    throw InvalidArgument("input '" + v.name() + "' has no declared shape; give its shape explicitly");
  }
  Shape s;
  for (const ir::Dim& d : *v.type.shape) {
    if (d.size < 0) {
      throw InvalidArgument("input '" + v.name() + "' has a symbolic dimension '" +
                            (d.param.empty() ? std::string("?") : d.param) +
                            "'; give its concrete shape (e.g. --batch N)");
    }
    s.push_back(d.size);
  }
  return s;
}

}  // namespace

PlanBuilder::PlanBuilder(const ir::Model& model, const EngineOptions& options) : model_(model), options_(options) {}

std::unique_ptr<Plan> PlanBuilder::build(const std::map<std::string, Shape>& input_shapes) {
  const ir::Graph& g = *model_.graph;
  for (const auto& [name, shape] : input_shapes) {
    const ir::Value* v = g.find_value(name);
    if (v == nullptr || !g.is_graph_input(v)) {
      throw InvalidArgument("shape given for '" + name + "', which is not an input of the model");
    }
  }
  plan_ = std::make_unique<Plan>();
  tap_names_ = std::set<std::string>(options_.taps.begin(), options_.taps.end());
  graph_outputs_ = std::set<const ir::Value*>(g.outputs().begin(), g.outputs().end());
  unsupported_.clear();

  add_input_and_constant_slots(input_shapes);
  for (const ir::Node* n : g.topological_order()) add_node(*n);
  if (!unsupported_.empty()) {
    std::string msg = std::to_string(unsupported_.size()) + " node(s) have no kernel for their inputs: ";
    for (size_t i = 0; i < unsupported_.size(); ++i) msg += (i ? ", " : "") + unsupported_[i];
    throw UnsupportedOp(msg);
  }
  add_outputs_and_taps();
  plan_memory();
  return std::move(plan_);
}

int PlanBuilder::new_slot(const std::string& name) {
  plan_->slots.emplace_back();
  plan_->slots.back().name = name;
  const int id = static_cast<int>(plan_->slots.size()) - 1;
  if (!name.empty()) plan_->slot_by_name[name] = id;
  return id;
}

void PlanBuilder::add_input_and_constant_slots(const std::map<std::string, Shape>& input_shapes) {
  const ir::Graph& g = *model_.graph;
  for (const ir::Value* v : g.inputs()) {
    const int id = new_slot(v->name());
    ValueSlot& s = plan_->slots[id];
    s.dtype = v->type.dtype;
    s.shape = resolve_input_shape(*v, input_shapes);
    s.storage = SlotStorage::kGraphInput;
    plan_->input_slots.push_back(id);
    plan_->inputs.push_back({v->name(), s.dtype, s.shape});
  }
  for (const ir::Value* v : g.values()) {
    if (!v->is_constant()) continue;
    const int id = new_slot(v->name());
    ValueSlot& s = plan_->slots[id];
    s.dtype = v->constant->dtype();
    s.shape = v->constant->shape();
    s.storage = SlotStorage::kConstant;
    s.constant = *v->constant;
  }
}

ir::TensorInfo PlanBuilder::info_of(int id) const {
  ir::TensorInfo info;
  if (id < 0) return info;
  const ValueSlot& s = plan_->slots[id];
  info.dtype = s.dtype;
  info.shape = s.shape;
  if (s.storage == SlotStorage::kConstant) info.value = &s.constant;
  return info;
}

PlannedNode PlanBuilder::planned_node(const ir::Node& n, const std::vector<int>& in_ids,
                                      const std::vector<int>& out_ids, std::string impl,
                                      std::vector<std::string> declines) const {
  PlannedNode p{n.name(), n.op_type(), std::move(impl), std::move(declines), n.domain(), {}, {}, {}, {}, {}, {}};
  for (const ir::Value* v : n.inputs()) p.input_names.push_back(v == nullptr ? "" : v->name());
  for (const ir::Value* v : n.outputs()) p.output_names.push_back(v == nullptr ? "" : v->name());
  for (int id : in_ids) {
    p.input_dtypes.push_back(id < 0 ? DType::kUndefined : plan_->slots[id].dtype);
    p.input_shapes.push_back(id < 0 ? Shape{} : plan_->slots[id].shape);
  }
  for (int id : out_ids) {
    p.output_dtypes.push_back(id < 0 ? DType::kUndefined : plan_->slots[id].dtype);
    p.output_shapes.push_back(id < 0 ? Shape{} : plan_->slots[id].shape);
  }
  return p;
}

void PlanBuilder::add_node(const ir::Node& n) {
  const int64_t opset = model_.opset(n.domain());
  std::vector<int> in_ids;
  for (const ir::Value* v : n.inputs()) in_ids.push_back(v == nullptr ? -1 : plan_->slot_by_name.at(v->name()));
  std::vector<ir::TensorInfo> infos;
  for (int id : in_ids) infos.push_back(info_of(id));
  std::vector<ir::OutputInfo> outs = ir::infer_node(n, opset, infos);
  for (size_t i = 0; i < n.num_outputs(); ++i) {
    if (n.output(i) != nullptr && outs[i].dtype == DType::kUndefined) {
      throw InvalidModel(n.describe() + ": output " + std::to_string(i) + " ('" + n.output(i)->name() +
                         "') is not produced by this op at opset " + std::to_string(opset));
    }
  }
  std::vector<int> out_ids;
  for (size_t i = 0; i < n.num_outputs(); ++i) {
    const ir::Value* v = n.output(i);
    if (v == nullptr) {
      out_ids.push_back(-1);
      continue;
    }
    const int id = new_slot(v->name());
    plan_->slots[id].dtype = outs[i].dtype;
    plan_->slots[id].shape = outs[i].shape;
    out_ids.push_back(id);
  }
  if (try_fold(n, opset, in_ids, infos, outs, out_ids)) return;
  select_kernel(n, opset, in_ids, infos, outs, out_ids);
}

}  // namespace qwac::runtime
