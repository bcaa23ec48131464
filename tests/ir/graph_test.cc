#include <gtest/gtest.h>

#include "ir/graph.h"
#include "qwac/error.h"

namespace qwac::ir {
namespace {

// x -> A -> a -> B -> b ; x -> C -> c ; (b, c) -> D -> y, with nodes inserted out of order.
struct Diamond {
  Graph g;
  Value *x, *a, *b, *c, *y;
  Node *na, *nb, *nc, *nd;
  Diamond() {
    x = g.add_value("x");
    g.add_input(x);
    a = g.add_value("a");
    b = g.add_value("b");
    c = g.add_value("c");
    y = g.add_value("y");
    nd = g.add_node("Add", {b, c}, {y}, "D");
    nb = g.add_node("Relu", {a}, {b}, "B");
    na = g.add_node("Relu", {x}, {a}, "A");
    nc = g.add_node("Relu", {x}, {c}, "C");
    g.add_output(y);
  }
};

TEST(Graph, TopologicalOrderIsValidAndDeterministic) {
  Diamond d;
  std::vector<Node*> order = d.g.topological_order();
  ASSERT_EQ(order.size(), 4u);
  auto pos = [&](Node* n) { return std::find(order.begin(), order.end(), n) - order.begin(); };
  EXPECT_LT(pos(d.na), pos(d.nb));
  EXPECT_LT(pos(d.nb), pos(d.nd));
  EXPECT_LT(pos(d.nc), pos(d.nd));
  // Ready nodes keep insertion order: A (3rd inserted) before C (4th), B after A.
  EXPECT_EQ(order[0], d.na);
  EXPECT_EQ(order, d.g.topological_order());
}

TEST(Graph, UseListsFollowEdits) {
  Diamond d;
  EXPECT_EQ(d.x->uses().size(), 2u);
  d.g.replace_all_uses(d.a, d.x);  // B now reads x directly
  EXPECT_TRUE(d.a->uses().empty());
  EXPECT_EQ(d.x->uses().size(), 3u);
  d.g.remove_node(d.na);
  d.g.remove_value(d.a);
  EXPECT_EQ(d.g.num_nodes(), 3u);
  EXPECT_NO_THROW(d.g.verify());
}

TEST(Graph, VerifyRejectsCyclesAndUndefinedInputs) {
  Graph g;
  Value* p = g.add_value("p");
  Value* q = g.add_value("q");
  g.add_node("Relu", {q}, {p}, "n1");
  g.add_node("Relu", {p}, {q}, "n2");
  g.add_output(q);
  EXPECT_THROW(g.verify(), InvalidModel);

  Graph h;
  Value* u = h.add_value("undefined");
  Value* o = h.add_value("o");
  h.add_node("Relu", {u}, {o}, "n");
  h.add_output(o);
  try {
    h.verify();
    FAIL();
  } catch (const InvalidModel& e) {
    EXPECT_NE(std::string(e.what()).find("undefined"), std::string::npos);
  }
}

TEST(Graph, DuplicateNamesAndDoubleProducersAreInvalid) {
  Graph g;
  Value* v = g.add_value("v");
  EXPECT_THROW(g.add_value("v"), InvalidModel);
  Value* x = g.add_value("x");
  g.add_node("Relu", {x}, {v}, "n1");
  EXPECT_THROW(g.add_node("Relu", {x}, {v}, "n2"), InvalidModel);
}

TEST(Graph, CloneIsIndependentAndEqual) {
  Diamond d;
  d.nd->attrs.set("alpha", 0.5f);
  std::unique_ptr<Graph> c = d.g.clone();
  ASSERT_EQ(c->num_nodes(), 4u);
  Node* cd = c->find_node("D");
  ASSERT_NE(cd, nullptr);
  EXPECT_EQ(cd->attrs.get_float("alpha"), 0.5f);
  EXPECT_EQ(cd->input(0)->producer()->name(), "B");
  c->remove_node(c->find_node("C"));
  EXPECT_EQ(d.g.num_nodes(), 4u);
  EXPECT_NE(c->value("y"), d.y);
}

TEST(Attributes, TypedGettersCheckKindAndPresence) {
  Attributes a;
  a.set("k", int64_t{3});
  a.set("ints", std::vector<int64_t>{1, 2});
  EXPECT_EQ(a.get_int("k"), 3);
  EXPECT_EQ(a.get_int("missing", 7), 7);
  EXPECT_THROW(a.get_float("k"), InvalidModel);
  EXPECT_THROW(a.get_int("missing"), InvalidModel);
  EXPECT_EQ(a.get_ints("ints").size(), 2u);
}

}  // namespace
}  // namespace qwac::ir
