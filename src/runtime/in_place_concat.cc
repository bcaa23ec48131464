#include "runtime/in_place_concat.h"

#include <set>

namespace qwac::runtime {

void alias_concat_inputs(Plan& plan) {
  std::vector<int> reads(plan.slots.size(), 0);
  for (const Step& step : plan.steps) {
    for (int id : step.inputs) {
      if (id >= 0) ++reads[id];
    }
  }
  std::vector<bool> is_parent(plan.slots.size(), false);
  for (size_t si = 0; si < plan.steps.size();) {
    Step& step = plan.steps[si];
    const bool concat = step.node != nullptr && step.node->op_type() == "Concat" && (step.node->domain().empty() || step.node->domain() == "ai.onnx");
    bool ok = concat && step.outputs.size() == 1 && step.outputs[0] >= 0;
    const int out = ok ? step.outputs[0] : -1;
    ok = ok && plan.slots[out].storage == SlotStorage::kArena && plan.slots[out].alias_of < 0;
    if (ok) {
      const ValueSlot& o = plan.slots[out];
      const int64_t axis = step.node->attrs.get_int("axis", 1);
      const int64_t rank = static_cast<int64_t>(o.shape.size());
      ok = rank >= 2 && (axis == 1 || axis == 1 - rank) && o.shape[0] == 1;
      std::vector<const kernels::BlockedFormat*> parts;
      std::set<int> seen;
      for (int id : step.inputs) {
        ok = ok && id >= 0 && seen.insert(id).second && reads[id] == 1 && !is_parent[id];
        if (!ok) break;
        const ValueSlot& in = plan.slots[id];
        ok = in.storage == SlotStorage::kArena && in.alias_of < 0 && in.dtype == o.dtype &&
             static_cast<bool>(in.format) == static_cast<bool>(o.format);
        parts.push_back(in.format.get());
      }
      if (ok && o.format) ok = o.format->is_append_of_channel_parts(parts);
    }
    if (!ok) {
      ++si;
      continue;
    }
    size_t offset = 0;
    for (int id : step.inputs) {
      plan.slots[id].alias_of = out;
      plan.slots[id].alias_offset = offset;
      offset += plan.slots[id].bytes();
    }
    is_parent[out] = true;
    for (PlannedNode& p : plan.planned_nodes) {
      if (p.node_name == step.node_name) p.impl = "in-place";
    }
    plan.steps.erase(plan.steps.begin() + static_cast<std::ptrdiff_t>(si));
  }
}

}  // namespace qwac::runtime
