#include "ir/pattern.h"

#include <gtest/gtest.h>

namespace qwac::ir {
namespace {

// x -> Conv -> a -> Add(a, r) -> b -> Relu -> y ; x -> Relu(r_node) -> r ; a second consumer for `fan`.
struct Chain {
  Graph g;
  Value *x, *w, *a, *r, *b, *y;
  Node *conv, *add, *relu, *rnode;
  Chain() {
    x = g.add_value("x");
    g.add_input(x);
    w = g.add_constant("w", Tensor(DType::kFloat32, {1, 1, 1, 1}));
    a = g.add_value("a");
    r = g.add_value("r");
    b = g.add_value("b");
    y = g.add_value("y");
    conv = g.add_node("Conv", {x, w}, {a}, "conv");
    rnode = g.add_node("Relu", {x}, {r}, "rnode");
    add = g.add_node("Add", {a, r}, {b}, "add");
    relu = g.add_node("Relu", {b}, {y}, "relu");
    g.add_output(y);
  }
};

TEST(Pattern, OpMatcherChecksTypeDomainAndPredicate) {
  Chain c;
  EXPECT_TRUE(op("Conv").matches(*c.conv));
  EXPECT_FALSE(op("Conv", "com.qwac").matches(*c.conv));
  EXPECT_TRUE(op("Conv", "ai.onnx").matches(*c.conv));
  EXPECT_TRUE(ops({"Relu", "Conv"}).matches(*c.conv));
  EXPECT_FALSE(ops({"Relu", "Clip"}).matches(*c.conv));
  EXPECT_TRUE(OpMatcher{}.matches(*c.add));  // any op of the default domain
  const OpMatcher two_inputs = with(op("Conv"), [](const Node& n) { return n.num_inputs() == 2; });
  EXPECT_TRUE(two_inputs.matches(*c.conv));
  EXPECT_FALSE(with(two_inputs, [](const Node& n) { return n.name() == "other"; }).matches(*c.conv));
}

TEST(Pattern, SingleConsumerAndProducer) {
  Chain c;
  EXPECT_EQ(single_consumer(c.g, *c.conv, op("Add")), c.add);
  EXPECT_EQ(single_consumer(c.g, *c.conv, op("Relu")), nullptr);  // consumer exists but is not a Relu
  EXPECT_EQ(single_consumer(c.g, *c.relu, OpMatcher{}), nullptr);  // y has no consumer
  EXPECT_EQ(producer(*c.add, 0, op("Conv")), c.conv);
  EXPECT_EQ(producer(*c.add, 1, op("Relu")), c.rnode);
  EXPECT_EQ(producer(*c.conv, 1, OpMatcher{}), nullptr);  // constant weights have no producer
  // A second consumer of `a` breaks the single-consumer condition.
  Value* extra = c.g.add_value("extra");
  c.g.add_node("Relu", {c.a}, {extra}, "fan");
  EXPECT_EQ(single_consumer(c.g, *c.conv, op("Add")), nullptr);
}

TEST(Pattern, GraphOutputIsNotFusable) {
  Chain c;
  c.g.add_output(c.a);
  EXPECT_EQ(single_consumer(c.g, *c.conv, op("Add")), nullptr);
}

TEST(Pattern, ChainWithOptionalSteps) {
  Chain c;
  auto m = match_chain(c.g, *c.conv, op("Conv"), {{op("Add"), true}, {op("Relu"), true}});
  ASSERT_TRUE(m.has_value());
  EXPECT_EQ(m->steps, (std::vector<Node*>{c.add, c.relu}));
  EXPECT_EQ(m->last(), c.relu);
  // Optional Clip skipped, required Add matched.
  m = match_chain(c.g, *c.conv, op("Conv"), {{op("Clip"), true}, {op("Add"), false}});
  ASSERT_TRUE(m.has_value());
  EXPECT_EQ(m->steps, (std::vector<Node*>{nullptr, c.add}));
  EXPECT_EQ(m->last(), c.add);
  // A required step that does not match fails the match; so does a root mismatch.
  EXPECT_FALSE(match_chain(c.g, *c.conv, op("Conv"), {{op("Relu"), false}}).has_value());
  EXPECT_FALSE(match_chain(c.g, *c.conv, op("Gemm"), {}).has_value());
  // Nothing matched: last() is the root.
  m = match_chain(c.g, *c.conv, op("Conv"), {{op("Clip"), true}});
  ASSERT_TRUE(m.has_value());
  EXPECT_EQ(m->last(), c.conv);
}

}  // namespace
}  // namespace qwac::ir
