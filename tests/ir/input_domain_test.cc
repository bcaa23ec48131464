// integer_input_range: what random integer inputs may be, read from the graph (token ids into the smallest table
// they index, masks of ones, nothing otherwise).
#include "ir/input_domain.h"

#include <gtest/gtest.h>

#include "test_util.h"

namespace qwac::ir {
namespace {

Value* int_input(Graph& g, const std::string& name) {
  Value* v = g.add_value(name);
  v->type.dtype = DType::kInt64;
  g.add_input(v);
  return v;
}

Node* gather(Graph& g, Value* table, Value* indices, const std::string& name) {
  return g.add_node("Gather", {table, indices}, {g.add_value(name + "_out")}, name);
}

TEST(IntegerInputRange, IndicesIntoTheSmallestTable) {
  Graph g;
  std::mt19937 rng(1);
  Value* ids = int_input(g, "input_ids");
  Value* tok = g.add_constant("tok", testing::random_tensor({50, 4}, rng));
  Value* pos = g.add_constant("pos", testing::random_tensor({8, 4}, rng));
  gather(g, tok, ids, "tok_gather");
  // Through an Unsqueeze and a Cast to int32, into a smaller table.
  Value* axes = g.add_constant("axes", Tensor::from_values<int64_t>({1}, std::vector<int64_t>{0}.data()));
  Value* u = g.add_value("u");
  g.add_node("Unsqueeze", {ids, axes}, {u}, "unsqueeze");
  Value* c = g.add_value("c");
  g.add_node("Cast", {u}, {c}, "cast")->attrs.set("to", int64_t{6});
  gather(g, pos, c, "pos_gather");
  const auto r = integer_input_range(*ids);
  ASSERT_TRUE(r.has_value());
  EXPECT_EQ(r->low, 0);
  EXPECT_EQ(r->high, 7);
  EXPECT_NE(r->why.find("'pos'"), std::string::npos) << r->why;
}

TEST(IntegerInputRange, MasksAndUnknowns) {
  Graph g;
  Value* mask = int_input(g, "attention_mask");
  Value* f = g.add_value("f");
  g.add_node("Cast", {mask}, {f}, "to_float")->attrs.set("to", int64_t{1});
  const auto r = integer_input_range(*mask);
  ASSERT_TRUE(r.has_value());
  EXPECT_EQ(r->low, 1);
  EXPECT_EQ(r->high, 1);

  // An integer input that only takes part in arithmetic: the graph tells nothing.
  Value* n = int_input(g, "count");
  Value* one = g.add_constant("one", Tensor::from_values<int64_t>({}, std::vector<int64_t>{1}.data()));
  g.add_node("Add", {n, one}, {g.add_value("n1")}, "add");
  EXPECT_FALSE(integer_input_range(*n).has_value());

  // Indices cast to float before a Gather are not indices any more.
  Value* ids = int_input(g, "ids");
  std::mt19937 rng(2);
  Value* fl = g.add_value("fl");
  g.add_node("Cast", {ids}, {fl}, "cast_f")->attrs.set("to", int64_t{1});
  gather(g, g.add_constant("table", testing::random_tensor({5, 2}, rng)), fl, "g");
  EXPECT_FALSE(integer_input_range(*ids).has_value());
}

}  // namespace
}  // namespace qwac::ir
