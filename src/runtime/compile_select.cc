// Stages 4 (kernel selection) and 5 (layouts) of the plan builder.
#include "qwac/error.h"
#include "runtime/kernel_cache.h"
#include "runtime/plan_builder.h"

namespace qwac::runtime {

int PlanBuilder::plain_slot(int id) {
  ValueSlot& s = plan_->slots[id];
  if (!s.format) return id;
  if (s.plain_copy_slot >= 0) return s.plain_copy_slot;
  const int copy = new_slot("");
  ValueSlot& c = plan_->slots[copy];
  c.name = plan_->slots[id].name + " (plain)";
  c.dtype = plan_->slots[id].dtype;
  c.shape = plan_->slots[id].shape;
  c.storage = SlotStorage::kArena;
  plan_->slots[id].plain_copy_slot = copy;
  Step step;
  step.inputs = {id};
  step.outputs = {copy};
  step.node_name = plan_->slots[id].name + " to plain";
  step.impl = "layout";
  plan_->steps.push_back(std::move(step));
  return copy;
}

void PlanBuilder::select_kernel(const ir::Node& n, int64_t opset, const std::vector<int>& in_ids,
                                const std::vector<ir::TensorInfo>& infos, const std::vector<ir::OutputInfo>& outs,
                                const std::vector<int>& out_ids) {
  // Inputs in a blocked layout go as they are to candidates that accept them; other candidates see (and get, via a
  // conversion step) plain tensors.
  std::vector<kernels::BlockedFormatPtr> formats(in_ids.size());
  for (size_t i = 0; i < in_ids.size(); ++i) {
    if (in_ids[i] >= 0) formats[i] = plan_->slots[in_ids[i]].format;
  }
  std::string key;
  std::shared_ptr<const CachedKernel> chosen;
  if (options_.kernel_cache) {
    key = KernelCache::key(n, opset, infos, formats, options_.num_threads, options_.use_dnnl);
    chosen = options_.kernel_cache->find_kernel(key);
  }
  if (!chosen) {
    const auto& registry =
        options_.use_dnnl ? kernels::default_kernel_registry() : kernels::reference_kernel_registry();
    const kernels::KernelDef* chosen_def = nullptr;
    auto make_ctx = [&](const kernels::KernelDef& def) {
      std::vector<kernels::BlockedFormatPtr> given(in_ids.size());
      if (def.accepts_blocked_inputs) given = formats;
      chosen_def = &def;
      return kernels::KernelContext{n, opset, infos, outs, given, options_.num_threads};
    };
    kernels::KernelSelection sel = registry.select(n.op_type(), n.domain(), opset, make_ctx);
    if (!sel.kernel) {
      std::string reasons;
      for (const auto& d : sel.declines) reasons += (reasons.empty() ? "" : "; ") + d;
      unsupported_.push_back(n.describe() + " (" + reasons + ")");
      return;
    }
    auto entry = std::make_shared<CachedKernel>();
    entry->kernel = std::move(sel.kernel);
    entry->impl = sel.impl;
    entry->declines = std::move(sel.declines);
    entry->accepts_blocked_inputs = chosen_def->accepts_blocked_inputs;
    if (options_.kernel_cache) options_.kernel_cache->add_kernel(key, *entry);
    chosen = std::move(entry);
  }
  std::vector<int> step_inputs = in_ids;
  if (!chosen->accepts_blocked_inputs) {
    for (int& id : step_inputs) {
      if (id >= 0) id = plain_slot(id);
    }
  }
  for (size_t i = 0; i < out_ids.size(); ++i) {
    if (out_ids[i] < 0) continue;
    ValueSlot& s = plan_->slots[out_ids[i]];
    s.format = chosen->kernel->output_format(i);
    const bool keep = graph_outputs_.count(n.output(i)) || tap_names_.count(s.name);
    s.storage = keep ? SlotStorage::kOwned : SlotStorage::kArena;
  }
  plan_->planned_nodes.push_back(planned_node(n, in_ids, out_ids, chosen->impl, chosen->declines));
  Step step;
  step.kernel = chosen->kernel;
  step.inputs = step_inputs;
  step.outputs = out_ids;
  step.node_name = n.name();
  step.node = &n;
  step.impl = chosen->impl;
  plan_->steps.push_back(std::move(step));
}

void PlanBuilder::add_outputs_and_taps() {
  // Graph outputs must be plain: blocked outputs get a plain owned copy at the end.
  for (const ir::Value* v : model_.graph->outputs()) {
    int id = plan_->slot_by_name.at(v->name());
    if (plan_->slots[id].format) {
      id = plain_slot(id);
      plan_->slots[id].storage = SlotStorage::kOwned;
    }
    plan_->output_slots.push_back(id);
    plan_->outputs.push_back({v->name(), plan_->slots[id].dtype, plan_->slots[id].shape});
  }
  for (const std::string& t : tap_names_) {
    auto it = plan_->slot_by_name.find(t);
    if (it == plan_->slot_by_name.end()) {
      throw InvalidArgument("tap '" + t + "' is not a tensor of the model (after engine passes)");
    }
    plan_->tap_slots[t] = it->second;
  }
}

}  // namespace qwac::runtime
