#include "quant/statistics/histogram.h"

#include <gtest/gtest.h>

#include <cmath>
#include <random>
#include <vector>

#include "qwac/error.h"

namespace qwac::quant {
namespace {

// Direct binning with the final range, as the doubling must reproduce it exactly.
std::vector<int64_t> direct_bins(const std::vector<float>& values, float range, int num_bins) {
  std::vector<int64_t> bins(static_cast<size_t>(num_bins), 0);
  for (float x : values) {
    int b = static_cast<int>(std::floor((static_cast<double>(x) + range) * num_bins / (2.0 * range)));
    bins[static_cast<size_t>(std::clamp(b, 0, num_bins - 1))]++;
  }
  return bins;
}

TEST(Histogram, InitialRangeIsNextPowerOfTwoAndDoublingMergesPairs) {
  Histogram h(8);
  const float first[] = {0.3f, -0.2f};
  h.add(first, 2);
  EXPECT_EQ(h.range(), 0.5f);
  // w = 0.125: 0.3 -> bin 6, -0.2 -> bin 2
  EXPECT_EQ(h.bins(), (std::vector<int64_t>{0, 0, 1, 0, 0, 0, 1, 0}));
  const float second[] = {1.5f};
  h.add(second, 1);  // doubles twice: R = 2, w = 0.5
  EXPECT_EQ(h.range(), 2.f);
  EXPECT_EQ(h.bins(), (std::vector<int64_t>{0, 0, 0, 1, 1, 0, 0, 1}));
  EXPECT_EQ(h.count(), 3);
}

TEST(Histogram, ZerosBeforeAnyNonZeroValueKeepTheirBin) {
  Histogram h(16);
  const float zeros[] = {0.f, 0.f, 0.f};
  h.add(zeros, 3);
  EXPECT_EQ(h.range(), 0.f);
  EXPECT_EQ(h.count(), 3);
  EXPECT_EQ(h.quantile(0.5), 0.0);
  EXPECT_EQ(h.fraction_outside(-1.0, 1.0), 0.0);
  EXPECT_EQ(h.fraction_outside(0.5, 1.0), 1.0);
  const float one[] = {1.f};
  h.add(one, 1);
  EXPECT_EQ(h.range(), 1.f);
  EXPECT_EQ(h.bins()[8], 3);   // [0, 0.125)
  EXPECT_EQ(h.bins()[15], 1);  // x == R goes to the last bin
}

TEST(Histogram, GrowingBatchesMatchDirectBinningExactly) {
  std::mt19937 rng(7);
  for (int num_bins : {16, 64, 2048}) {
    Histogram h(num_bins);
    std::vector<float> all(100, 0.f);
    h.add(all.data(), static_cast<int64_t>(all.size()));
    for (float scale : {0.1f, 1.f, 0.5f, 37.f, 1000.f}) {
      std::uniform_real_distribution<float> u(-scale, scale);
      std::vector<float> batch(1000);
      for (float& x : batch) x = u(rng);
      h.add(batch.data(), static_cast<int64_t>(batch.size()));
      all.insert(all.end(), batch.begin(), batch.end());
    }
    EXPECT_EQ(h.count(), static_cast<int64_t>(all.size()));
    EXPECT_EQ(h.bins(), direct_bins(all, h.range(), num_bins)) << "num_bins " << num_bins;
  }
}

TEST(Histogram, ParallelBinningEqualsSerial) {
  std::mt19937 rng(3);
  std::normal_distribution<float> g(0.f, 2.f);
  std::vector<float> v(300000);
  for (float& x : v) x = g(rng);
  Histogram big(2048), chunked(2048);
  // Same first batch for both so the initial ranges agree; then one large add vs many small ones.
  big.add(v.data(), 1000);
  chunked.add(v.data(), 1000);
  big.add(v.data() + 1000, static_cast<int64_t>(v.size()) - 1000);
  for (size_t i = 1000; i < v.size(); i += 999)
    chunked.add(v.data() + i, static_cast<int64_t>(std::min<size_t>(999, v.size() - i)));
  EXPECT_EQ(big.range(), chunked.range());
  EXPECT_EQ(big.bins(), chunked.bins());
  EXPECT_EQ(big.count(), 300000);
}

// The banked, blocked binning kernel against its plain twin: seeded random data with long runs of one value (ReLU
// zeros, saturated outputs), values beyond the range on both sides (edge bins), lengths around the block and bank
// sizes, and the small-input path.
TEST(Histogram, BankedBinningKernelEqualsReference) {
  std::mt19937 rng(1234);
  std::normal_distribution<float> normal(0.f, 1.5f);
  std::uniform_real_distribution<float> u(0.f, 1.f);
  for (const int num_bins : {8, 2048}) {
    for (const int64_t n : {int64_t{1}, int64_t{3}, int64_t{4095}, int64_t{4096}, int64_t{4099}, int64_t{70001}}) {
      std::vector<float> v(static_cast<size_t>(n));
      for (float& x : v) {
        const float r = u(rng);
        x = r < 0.4f ? 0.f : (r < 0.45f ? 4.f : (r < 0.5f ? -9.f : normal(rng)));
      }
      const double range = 4.0;
      const double scale = num_bins / (2.0 * range);
      std::vector<int64_t> fast(static_cast<size_t>(num_bins), 7), ref(static_cast<size_t>(num_bins), 7);
      detail::bin_values(v.data(), n, range, scale, num_bins - 1, fast.data());
      detail::bin_values_reference(v.data(), n, range, scale, num_bins - 1, ref.data());
      EXPECT_EQ(fast, ref) << "num_bins " << num_bins << ", n " << n;
      int64_t total = 0;
      for (int64_t c : fast) total += c;
      EXPECT_EQ(total, n + 7 * num_bins) << "adds to the existing counts";
    }
  }
}

TEST(Histogram, QuantileInterpolatesInsideBins) {
  // One value per bin: x_i = (i + 0.5) / 1000 in [0, 1), R = 1, 2000 bins of width 0.001.
  Histogram h(2000);
  std::vector<float> v;
  for (int i = 0; i < 1000; ++i) v.push_back((static_cast<float>(i) + 0.5f) / 1000.f);
  h.add(v.data(), static_cast<int64_t>(v.size()));
  ASSERT_EQ(h.range(), 1.f);
  EXPECT_NEAR(h.quantile(0.75), 0.75, 1e-9);
  EXPECT_NEAR(h.quantile(0.1234), 0.1234, 1e-9);
  EXPECT_NEAR(h.quantile(0.0), 0.0, 1e-9);  // lower edge of the first non-empty bin
  EXPECT_NEAR(h.quantile(1.0), 1.0, 1e-9);  // upper edge of the last one
  EXPECT_NEAR(h.fraction_outside(0.2, 0.7), 0.5, 1e-9);
  EXPECT_NEAR(h.fraction_outside(-1.0, 1.0), 0.0, 1e-12);
  EXPECT_NEAR(h.fraction_outside(0.0, 0.5005), 0.4995, 1e-9);  // half of bin [0.5, 0.501) is inside
}

TEST(Histogram, AbsQuantileFoldsBothSides) {
  Histogram h(2000);
  std::vector<float> v;
  for (int i = 0; i < 1000; ++i) v.push_back((i % 2 == 0 ? 1.f : -1.f) * (static_cast<float>(i) + 0.5f) / 1000.f);
  h.add(v.data(), static_cast<int64_t>(v.size()));
  EXPECT_NEAR(h.abs_quantile(0.9), 0.9, 1e-9);
  EXPECT_NEAR(h.abs_quantile(0.25), 0.25, 1e-9);
  EXPECT_NEAR(h.quantile(0.5), -0.001, 1e-9);  // the 500 negative values end at bin [-0.002, -0.001)
}

TEST(Histogram, RejectsBadBinCountsAndEmptyQuantiles) {
  EXPECT_THROW(Histogram(6), InvalidArgument);
  EXPECT_THROW(Histogram(0), InvalidArgument);
  Histogram h(8);
  EXPECT_THROW(h.quantile(0.5), InternalError);
  EXPECT_EQ(h.fraction_outside(0.0, 1.0), 0.0);
}

}  // namespace
}  // namespace qwac::quant
