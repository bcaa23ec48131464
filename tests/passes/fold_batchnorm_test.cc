// FoldBatchNorm and EliminateDropout: structure and numbers (reference engine with and without the pass).
#include "passes/fold_batchnorm.h"

#include <gtest/gtest.h>

#include <random>

#include "passes/eliminate_dropout.h"
#include "runtime/engine.h"
#include "test_util.h"

namespace qwac::passes {
namespace {

struct Builder {
  ir::Model model;
  ir::Graph* g;
  std::mt19937 rng{17};
  Builder() {
    model.ir_version = 8;
    model.opset_imports = {{"", 15}};
    model.graph = std::make_unique<ir::Graph>();
    g = model.graph.get();
  }
  ir::Value* input(const std::string& name, const Shape& shape) {
    ir::Value* v = g->add_value(name);
    v->type.dtype = DType::kFloat32;
    ir::SymbolicShape s;
    for (int64_t d : shape) s.push_back({d, ""});
    v->type.shape = s;
    g->add_input(v);
    return v;
  }
  ir::Value* constant(const std::string& name, const Shape& shape, float lo = -1.f, float hi = 1.f) {
    return g->add_constant(name, testing::random_tensor(shape, rng, lo, hi));
  }
  ir::Value* conv(const std::string& name, ir::Value* x, int64_t c_in, int64_t c_out, bool bias, int64_t group = 1) {
    ir::Value* y = g->add_value(name + "_out");
    std::vector<ir::Value*> in = {x, constant(name + "_w", {c_out, c_in / group, 3, 3})};
    if (bias) in.push_back(constant(name + "_b", {c_out}));
    ir::Node* n = g->add_node("Conv", in, {y}, name);
    n->attrs.set("group", group);
    return y;
  }
  ir::Value* bn(const std::string& name, ir::Value* x, int64_t c) {
    ir::Value* y = g->add_value(name + "_out");
    ir::Node* n = g->add_node("BatchNormalization",
                              {x, constant(name + "_s", {c}), constant(name + "_b", {c}), constant(name + "_m", {c}),
                               constant(name + "_v", {c}, 0.2f, 2.f)},
                              {y}, name);
    n->attrs.set("epsilon", 1e-3f);
    return y;
  }
};

std::vector<Tensor> run_ref(const ir::Model& model) {
  runtime::EngineOptions options;
  options.use_dnnl = false;
  options.fuse = false;
  options.num_threads = 1;
  runtime::Engine engine(model, options);
  std::mt19937 rng(5);
  std::map<std::string, Tensor> inputs;
  for (const runtime::IoSpec& in : engine.inputs()) inputs[in.name] = testing::random_tensor(in.shape, rng);
  return engine.run(inputs);
}

TEST(FoldBatchNorm, FoldsIntoConvWithAndWithoutBias) {
  for (bool bias : {false, true}) {
    for (int64_t group : {1, 2}) {
      Builder b;
      ir::Value* x = b.input("x", {2, 4, 7, 7});
      ir::Value* y = b.bn("bn", b.conv("conv", x, 4, 6, bias, group), 6);
      b.g->add_output(y);
      const ir::Model original = b.model.clone();
      EXPECT_TRUE(FoldBatchNorm().run(b.model));
      b.g->verify();
      ASSERT_EQ(b.g->num_nodes(), 1u);
      const ir::Node* conv = b.g->nodes()[0];
      EXPECT_EQ(conv->op_type(), "Conv");
      EXPECT_EQ(conv->name(), "conv");
      EXPECT_EQ(conv->output(0), y);
      EXPECT_EQ(conv->attrs.get_int("group"), group);
      EXPECT_EQ(b.g->find_value("bn_s"), nullptr) << "dead BN parameters are removed";
      const std::string what = std::string(bias ? "bias" : "no bias") + " group " + std::to_string(group);
      EXPECT_EQ(testing::compare_tensors(run_ref(b.model)[0], run_ref(original)[0], 1e-4, 1e-5), "") << what;
    }
  }
}

TEST(FoldBatchNorm, SharedWeightsStayIntact) {
  Builder b;
  ir::Value* x = b.input("x", {1, 3, 6, 6});
  ir::Value* c1 = b.conv("conv", x, 3, 3, true);
  ir::Value* c2 = b.g->add_value("c2");
  b.g->add_node("Conv", {x, b.g->find_value("conv_w")}, {c2}, "conv2");  // shares conv_w
  b.g->add_output(b.bn("bn", c1, 3));
  b.g->add_output(c2);
  const ir::Model original = b.model.clone();
  const std::vector<float> w_before(b.g->find_value("conv_w")->constant->data<float>(),
                                    b.g->find_value("conv_w")->constant->data<float>() + 81);
  EXPECT_TRUE(FoldBatchNorm().run(b.model));
  ASSERT_NE(b.g->find_value("conv_w"), nullptr);
  const float* w_after = b.g->find_value("conv_w")->constant->data<float>();
  EXPECT_EQ(std::vector<float>(w_after, w_after + 81), w_before);
  const auto expected = run_ref(original);
  const auto actual = run_ref(b.model);
  for (size_t i = 0; i < expected.size(); ++i) EXPECT_EQ(testing::compare_tensors(actual[i], expected[i], 1e-4, 1e-5), "");
}

TEST(FoldBatchNorm, KeepsUnsafeCases) {
  {  // Conv output also a graph output.
    Builder b;
    ir::Value* c = b.conv("conv", b.input("x", {1, 2, 5, 5}), 2, 2, true);
    b.g->add_output(b.bn("bn", c, 2));
    b.g->add_output(c);
    EXPECT_FALSE(FoldBatchNorm().run(b.model));
  }
  {  // Runtime weights.
    Builder b;
    ir::Value* w = b.input("w", {2, 2, 3, 3});
    ir::Value* c = b.g->add_value("c");
    b.g->add_node("Conv", {b.input("x", {1, 2, 5, 5}), w}, {c}, "conv");
    b.g->add_output(b.bn("bn", c, 2));
    EXPECT_FALSE(FoldBatchNorm().run(b.model));
  }
}

TEST(EliminateDropout, RemovesInferenceNoOpsButKeepsOutputs) {
  Builder b;
  ir::Value* x = b.input("x", {1, 4});
  ir::Value* d = b.g->add_value("d");
  b.g->add_node("Dropout", {x}, {d}, "drop");
  ir::Value* i = b.g->add_value("i");
  b.g->add_node("Identity", {d}, {i}, "id");
  ir::Value* r = b.g->add_value("r");
  b.g->add_node("Relu", {i}, {r}, "relu");
  ir::Value* out = b.g->add_value("out");
  b.g->add_node("Identity", {r}, {out}, "final");  // produces a graph output: kept
  b.g->add_output(out);
  ir::Value* m = b.g->add_value("mask");
  ir::Value* d2 = b.g->add_value("d2");
  b.g->add_node("Dropout", {x}, {d2, m}, "drop_with_mask");  // mask requested: kept
  b.g->add_output(m);
  b.g->add_output(d2);
  ir::Value* unused_mask = b.g->add_value("unused_mask");
  ir::Value* d3 = b.g->add_value("d3");
  b.g->add_node("Dropout", {x}, {d3, unused_mask}, "drop_unused_mask");  // mask declared but unused: removed
  ir::Value* s = b.g->add_value("s");
  b.g->add_node("Sigmoid", {d3}, {s}, "sigmoid");
  b.g->add_output(s);
  EXPECT_TRUE(EliminateDropout().run(b.model));
  b.g->verify();
  EXPECT_EQ(b.g->num_nodes(), 4u);
  EXPECT_EQ(b.g->find_node("sigmoid")->input(0), x);
  EXPECT_EQ(b.g->find_value("unused_mask"), nullptr);
  EXPECT_EQ(b.g->find_node("relu")->input(0), x);
  EXPECT_NE(b.g->find_node("final"), nullptr);
  EXPECT_NE(b.g->find_node("drop_with_mask"), nullptr);
}

}  // namespace
}  // namespace qwac::passes
