// SmoothQuant (quant/smooth_quant.h) on a pre-norm block built in code: which MatMul inputs it smooths and which it
// leaves (with the reason), that the rewrite keeps the float function and scales exactly as the formula says, and
// that it lowers the int8 error when one channel carries outliers.
#include <gtest/gtest.h>

#include <cmath>
#include <cstdio>
#include <random>

#include "data/random_dataset.h"
#include "model_builder.h"
#include "qwac/error.h"
#include "quant/quantize.h"
#include "quant/smooth_quant.h"
#include "runtime/engine.h"
#include "test_util.h"

namespace qwac {
namespace {

constexpr int64_t kTokens = 5, kDim = 8, kOutlier = 3;

Tensor constant_vector(std::vector<float> v) {
  Tensor t(DType::kFloat32, {static_cast<int64_t>(v.size())});
  std::copy(v.begin(), v.end(), t.data<float>());
  return t;
}

// x [N, 5, 8] -> Mul(gamma) -> Add(beta) = h (the tail of a written-out LayerNorm; gamma puts outliers on channel 3)
// -> MatMul fc_a [8, 8] and MatMul fc_b [8, 6]; x also feeds MatMul raw [8, 4] directly (a graph input: nothing to
// fold into); Relu(x) = r feeds MatMul rr and a second Relu (r has another consumer).
ir::Model pre_norm_block() {
  testing::ModelBuilder b(11, 14);
  ir::Graph& g = *b.g;
  ir::Value* x = b.input("x", {1, kTokens, kDim});
  x->type.shape->front() = {-1, "N"};
  std::vector<float> gamma(kDim, 1.f), beta(kDim);
  gamma[kOutlier] = 25.f;
  for (int64_t j = 0; j < kDim; ++j) beta[j] = 0.05f * static_cast<float>(j);
  ir::Value* scaled = b.node("Mul", {x, g.add_constant("gamma", constant_vector(gamma))}, "ln_scale");
  ir::Value* h = b.node("Add", {scaled, g.add_constant("beta", constant_vector(beta))}, "ln_bias");
  auto matmul = [&](ir::Value* in, const std::string& name, int64_t n) {
    ir::Value* y = b.node("MatMul", {in, g.add_constant(name + "_w", testing::random_tensor({kDim, n}, b.rng, -0.5f, 0.5f))},
                          name);
    g.add_output(y);
    return y;
  };
  matmul(h, "fc_a", kDim);
  matmul(h, "fc_b", 6);
  matmul(x, "raw", 4);
  ir::Value* r = b.node("Relu", {x}, "relu");
  matmul(r, "rr", 4);
  g.add_output(b.node("Relu", {r}, "relu2"));
  // The types shape inference would give (plan_smooth_quant reads the activation's last axis).
  for (ir::Value* v : {scaled, h, r}) v->type = {DType::kFloat32, ir::SymbolicShape{{1, ""}, {kTokens, ""}, {kDim, ""}}};
  return std::move(b.model);
}

data::RandomDataset samples(int64_t count) {
  return data::RandomDataset({{"x", {1, kTokens, kDim}, DType::kFloat32, -1.0, 1.0}}, count, 7);
}

std::vector<Tensor> run(const ir::Model& m, const Tensor& x) {
  runtime::Engine e(m, {}, {{"x", x.shape()}});
  return e.run({{"x", x}});
}

TEST(SmoothQuant, PlansOnlyInputsWithAFoldPointAndSaysWhyNot) {
  const quant::SmoothQuantPlan plan = quant::plan_smooth_quant(pre_norm_block());
  ASSERT_EQ(plan.targets.size(), 1u);
  EXPECT_EQ(plan.targets[0].activation, "ln_bias_out");
  EXPECT_EQ(plan.targets[0].nodes, (std::vector<std::string>{"fc_a", "fc_b"}));
  EXPECT_EQ(plan.targets[0].channels, kDim);
  std::map<std::string, std::string> skipped;
  for (const quant::SmoothQuantSkip& s : plan.skipped) skipped[s.node] = s.reason;
  ASSERT_EQ(skipped.size(), 2u);
  EXPECT_EQ(skipped["raw"], "the activation is a graph input");
  EXPECT_NE(skipped["rr"].find("also feeds relu2"), std::string::npos) << skipped["rr"];
}

TEST(SmoothQuant, KeepsTheFloatFunctionAndScalesByTheFormula) {
  const ir::Model model = pre_norm_block();
  ir::Model smoothed = model.clone();
  const data::RandomDataset data = samples(16);
  const double alpha = 0.5;
  const nlohmann::json report = quant::smooth_quant(smoothed, data, {{"x", {1, kTokens, kDim}}}, alpha, {});
  ASSERT_EQ(report["smoothed"].size(), 1u) << report.dump();
  EXPECT_EQ(report["smoothed"][0]["folded_into"], "ln_bias");

  // The scale of the outlier channel, from the statistics and weights computed here independently.
  float amax = 0;
  for (int64_t i = 0; i < data.size(); ++i) {
    const Tensor x = data.get(i).inputs.at("x");
    for (int64_t t = 0; t < kTokens; ++t) {
      amax = std::max(amax, std::fabs(x.data<float>()[t * kDim + kOutlier] * 25.f + 0.05f * kOutlier));
    }
  }
  const Tensor& wa = *model.graph->find_node("fc_a")->input(1)->constant;
  const Tensor& wb = *model.graph->find_node("fc_b")->input(1)->constant;
  float wmax = 0;
  for (int64_t c = 0; c < 8; ++c) wmax = std::max(wmax, std::fabs(wa.data<float>()[kOutlier * 8 + c]));
  for (int64_t c = 0; c < 6; ++c) wmax = std::max(wmax, std::fabs(wb.data<float>()[kOutlier * 6 + c]));
  const float s = std::sqrt(amax) / std::sqrt(wmax);
  const Tensor& wa2 = *smoothed.graph->find_node("fc_a")->input(1)->constant;
  for (int64_t c = 0; c < 8; ++c) {
    EXPECT_NEAR(wa2.data<float>()[kOutlier * 8 + c], wa.data<float>()[kOutlier * 8 + c] * s, 1e-4f * s) << c;
  }
  const Tensor& gamma2 = *smoothed.graph->find_node("ln_scale")->input(1)->constant;
  EXPECT_NEAR(gamma2.data<float>()[kOutlier], 25.f / s, 1e-4f);
  // The untouched MatMuls keep their weights.
  EXPECT_EQ(smoothed.graph->find_node("raw")->input(1)->name(), "raw_w");

  // Same function in float.
  for (int64_t i = 0; i < 4; ++i) {
    const Tensor x = data.get(i).inputs.at("x");
    const std::vector<Tensor> a = run(model, x), b = run(smoothed, x);
    ASSERT_EQ(a.size(), b.size());
    for (size_t o = 0; o < a.size(); ++o) {
      for (int64_t k = 0; k < a[o].numel(); ++k) {
        EXPECT_NEAR(a[o].data<float>()[k], b[o].data<float>()[k], 1e-4f * (1 + std::fabs(a[o].data<float>()[k])));
      }
    }
  }
}

// Relative squared error of fc_a's and fc_b's int8 outputs against FP32 on held-out samples.
double int8_error(const ir::Model& model, const ir::Model& q, const data::RandomDataset& data) {
  double err = 0, ref = 0;
  for (int64_t i = 32; i < 48; ++i) {
    const Tensor x = data.get(i).inputs.at("x");
    const std::vector<Tensor> a = run(model, x), b = run(q, x);
    for (size_t o = 0; o < 2; ++o) {
      for (int64_t k = 0; k < a[o].numel(); ++k) {
        err += std::pow(a[o].data<float>()[k] - b[o].data<float>()[k], 2);
        ref += std::pow(a[o].data<float>()[k], 2);
      }
    }
  }
  return err / ref;
}

TEST(SmoothQuant, LowersTheInt8ErrorOfAnOutlierChannelAndIsReported) {
  const ir::Model model = pre_norm_block();
  const data::RandomDataset data = samples(48);
  QuantizationConfig params;
  params.stat_subset_size = 32;
  params.bias_correction = "none";
  params.smooth_quant_alpha = -1;  // off
  const QuantizeOutput plain = quantize(model, data, params);
  EXPECT_FALSE(plain.report.contains("smooth_quant"));
  params.smooth_quant_alpha = 0.5;
  const QuantizeOutput smoothed = quantize(model, data, params);
  ASSERT_TRUE(smoothed.report.contains("smooth_quant"));
  EXPECT_EQ(smoothed.report["smooth_quant"]["alpha"], 0.5);
  EXPECT_EQ(smoothed.report["smooth_quant"]["smoothed"].size(), 1u);
  const double e_plain = int8_error(model, *plain.model, data);
  const double e_smooth = int8_error(model, *smoothed.model, data);
  std::printf("[ smoothquant ] relative squared int8 error: plain %.3g, smoothed (alpha 0.5) %.3g\n", e_plain, e_smooth);
  EXPECT_LT(e_smooth, 0.5 * e_plain) << "plain " << e_plain << ", smoothed " << e_smooth;
  EXPECT_GT(e_smooth, 0.0);
}

TEST(SmoothQuant, AlphaAboveOneIsAnInvalidConfig) {
  QuantizationConfig params;
  params.smooth_quant_alpha = 1.5;
  EXPECT_THROW(quantize(pre_norm_block(), samples(4), params), InvalidConfig);
}

}  // namespace
}  // namespace qwac
