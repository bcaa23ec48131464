#include "quant/calibration.h"

#include <gtest/gtest.h>

#include <cstring>
#include <random>
#include <vector>

namespace qwac::quant {
namespace {

// The blocked mean accumulation against its element-by-element twin on seeded random batches: sizes around the
// block, a batch of one, and sums that already hold values. Compared bit for bit.
TEST(CalibrationMeans, BlockedAccumulationEqualsReferenceBitForBit) {
  std::mt19937 rng(4242);
  std::normal_distribution<float> normal(0.3f, 3.f);
  for (const int64_t batch : {int64_t{1}, int64_t{7}, int64_t{16}}) {
    for (const int64_t per : {int64_t{1}, int64_t{511}, int64_t{512}, int64_t{513}, int64_t{5000}}) {
      std::vector<float> v(static_cast<size_t>(batch * per));
      for (float& x : v) x = normal(rng) * 1000.f;
      std::vector<double> fast(static_cast<size_t>(per)), ref(static_cast<size_t>(per));
      for (size_t i = 0; i < fast.size(); ++i) fast[i] = ref[i] = 0.1 * static_cast<double>(i);
      for (int round = 0; round < 2; ++round) {
        detail::accumulate_sample_sums(v.data(), batch, per, fast.data());
        detail::accumulate_sample_sums_reference(v.data(), batch, per, ref.data());
      }
      ASSERT_EQ(std::memcmp(fast.data(), ref.data(), fast.size() * sizeof(double)), 0)
          << "batch " << batch << ", per " << per;
      double expected0 = 0.0;
      for (int64_t k = 0; k < batch; ++k) expected0 += v[static_cast<size_t>(k * per)];
      EXPECT_DOUBLE_EQ(fast[0], 2 * expected0) << "the sums of both rounds, starting from 0";
    }
  }
}

}  // namespace
}  // namespace qwac::quant
