#include "runtime/engine.h"

#include <omp.h>

#include <algorithm>
#include <chrono>
#include <cstring>
#include <set>
#include <sstream>

#include "ir/op_schema.h"
#include "kernels/kernel.h"
#include "passes/pass_list.h"
#include "qwac/error.h"
#include "runtime/in_place_concat.h"
#include "runtime/memory_planner.h"
#include "runtime/plan.h"

namespace qwac::runtime {

size_t ValueSlot::bytes() const {
  return format ? format->nbytes() : static_cast<size_t>(shape_numel(shape)) * dtype_size(dtype);
}

namespace {

bool is_default_domain(const std::string& d) { return d.empty() || d == "ai.onnx"; }

// Ops whose outputs depend only on input shapes, so they fold at compile time even when their input is data.
bool depends_only_on_shape(const ir::Node& n) {
  return is_default_domain(n.domain()) && (n.op_type() == "Shape" || n.op_type() == "Size");
}

int64_t node_opset(const ir::Model& model, const ir::Node& n) { return model.opset(n.domain()); }

Tensor slot_view(ValueSlot& s, std::byte* arena, const std::map<int, const Tensor*>& bound_inputs, int id) {
  switch (s.storage) {
    case SlotStorage::kConstant: return s.constant;
    case SlotStorage::kGraphInput: return *bound_inputs.at(id);
    case SlotStorage::kArena: return Tensor::view(s.dtype, s.shape, arena + s.arena_offset);
    case SlotStorage::kOwned: return s.format ? Tensor::view(s.dtype, s.shape, s.owned.raw()) : s.owned;
    case SlotStorage::kAbsent: return Tensor();
  }
  return Tensor();
}

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

std::vector<std::string> find_unsupported_nodes(const ir::Model& model) {
  const auto& registry = kernels::default_kernel_registry();
  std::vector<std::string> out;
  for (const ir::Node* n : model.graph->topological_order()) {
    const int64_t opset = node_opset(model, *n);
    const bool known = ir::builtin_op_registry().find(n->op_type(), n->domain()) != nullptr &&
                       registry.supports(n->op_type(), n->domain(), opset);
    if (!known) {
      std::string domain = is_default_domain(n->domain()) ? "" : n->domain() + ".";
      out.push_back(domain + n->op_type() + " '" + n->name() + "' (opset " + std::to_string(opset) + ")");
    }
  }
  return out;
}

Engine::Engine(const ir::Model& model, EngineOptions options, const std::map<std::string, Shape>& input_shapes)
    : model_(std::make_unique<ir::Model>(model.clone())), options_(std::move(options)) {
  if (!options_.logger) options_.logger = make_null_logger();
  model_->graph->verify();
  std::vector<std::string> unsupported = find_unsupported_nodes(*model_);
  if (!unsupported.empty()) {
    std::ostringstream os;
    os << unsupported.size() << " unsupported node" << (unsupported.size() > 1 ? "s" : "") << ": ";
    for (size_t i = 0; i < unsupported.size(); ++i) os << (i ? ", " : "") << unsupported[i];
    os << " (see `qwac inspect` for the supported ops)";
    throw UnsupportedOp(os.str());
  }
  std::vector<std::unique_ptr<passes::Pass>> engine_passes;
  if (options_.int8) engine_passes = passes::engine_int8_passes();
  if (options_.fuse && options_.use_dnnl) {
    for (auto& pass : passes::engine_fusion_passes()) engine_passes.push_back(std::move(pass));
  }
  if (!engine_passes.empty()) {
    // Fusion removes intermediate tensors (a Conv output before its fused Relu, ...). Passes never fuse across a
    // graph output, so tapped tensors are made outputs while the passes run: they stay observable and everything
    // around them is still fused.
    ir::Graph& g = *model_->graph;
    const size_t num_outputs = g.outputs().size();
    for (const std::string& t : options_.taps) {
      ir::Value* v = g.find_value(t);
      if (v != nullptr && !v->is_constant() && !g.is_graph_output(v)) g.add_output(v);
    }
    for (const auto& pass : engine_passes) {
      if (pass->run(*model_)) options_.logger->debug("engine pass " + pass->name() + " changed the graph");
      pass_notes_.insert(pass_notes_.end(), pass->notes().begin(), pass->notes().end());
    }
    g.resize_outputs(num_outputs);
    for (const std::string& t : options_.taps) {
      if (g.find_value(t) == nullptr && model.graph->find_value(t) != nullptr) {
        options_.logger->debug("tap '" + t + "' is removed by the engine passes; compiling without them");
        model_ = std::make_unique<ir::Model>(model.clone());
        pass_notes_.clear();  // they describe the discarded rewrite
        break;
      }
    }
  }
  const int threads = options_.num_threads > 0 ? options_.num_threads : omp_get_num_procs();
  omp_set_num_threads(threads);
  options_.num_threads = threads;
  compile(input_shapes);
}

Engine::~Engine() = default;

void Engine::reshape(const std::map<std::string, Shape>& input_shapes) { compile(input_shapes); }

void Engine::compile(const std::map<std::string, Shape>& input_shapes) {
  const ir::Graph& g = *model_->graph;
  for (const auto& [name, shape] : input_shapes) {
    const ir::Value* v = g.find_value(name);
    if (v == nullptr || !g.is_graph_input(v)) {
      throw InvalidArgument("shape given for '" + name + "', which is not an input of the model");
    }
  }
  auto plan = std::make_unique<Plan>();
  const auto& registry = options_.use_dnnl ? kernels::default_kernel_registry() : kernels::reference_kernel_registry();
  const auto& folder = kernels::reference_kernel_registry();

  auto new_slot = [&](const std::string& name) {
    plan->slots.emplace_back();
    plan->slots.back().name = name;
    const int id = static_cast<int>(plan->slots.size()) - 1;
    if (!name.empty()) plan->slot_by_name[name] = id;
    return id;
  };

  // Graph inputs and constants.
  for (const ir::Value* v : g.inputs()) {
    const int id = new_slot(v->name());
    ValueSlot& s = plan->slots[id];
    s.dtype = v->type.dtype;
    s.shape = resolve_input_shape(*v, input_shapes);
    s.storage = SlotStorage::kGraphInput;
    plan->input_slots.push_back(id);
    plan->inputs.push_back({v->name(), s.dtype, s.shape});
  }
  for (const ir::Value* v : g.values()) {
    if (!v->is_constant()) continue;
    const int id = new_slot(v->name());
    ValueSlot& s = plan->slots[id];
    s.dtype = v->constant->dtype();
    s.shape = v->constant->shape();
    s.storage = SlotStorage::kConstant;
    s.constant = *v->constant;
  }

  std::set<std::string> tap_names(options_.taps.begin(), options_.taps.end());
  std::set<const ir::Value*> graph_outputs(g.outputs().begin(), g.outputs().end());
  std::vector<std::string> unsupported;

  auto info_of = [&](int id) {
    ir::TensorInfo info;
    if (id < 0) return info;
    const ValueSlot& s = plan->slots[id];
    info.dtype = s.dtype;
    info.shape = s.shape;
    if (s.storage == SlotStorage::kConstant) info.value = &s.constant;
    return info;
  };

  // Ensures a plain version of slot `id` exists before the current step; returns the slot to read.
  auto plain_slot = [&](int id) {
    ValueSlot& s = plan->slots[id];
    if (!s.format) return id;
    if (s.plain_copy_slot >= 0) return s.plain_copy_slot;
    const int copy = new_slot("");
    ValueSlot& c = plan->slots[copy];
    c.name = plan->slots[id].name + " (plain)";
    c.dtype = plan->slots[id].dtype;
    c.shape = plan->slots[id].shape;
    c.storage = SlotStorage::kArena;
    plan->slots[id].plain_copy_slot = copy;
    Step step;
    step.inputs = {id};
    step.outputs = {copy};
    step.node_name = plan->slots[id].name + " to plain";
    step.impl = "layout";
    plan->steps.push_back(std::move(step));
    return copy;
  };

  auto planned_node = [&](const ir::Node& n, const std::vector<int>& in_ids, const std::vector<int>& out_ids,
                          std::string impl, std::vector<std::string> declines) {
    PlannedNode p{n.name(), n.op_type(), std::move(impl), std::move(declines), n.domain(), {}, {}, {}, {}, {}, {}};
    for (const ir::Value* v : n.inputs()) p.input_names.push_back(v == nullptr ? "" : v->name());
    for (const ir::Value* v : n.outputs()) p.output_names.push_back(v == nullptr ? "" : v->name());
    for (int id : in_ids) {
      p.input_dtypes.push_back(id < 0 ? DType::kUndefined : plan->slots[id].dtype);
      p.input_shapes.push_back(id < 0 ? Shape{} : plan->slots[id].shape);
    }
    for (int id : out_ids) {
      p.output_dtypes.push_back(id < 0 ? DType::kUndefined : plan->slots[id].dtype);
      p.output_shapes.push_back(id < 0 ? Shape{} : plan->slots[id].shape);
    }
    return p;
  };

  for (const ir::Node* n : g.topological_order()) {
    const int64_t opset = node_opset(*model_, *n);
    std::vector<int> in_ids;
    for (const ir::Value* v : n->inputs()) in_ids.push_back(v == nullptr ? -1 : plan->slot_by_name.at(v->name()));
    std::vector<ir::TensorInfo> infos;
    for (int id : in_ids) infos.push_back(info_of(id));
    std::vector<ir::OutputInfo> outs = ir::infer_node(*n, opset, infos);
    for (size_t i = 0; i < n->num_outputs(); ++i) {
      if (n->output(i) != nullptr && outs[i].dtype == DType::kUndefined) {
        throw InvalidModel(n->describe() + ": output " + std::to_string(i) + " ('" + n->output(i)->name() +
                           "') is not produced by this op at opset " + std::to_string(opset));
      }
    }
    std::vector<int> out_ids;
    for (size_t i = 0; i < n->num_outputs(); ++i) {
      const ir::Value* v = n->output(i);
      if (v == nullptr) {
        out_ids.push_back(-1);
        continue;
      }
      const int id = new_slot(v->name());
      plan->slots[id].dtype = outs[i].dtype;
      plan->slots[id].shape = outs[i].shape;
      out_ids.push_back(id);
    }

    // Constant folding: everything known at compile time is computed now with the reference kernels.
    const bool all_known = std::all_of(in_ids.begin(), in_ids.end(), [&](int id) {
      return id < 0 || plan->slots[id].storage == SlotStorage::kConstant;
    });
    if (all_known || depends_only_on_shape(*n)) {
      auto make_ctx = [&](const kernels::KernelDef&) {
        kernels::KernelContext ctx{*n, opset, infos, outs, std::vector<kernels::BlockedFormatPtr>(in_ids.size()), 1};
        return ctx;
      };
      kernels::KernelSelection sel = folder.select(n->op_type(), n->domain(), opset, make_ctx);
      if (!sel.kernel) {
        throw UnsupportedOp(n->describe() + ": cannot be computed at compile time: " +
                            (sel.declines.empty() ? "no kernel" : sel.declines.front()));
      }
      std::vector<Tensor> ins;
      for (int id : in_ids) {
        if (id < 0) {
          ins.emplace_back();
        } else if (plan->slots[id].storage == SlotStorage::kConstant) {
          ins.push_back(plan->slots[id].constant);
        } else {
          // Shape/Size read only the shape: a view without data.
          ins.push_back(Tensor::view(plan->slots[id].dtype, plan->slots[id].shape, nullptr));
        }
      }
      std::vector<Tensor> results;
      try {
        for (int id : out_ids) {
          results.push_back(id < 0 ? Tensor() : Tensor(plan->slots[id].dtype, plan->slots[id].shape));
        }
      } catch (const InvalidArgument& e) {  // beyond the memory budget: the model's constants ask for it
        throw InvalidModel(n->describe() + " computes a constant too large to hold: " + e.what());
      }
      sel.kernel->run(ins, results);
      for (size_t i = 0; i < out_ids.size(); ++i) {
        if (out_ids[i] < 0) continue;
        plan->slots[out_ids[i]].storage = SlotStorage::kConstant;
        plan->slots[out_ids[i]].constant = results[i];
      }
      plan->planned_nodes.push_back(planned_node(*n, in_ids, out_ids, "folded", {}));
      continue;
    }

    // Kernel selection. Inputs in a blocked layout go as they are to candidates that accept them; other
    // candidates see (and get, via a conversion step) plain tensors.
    std::vector<int> step_inputs = in_ids;
    const kernels::KernelDef* chosen_def = nullptr;
    auto make_ctx = [&](const kernels::KernelDef& def) {
      std::vector<kernels::BlockedFormatPtr> formats(in_ids.size());
      if (def.accepts_blocked_inputs) {
        for (size_t i = 0; i < in_ids.size(); ++i) {
          if (in_ids[i] >= 0) formats[i] = plan->slots[in_ids[i]].format;
        }
      }
      chosen_def = &def;
      return kernels::KernelContext{*n, opset, infos, outs, formats, options_.num_threads};
    };
    kernels::KernelSelection sel = registry.select(n->op_type(), n->domain(), opset, make_ctx);
    if (!sel.kernel) {
      std::string reasons;
      for (const auto& d : sel.declines) reasons += (reasons.empty() ? "" : "; ") + d;
      unsupported.push_back(n->describe() + " (" + reasons + ")");
      continue;
    }
    if (!chosen_def->accepts_blocked_inputs) {
      for (int& id : step_inputs) {
        if (id >= 0) id = plain_slot(id);
      }
    }
    for (size_t i = 0; i < out_ids.size(); ++i) {
      if (out_ids[i] < 0) continue;
      ValueSlot& s = plan->slots[out_ids[i]];
      s.format = sel.kernel->output_format(i);
      const bool keep = graph_outputs.count(n->output(i)) || tap_names.count(s.name);
      s.storage = keep ? SlotStorage::kOwned : SlotStorage::kArena;
    }
    plan->planned_nodes.push_back(planned_node(*n, in_ids, out_ids, sel.impl, sel.declines));
    Step step;
    step.kernel = std::move(sel.kernel);
    step.inputs = step_inputs;
    step.outputs = out_ids;
    step.node_name = n->name();
    step.node = n;
    step.impl = sel.impl;
    plan->steps.push_back(std::move(step));
  }
  if (!unsupported.empty()) {
    std::string msg = std::to_string(unsupported.size()) + " node(s) have no kernel for their inputs: ";
    for (size_t i = 0; i < unsupported.size(); ++i) msg += (i ? ", " : "") + unsupported[i];
    throw UnsupportedOp(msg);
  }

  // Graph outputs must be plain: blocked outputs get a plain owned copy at the end.
  for (const ir::Value* v : g.outputs()) {
    int id = plan->slot_by_name.at(v->name());
    if (plan->slots[id].format) {
      id = plain_slot(id);
      plan->slots[id].storage = SlotStorage::kOwned;
    }
    plan->output_slots.push_back(id);
    plan->outputs.push_back({v->name(), plan->slots[id].dtype, plan->slots[id].shape});
  }
  for (const std::string& t : tap_names) {
    auto it = plan->slot_by_name.find(t);
    if (it == plan->slot_by_name.end()) {
      throw InvalidArgument("tap '" + t + "' is not a tensor of the model (after engine passes)");
    }
    plan->tap_slots[t] = it->second;
  }

  alias_concat_inputs(*plan);

  // Lifetimes of arena slots: first write .. last read, in step indices.
  std::vector<int> first(plan->slots.size(), -1), last(plan->slots.size(), -1);
  for (size_t s = 0; s < plan->steps.size(); ++s) {
    for (int id : plan->steps[s].outputs) {
      if (id >= 0 && first[id] < 0) first[id] = static_cast<int>(s);
      if (id >= 0) last[id] = std::max(last[id], static_cast<int>(s));
    }
    for (int id : plan->steps[s].inputs) {
      if (id >= 0) last[id] = std::max(last[id], static_cast<int>(s));
    }
  }
  // An aliased slot lives inside its parent's buffer: the parent's lifetime covers the child's.
  for (size_t id = 0; id < plan->slots.size(); ++id) {
    const int parent = plan->slots[id].alias_of;
    if (parent < 0 || first[id] < 0) continue;
    first[parent] = first[parent] < 0 ? first[id] : std::min(first[parent], first[id]);
    last[parent] = std::max(last[parent], last[id]);
  }
  std::vector<BufferRequest> requests;
  std::vector<int> request_slots;
  for (size_t id = 0; id < plan->slots.size(); ++id) {
    ValueSlot& s = plan->slots[id];
    if (s.storage == SlotStorage::kOwned) {
      if (s.format) {
        // A blocked owned slot (tap): raw buffer of the format's size.
        s.owned = Tensor(DType::kUInt8, {static_cast<int64_t>(s.bytes())});
      } else {
        s.owned = Tensor(s.dtype, s.shape);
      }
    } else if (s.storage == SlotStorage::kArena && first[id] >= 0 && s.alias_of < 0) {
      requests.push_back({s.bytes(), first[id], last[id]});
      request_slots.push_back(static_cast<int>(id));
    }
  }
  MemoryPlan mp = plan_memory(requests, kTensorAlignment);
  for (size_t r = 0; r < requests.size(); ++r) plan->slots[request_slots[r]].arena_offset = mp.offsets[r];
  for (ValueSlot& s : plan->slots) {
    if (s.alias_of >= 0) s.arena_offset = plan->slots[s.alias_of].arena_offset + s.alias_offset;
  }
  plan->arena_bytes = mp.arena_bytes;
  plan->arena = allocate_aligned(mp.arena_bytes);
  plan_ = std::move(plan);
  options_.logger->debug("compiled " + std::to_string(plan_->steps.size()) + " steps, arena " +
                         std::to_string(plan_->arena_bytes) + " bytes");
}

std::vector<Tensor> Engine::run(const std::map<std::string, Tensor>& inputs) {
  last_inputs_ = inputs;
  Plan& plan = *plan_;
  std::map<int, const Tensor*> bound;
  for (size_t i = 0; i < plan.input_slots.size(); ++i) {
    const IoSpec& spec = plan.inputs[i];
    auto it = inputs.find(spec.name);
    if (it == inputs.end()) throw InvalidArgument("input '" + spec.name + "' was not given");
    const Tensor& t = it->second;
    if (t.dtype() != spec.dtype) {
      throw InvalidArgument("input '" + spec.name + "' has type " + std::string(dtype_name(t.dtype())) +
                            ", expected " + std::string(dtype_name(spec.dtype)));
    }
    if (t.shape() != spec.shape) {
      throw InvalidArgument("input '" + spec.name + "' has shape " + shape_to_string(t.shape()) +
                            " but the engine was compiled for " + shape_to_string(spec.shape) +
                            "; reshape the engine (another batch size) first");
    }
    bound[plan.input_slots[i]] = &t;
  }
  for (const auto& [name, t] : inputs) {
    if (!plan.slot_by_name.count(name) ||
        std::find(plan.input_slots.begin(), plan.input_slots.end(), plan.slot_by_name.at(name)) ==
            plan.input_slots.end()) {
      throw InvalidArgument("'" + name + "' is not an input of the model");
    }
  }
  plan.tap_plain_cache.clear();
  std::byte* arena = plan.arena.get();
  std::vector<Tensor> ins, outs;
  const bool profile = options_.profile;
  for (Step& step : plan.steps) {
    const auto start = profile ? std::chrono::steady_clock::now() : std::chrono::steady_clock::time_point{};
    ins.clear();
    outs.clear();
    for (int id : step.inputs) ins.push_back(id < 0 ? Tensor() : slot_view(plan.slots[id], arena, bound, id));
    for (int id : step.outputs) outs.push_back(id < 0 ? Tensor() : slot_view(plan.slots[id], arena, bound, id));
    if (step.kernel) {
      step.kernel->run(ins, outs);
    } else {
      plan.slots[step.inputs[0]].format->to_plain(ins[0].raw(), outs[0]);
    }
    if (profile) {
      step.total_ms += std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - start).count();
      ++step.runs;
    }
  }
  std::vector<Tensor> results;
  for (int id : plan.output_slots) results.push_back(slot_view(plan.slots[id], arena, bound, id).clone());
  return results;
}

Tensor Engine::tap_copy(const std::string& name) const {
  auto it = plan_->tap_slots.find(name);
  if (it != plan_->tap_slots.end()) {
    const ValueSlot& s = plan_->slots[it->second];
    if (s.storage != SlotStorage::kConstant && s.storage != SlotStorage::kGraphInput && s.format &&
        plan_->tap_plain_cache.count(name) == 0) {
      // Blocked layout: converting into a fresh tensor is the one copy needed.
      Tensor plain(s.dtype, s.shape);
      s.format->to_plain(s.owned.raw(), plain);
      return plain;
    }
  }
  return tap(name).clone();
}

const Tensor& Engine::tap(const std::string& name) const {
  auto it = plan_->tap_slots.find(name);
  if (it == plan_->tap_slots.end()) {
    throw InvalidArgument("tensor '" + name + "' was not tapped; list it in EngineOptions::taps");
  }
  ValueSlot& s = plan_->slots[it->second];
  if (s.storage == SlotStorage::kConstant) return s.constant;
  if (s.storage == SlotStorage::kGraphInput) {
    return last_inputs_.at(name);  // tapping a graph input (calibration of a first-layer quantizer)
  }
  if (!s.format) return s.owned;
  auto cached = plan_->tap_plain_cache.find(name);
  if (cached == plan_->tap_plain_cache.end()) {
    Tensor plain(s.dtype, s.shape);
    s.format->to_plain(s.owned.raw(), plain);
    cached = plan_->tap_plain_cache.emplace(name, plain).first;
  }
  return cached->second;
}

const std::vector<IoSpec>& Engine::inputs() const { return plan_->inputs; }
const std::vector<IoSpec>& Engine::outputs() const { return plan_->outputs; }
std::vector<PlannedNode> Engine::planned_nodes() const { return plan_->planned_nodes; }

std::vector<StepProfile> Engine::profile() const {
  std::vector<StepProfile> result;
  if (!options_.profile) return result;
  for (const Step& step : plan_->steps) {
    const std::string op = step.node != nullptr ? step.node->op_type() : "LayoutToPlain";
    result.push_back({step.node_name, op, step.impl, step.runs, step.total_ms});
  }
  return result;
}
size_t Engine::arena_bytes() const { return plan_->arena_bytes; }

}  // namespace qwac::runtime
