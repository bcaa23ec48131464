// The changed part of a variant: found from node signatures, it starts at the first changed node and follows its
// consumers; shape arithmetic is recomputed inside the part rather than fed from the base.
#include "runtime/partial_model.h"

#include <gtest/gtest.h>

#include "model_builder.h"

namespace qwac::runtime {
namespace {

TEST(ChangedPart, StartsAtTheFirstChangedNodeAndFollowsItsConsumers) {
  // x -> Relu(a) -> Sigmoid(b) -> Tanh(c) -> y, and a variant whose b is an Exp.
  auto make = [](const char* middle) {
    testing::ModelBuilder b;
    ir::Value* x = b.input("x", {1, 4});
    ir::Value* a = b.node("Relu", {x}, "a");
    ir::Value* m = b.node(middle, {a}, "b");
    b.g->add_output(b.node("Tanh", {m}, "c"));
    return std::move(b.model);
  };
  const ir::Model base = make("Sigmoid"), variant = make("Exp");
  const std::optional<ChangedPart> part = find_changed_part(base, variant);
  ASSERT_TRUE(part.has_value());
  EXPECT_EQ(part->changed_nodes, (std::vector<std::string>{"b", "c"}));
  EXPECT_EQ(part->cut, (std::vector<std::string>{"a_out", "x"}));
  EXPECT_EQ(part->total_nodes, 3u);
  // Identical models: nothing changes, so the graph output is shared and there is nothing to split.
  EXPECT_FALSE(find_changed_part(base, base.clone()).has_value());
}

TEST(ChangedPart, RecomputesShapeArithmeticInsteadOfFeedingIt) {
  // x -> Relu(a) -> Sigmoid|Exp(b) -> Reshape(b, Concat(Gather(Shape(a), 0), [-1])) -> y: the Reshape is in the
  // changed part, and its target shape must be computable there, not a fed (data-dependent) input.
  auto make = [](const char* middle) {
    testing::ModelBuilder b;
    ir::Value* x = b.input("x", {2, 3, 4});
    ir::Value* a = b.node("Relu", {x}, "a");
    ir::Value* m = b.node(middle, {a}, "b");
    ir::Value* shape = b.node("Shape", {a}, "shape");
    const int64_t zero = 0, minus_one = -1;
    ir::Value* batch =
        b.node("Gather", {shape, b.g->add_constant("zero", Tensor::from_values<int64_t>({1}, &zero))}, "batch");
    ir::Value* target = b.node(
        "Concat", {batch, b.g->add_constant("minus_one", Tensor::from_values<int64_t>({1}, &minus_one))}, "target");
    b.g->find_node("target")->attrs.set("axis", int64_t{0});
    b.g->add_output(b.node("Reshape", {m, target}, "flat"));
    return std::move(b.model);
  };
  const std::optional<ChangedPart> part = find_changed_part(make("Sigmoid"), make("Exp"));
  ASSERT_TRUE(part.has_value());
  EXPECT_EQ(part->cut, (std::vector<std::string>{"a_out", "x"}));
  EXPECT_EQ(part->changed_nodes.size(), 5u) << "b, flat and the shape chain (shape, batch, target)";
}

}  // namespace
}  // namespace qwac::runtime
