#include "quant/statistics/tensor_statistics.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <limits>
#include <random>
#include <vector>

#include "qwac/error.h"

namespace qwac::quant {
namespace {

Tensor make(const Shape& shape, const std::vector<float>& values) {
  return Tensor::from_values(shape, values.data());
}

// numpy 'linear' quantile by full sort: the reference for the nth_element implementation.
float reference_quantile(std::vector<float> v, double q) {
  std::sort(v.begin(), v.end());
  const double pos = q * static_cast<double>(v.size() - 1);
  const size_t k = static_cast<size_t>(std::floor(pos));
  if (k + 1 >= v.size()) return v[k];
  return static_cast<float>(v[k] + (pos - static_cast<double>(k)) * (static_cast<double>(v[k + 1]) - v[k]));
}

TEST(TensorStatistics, PerSampleMinMaxAbsMaxAcrossBatches) {
  TensorStatistics st("conv1 input", StatisticsNeeds{});
  const Tensor a = make({2, 3}, {1, -2, 3, 0.5f, 0.25f, 4});
  const Tensor b = make({1, 3}, {-5, 1, 2});
  st.update({&a});
  st.update({&b});
  EXPECT_EQ(st.num_samples(), 3);
  EXPECT_EQ(st.num_values(), 9);
  EXPECT_EQ(st.sample_min(), (std::vector<float>{-2, 0.25f, -5}));
  EXPECT_EQ(st.sample_max(), (std::vector<float>{3, 4, 2}));
  EXPECT_EQ(st.sample_abs_max(), (std::vector<float>{3, 4, 5}));
  EXPECT_EQ(st.global_min(), -5.f);
  EXPECT_EQ(st.global_max(), 4.f);
  EXPECT_EQ(st.histogram(), nullptr);
  EXPECT_TRUE(st.channel_min().empty());
}

TEST(TensorStatistics, UnifiedSourcesShareEachSamplesStatistics) {
  StatisticsNeeds needs;
  needs.per_sample_quantiles = {0.25};
  TensorStatistics st("concat", needs);
  const Tensor a = make({2, 2}, {1, 2, 3, 4});
  const Tensor b = make({2, 1, 3}, {-1, 0, 5, 6, -7, 0});
  st.update({&a, &b});
  // sample 0 = {1, 2, -1, 0, 5}, sample 1 = {3, 4, 6, -7, 0}
  EXPECT_EQ(st.sample_min(), (std::vector<float>{-1, -7}));
  EXPECT_EQ(st.sample_max(), (std::vector<float>{5, 6}));
  EXPECT_EQ(st.sample_abs_max(), (std::vector<float>{5, 7}));
  // q(0.25) at position 1 of the sorted 5 values; q(0.75) at position 3
  EXPECT_EQ(st.sample_quantile_low(0.25), (std::vector<float>{0, 0}));
  EXPECT_EQ(st.sample_quantile_high(0.25), (std::vector<float>{2, 4}));
  // |sample 0| = {1, 2, 1, 0, 5} -> q(0.75) = 2; |sample 1| = {3, 4, 6, 7, 0} -> 6
  EXPECT_EQ(st.sample_abs_quantile(0.25), (std::vector<float>{2, 6}));
  EXPECT_EQ(st.num_values(), 10);
}

TEST(TensorStatistics, QuantilesOnKnownDataUseLinearInterpolation) {
  StatisticsNeeds needs;
  needs.per_sample_quantiles = {0.01, 0.005, 0.015};
  TensorStatistics st("x", needs);
  std::vector<float> v;
  for (int i = -50; i <= 50; ++i) v.push_back(static_cast<float>(i));  // 101 values
  std::shuffle(v.begin(), v.end(), std::mt19937(1));
  const Tensor t = make({1, 101}, v);
  st.update({&t});
  EXPECT_FLOAT_EQ(st.sample_quantile_low(0.01)[0], -49.f);    // position 1
  EXPECT_FLOAT_EQ(st.sample_quantile_high(0.01)[0], 49.f);    // position 99
  EXPECT_FLOAT_EQ(st.sample_quantile_low(0.005)[0], -49.5f);  // position 0.5
  // sorted |x| = 0, 1, 1, 2, 2, ..., 50, 50: position 99 -> 50, position 98.5 -> 49.5
  EXPECT_FLOAT_EQ(st.sample_abs_quantile(0.01)[0], 50.f);
  EXPECT_FLOAT_EQ(st.sample_abs_quantile(0.015)[0], 49.5f);
  EXPECT_THROW(st.sample_quantile_low(0.2), InternalError);
}

TEST(TensorStatistics, QuantilesMatchFullSortOnRandomBatches) {
  StatisticsNeeds needs;
  needs.per_sample_quantiles = {1e-4, 0.01};
  TensorStatistics st("x", needs);
  std::mt19937 rng(11);
  std::normal_distribution<float> g(0.5f, 3.f);
  const int64_t batch = 6, per = 4096;
  std::vector<float> v(static_cast<size_t>(batch * per));
  for (float& x : v) x = g(rng);
  const Tensor t = make({batch, 4, 32, 32}, v);
  st.update({&t});
  for (int64_t b = 0; b < batch; ++b) {
    std::vector<float> s(v.begin() + b * per, v.begin() + (b + 1) * per), a = s;
    for (float& x : a) x = std::fabs(x);
    for (double p : needs.per_sample_quantiles) {
      EXPECT_FLOAT_EQ(st.sample_quantile_low(p)[static_cast<size_t>(b)], reference_quantile(s, p)) << b << " " << p;
      EXPECT_FLOAT_EQ(st.sample_quantile_high(p)[static_cast<size_t>(b)], reference_quantile(s, 1 - p))
          << b << " " << p;
      EXPECT_FLOAT_EQ(st.sample_abs_quantile(p)[static_cast<size_t>(b)], reference_quantile(a, 1 - p)) << b << " " << p;
    }
    EXPECT_EQ(st.sample_min()[static_cast<size_t>(b)], *std::min_element(s.begin(), s.end()));
    EXPECT_EQ(st.sample_max()[static_cast<size_t>(b)], *std::max_element(s.begin(), s.end()));
  }
}

TEST(TensorStatistics, LargeSingleSampleMinMaxMatchesSerial) {
  TensorStatistics st("big", StatisticsNeeds{});
  std::mt19937 rng(5);
  std::uniform_real_distribution<float> u(-3.f, 2.f);
  std::vector<float> v(1 << 20);
  for (float& x : v) x = u(rng);
  v[123457] = -9.f;
  v[999999] = 8.5f;
  const Tensor t = make({1, 1 << 20}, v);
  st.update({&t});
  EXPECT_EQ(st.sample_min()[0], -9.f);
  EXPECT_EQ(st.sample_max()[0], 8.5f);
}

// collect_statistics updates every collector of a batch inside one parallel region, where the collectors run
// their serial kernels; outside one they split large tensors over threads. Both must give the same statistics,
// bit for bit (seeded random batches of 4 x 40,000 values, ReLU-like zeros, two unified sources).
TEST(TensorStatistics, UpdatesInsideAParallelRegionEqualUpdatesOutside) {
  std::mt19937 rng(77);
  std::normal_distribution<float> normal(0.5f, 2.f);
  for (const bool per_channel : {false, true}) {
    StatisticsNeeds needs;
    if (per_channel) {
      needs.per_sample = false;
      needs.channel_axis = 1;
    } else {
      needs.histogram = true;
      needs.per_sample_quantiles = {1e-4};
    }
    TensorStatistics outside("outside", needs), inside("inside", needs);
    for (int batch = 0; batch < 3; ++batch) {
      std::vector<float> a(4 * 40000), b(4 * 8 * 100);
      for (float& x : a) x = std::max(0.f, normal(rng)) * (batch + 1);
      for (float& x : b) x = normal(rng);
      const Tensor ta = make({4, 8, 5000}, a), tb = make({4, 8, 100}, b);
      outside.update({&ta, &tb});
#pragma omp parallel num_threads(2)
      {
#pragma omp single
        inside.update({&ta, &tb});
      }
    }
    EXPECT_EQ(inside.global_min(), outside.global_min());
    EXPECT_EQ(inside.global_max(), outside.global_max());
    EXPECT_EQ(inside.channel_min(), outside.channel_min());
    EXPECT_EQ(inside.channel_max(), outside.channel_max());
    EXPECT_EQ(inside.sample_min(), outside.sample_min());
    EXPECT_EQ(inside.sample_max(), outside.sample_max());
    EXPECT_EQ(inside.sample_abs_max(), outside.sample_abs_max());
    if (!per_channel) {
      EXPECT_EQ(inside.sample_quantile_low(1e-4), outside.sample_quantile_low(1e-4));
      EXPECT_EQ(inside.sample_quantile_high(1e-4), outside.sample_quantile_high(1e-4));
      EXPECT_EQ(inside.sample_abs_quantile(1e-4), outside.sample_abs_quantile(1e-4));
      ASSERT_NE(inside.histogram(), nullptr);
      EXPECT_EQ(inside.histogram()->range(), outside.histogram()->range());
      EXPECT_EQ(inside.histogram()->bins(), outside.histogram()->bins());
      EXPECT_EQ(inside.histogram()->count(), 3 * (4 * 40000 + 4 * 8 * 100));
    }
  }
}

TEST(TensorStatistics, PerChannelMinMaxBothLayouts) {
  StatisticsNeeds needs;
  needs.per_sample = false;
  needs.channel_axis = 1;
  TensorStatistics st("conv", needs);
  // [2, 3, 2]: channel c of sample b = values[(b*3 + c)*2 .. +2]
  const Tensor a = make({2, 3, 2}, {1, 2, -3, 4, 5, 6, 0, -1, 7, 8, -9, 10});
  st.update({&a});
  EXPECT_EQ(st.channel_min(), (std::vector<float>{-1, -3, -9}));
  EXPECT_EQ(st.channel_max(), (std::vector<float>{2, 8, 10}));
  EXPECT_EQ(st.global_min(), -9.f);
  EXPECT_EQ(st.global_max(), 10.f);
  EXPECT_TRUE(st.sample_min().empty());

  TensorStatistics fc("fc", needs);  // [rows, C]: inner == 1
  const Tensor r = make({4, 3}, {1, 2, 3, -1, 5, 0, 4, -2, 9, 0, 0, -8});
  const Tensor r2 = make({4, 3}, {-6, 7, 1, 0, 0, 0, 0, 0, 0, 0, 0, 0});  // second source: same channels
  fc.update({&r, &r2});
  EXPECT_EQ(fc.channel_min(), (std::vector<float>{-6, -2, -8}));
  EXPECT_EQ(fc.channel_max(), (std::vector<float>{4, 7, 9}));
  const Tensor wrong = make({1, 2}, {1, 2});
  EXPECT_THROW(fc.update({&wrong}), InternalError);
}

TEST(TensorStatistics, HistogramOnlyWhenAsked) {
  StatisticsNeeds needs;
  needs.histogram = true;
  TensorStatistics st("h", needs);
  const Tensor a = make({2, 2}, {1, -2, 3, 0});
  const Tensor b = make({2, 1}, {0.5f, 0.25f});
  st.update({&a, &b});
  ASSERT_NE(st.histogram(), nullptr);
  EXPECT_EQ(st.histogram()->count(), 6);
  EXPECT_EQ(st.histogram()->range(), 4.f);
}

TEST(TensorStatistics, NonFiniteValuesAreDataErrorsNamingThePoint) {
  for (bool per_channel : {false, true}) {
    for (float bad : {std::numeric_limits<float>::quiet_NaN(), std::numeric_limits<float>::infinity(),
                      -std::numeric_limits<float>::infinity()}) {
      StatisticsNeeds needs;
      if (per_channel) {
        needs.per_sample = false;
        needs.channel_axis = 1;
      }
      TensorStatistics st("Relu_3 output", needs);
      const Tensor t = make({2, 2}, {1, 2, bad, 4});
      try {
        st.update({&t});
        ADD_FAILURE() << "no error for " << bad << " per_channel " << per_channel;
      } catch (const DataError& e) {
        const std::string msg = e.what();
        EXPECT_NE(msg.find("Relu_3 output"), std::string::npos) << msg;
        EXPECT_NE(msg.find("non-finite"), std::string::npos) << msg;
        EXPECT_NE(msg.find("calibration data or the model"), std::string::npos) << msg;
      }
    }
  }
}

TEST(TensorStatistics, RejectsMismatchedSources) {
  TensorStatistics st("x", StatisticsNeeds{});
  const Tensor a = make({2, 2}, {1, 2, 3, 4});
  const Tensor b = make({3, 1}, {1, 2, 3});
  EXPECT_THROW(st.update({&a, &b}), InternalError);
  EXPECT_THROW(st.update({}), InternalError);
  Tensor ints(DType::kInt32, {2, 2});
  EXPECT_THROW(st.update({&ints}), InternalError);
}

}  // namespace
}  // namespace qwac::quant
