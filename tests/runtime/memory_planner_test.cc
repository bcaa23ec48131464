#include <gtest/gtest.h>

#include "runtime/memory_planner.h"

namespace qwac::runtime {
namespace {

bool overlaps(size_t a0, size_t a1, size_t b0, size_t b1) { return a0 < b1 && b0 < a1; }

TEST(MemoryPlanner, ReusesMemoryOfDeadBuffers) {
  // A chain a -> b -> c: a and c never live together, so c can take a's place.
  std::vector<BufferRequest> req = {{1000, 0, 1}, {1000, 1, 2}, {1000, 2, 3}};
  MemoryPlan plan = plan_memory(req, 64);
  EXPECT_EQ(plan.offsets[0], plan.offsets[2]);
  EXPECT_NE(plan.offsets[0], plan.offsets[1]);
  EXPECT_EQ(plan.arena_bytes, 2 * 1024u);
}

TEST(MemoryPlanner, LiveBuffersNeverOverlapOnRandomRequests) {
  std::srand(7);
  for (int trial = 0; trial < 50; ++trial) {
    std::vector<BufferRequest> req;
    for (int i = 0; i < 40; ++i) {
      const int first = std::rand() % 30;
      req.push_back({static_cast<size_t>(1 + std::rand() % 5000), first, first + std::rand() % 6});
    }
    MemoryPlan plan = plan_memory(req, 64);
    size_t total = 0;
    for (size_t i = 0; i < req.size(); ++i) {
      EXPECT_EQ(plan.offsets[i] % 64, 0u);
      EXPECT_LE(plan.offsets[i] + req[i].bytes, plan.arena_bytes);
      total += (req[i].bytes + 63) / 64 * 64;
      for (size_t j = 0; j < i; ++j) {
        const bool alive_together = req[i].first_step <= req[j].last_step && req[j].first_step <= req[i].last_step;
        if (alive_together) {
          EXPECT_FALSE(overlaps(plan.offsets[i], plan.offsets[i] + req[i].bytes, plan.offsets[j],
                                plan.offsets[j] + req[j].bytes))
              << "trial " << trial << " buffers " << i << " and " << j;
        }
      }
    }
    EXPECT_LE(plan.arena_bytes, total);
  }
}

}  // namespace
}  // namespace qwac::runtime
