// FoldBatchNorm and EliminateDropout: structure and numbers (reference engine with and without the pass).
#include "passes/fold_batchnorm.h"

#include <gtest/gtest.h>

#include <random>

#include "passes/eliminate_dropout.h"
#include "runtime/engine.h"
#include "model_builder.h"
#include "test_util.h"

namespace qwac::passes {
namespace {

struct Builder : testing::ModelBuilder {
  Builder() : testing::ModelBuilder(17, 15) {}
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

// The pass's result: BN gone, one node of `op_type` named `name` producing the BN's output value, with new weight
// and bias constants; and the same numbers as the unfolded model.
void expect_folded(const ir::Model& original, const ir::Model& folded, const std::string& op_type,
                   const std::string& what) {
  const ir::Graph& g = *folded.graph;
  g.verify();
  ASSERT_EQ(g.num_nodes(), 1u) << what;
  const ir::Node* n = g.nodes()[0];
  EXPECT_EQ(n->op_type(), op_type) << what;
  EXPECT_EQ(n->name(), op_type) << what;
  EXPECT_EQ(n->output(0)->name(), "bn_out") << what << ": the BN output name is kept";
  EXPECT_EQ(g.outputs()[0], n->output(0)) << what;
  ASSERT_EQ(n->num_inputs(), 3u) << what;
  for (size_t i = 1; i < 3; ++i) {
    ASSERT_TRUE(n->input(i)->is_constant()) << what;
    EXPECT_EQ(original.graph->find_value(n->input(i)->name()), nullptr) << what << ": input " << i << " is new";
  }
  for (const char* p : {"bn_s", "bn_b", "bn_m", "bn_v", "w", "c"}) EXPECT_EQ(g.find_value(p), nullptr) << p;
  EXPECT_EQ(testing::compare_tensors(run_ref(folded)[0], run_ref(original)[0], 1e-5, 1e-5), "") << what;
}

// BN with k = 3 / sqrt(3 + 1) = 1.5, mean 1, shift 0.5 (exact in float).
ir::Value* hand_bn(Builder& b, ir::Value* x) {
  ir::Value* y = b.g->add_value("bn_out");
  auto c = [&](const std::string& name, float v) {
    return b.g->add_constant(name, Tensor::from_values<float>({1}, &v));
  };
  ir::Node* n = b.g->add_node("BatchNormalization",
                              {x, c("bn_s", 3.f), c("bn_b", 0.5f), c("bn_m", 1.f), c("bn_v", 3.f)}, {y}, "bn");
  n->attrs.set("epsilon", 1.f);
  return y;
}

std::vector<float> values(const Tensor& t) { return std::vector<float>(t.data<float>(), t.data<float>() + t.numel()); }

TEST(FoldBatchNorm, HandComputedOneChannelConv) {
  Builder b;
  ir::Value* x = b.input("x", {1, 1, 1, 2});
  const float w = 2.f, bias = 1.f;
  ir::Value* c = b.g->add_value("c_out");
  b.g->add_node("Conv", {x, b.g->add_constant("w", Tensor::from_values<float>({1, 1, 1, 1}, &w)),
                         b.g->add_constant("c", Tensor::from_values<float>({1}, &bias))},
                {c}, "Conv");
  b.g->add_output(hand_bn(b, c));
  const ir::Model original = b.model.clone();
  ASSERT_TRUE(FoldBatchNorm().run(b.model));
  expect_folded(original, b.model, "Conv", "1-channel conv");
  const ir::Node* n = b.g->nodes()[0];
  EXPECT_EQ(values(*n->input(1)->constant), std::vector<float>{3.f});    // 2 * 1.5
  EXPECT_EQ(values(*n->input(2)->constant), std::vector<float>{0.5f});   // (1 - 1) * 1.5 + 0.5
  runtime::EngineOptions options;
  options.use_dnnl = false;
  const float in[2] = {1.f, -2.f};
  const auto out = runtime::Engine(b.model, options).run({{"x", Tensor::from_values<float>({1, 1, 1, 2}, in)}});
  EXPECT_EQ(values(out[0]), (std::vector<float>{3.5f, -5.5f}));  // BN((2x + 1)) = (2x + 1 - 1) * 1.5 + 0.5
}

TEST(FoldBatchNorm, HandComputedOneColumnGemm) {
  Builder b;
  ir::Value* a = b.input("a", {1, 2});
  const float w[2] = {0.5f, -1.f}, c = 2.f;
  ir::Value* y = b.g->add_value("g_out");
  ir::Node* gemm = b.g->add_node("Gemm", {a, b.g->add_constant("w", Tensor::from_values<float>({2, 1}, w)),
                                          b.g->add_constant("c", Tensor::from_values<float>({1}, &c))},
                                 {y}, "Gemm");
  gemm->attrs.set("beta", 0.5f);
  b.g->add_output(hand_bn(b, y));
  const ir::Model original = b.model.clone();
  ASSERT_TRUE(FoldBatchNorm().run(b.model));
  expect_folded(original, b.model, "Gemm", "1-column gemm");
  const ir::Node* n = b.g->nodes()[0];
  EXPECT_EQ(values(*n->input(1)->constant), (std::vector<float>{0.75f, -1.5f}));
  EXPECT_EQ(values(*n->input(2)->constant), std::vector<float>{0.5f});  // (0.5 * 2 - 1) * 1.5 + 0.5
  EXPECT_EQ(n->attrs.get_float("beta"), 1.f);
  runtime::EngineOptions options;
  options.use_dnnl = false;
  const float in[2] = {1.f, 2.f};
  const auto out = runtime::Engine(b.model, options).run({{"a", Tensor::from_values<float>({1, 2}, in)}});
  EXPECT_EQ(values(out[0]), std::vector<float>{-1.75f});  // gemm: 0.5 - 2 + 0.5 * 2 = -0.5; BN: -1.5 * 1.5 + 0.5
}

TEST(FoldBatchNorm, FoldsIntoGemm) {
  for (int64_t trans_b : {0, 1}) {
    for (int c_kind : {0, 1, 2, 3}) {  // no C, C [N], C [1, N], scalar C
      Builder b;
      const int64_t k = 5, n = 4;
      ir::Value* a = b.input("a", {3, k});
      std::vector<ir::Value*> in = {a, b.constant("w", trans_b ? Shape{n, k} : Shape{k, n})};
      if (c_kind == 1) in.push_back(b.constant("c", {n}));
      if (c_kind == 2) in.push_back(b.constant("c", {1, n}));
      if (c_kind == 3) in.push_back(b.constant("c", {1}));
      ir::Value* y = b.g->add_value("g_out");
      ir::Node* gemm = b.g->add_node("Gemm", in, {y}, "Gemm");
      gemm->attrs.set("transB", trans_b);
      gemm->attrs.set("alpha", 0.7f);
      gemm->attrs.set("beta", 1.3f);
      b.g->add_output(b.bn("bn", y, n));
      const ir::Model original = b.model.clone();
      const std::string what = "transB " + std::to_string(trans_b) + " C kind " + std::to_string(c_kind);
      ASSERT_TRUE(FoldBatchNorm().run(b.model)) << what;
      expect_folded(original, b.model, "Gemm", what);
      EXPECT_EQ(b.g->nodes()[0]->attrs.get_int("transB"), trans_b) << what;
      EXPECT_EQ(b.g->nodes()[0]->attrs.get_float("alpha"), 0.7f) << what;
    }
  }
}

TEST(FoldBatchNorm, KeepsGemmWhoseBiasVariesAlongRows) {
  Builder b;
  ir::Value* y = b.g->add_value("g_out");
  b.g->add_node("Gemm", {b.input("a", {3, 5}), b.constant("w", {5, 4}), b.constant("c", {3, 4})}, {y}, "Gemm");
  b.g->add_output(b.bn("bn", y, 4));
  EXPECT_FALSE(FoldBatchNorm().run(b.model));
}

TEST(FoldBatchNorm, FoldsIntoConvTranspose) {
  for (bool bias : {false, true}) {
    for (int64_t group : {1, 2}) {
      Builder b;
      const int64_t c_in = 4, oc_per_group = 3, oc = group * oc_per_group;
      std::vector<ir::Value*> in = {b.input("x", {2, c_in, 4, 5}), b.constant("w", {c_in, oc_per_group, 3, 2})};
      if (bias) in.push_back(b.constant("c", {oc}));
      ir::Value* y = b.g->add_value("ct_out");
      ir::Node* ct = b.g->add_node("ConvTranspose", in, {y}, "ConvTranspose");
      ct->attrs.set("group", group);
      ct->attrs.set("strides", std::vector<int64_t>{2, 1});
      b.g->add_output(b.bn("bn", y, oc));
      const ir::Model original = b.model.clone();
      const std::string what = std::string(bias ? "bias" : "no bias") + " group " + std::to_string(group);
      ASSERT_TRUE(FoldBatchNorm().run(b.model)) << what;
      expect_folded(original, b.model, "ConvTranspose", what);
      EXPECT_EQ(b.g->nodes()[0]->attrs.get_int("group"), group) << what;
    }
  }
}

TEST(FoldBatchNorm, FoldsIntoConvStructureAndNumbers) {
  Builder b;
  ir::Value* y = b.g->add_value("conv_out");
  b.g->add_node("Conv", {b.input("x", {2, 3, 6, 6}), b.constant("w", {5, 3, 3, 3}), b.constant("c", {5})}, {y}, "Conv");
  b.g->add_output(b.bn("bn", y, 5));
  const ir::Model original = b.model.clone();
  ASSERT_TRUE(FoldBatchNorm().run(b.model));
  expect_folded(original, b.model, "Conv", "conv 3->5");
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
