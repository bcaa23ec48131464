// The kernel cache and the shared workspace: a second plan of the same model creates no kernel, a plan that changes
// one node creates only that node's kernel (and those of consumers whose inputs changed), the results are those of
// a private compilation, and engines sharing one arena give the same results as engines with their own.
#include "runtime/kernel_cache.h"

#include <gtest/gtest.h>

#include <random>

#include "model_builder.h"
#include "runtime/engine.h"
#include "test_util.h"

namespace qwac::runtime {
namespace {

// x -> Conv(w1) -> Relu -> Conv(w2) -> y, with weights from `seed2` for the second Conv.
ir::Model conv_chain(unsigned seed2) {
  testing::ModelBuilder b(5);
  ir::Value* x = b.input("x", {2, 4, 6, 6});
  std::mt19937 r1(1), r2(seed2);
  ir::Value* c1 = b.node("Conv", {x, b.g->add_constant("w1", testing::random_tensor({8, 4, 3, 3}, r1))}, "conv1");
  b.g->find_node("conv1")->attrs.set("pads", std::vector<int64_t>{1, 1, 1, 1});
  ir::Value* r = b.node("Relu", {c1}, "relu");
  ir::Value* y = b.node("Conv", {r, b.g->add_constant("w2", testing::random_tensor({3, 8, 3, 3}, r2))}, "conv2");
  b.g->add_output(y);
  return std::move(b.model);
}

TEST(KernelCache, SamePlanTwiceCreatesNoKernelAndChangedNodesOnly) {
  for (bool dnnl : {false, true}) {
    SCOPED_TRACE(dnnl ? "dnnl" : "reference");
    auto cache = std::make_shared<KernelCache>();
    EngineOptions cached;
    cached.use_dnnl = dnnl;
    cached.kernel_cache = cache;
    EngineOptions own = cached;
    own.kernel_cache = nullptr;
    std::mt19937 rng(3);
    const Tensor x = testing::random_tensor({2, 4, 6, 6}, rng);
    const ir::Model a = conv_chain(2), b = conv_chain(7);

    Engine first(a, cached);
    const int64_t created = cache->misses();
    EXPECT_GT(created, 0);
    EXPECT_EQ(cache->hits(), 0);
    Engine again(a, cached);
    EXPECT_EQ(cache->misses(), created) << "every kernel of the same plan comes from the cache";
    EXPECT_EQ(testing::compare_tensors(again.run({{"x", x}})[0], Engine(a, own).run({{"x", x}})[0], 0, 0), "");

    // Another second convolution: only its kernel is new.
    const int64_t hits = cache->hits();
    Engine other(b, cached);
    EXPECT_EQ(cache->misses(), created + 1);
    EXPECT_EQ(cache->hits(), hits + created - 1);
    EXPECT_EQ(testing::compare_tensors(other.run({{"x", x}})[0], Engine(b, own).run({{"x", x}})[0], 0, 0), "");
    // The first engine still computes its own model (its kernels were not replaced).
    EXPECT_EQ(testing::compare_tensors(first.run({{"x", x}})[0], Engine(a, own).run({{"x", x}})[0], 0, 0), "");
  }
}

TEST(KernelCache, KeepsAtMostItsCapacity) {
  auto cache = std::make_shared<KernelCache>(2);
  EngineOptions o;
  o.kernel_cache = cache;
  for (unsigned seed = 10; seed < 16; ++seed) Engine e(conv_chain(seed), o);
  EXPECT_LE(cache->size(), 2u);
}

TEST(Workspace, EnginesSharingOneArenaComputeWhatTheyComputeAlone) {
  auto workspace = std::make_shared<Workspace>();
  EngineOptions shared;
  shared.workspace = workspace;
  const ir::Model a = conv_chain(2), b = conv_chain(7);
  Engine ea(a, shared), eb(b, shared);
  Engine alone_a(a, EngineOptions{}), alone_b(b, EngineOptions{});
  EXPECT_GE(workspace->bytes(), 0u);
  std::mt19937 rng(4);
  for (int i = 0; i < 3; ++i) {
    const Tensor x = testing::random_tensor({2, 4, 6, 6}, rng);
    // Interleaved runs: each overwrites the other's intermediates, which no result may depend on.
    const Tensor ya = ea.run({{"x", x}})[0];
    const Tensor yb = eb.run({{"x", x}})[0];
    EXPECT_EQ(testing::compare_tensors(ya, alone_a.run({{"x", x}})[0], 0, 0), "");
    EXPECT_EQ(testing::compare_tensors(yb, alone_b.run({{"x", x}})[0], 0, 0), "");
  }
  EXPECT_EQ(workspace->bytes(), std::max(ea.arena_bytes(), eb.arena_bytes()));
}

}  // namespace
}  // namespace qwac::runtime
