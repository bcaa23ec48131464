// Assigns arena offsets to intermediate buffers so that buffers whose lifetimes do not overlap share memory.
#pragma once

#include <cstddef>
#include <vector>

namespace qwac::runtime {

struct BufferRequest {
  size_t bytes;
  int first_step;  // step that writes it
  int last_step;   // last step that reads it (>= first_step)
};

struct MemoryPlan {
  std::vector<size_t> offsets;  // one per request, aligned
  size_t arena_bytes = 0;
};

// Greedy by size (largest first), each buffer at the lowest aligned offset that does not collide with an
// already placed buffer alive at the same time. Deterministic for the same requests.
MemoryPlan plan_memory(const std::vector<BufferRequest>& requests, size_t alignment);

}  // namespace qwac::runtime
