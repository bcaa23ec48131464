#include "runtime/in_place_reshape.h"

#include <algorithm>
#include <array>
#include <string_view>

namespace qwac::runtime {
namespace {

// Ops whose output is their first input's bytes under another shape.
constexpr std::array<std::string_view, 4> kViewOps = {"Reshape", "Flatten", "Squeeze", "Unsqueeze"};

bool is_view_op(const Step& step) {
  if (step.node == nullptr || !(step.node->domain().empty() || step.node->domain() == "ai.onnx")) return false;
  return std::find(kViewOps.begin(), kViewOps.end(), step.node->op_type()) != kViewOps.end();
}

}  // namespace

void alias_reshape_outputs(Plan& plan) {
  for (size_t si = 0; si < plan.steps.size();) {
    const Step& step = plan.steps[si];
    bool ok = is_view_op(step) && step.kernel != nullptr && !step.inputs.empty() && step.inputs[0] >= 0 &&
              step.outputs.size() == 1 && step.outputs[0] >= 0;
    if (ok) {
      const ValueSlot& in = plan.slots[step.inputs[0]];
      const ValueSlot& out = plan.slots[step.outputs[0]];
      ok = in.storage == SlotStorage::kArena && out.storage == SlotStorage::kArena && out.alias_of < 0 &&
           !in.format && !out.format && in.dtype == out.dtype && in.bytes() == out.bytes();
    }
    if (!ok) {
      ++si;
      continue;
    }
    const int in_id = step.inputs[0];
    ValueSlot& out = plan.slots[step.outputs[0]];
    // Point at the buffer's owner, so lifetimes and offsets resolve in one step (the input may itself be a view,
    // or a part of an in-place concat).
    const ValueSlot& in = plan.slots[in_id];
    out.alias_of = in.alias_of >= 0 ? in.alias_of : in_id;
    out.alias_offset = in.alias_of >= 0 ? in.alias_offset : 0;
    for (PlannedNode& p : plan.planned_nodes) {
      if (p.node_name == step.node_name) p.impl = "in-place";
    }
    plan.steps.erase(plan.steps.begin() + static_cast<std::ptrdiff_t>(si));
  }
}

}  // namespace qwac::runtime
