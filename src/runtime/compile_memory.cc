// Stage 6 of the plan builder: memory. In-place concat, then lifetimes of the arena slots and their offsets in one
// shared arena (buffers whose lifetimes do not overlap share bytes); graph outputs and taps get their own buffers.
#include <algorithm>

#include "runtime/in_place_concat.h"
#include "runtime/memory_planner.h"
#include "runtime/plan_builder.h"

namespace qwac::runtime {

void PlanBuilder::plan_memory() {
  Plan& plan = *plan_;
  alias_concat_inputs(plan);

  // Lifetimes of arena slots: first write .. last read, in step indices.
  std::vector<int> first(plan.slots.size(), -1), last(plan.slots.size(), -1);
  for (size_t s = 0; s < plan.steps.size(); ++s) {
    for (int id : plan.steps[s].outputs) {
      if (id >= 0 && first[id] < 0) first[id] = static_cast<int>(s);
      if (id >= 0) last[id] = std::max(last[id], static_cast<int>(s));
    }
    for (int id : plan.steps[s].inputs) {
      if (id >= 0) last[id] = std::max(last[id], static_cast<int>(s));
    }
  }
  // An aliased slot lives inside its parent's buffer: the parent's lifetime covers the child's.
  for (size_t id = 0; id < plan.slots.size(); ++id) {
    const int parent = plan.slots[id].alias_of;
    if (parent < 0 || first[id] < 0) continue;
    first[parent] = first[parent] < 0 ? first[id] : std::min(first[parent], first[id]);
    last[parent] = std::max(last[parent], last[id]);
  }
  std::vector<BufferRequest> requests;
  std::vector<int> request_slots;
  for (size_t id = 0; id < plan.slots.size(); ++id) {
    ValueSlot& s = plan.slots[id];
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
  MemoryPlan mp = runtime::plan_memory(requests, kTensorAlignment);
  for (size_t r = 0; r < requests.size(); ++r) plan.slots[request_slots[r]].arena_offset = mp.offsets[r];
  for (ValueSlot& s : plan.slots) {
    if (s.alias_of >= 0) s.arena_offset = plan.slots[s.alias_of].arena_offset + s.alias_offset;
  }
  plan.arena_bytes = mp.arena_bytes;
  // With a shared workspace (engines of one stream), the arena is borrowed at run time instead.
  if (!options_.workspace) plan.arena = allocate_aligned(mp.arena_bytes);
}

}  // namespace qwac::runtime
