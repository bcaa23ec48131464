// canonicalize on converter-made models: weights in Constant nodes, no intermediate shapes, old opsets. Structure
// (no BN, no Constant node, opset 13 or the documented fallback) and numbers (the canonical model computes what the
// original computes, at another batch too).
#include "quant/canonicalize.h"

#include <gtest/gtest.h>

#include <random>
#include <vector>

#include "model_builder.h"
#include "qwac/error.h"
#include "runtime/engine.h"
#include "test_util.h"

namespace qwac::quant {
namespace {

class CapturingLogger final : public Logger {
 public:
  void log(LogLevel level, std::string_view message) override {
    if (level == LogLevel::kWarning) warnings.emplace_back(message);
  }
  std::vector<std::string> warnings;
};

size_t count_op(const ir::Model& m, const std::string& op) {
  size_t n = 0;
  for (const ir::Node* node : m.graph->nodes()) n += node->op_type() == op;
  return n;
}

ir::Value* constant_node(testing::ModelBuilder& b, const std::string& name, const Tensor& value) {
  ir::Value* v = b.g->add_value(name);
  b.g->add_node("Constant", {}, {v}, name + "_const")->attrs.set("value", value);
  return v;
}

void expect_same_outputs(const ir::Model& original, const ir::Model& canonical, const Shape& x_shape) {
  runtime::EngineOptions options;
  options.num_threads = 1;
  runtime::Engine a(original, options, {{"x", x_shape}}), b(canonical, options, {{"x", x_shape}});
  std::mt19937 rng(4);
  const std::map<std::string, Tensor> inputs = {{"x", testing::random_tensor(x_shape, rng)}};
  const std::vector<Tensor> expected = a.run(inputs), actual = b.run(inputs);
  ASSERT_EQ(actual.size(), expected.size());
  for (size_t i = 0; i < expected.size(); ++i) {
    EXPECT_EQ(testing::compare_tensors(actual[i], expected[i], 1e-5, 1e-5), "") << "output " << i;
  }
}

// x[batch,2,6,6] -> Conv (Constant weights) -> BN (Constant parameters) -> Relu -> Softmax(axis 1, flattened
// rows at opset 9) -> y, with no declared intermediate shapes: the form of an opset-9 converter export.
ir::Model opset9_constant_weights_model() {
  testing::ModelBuilder b(21, 9);
  ir::Value* x = b.input("x", {1, 2, 6, 6});
  b.model.graph->inputs()[0]->type.shape->at(0) = ir::Dim{-1, "batch"};
  std::mt19937 rng(5);
  ir::Value* c = b.node("Conv",
                        {x, constant_node(b, "w", testing::random_tensor({4, 2, 3, 3}, rng)),
                         constant_node(b, "bias", testing::random_tensor({4}, rng))},
                        "conv");
  std::vector<ir::Value*> bn = {c};
  for (const char* p : {"gamma", "beta", "mean"}) bn.push_back(constant_node(b, p, testing::random_tensor({4}, rng)));
  bn.push_back(constant_node(b, "var", testing::random_tensor({4}, rng, 0.5f, 2.f)));
  ir::Value* n = b.node("BatchNormalization", bn, "bn");
  ir::Value* r = b.node("Relu", {n}, "relu");
  b.g->add_output(b.node("Softmax", {r}, "softmax"));
  return std::move(b.model);
}

TEST(Canonicalize, ConstantNodeWeightsFoldIntoInitializersThenBatchNormFoldsAndTheOpsetReaches13) {
  const ir::Model original = opset9_constant_weights_model();
  CapturingLogger logger;
  const CanonicalModel c = canonicalize(original, {{"x", {1, 2, 6, 6}}}, CanonicalizeOptions{}, logger);
  EXPECT_TRUE(c.per_channel_allowed);
  EXPECT_EQ(c.model.opset(""), 13);
  EXPECT_EQ(c.original_opset, 9);
  EXPECT_EQ(count_op(c.model, "Constant"), 0u);
  EXPECT_EQ(count_op(c.model, "BatchNormalization"), 0u) << "BN reads Constant-node parameters: fold them first";
  const ir::Node* conv = c.model.graph->find_node("conv");
  ASSERT_NE(conv, nullptr);
  EXPECT_TRUE(conv->input(1)->is_constant());
  EXPECT_TRUE(logger.warnings.empty());
  EXPECT_EQ(c.model.graph->inputs()[0]->type.shape->at(0).param, "batch") << "the batch stays symbolic";
  expect_same_outputs(original, c.model, {1, 2, 6, 6});
  expect_same_outputs(original, c.model, {3, 2, 6, 6});
}

// Dropout-12 whose ratio and training_mode come from Constant nodes: removed once the constants are folded.
TEST(Canonicalize, DropoutWithConstantNodeInputsIsRemoved) {
  testing::ModelBuilder b(31, 12);
  ir::Value* x = b.input("x", {1, 2, 4, 4});
  std::mt19937 rng(5);
  ir::Value* c = b.node("Conv", {x, constant_node(b, "w", testing::random_tensor({2, 2, 1, 1}, rng))}, "conv");
  const float ratio = 0.1f;
  const bool training = false;
  ir::Value* d = b.node("Dropout",
                        {c, constant_node(b, "ratio", Tensor::from_values<float>({}, &ratio)),
                         constant_node(b, "training", Tensor::from_values<bool>({}, &training))},
                        "dropout");
  b.g->add_output(b.node("Relu", {d}, "relu"));
  CapturingLogger logger;
  const CanonicalModel canonical = canonicalize(b.model, {{"x", {1, 2, 4, 4}}}, CanonicalizeOptions{}, logger);
  EXPECT_EQ(count_op(canonical.model, "Dropout"), 0u);
  EXPECT_EQ(count_op(canonical.model, "Constant"), 0u);
  expect_same_outputs(b.model, canonical.model, {1, 2, 4, 4});
}

// A Resize-10 that samples up along H and down along W: Resize-11's single nearest_mode cannot reproduce the
// legacy per-axis rounding, so the opset stays 10 and weights fall back to per-tensor, with a warning naming it.
TEST(Canonicalize, NodeThatCannotReach13FallsBackToPerTensorWeightsNamingIt) {
  testing::ModelBuilder b(23, 10);
  ir::Value* x = b.input("x", {1, 2, 4, 6});
  std::mt19937 rng(5);
  ir::Value* c = b.node("Conv", {x, b.g->add_constant("w", testing::random_tensor({2, 2, 1, 1}, rng))}, "conv");
  const float scales[4] = {1, 1, 2, 0.5f};
  ir::Value* y = b.node("Resize", {c, b.g->add_constant("scales", Tensor::from_values<float>({4}, scales))}, "resize");
  b.g->add_output(y);
  CapturingLogger logger;
  const CanonicalModel canonical = canonicalize(b.model, {{"x", {1, 2, 4, 6}}}, CanonicalizeOptions{}, logger);
  EXPECT_FALSE(canonical.per_channel_allowed);
  EXPECT_EQ(canonical.model.opset(""), 10);
  ASSERT_EQ(logger.warnings.size(), 1u);
  EXPECT_NE(logger.warnings[0].find("Resize 'resize'"), std::string::npos) << logger.warnings[0];
  EXPECT_NE(logger.warnings[0].find("per-tensor"), std::string::npos) << logger.warnings[0];
  expect_same_outputs(b.model, canonical.model, {1, 2, 4, 6});
}

// Below opset 10 there is no QuantizeLinear at all: a node that cannot reach opset 10 makes the model unusable.
TEST(Canonicalize, ModelThatCannotReachOpset10IsRefusedNamingTheNode) {
  testing::ModelBuilder b(29, 8);
  ir::Value* x = b.input("x", {1, 3, 2, 2});
  std::mt19937 rng(3);
  std::vector<ir::Value*> bn = {x};
  for (const char* p : {"scale", "bias", "mean", "var"}) {
    bn.push_back(b.g->add_constant(p, testing::random_tensor({3, 2, 2}, rng, 0.5f, 1.f)));
  }
  ir::Value* y = b.node("BatchNormalization", bn, "bn_per_activation");
  b.g->find_node("bn_per_activation")->attrs.set("spatial", int64_t{0});
  b.g->add_output(y);
  CapturingLogger logger;
  try {
    canonicalize(b.model, {{"x", {1, 3, 2, 2}}}, CanonicalizeOptions{}, logger);
    FAIL() << "expected InvalidModel";
  } catch (const InvalidModel& e) {
    EXPECT_NE(std::string(e.what()).find("BatchNormalization 'bn_per_activation'"), std::string::npos) << e.what();
  }
}

}  // namespace
}  // namespace qwac::quant
