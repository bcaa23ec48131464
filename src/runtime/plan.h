// The compiled form of a model: an ordered list of steps over value slots, with memory assigned.
// Private to the runtime (engine.cc builds it, engine.cc runs it).
#pragma once

#include <deque>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "core/tensor.h"
#include "kernels/kernel.h"
#include "runtime/engine.h"

namespace qwac::runtime {

// Where the bytes of a value live during a run.
enum class SlotStorage {
  kConstant,    // known at compile time (initializer or folded): `constant`
  kGraphInput,  // bound to the caller's tensor at run time
  kArena,       // intermediate: offset in the shared arena
  kOwned,       // graph outputs and taps: own buffer, never shared
  kAbsent,      // omitted optional output
};

struct ValueSlot {
  std::string name;
  DType dtype = DType::kUndefined;
  Shape shape;
  SlotStorage storage = SlotStorage::kAbsent;
  kernels::BlockedFormatPtr format;  // nullptr = plain row-major
  Tensor constant;                   // kConstant
  size_t arena_offset = 0;           // kArena
  Tensor owned;                      // kOwned (allocated at compile time, reused across runs)
  int plain_copy_slot = -1;          // slot holding a plain copy of a blocked value, when one is needed
  int alias_of = -1;                 // kArena slot living inside another slot's buffer (in-place concat)
  size_t alias_offset = 0;           // byte offset inside that buffer
  size_t bytes() const;
};

struct Step {
  // Either a kernel call or a layout conversion (kernel == nullptr): slot `inputs[0]` -> plain slot `outputs[0]`.
  // Shared with the kernel cache (runtime/kernel_cache.h), hence with other plans of the same stream.
  std::shared_ptr<kernels::Kernel> kernel;
  std::vector<int> inputs;   // slot ids, -1 = omitted optional input
  std::vector<int> outputs;  // slot ids, -1 = omitted optional output
  std::string node_name;
  const ir::Node* node = nullptr;  // nullptr for layout conversions
  std::string impl;                // "dnnl" / "ref" / "layout", for profiles
  int64_t runs = 0;                // EngineOptions::profile
  double total_ms = 0;
};

class Plan {
 public:
  std::deque<ValueSlot> slots;  // a deque: KernelContext infos point at slot constants while slots are added
  std::vector<Step> steps;
  std::vector<PlannedNode> planned_nodes;
  std::map<std::string, int> slot_by_name;
  std::vector<int> input_slots, output_slots;
  std::vector<IoSpec> inputs, outputs;
  std::map<std::string, int> tap_slots;  // tap name -> slot (plain or blocked)
  std::shared_ptr<std::byte> arena;  // null when the engine borrows a Workspace
  size_t arena_bytes = 0;
  mutable std::map<std::string, Tensor> tap_plain_cache;  // plain copies of blocked taps, per run
};

}  // namespace qwac::runtime
