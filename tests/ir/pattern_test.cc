#include "ir/pattern.h"

#include <gtest/gtest.h>

#include "qwac/error.h"

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

// ---------------------------------------------------------------------------------------------------------------
// DAG patterns.

// x -> HardSigmoid -> h ; Mul(x, h) or Mul(h, x) -> y.
struct HardSwishGraph {
  Graph g;
  Value *x, *h, *y;
  Node *hs, *mul;
  explicit HardSwishGraph(bool swapped) {
    x = g.add_value("x");
    g.add_input(x);
    h = g.add_value("h");
    y = g.add_value("y");
    hs = g.add_node("HardSigmoid", {x}, {h}, "hs");
    mul = g.add_node("Mul", swapped ? std::vector<Value*>{h, x} : std::vector<Value*>{x, h}, {y}, "mul");
    g.add_output(y);
  }
};

Pattern hard_swish_pattern() {
  Pattern p;
  p.input("x");
  p.node("gate", op("HardSigmoid"), {"x"});
  p.node("y", op("Mul"), {"x", "gate"}, /*commutative=*/true);
  return p;
}

TEST(DagPattern, CapturesAValueReadTwiceInEitherOrder) {
  for (bool swapped : {false, true}) {
    HardSwishGraph t(swapped);
    const std::optional<PatternMatch> m = match_pattern(t.g, hard_swish_pattern(), *t.mul);
    ASSERT_TRUE(m.has_value()) << "swapped " << swapped;
    EXPECT_EQ(m->value("x"), t.x);
    EXPECT_EQ(m->node("gate"), t.hs);
    EXPECT_EQ(m->node("y"), t.mul);
    EXPECT_EQ(m->ordered(hard_swish_pattern()), (std::vector<Node*>{t.hs, t.mul}));
    EXPECT_FALSE(match_pattern(t.g, hard_swish_pattern(), *t.hs).has_value()) << "the root must be the Mul";
  }
}

TEST(DagPattern, RejectsAnotherValueWhereTheCaptureIsReadAgain) {
  HardSwishGraph t(false);
  Value* z = t.g.add_value("z");
  t.g.add_input(z);
  t.g.set_input(t.mul, 0, z);  // Mul(z, HardSigmoid(x)): not x * HardSigmoid(x)
  EXPECT_FALSE(match_pattern(t.g, hard_swish_pattern(), *t.mul).has_value());
}

TEST(DagPattern, RejectsAnIntermediateReadOutsideTheMatch) {
  HardSwishGraph t(false);
  Value* other = t.g.add_value("other");
  t.g.add_node("Relu", {t.h}, {other}, "other");  // the gate is also read elsewhere
  t.g.add_output(other);
  EXPECT_FALSE(match_pattern(t.g, hard_swish_pattern(), *t.mul).has_value());
  HardSwishGraph u(false);
  u.g.add_output(u.h);  // or is a graph output
  EXPECT_FALSE(match_pattern(u.g, hard_swish_pattern(), *u.mul).has_value());
}

// Mul(Add(x, 3), x) needs backtracking: the commutative Mul's first try binds x to the Add's output.
TEST(DagPattern, BacktracksOverCommutativeChoicesAndChecksConstants) {
  Graph g;
  Value* x = g.add_value("x");
  g.add_input(x);
  const float three_value = 3.f;
  Value* three = g.add_constant("three", Tensor::from_values<float>({}, &three_value));
  Value* a = g.add_value("a");
  Value* y = g.add_value("y");
  g.add_node("Add", {three, x}, {a}, "add");
  Node* mul = g.add_node("Mul", {a, x}, {y}, "mul");
  g.add_output(y);
  Pattern p;
  p.input("x");
  p.input("three", scalar_near(3.f));
  p.node("shifted", op("Add"), {"x", "three"}, true);
  p.node("y", op("Mul"), {"x", "shifted"}, true);
  const std::optional<PatternMatch> m = match_pattern(g, p, *mul);
  ASSERT_TRUE(m.has_value());
  EXPECT_EQ(m->value("x"), x);
  EXPECT_EQ(m->value("three"), three);

  Pattern four;
  four.input("x");
  four.input("four", scalar_near(4.f));
  four.node("shifted", op("Add"), {"x", "four"}, true);
  four.node("y", op("Mul"), {"x", "shifted"}, true);
  EXPECT_FALSE(match_pattern(g, four, *mul).has_value()) << "the constant is 3, not 4";
}

TEST(DagPattern, DeclaringAnUnknownInputIsAnInternalError) {
  Pattern p;
  p.input("x");
  EXPECT_THROW(p.node("y", op("Relu"), {"nope"}), InternalError);
}

}  // namespace
}  // namespace qwac::ir
