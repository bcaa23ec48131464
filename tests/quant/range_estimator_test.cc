#include "quant/range_estimator.h"

#include <gtest/gtest.h>

#include <cmath>
#include <random>
#include <vector>

#include "qwac/error.h"

namespace qwac::quant {
namespace {

QuantizerSpec activation_spec(QuantMode mode, bool signedness_from_range = true) {
  QuantizerSpec s;
  s.mode = mode;
  s.signedness_from_range = mode == QuantMode::kSymmetric && signedness_from_range;
  s.is_signed = mode == QuantMode::kSymmetric;
  return s;
}

QuantizerSpec weight_spec(QuantMode mode, bool per_channel) {
  QuantizerSpec s;
  s.mode = mode;
  s.narrow_range = true;
  s.granularity = per_channel ? Granularity::kPerChannel : Granularity::kPerTensor;
  s.axis = per_channel ? 0 : -1;
  return s;
}

// Statistics over samples given as rows (all the same length), collected as one batch.
TensorStatistics collect(const std::vector<std::vector<float>>& samples, const RangeEstimatorConfig& cfg,
                         const QuantizerSpec& spec) {
  TensorStatistics st("act", needs_for(cfg, spec));
  std::vector<float> flat;
  for (const auto& s : samples) flat.insert(flat.end(), s.begin(), s.end());
  const Tensor t = Tensor::from_values<float>(
      {static_cast<int64_t>(samples.size()), static_cast<int64_t>(samples[0].size())}, flat.data());
  st.update({&t});
  return st;
}

RangeEstimatorConfig parse(const std::string& text, QuantizerKind kind, const QuantizerSpec& spec) {
  return parse_range_estimator(nlohmann::json::parse(text), "re", kind, spec);
}

TEST(RangeEstimator, PotDefaults) {
  const auto w_sym = default_range_estimator(QuantizerKind::kWeight, weight_spec(QuantMode::kSymmetric, true));
  EXPECT_EQ(w_sym.max.type, RangeType::kAbsMax);
  const auto w_asym = default_range_estimator(QuantizerKind::kWeight, weight_spec(QuantMode::kAsymmetric, true));
  EXPECT_EQ(w_asym.min.type, RangeType::kMin);
  EXPECT_EQ(w_asym.max.type, RangeType::kMax);
  const auto a_sym = default_range_estimator(QuantizerKind::kActivation, activation_spec(QuantMode::kSymmetric));
  EXPECT_EQ(a_sym.min, (RangeSide{RangeType::kMin, Aggregator::kMin, 1e-4}));
  EXPECT_EQ(a_sym.max, (RangeSide{RangeType::kAbsMax, Aggregator::kMean, 1e-4}));
  const auto a_asym = default_range_estimator(QuantizerKind::kActivation, activation_spec(QuantMode::kAsymmetric));
  EXPECT_EQ(a_asym.min, (RangeSide{RangeType::kMin, Aggregator::kMean, 1e-4}));
  EXPECT_EQ(a_asym.max, (RangeSide{RangeType::kMax, Aggregator::kMean, 1e-4}));
  QuantizerSpec pc = activation_spec(QuantMode::kSymmetric);
  pc.granularity = Granularity::kPerChannel;
  pc.axis = 1;
  const auto a_pc = default_range_estimator(QuantizerKind::kActivation, pc);
  EXPECT_EQ(a_pc.min, (RangeSide{RangeType::kMin, Aggregator::kMin, 1e-4}));
  EXPECT_EQ(a_pc.max, (RangeSide{RangeType::kMax, Aggregator::kMax, 1e-4}));
  EXPECT_EQ(a_sym.search, RangeSearch::kNone);
}

TEST(RangeEstimator, SymmetricSignedDefaultIsMeanOfPerSampleAbsMax) {
  const auto spec = activation_spec(QuantMode::kSymmetric);
  const auto cfg = default_range_estimator(QuantizerKind::kActivation, spec);
  const auto st = collect({{-1, 2}, {-4, 3}}, cfg, spec);  // abs max 2, 4
  const Range r = estimate_activation_range(cfg, st, spec);
  EXPECT_EQ(r.min, std::vector<float>{-3.f});
  EXPECT_EQ(r.max, std::vector<float>{3.f});
  EXPECT_NE(r.method.find("min: global min; max: mean of per-sample abs max"), std::string::npos) << r.method;
  EXPECT_NE(r.method.find("signed"), std::string::npos) << r.method;
  // Estimate from per-sample min/max (uniform in between): sample 1 loses (4-3)/7 of its values.
  EXPECT_NEAR(r.clipping_ratio, 0.5 * (1.0 / 7.0), 1e-9);
}

TEST(RangeEstimator, SymmetricUnsignedWhenGlobalMinIsNonNegative) {
  const auto spec = activation_spec(QuantMode::kSymmetric);
  const auto cfg = default_range_estimator(QuantizerKind::kActivation, spec);
  const auto st = collect({{0, 2}, {1, 4}}, cfg, spec);
  const Range r = estimate_activation_range(cfg, st, spec);
  EXPECT_EQ(r.min, std::vector<float>{0.f});
  EXPECT_EQ(r.max, std::vector<float>{3.f});
  EXPECT_NE(r.method.find("unsigned"), std::string::npos) << r.method;
  // sample 1: uniform on [1, 4], 1/3 above 3; sample 0 inside
  EXPECT_NEAR(r.clipping_ratio, 0.5 * (1.0 / 3.0), 1e-9);
  // Without signedness_from_range the grid stays signed.
  const auto signed_spec = activation_spec(QuantMode::kSymmetric, false);
  const Range s = estimate_activation_range(cfg, st, signed_spec);
  EXPECT_EQ(s.min, std::vector<float>{-3.f});
}

TEST(RangeEstimator, AsymmetricDefaultIsMeanOfPerSampleMinAndMax) {
  const auto spec = activation_spec(QuantMode::kAsymmetric);
  const auto cfg = default_range_estimator(QuantizerKind::kActivation, spec);
  const auto st = collect({{-1, 2}, {-3, 4}}, cfg, spec);
  const Range r = estimate_activation_range(cfg, st, spec);
  EXPECT_EQ(r.min, std::vector<float>{-2.f});
  EXPECT_EQ(r.max, std::vector<float>{3.f});
  EXPECT_NE(r.method.find("min: mean of per-sample min; max: mean of per-sample max"), std::string::npos) << r.method;
}

TEST(RangeEstimator, Aggregators) {
  const auto spec = activation_spec(QuantMode::kAsymmetric);
  // per-sample max = 1, 2, 3, 4, 100; per-sample min = 0
  const std::vector<std::vector<float>> samples = {{0, 1}, {0, 2}, {0, 3}, {0, 4}, {0, 100}};
  const struct {
    const char* aggregator;
    float expected;
  } cases[] = {{"mean", 22.f},
               {"max", 100.f},
               {"min", 1.f},
               {"median", 3.f},
               // trimmed at [q(1e-4), q(1-1e-4)]: drops 1 and 100
               {"mean_no_outliers", 3.f},
               {"median_no_outliers", 3.f}};
  for (const auto& c : cases) {
    const auto cfg = parse(std::string(R"({"max": {"type": "max", "aggregator": ")") + c.aggregator + "\"}}",
                           QuantizerKind::kActivation, spec);
    const auto st = collect(samples, cfg, spec);
    const Range r = estimate_activation_range(cfg, st, spec);
    EXPECT_FLOAT_EQ(r.max[0], c.expected) << c.aggregator;
  }
  // Even count: median averages the middle two; no-outliers with 4 samples keeps the middle two.
  const auto cfg = parse(R"({"max": {"aggregator": "median"}})", QuantizerKind::kActivation, spec);
  const auto st = collect({{0, 1}, {0, 2}, {0, 4}, {0, 10}}, cfg, spec);
  EXPECT_FLOAT_EQ(estimate_activation_range(cfg, st, spec).max[0], 3.f);
  const auto cfg2 = parse(R"({"max": {"aggregator": "mean_no_outliers"}})", QuantizerKind::kActivation, spec);
  EXPECT_FLOAT_EQ(estimate_activation_range(cfg2, st, spec).max[0], 3.f);
}

TEST(RangeEstimator, QuantileTypesOnKnownData) {
  const auto spec = activation_spec(QuantMode::kAsymmetric);
  const auto cfg = parse(R"({"preset": "quantile", "min": {"outlier_prob": 0.01}, "max": {"outlier_prob": 0.01}})",
                         QuantizerKind::kActivation, spec);
  EXPECT_EQ(cfg.min.type, RangeType::kQuantile);
  EXPECT_EQ(cfg.max.type, RangeType::kQuantile);
  EXPECT_EQ(cfg.max.aggregator, Aggregator::kMean);
  std::vector<float> s0, s1;
  for (int i = 0; i <= 100; ++i) {
    s0.push_back(static_cast<float>(i));
    s1.push_back(2.f * static_cast<float>(i));
  }
  const auto st = collect({s0, s1}, cfg, spec);
  const Range r = estimate_activation_range(cfg, st, spec);
  EXPECT_FLOAT_EQ(r.min[0], 1.5f);    // mean of q(0.01) = 1 and 2
  EXPECT_FLOAT_EQ(r.max[0], 148.5f);  // mean of q(0.99) = 99 and 198
  EXPECT_NE(r.method.find("mean of per-sample quantile(0.99)"), std::string::npos) << r.method;
  // Symmetric quantile preset: abs quantile on the max side.
  const auto sym = activation_spec(QuantMode::kSymmetric);
  const auto qcfg = range_estimator_preset("quantile", "re", QuantizerKind::kActivation, sym);
  EXPECT_EQ(qcfg.max, (RangeSide{RangeType::kAbsQuantile, Aggregator::kMean, 1e-4}));
  EXPECT_EQ(needs_for(qcfg, sym).per_sample_quantiles, std::vector<double>{1e-4});
}

TEST(RangeEstimator, PerChannelActivationsUseGlobalChannelMinMax) {
  QuantizerSpec spec = activation_spec(QuantMode::kSymmetric);
  spec.granularity = Granularity::kPerChannel;
  spec.axis = 1;
  const auto cfg = default_range_estimator(QuantizerKind::kActivation, spec);
  const StatisticsNeeds needs = needs_for(cfg, spec);
  EXPECT_EQ(needs.channel_axis, 1);
  TensorStatistics st("dw", needs);
  const std::vector<float> v = {1, -2, 0.5f, 3, -0.25f, 1};  // [2, 3]
  const Tensor t = Tensor::from_values<float>({2, 3}, v.data());
  st.update({&t});
  const Range r = estimate_activation_range(cfg, st, spec);
  EXPECT_EQ(r.max, (std::vector<float>{3, 2, 1}));
  EXPECT_EQ(r.min, (std::vector<float>{-3, -2, -1}));
  EXPECT_EQ(r.clipping_ratio, 0.0);
  spec.mode = QuantMode::kAsymmetric;
  const Range a = estimate_activation_range(default_range_estimator(QuantizerKind::kActivation, spec), st, spec);
  EXPECT_EQ(a.min, (std::vector<float>{1, -2, 0.5f}));
  EXPECT_EQ(a.max, (std::vector<float>{3, -0.25f, 1}));
}

TEST(RangeEstimator, PerChannelAndPerTensorWeights) {
  const std::vector<float> v = {1, -3, 2, 0.5f, 0.25f, -0.125f};
  const Tensor w = Tensor::from_values<float>({2, 3}, v.data());
  auto spec = weight_spec(QuantMode::kSymmetric, true);
  Range r = estimate_weight_range(default_range_estimator(QuantizerKind::kWeight, spec), w, spec);
  EXPECT_EQ(r.min, (std::vector<float>{-3, -0.5f}));
  EXPECT_EQ(r.max, (std::vector<float>{3, 0.5f}));
  EXPECT_EQ(r.clipping_ratio, 0.0);
  EXPECT_NE(r.method.find("per-channel abs max"), std::string::npos) << r.method;
  spec = weight_spec(QuantMode::kAsymmetric, true);
  r = estimate_weight_range(default_range_estimator(QuantizerKind::kWeight, spec), w, spec);
  EXPECT_EQ(r.min, (std::vector<float>{-3, -0.125f}));
  EXPECT_EQ(r.max, (std::vector<float>{2, 0.5f}));
  spec = weight_spec(QuantMode::kSymmetric, false);
  r = estimate_weight_range(default_range_estimator(QuantizerKind::kWeight, spec), w, spec);
  EXPECT_EQ(r.max, std::vector<float>{3});
  // mse on weights falls back to abs max and says so
  r = estimate_weight_range(range_estimator_preset("mse", "re", QuantizerKind::kWeight, spec), w, spec);
  EXPECT_EQ(r.max, std::vector<float>{3});
  EXPECT_NE(r.method.find("weights use the default"), std::string::npos) << r.method;
}

TEST(RangeEstimator, WeightQuantileClippingIsExact) {
  std::vector<float> v;
  for (int i = 0; i <= 100; ++i) v.push_back(static_cast<float>(i));
  const Tensor w = Tensor::from_values<float>({101}, v.data());
  const auto spec = weight_spec(QuantMode::kAsymmetric, false);
  const auto cfg = parse(R"({"min": {"type": "quantile", "outlier_prob": 0.01},
                             "max": {"type": "quantile", "outlier_prob": 0.01}})",
                         QuantizerKind::kWeight, spec);
  const Range r = estimate_weight_range(cfg, w, spec);
  EXPECT_FLOAT_EQ(r.min[0], 1.f);
  EXPECT_FLOAT_EQ(r.max[0], 99.f);
  EXPECT_DOUBLE_EQ(r.clipping_ratio, 2.0 / 101.0);
  v[7] = NAN;
  const Tensor bad = Tensor::from_values<float>({101}, v.data());
  EXPECT_THROW(estimate_weight_range(cfg, bad, spec), DataError);
}

// Mean squared error of fake-quantizing `v` on the symmetric signed 8-bit grid with scale a/127.
double fake_quant_mse(const std::vector<float>& v, double a) {
  const double s = a / 127.0;
  double e = 0.0;
  for (float x : v) {
    const double q = std::clamp(std::nearbyint(x / s), -128.0, 127.0);
    e += (x - q * s) * (x - q * s);
  }
  return e / static_cast<double>(v.size());
}

// Samples of `dist` in 10 batches of 4 samples x 2500 values.
template <typename Dist>
TensorStatistics collect_random(Dist dist, const RangeEstimatorConfig& cfg, const QuantizerSpec& spec,
                                std::vector<float>& all) {
  std::mt19937 rng(42);
  TensorStatistics st("act", needs_for(cfg, spec));
  for (int b = 0; b < 10; ++b) {
    std::vector<float> v(10000);
    for (float& x : v) x = static_cast<float>(dist(rng));
    all.insert(all.end(), v.begin(), v.end());
    const Tensor t = Tensor::from_values<float>({4, 2500}, v.data());
    st.update({&t});
  }
  return st;
}

struct Laplace {
  std::exponential_distribution<double> e{1.0};
  std::bernoulli_distribution sign{0.5};
  double operator()(std::mt19937& rng) { return (sign(rng) ? 1.0 : -1.0) * e(rng); }
};

TEST(RangeEstimator, MseClipsHeavyTailsAndKeepsUniformMax) {
  const auto spec = activation_spec(QuantMode::kSymmetric);
  const auto cfg = parse(R"({"preset": "mse"})", QuantizerKind::kActivation, spec);
  EXPECT_TRUE(needs_for(cfg, spec).histogram);
  std::vector<float> laplace;
  const auto st = collect_random(Laplace{}, cfg, spec, laplace);
  const double amax = std::max(-st.global_min(), st.global_max());
  const Range r = estimate_activation_range(cfg, st, spec);
  EXPECT_LT(r.max[0], 0.97 * amax) << r.method;
  EXPECT_GT(r.max[0], 5.0) << r.method;  // the 8-bit optimum for Laplace(1) is near 10
  EXPECT_EQ(r.min[0], -r.max[0]);
  EXPECT_LT(fake_quant_mse(laplace, r.max[0]), fake_quant_mse(laplace, amax)) << r.method;
  EXPECT_GT(r.clipping_ratio, 0.0);
  EXPECT_NE(r.method.find("mse"), std::string::npos) << r.method;

  std::vector<float> uniform;
  const auto su = collect_random(std::uniform_real_distribution<double>(-1.0, 1.0), cfg, spec, uniform);
  const double umax = std::max(-su.global_min(), su.global_max());
  const Range u = estimate_activation_range(cfg, su, spec);
  EXPECT_FLOAT_EQ(u.max[0], static_cast<float>(umax)) << u.method;
  EXPECT_EQ(u.clipping_ratio, 0.0);

  // Asymmetric search on uniform data keeps [min, max] too; on one-sided Laplace it clips the max only.
  const auto aspec = activation_spec(QuantMode::kAsymmetric);
  const auto acfg = range_estimator_preset("mse", "re", QuantizerKind::kActivation, aspec);
  std::vector<float> au;
  const auto sau = collect_random(std::uniform_real_distribution<double>(-1.0, 3.0), acfg, aspec, au);
  const Range ar = estimate_activation_range(acfg, sau, aspec);
  EXPECT_FLOAT_EQ(ar.min[0], sau.global_min()) << ar.method;
  EXPECT_FLOAT_EQ(ar.max[0], sau.global_max()) << ar.method;
  std::vector<float> ae;
  const auto sae = collect_random(std::exponential_distribution<double>(1.0), acfg, aspec, ae);
  const Range er = estimate_activation_range(acfg, sae, aspec);
  EXPECT_EQ(er.min[0], 0.f) << er.method;
  EXPECT_LT(er.max[0], 0.97 * sae.global_max()) << er.method;
}

TEST(RangeEstimator, KlClipsHeavyTailsAndKeepsUniformMax) {
  const auto spec = activation_spec(QuantMode::kSymmetric);
  const auto cfg = range_estimator_preset("kl", "re", QuantizerKind::kActivation, spec);
  std::vector<float> laplace;
  const auto st = collect_random(Laplace{}, cfg, spec, laplace);
  const double amax = std::max(-st.global_min(), st.global_max());
  const Range r = estimate_activation_range(cfg, st, spec);
  EXPECT_LT(r.max[0], 0.9 * amax) << r.method;
  EXPECT_GT(r.max[0], 3.0) << r.method;
  EXPECT_NE(r.method.find("kl"), std::string::npos) << r.method;

  std::vector<float> uniform;
  const auto su = collect_random(std::uniform_real_distribution<double>(0.0, 1.0), cfg, spec, uniform);
  const Range u = estimate_activation_range(cfg, su, spec);
  EXPECT_EQ(u.min[0], 0.f) << u.method;  // unsigned grid
  EXPECT_GE(u.max[0], 0.95 * su.global_max()) << u.method;

  // Asymmetric: kl sets the max, the min stays the default (mean of per-sample min).
  const auto aspec = activation_spec(QuantMode::kAsymmetric);
  const auto acfg = range_estimator_preset("kl", "re", QuantizerKind::kActivation, aspec);
  std::vector<float> al;
  const auto sal = collect_random(Laplace{}, acfg, aspec, al);
  const Range ar = estimate_activation_range(acfg, sal, aspec);
  double mean_min = 0.0;
  for (float m : sal.sample_min()) mean_min += m;
  mean_min /= static_cast<double>(sal.sample_min().size());
  EXPECT_FLOAT_EQ(ar.min[0], static_cast<float>(mean_min)) << ar.method;
  EXPECT_LT(ar.max[0], 0.9 * sal.global_max()) << ar.method;
}

TEST(RangeEstimator, HistogramClippingRatio) {
  const auto spec = activation_spec(QuantMode::kAsymmetric);
  auto cfg = range_estimator_preset("mse", "re", QuantizerKind::kActivation, spec);
  std::vector<float> v;
  const auto st = collect_random(std::uniform_real_distribution<double>(-1.0, 1.0), cfg, spec, v);
  ASSERT_NE(st.histogram(), nullptr);
  EXPECT_NEAR(st.histogram()->fraction_outside(-0.5, 0.5), 0.5, 0.02);
}

TEST(RangeEstimator, ParseErrorsNameThePathAndAllowedValues) {
  const auto spec = activation_spec(QuantMode::kSymmetric);
  const std::string where = "compression.algorithms[0].params.activations.range_estimator";
  auto expect_error = [&](const std::string& text, const std::vector<std::string>& parts) {
    try {
      parse_range_estimator(nlohmann::json::parse(text), where, QuantizerKind::kActivation, spec);
      ADD_FAILURE() << "no error for " << text;
    } catch (const InvalidConfig& e) {
      for (const auto& p : parts) EXPECT_NE(std::string(e.what()).find(p), std::string::npos) << e.what();
    }
  };
  expect_error(R"({"max": {"typo": 1}})", {where + ".max.typo", "aggregator"});
  expect_error(R"({"presett": "mse"})", {where + ".presett"});
  expect_error(R"({"preset": "entropy"})", {where + ".preset", "\"default\"", "\"kl\""});
  expect_error(R"({"max": {"type": "min"}})", {where + ".max.type", "\"abs_quantile\""});
  expect_error(R"({"min": {"aggregator": "avg"}})", {where + ".min.aggregator", "\"median_no_outliers\""});
  expect_error(R"({"min": {"outlier_prob": 0.7}})", {where + ".min.outlier_prob", "0.7"});
  expect_error(R"({"min": {"outlier_prob": "small"}})", {where + ".min.outlier_prob"});
  expect_error(R"([1])", {where});
  // Unspecified fields keep the preset's values.
  const auto cfg =
      parse_range_estimator(nlohmann::json::parse(R"({"preset": "quantile", "max": {"aggregator": "max"}})"), where,
                            QuantizerKind::kActivation, spec);
  EXPECT_EQ(cfg.max, (RangeSide{RangeType::kAbsQuantile, Aggregator::kMax, 1e-4}));
  EXPECT_EQ(cfg.preset, "quantile");
  EXPECT_THROW(range_estimator_preset("nope", "x", QuantizerKind::kActivation, spec), InvalidConfig);
}

TEST(RangeEstimator, NoSamplesIsAnInternalError) {
  const auto spec = activation_spec(QuantMode::kSymmetric);
  const auto cfg = default_range_estimator(QuantizerKind::kActivation, spec);
  TensorStatistics st("empty", needs_for(cfg, spec));
  EXPECT_THROW(estimate_activation_range(cfg, st, spec), InternalError);
}

}  // namespace
}  // namespace qwac::quant

namespace qwac::quant {
namespace {

TEST(RangeEstimator, KlOn16BitGridsFallsBackToAbsMax) {
  // 32768 levels per side exceed the histogram's 1024 one-sided bins: nothing to clip at this resolution.
  QuantizerSpec spec = activation_spec(QuantMode::kSymmetric);
  spec.bits = 16;
  const auto cfg = range_estimator_preset("kl", "re", QuantizerKind::kActivation, spec);
  std::vector<float> v;
  const auto st = collect_random(Laplace{}, cfg, spec, v);
  const Range r = estimate_activation_range(cfg, st, spec);
  EXPECT_FLOAT_EQ(r.max[0], std::max(-st.global_min(), st.global_max())) << r.method;
  EXPECT_NE(r.method.find("fewer used bins"), std::string::npos) << r.method;
  EXPECT_EQ(r.clipping_ratio, 0.0);
}

TEST(RangeEstimator, StatisticsWithoutPerSampleValuesAreAnInternalError) {
  const auto spec = activation_spec(QuantMode::kSymmetric);
  const auto cfg = default_range_estimator(QuantizerKind::kActivation, spec);
  StatisticsNeeds needs;
  needs.per_sample = false;
  TensorStatistics st("x", needs);
  const std::vector<float> v = {1, 2};
  const Tensor t = Tensor::from_values<float>({1, 2}, v.data());
  st.update({&t});
  EXPECT_THROW(estimate_activation_range(cfg, st, spec), InternalError);
}

}  // namespace
}  // namespace qwac::quant
