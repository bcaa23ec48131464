// Bias correction: the fast variant's shift equals the hand-computed expected output change of a 1x1 Conv and of a
// Gemm; applying it moves the quantized model's mean output back onto the FP32 one.
#include <gtest/gtest.h>

#include <random>

#include "quant/bias_correction.h"
#include "quant/quant_params.h"
#include "test_util.h"

namespace qwac::quant {
namespace {

ir::Model one_op_model(const std::string& op, const Tensor& w, const Tensor& b, const Shape& x_shape,
                       const ir::Attributes& attrs = {}) {
  ir::Model m;
  m.ir_version = 8;
  m.opset_imports = {{"", 13}};
  m.graph = std::make_unique<ir::Graph>();
  ir::Graph& g = *m.graph;
  ir::Value* x = g.add_value("x");
  ir::SymbolicShape s;
  for (int64_t d : x_shape) s.push_back({d, ""});
  x->type = {DType::kFloat32, s};
  g.add_input(x);
  ir::Value* y = g.add_value("y");
  ir::Node* n = g.add_node(op, {x, g.add_constant("w", w), g.add_constant("b", b)}, {y}, "op");
  n->attrs = attrs;
  g.add_output(y);
  return m;
}

QuantizerSet weight_quantizer(const Tensor& w, int64_t axis) {
  QuantizerSet set;
  Quantizer q;
  q.id = 0;
  q.kind = QuantizerKind::kWeight;
  q.sources = {"w"};
  q.edges = {{"op", 1}};
  q.spec.granularity = Granularity::kPerChannel;
  q.spec.narrow_range = true;
  q.spec.axis = axis;
  const int64_t channels = w.dim(axis), per = w.numel() / channels;
  std::vector<float> lo(channels), hi(channels);
  for (int64_t c = 0; c < channels; ++c) {
    float m = 0;
    for (int64_t i = 0; i < per; ++i) {
      // Both layouts used here put the channel axis first or last; compute the abs max along `axis`.
      const int64_t idx = axis == 0 ? c * per + i : i * channels + c;
      m = std::max(m, std::fabs(w.data<float>()[idx]));
    }
    lo[c] = -m;
    hi[c] = m;
  }
  q.params = compute_quant_params(q.spec, lo, hi, "w");
  set.quantizers.push_back(q);
  return set;
}

TEST(FastBiasCorrection, OneByOneConvShiftIsWeightErrorTimesInputMean) {
  std::mt19937 rng(3);
  const Tensor w = testing::random_tensor({3, 4, 1, 1}, rng);
  const Tensor b = testing::random_tensor({3}, rng);
  const Tensor mean = testing::random_tensor({1, 4, 5, 5}, rng);
  ir::Model m = one_op_model("Conv", w, b, {1, 4, 5, 5});
  const QuantizerSet set = weight_quantizer(w, 0);
  const auto targets = bias_targets(m, set);
  ASSERT_EQ(targets.size(), 1u);
  EXPECT_EQ(targets[0].input, "x");
  auto logger = make_null_logger();
  const auto biases = fast_bias_correction(m, set, targets, {{"x", mean}}, false, *logger);
  ASSERT_EQ(biases.count("op"), 1u);
  const Tensor wq = fake_quantize_tensor(w, *set.at(0).params);
  for (int64_t c = 0; c < 3; ++c) {
    double expected = b.data<float>()[c];
    for (int64_t i = 0; i < 4; ++i) {
      double spatial = 0;
      for (int64_t p = 0; p < 25; ++p) spatial += mean.data<float>()[i * 25 + p];
      expected += (w.data<float>()[c * 4 + i] - wq.data<float>()[c * 4 + i]) * spatial / 25.0;
    }
    EXPECT_NEAR(biases.at("op").data<float>()[c], expected, 1e-6) << "channel " << c;
  }
}

TEST(FastBiasCorrection, GemmWithTransposedWeight) {
  std::mt19937 rng(4);
  const Tensor w = testing::random_tensor({5, 6}, rng);  // transB = 1: [N, K]
  const Tensor b = testing::random_tensor({5}, rng);
  const Tensor mean = testing::random_tensor({1, 6}, rng);
  ir::Attributes attrs;
  attrs.set("transB", int64_t{1});
  ir::Model m = one_op_model("Gemm", w, b, {1, 6}, attrs);
  const QuantizerSet set = weight_quantizer(w, 0);
  auto logger = make_null_logger();
  const auto biases = fast_bias_correction(m, set, bias_targets(m, set), {{"x", mean}}, true, *logger);
  const Tensor wq = fake_quantize_tensor(w, *set.at(0).params);
  for (int64_t n = 0; n < 5; ++n) {
    double expected = b.data<float>()[n];
    for (int64_t k = 0; k < 6; ++k) {
      expected += (w.data<float>()[n * 6 + k] - wq.data<float>()[n * 6 + k]) * mean.data<float>()[k];
    }
    EXPECT_NEAR(biases.at("op").data<float>()[n], expected, 1e-5) << "column " << n;
  }
}

TEST(FastBiasCorrection, WithBiasesAddsAMissingBiasInput) {
  std::mt19937 rng(5);
  ir::Model m = one_op_model("Conv", testing::random_tensor({2, 2, 1, 1}, rng), Tensor(DType::kFloat32, {2}),
                             {1, 2, 3, 3});
  // Drop the bias input to get Conv(X, W).
  ir::Node* conv = m.graph->find_node("op");
  ir::Graph& g = *m.graph;
  std::vector<ir::Value*> ins = {conv->input(0), conv->input(1)};
  ir::Value* out = conv->output(0);
  g.remove_node(conv);
  g.add_node("Conv", ins, {out}, "op");
  Tensor bias(DType::kFloat32, {2});
  bias.data<float>()[0] = 0.5f;
  bias.data<float>()[1] = -1.5f;
  const ir::Model fixed = with_biases(m, {{"op", bias}});
  const ir::Node* n = fixed.graph->find_node("op");
  ASSERT_EQ(n->num_inputs(), 3u);
  ASSERT_TRUE(n->input(2)->is_constant());
  EXPECT_EQ(n->input(2)->constant->data<float>()[1], -1.5f);
  fixed.graph->verify();
}

}  // namespace
}  // namespace qwac::quant
