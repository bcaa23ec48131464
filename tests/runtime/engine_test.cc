#include <gtest/gtest.h>

#include <map>
#include <random>

#include "ir/graph.h"
#include "runtime/engine.h"
#include "test_util.h"

namespace qwac::runtime {
namespace {

ir::Model make_model(int64_t opset) {
  ir::Model m;
  m.ir_version = 8;
  m.opset_imports = {{"", opset}};
  m.graph = std::make_unique<ir::Graph>();
  m.graph->name = "test";
  return m;
}

ir::Value* add_input(ir::Graph& g, const std::string& name, std::vector<int64_t> dims) {
  ir::Value* v = g.add_value(name);
  v->type.dtype = DType::kFloat32;
  ir::SymbolicShape s;
  for (int64_t d : dims) s.push_back(ir::Dim{d, d < 0 ? "batch" : ""});
  v->type.shape = s;
  g.add_input(v);
  return v;
}

TEST(Engine, ReportsAllUnsupportedOpsAtOnce) {
  ir::Model m = make_model(13);
  ir::Graph& g = *m.graph;
  ir::Value* x = add_input(g, "x", {1, 4});
  ir::Value* a = g.add_value("a");
  ir::Value* b = g.add_value("b");
  g.add_node("FrobnicateA", {x}, {a}, "first_bad");
  g.add_node("FrobnicateB", {a}, {b}, "second_bad");
  g.add_output(b);
  try {
    Engine e(m, EngineOptions{});
    FAIL() << "expected UnsupportedOp";
  } catch (const UnsupportedOp& e) {
    const std::string msg = e.what();
    EXPECT_NE(msg.find("first_bad"), std::string::npos) << msg;
    EXPECT_NE(msg.find("second_bad"), std::string::npos) << msg;
    EXPECT_NE(msg.find("2 unsupported"), std::string::npos) << msg;
  }
}

// y = Relu(x + c) * x with a Shape->Reshape chain that must fold at compile time.
ir::Model make_small_model() {
  ir::Model m = make_model(13);
  ir::Graph& g = *m.graph;
  ir::Value* x = add_input(g, "x", {-1, 3});
  Tensor c(DType::kFloat32, {3});
  c.data<float>()[0] = -1.f;
  c.data<float>()[1] = 0.5f;
  c.data<float>()[2] = 2.f;
  ir::Value* cv = g.add_constant("c", c);
  ir::Value* sum = g.add_value("sum");
  ir::Value* relu = g.add_value("relu");
  ir::Value* prod = g.add_value("prod");
  ir::Value* shape = g.add_value("shape");
  ir::Value* y = g.add_value("y");
  g.add_node("Add", {x, cv}, {sum}, "add");
  g.add_node("Relu", {sum}, {relu}, "relu");
  g.add_node("Mul", {relu, x}, {prod}, "mul");
  g.add_node("Shape", {x}, {shape}, "shape");
  g.add_node("Reshape", {prod, shape}, {y}, "reshape");
  g.add_output(y);
  return m;
}

TEST(Engine, RunsFoldsShapesAndTapsIntermediates) {
  for (bool dnnl : {false, true}) {
    ir::Model m = make_small_model();
    EngineOptions o;
    o.use_dnnl = dnnl;
    o.taps = {"relu"};
    Engine e(m, o, {{"x", {2, 3}}});
    Tensor x(DType::kFloat32, {2, 3});
    const float xs[] = {1, -2, 3, 0.5f, 0.25f, -4};
    for (int i = 0; i < 6; ++i) x.data<float>()[i] = xs[i];
    std::vector<Tensor> out = e.run({{"x", x}});
    ASSERT_EQ(out.size(), 1u);
    ASSERT_EQ(out[0].shape(), (Shape{2, 3}));
    const float cs[] = {-1, 0.5f, 2};
    for (int i = 0; i < 6; ++i) {
      const float r = std::max(0.f, xs[i] + cs[i % 3]);
      EXPECT_FLOAT_EQ(out[0].data<float>()[i], r * xs[i]) << "element " << i << " dnnl=" << dnnl;
      EXPECT_FLOAT_EQ(e.tap("relu").data<float>()[i], r) << "element " << i;
    }
    bool shape_folded = false;
    for (const auto& p : e.planned_nodes()) shape_folded |= (p.node_name == "shape" && p.impl == "folded");
    EXPECT_TRUE(shape_folded);
    EXPECT_THROW(e.tap("sum"), InvalidArgument);
  }
}

TEST(Engine, ReshapeToAnotherBatchAndRejectsWrongInputs) {
  ir::Model m = make_small_model();
  Engine e(m, EngineOptions{}, {{"x", {1, 3}}});
  Tensor x4(DType::kFloat32, {4, 3});
  EXPECT_THROW(e.run({{"x", x4}}), InvalidArgument);
  e.reshape({{"x", {4, 3}}});
  EXPECT_EQ(e.run({{"x", x4}})[0].shape(), (Shape{4, 3}));
  EXPECT_THROW(e.run({}), InvalidArgument);
  EXPECT_THROW(e.run({{"x", x4}, {"nope", x4}}), InvalidArgument);
  EXPECT_THROW(Engine(m, EngineOptions{}), InvalidArgument);  // symbolic batch without a shape
}

// Fusion folds Relu into the Conv; tapping the Conv output keeps it observable (fusion stops at tapped tensors).
TEST(Engine, TapOnATensorRemovedByFusionStillWorks) {
  ir::Model m = make_model(13);
  ir::Graph& g = *m.graph;
  ir::Value* x = add_input(g, "x", {1, 2, 5, 5});
  std::mt19937 rng(9);
  ir::Value* w = g.add_constant("w", testing::random_tensor({3, 2, 3, 3}, rng));
  ir::Value* conv = g.add_value("conv");
  ir::Value* y = g.add_value("y");
  g.add_node("Conv", {x, w}, {conv}, "conv");
  g.add_node("Relu", {conv}, {y}, "relu");
  g.add_output(y);
  EngineOptions o;
  o.taps = {"conv"};
  Engine e(m, o);
  Tensor in = testing::random_tensor({1, 2, 5, 5}, rng);
  const Tensor out = e.run({{"x", in}})[0];
  const Tensor& tapped = e.tap("conv");
  ASSERT_EQ(tapped.shape(), (Shape{1, 3, 3, 3}));
  for (int64_t i = 0; i < out.numel(); ++i) {
    EXPECT_FLOAT_EQ(out.data<float>()[i], std::max(0.f, tapped.data<float>()[i])) << "element " << i;
  }
}

// Two Conv + Relu branches concatenated on channels. In plain layout at batch 1 the producers write straight into
// the Concat's buffer ("in-place"); at batch 2 they cannot. oneDNN picks its own layouts (in-place only when they
// append, e.g. nChw16c; SqueezeNet's end-to-end tests cover that case). Every variant must match.
TEST(Engine, InPlaceConcatMatchesReference) {
  ir::Model m = make_model(13);
  ir::Graph& g = *m.graph;
  ir::Value* x = add_input(g, "x", {-1, 16, 6, 6});
  std::mt19937 rng(21);
  ir::Value* w1 = g.add_constant("w1", testing::random_tensor({32, 16, 3, 3}, rng));
  ir::Value* w2 = g.add_constant("w2", testing::random_tensor({16, 16, 3, 3}, rng));
  ir::Value *a = g.add_value("a"), *ra = g.add_value("ra"), *b = g.add_value("b"), *rb = g.add_value("rb");
  ir::Value *cat = g.add_value("cat"), *y = g.add_value("y");
  g.add_node("Conv", {x, w1}, {a}, "conv1")->attrs.set("pads", std::vector<int64_t>{1, 1, 1, 1});
  g.add_node("Relu", {a}, {ra}, "relu1");
  g.add_node("Conv", {x, w2}, {b}, "conv2")->attrs.set("pads", std::vector<int64_t>{1, 1, 1, 1});
  g.add_node("Relu", {b}, {rb}, "relu2");
  g.add_node("Concat", {ra, rb}, {cat}, "concat")->attrs.set("axis", int64_t{1});
  g.add_node("Relu", {cat}, {y}, "relu3");
  g.add_output(y);
  for (int64_t batch : {1, 2}) {
    Tensor in = testing::random_tensor({batch, 16, 6, 6}, rng);
    EngineOptions ref_options;
    ref_options.use_dnnl = false;
    Engine reference(m, ref_options, {{"x", {batch, 16, 6, 6}}});
    Engine fast(m, EngineOptions{}, {{"x", {batch, 16, 6, 6}}});
    // The reference engine (in-place at batch 1) must agree with the oneDNN engine, whose channels-last layouts
    // here need a real Concat primitive.
    const Tensor expected = reference.run({{"x", in}})[0];
    EXPECT_EQ(testing::compare_tensors(fast.run({{"x", in}})[0], expected, 1e-4, 1e-5), "") << "batch " << batch;
    bool in_place = false;
    for (const auto& p : reference.planned_nodes()) in_place |= (p.node_name == "concat" && p.impl == "in-place");
    EXPECT_EQ(in_place, batch == 1) << "batch " << batch;
  }
}

// Reshape / Squeeze / Unsqueeze of intermediates become views of their input's buffer ("in-place"). The buffer
// must then live until the views' last reader: `a` is read directly only by the first Reshape, so without that its
// bytes would be reused (by `s` or `c`) before the Add reads them through the views. A Reshape writing a graph
// output keeps its own copy.
TEST(Engine, InPlaceReshapeKeepsTheInputAliveForItsViews) {
  ir::Model m = make_model(13);
  ir::Graph& g = *m.graph;
  ir::Value* x = add_input(g, "x", {2, 3, 4});
  auto shape = [&](const std::string& name, std::vector<int64_t> dims) {
    Tensor t(DType::kInt64, {static_cast<int64_t>(dims.size())});
    for (size_t i = 0; i < dims.size(); ++i) t.data<int64_t>()[i] = dims[i];
    return g.add_constant(name, t);
  };
  ir::Value *a = g.add_value("a"), *r = g.add_value("r"), *s = g.add_value("s"), *z = g.add_value("z");
  ir::Value *c = g.add_value("c"), *t = g.add_value("t"), *u = g.add_value("u"), *v = g.add_value("v");
  ir::Value* y = g.add_value("y");
  g.add_node("Neg", {x}, {a}, "neg");
  g.add_node("Reshape", {a, shape("s46", {4, 6})}, {r}, "reshape_a");
  g.add_node("Relu", {r}, {s}, "relu_r");
  g.add_node("Reshape", {s, shape("s24", {24})}, {z}, "to_output");
  g.add_node("Relu", {x}, {c}, "relu_x");
  g.add_node("Reshape", {r, shape("s234", {2, 3, 4})}, {t}, "reshape_r");
  g.add_node("Unsqueeze", {t, shape("axes0", {0})}, {u}, "unsqueeze");
  g.add_node("Squeeze", {u, shape("axes0b", {0})}, {v}, "squeeze");
  g.add_node("Add", {v, c}, {y}, "add");
  g.add_output(y);
  g.add_output(z);
  std::mt19937 rng(22);
  const Tensor in = testing::random_tensor({2, 3, 4}, rng);
  for (const bool dnnl : {false, true}) {
    EngineOptions options;
    options.use_dnnl = dnnl;
    Engine e(m, options);
    for (int run = 0; run < 2; ++run) {
      const std::vector<Tensor> out = e.run({{"x", in}});
      ASSERT_EQ(out.size(), 2u);
      ASSERT_EQ(out[0].shape(), (Shape{2, 3, 4}));
      ASSERT_EQ(out[1].shape(), (Shape{24}));
      for (int64_t i = 0; i < 24; ++i) {
        const float xi = in.data<float>()[i];
        EXPECT_FLOAT_EQ(out[0].data<float>()[i], std::max(xi, 0.f) - xi) << "element " << i;
        EXPECT_FLOAT_EQ(out[1].data<float>()[i], std::max(-xi, 0.f)) << "element " << i;
      }
    }
    std::map<std::string, std::string> impl;
    for (const auto& p : e.planned_nodes()) impl[p.node_name] = p.impl;
    for (const char* view : {"reshape_a", "reshape_r", "unsqueeze", "squeeze"}) {
      EXPECT_EQ(impl[view], "in-place") << view << (dnnl ? " (dnnl)" : " (ref)");
    }
    EXPECT_NE(impl["to_output"], "in-place") << "a graph output keeps its own buffer";
  }
}

TEST(Engine, RepeatedRunsGiveIdenticalResults) {
  ir::Model m = make_small_model();
  Engine e(m, EngineOptions{}, {{"x", {8, 3}}});
  std::mt19937 rng(3);
  Tensor x = testing::random_tensor({8, 3}, rng);
  Tensor first = e.run({{"x", x}})[0];
  for (int i = 0; i < 3; ++i) EXPECT_EQ(testing::compare_tensors(e.run({{"x", x}})[0], first, 0, 0), "");
}

}  // namespace
}  // namespace qwac::runtime
