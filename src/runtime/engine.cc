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
#include "runtime/plan.h"
#include "runtime/plan_builder.h"

namespace qwac::runtime {

size_t ValueSlot::bytes() const {
  return format ? format->nbytes() : static_cast<size_t>(shape_numel(shape)) * dtype_size(dtype);
}

namespace {

bool is_default_domain(const std::string& d) { return d.empty() || d == "ai.onnx"; }

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

std::shared_ptr<const PreparedModel> prepare_model(const ir::Model& model, const EngineOptions& options) {
  auto logger = options.logger ? options.logger : make_null_logger();
  auto prepared = std::make_shared<PreparedModel>();
  auto copy = std::make_shared<ir::Model>(model.clone());
  copy->graph->verify();
  std::vector<std::string> unsupported = find_unsupported_nodes(*copy);
  if (!unsupported.empty()) {
    std::ostringstream os;
    os << unsupported.size() << " unsupported node" << (unsupported.size() > 1 ? "s" : "") << ": ";
    for (size_t i = 0; i < unsupported.size(); ++i) os << (i ? ", " : "") << unsupported[i];
    os << " (see `qwac inspect` for the supported ops)";
    throw UnsupportedOp(os.str());
  }
  std::vector<std::unique_ptr<passes::Pass>> engine_passes;
  if (options.int8) engine_passes = passes::engine_int8_passes();
  if (options.fuse && options.use_dnnl) {
    for (auto& pass : passes::engine_fusion_passes()) engine_passes.push_back(std::move(pass));
  }
  if (!engine_passes.empty()) {
    // Fusion removes intermediate tensors (a Conv output before its fused Relu, ...). Passes never fuse across a
    // graph output, so tapped tensors are made outputs while the passes run: they stay observable and everything
    // around them is still fused.
    ir::Graph& g = *copy->graph;
    const size_t num_outputs = g.outputs().size();
    for (const std::string& t : options.taps) {
      ir::Value* v = g.find_value(t);
      if (v != nullptr && !v->is_constant() && !g.is_graph_output(v)) g.add_output(v);
    }
    for (const auto& pass : engine_passes) {
      if (pass->run(*copy)) logger->debug("engine pass " + pass->name() + " changed the graph");
      prepared->pass_notes.insert(prepared->pass_notes.end(), pass->notes().begin(), pass->notes().end());
    }
    g.resize_outputs(num_outputs);
    for (const std::string& t : options.taps) {
      if (g.find_value(t) == nullptr && model.graph->find_value(t) != nullptr) {
        logger->debug("tap '" + t + "' is removed by the engine passes; compiling without them");
        copy = std::make_shared<ir::Model>(model.clone());
        prepared->pass_notes.clear();  // they describe the discarded rewrite
        break;
      }
    }
  }
  prepared->model = std::move(copy);
  return prepared;
}

Engine::Engine(const ir::Model& model, EngineOptions options, const std::map<std::string, Shape>& input_shapes)
    : Engine(prepare_model(model, options), options, input_shapes) {}  // a copy: the arguments are unsequenced

Engine::Engine(std::shared_ptr<const PreparedModel> prepared, EngineOptions options,
               const std::map<std::string, Shape>& input_shapes)
    : model_(prepared->model), options_(std::move(options)), pass_notes_(prepared->pass_notes) {
  if (!options_.logger) options_.logger = make_null_logger();
  const int threads = options_.num_threads > 0 ? options_.num_threads : omp_get_num_procs();
  omp_set_num_threads(threads);
  options_.num_threads = threads;
  compile(input_shapes);
}

Engine::~Engine() = default;

void Engine::reshape(const std::map<std::string, Shape>& input_shapes) { compile(input_shapes); }

void Engine::compile(const std::map<std::string, Shape>& input_shapes) {
  plan_ = PlanBuilder(*model_, options_).build(input_shapes);
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
  std::byte* arena = options_.workspace ? options_.workspace->reserve(plan.arena_bytes) : plan.arena.get();
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

std::pair<DType, Shape> Engine::tap_type(const std::string& name) const {
  auto it = plan_->tap_slots.find(name);
  if (it == plan_->tap_slots.end()) {
    throw InvalidArgument("tensor '" + name + "' was not tapped; list it in EngineOptions::taps");
  }
  const ValueSlot& s = plan_->slots[it->second];
  return {s.dtype, s.shape};
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
