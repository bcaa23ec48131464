// make_subset, sample_indices, shuffled_indices, stack_inputs (include/qwac/dataset.h).
#include "qwac/dataset.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <cstring>
#include <set>
#include <tuple>

#include "data/random_dataset.h"
#include "qwac/error.h"

namespace qwac {
namespace {

TEST(SampleIndices, DeterministicDistinctSortedInRange) {
  for (auto [n, count, seed] : {std::tuple<int64_t, int64_t, uint64_t>{10, 10, 1},
                                {1000, 17, 42},
                                {1300, 300, 7},
                                {5, 0, 3},
                                {1000000, 5, 99}}) {
    SCOPED_TRACE("n=" + std::to_string(n) + " count=" + std::to_string(count) + " seed=" + std::to_string(seed));
    const auto a = sample_indices(n, count, seed);
    EXPECT_EQ(a, sample_indices(n, count, seed));
    ASSERT_EQ(static_cast<int64_t>(a.size()), count);
    EXPECT_TRUE(std::is_sorted(a.begin(), a.end()));
    EXPECT_EQ(std::set<int64_t>(a.begin(), a.end()).size(), a.size());
    for (int64_t i : a) EXPECT_TRUE(i >= 0 && i < n) << i;
  }
  EXPECT_NE(sample_indices(1000, 10, 1), sample_indices(1000, 10, 2));
  EXPECT_THROW(sample_indices(5, 6, 1), InvalidArgument);
}

TEST(SampleIndices, PinnedValuesArePlatformIndependent) {
  // Pinned output of splitmix64 + Floyd's algorithm: a change here changes every calibration subset users got.
  const auto a = sample_indices(100, 5, 2024);
  EXPECT_EQ(a, (std::vector<int64_t>{17, 29, 52, 78, 85}));
  EXPECT_EQ(shuffled_indices(8, 7), (std::vector<int64_t>{1, 4, 5, 2, 6, 0, 3, 7}));
  // Recomputed independently: Floyd's steps for j = 95..99 draw below(j+1) from SplitMix64(2024).
  uint64_t state = 2024;
  auto next = [&]() {
    uint64_t z = (state += 0x9E3779B97F4A7C15ull);
    z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
    z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
    return z ^ (z >> 31);
  };
  std::set<int64_t> chosen;
  for (int64_t j = 95; j < 100; ++j) {
    const uint64_t bound = static_cast<uint64_t>(j) + 1, threshold = (0 - bound) % bound;
    uint64_t r = next();
    while (r < threshold) r = next();
    const auto t = static_cast<int64_t>(r % bound);
    chosen.insert(chosen.count(t) ? j : t);
  }
  EXPECT_EQ(a, std::vector<int64_t>(chosen.begin(), chosen.end()));
}

TEST(ShuffledIndices, IsASeededPermutation) {
  const auto p = shuffled_indices(1000, 5);
  EXPECT_EQ(p, shuffled_indices(1000, 5));
  EXPECT_NE(p, shuffled_indices(1000, 6));
  auto sorted = p;
  std::sort(sorted.begin(), sorted.end());
  for (int64_t i = 0; i < 1000; ++i) ASSERT_EQ(sorted[static_cast<size_t>(i)], i);
  int64_t fixed_points = 0;
  for (int64_t i = 0; i < 1000; ++i) fixed_points += p[static_cast<size_t>(i)] == i;
  EXPECT_LT(fixed_points, 10);  // a real shuffle, not the identity
  EXPECT_TRUE(shuffled_indices(0, 1).empty());
}

DatasetPtr small_random(int64_t n) {
  return std::make_shared<data::RandomDataset>(
      std::vector<data::RandomInputSpec>{{"x", {1, 2, 3}, DType::kFloat32, -1, 1},
                                         {"ids", {1, 4}, DType::kInt64, 0, 9}},
      n, 11);
}

TEST(MakeSubset, ForwardsIndicesInOrderAndChecksRange) {
  const DatasetPtr base = small_random(10);
  const DatasetPtr sub = make_subset(base, {7, 2, 7});
  ASSERT_EQ(sub->size(), 3);
  const Sample a = sub->get(0), b = base->get(7);
  EXPECT_EQ(0, std::memcmp(a.inputs.at("x").raw(), b.inputs.at("x").raw(), a.inputs.at("x").nbytes()));
  EXPECT_EQ(sub->get(1).metadata.at("index"), "2");
  EXPECT_NE(sub->describe().find("subset (3 samples)"), std::string::npos) << sub->describe();
  EXPECT_THROW(sub->get(3), DataError);
  EXPECT_THROW(make_subset(base, {10}), DataError);
  EXPECT_THROW(make_subset(base, {-1}), DataError);
}

TEST(StackInputs, ConcatenatesAlongDimZero) {
  const DatasetPtr ds = small_random(3);
  std::vector<Sample> samples = {ds->get(0), ds->get(1), ds->get(2)};
  const auto batch = stack_inputs(samples);
  ASSERT_EQ(batch.size(), 2u);
  const Tensor& x = batch.at("x");
  EXPECT_EQ(x.shape(), (Shape{3, 2, 3}));
  for (int s = 0; s < 3; ++s) {
    for (int k = 0; k < 6; ++k) {
      EXPECT_EQ(x.data<float>()[s * 6 + k], samples[static_cast<size_t>(s)].inputs.at("x").data<float>()[k])
          << "sample " << s << " element " << k;
    }
  }
  EXPECT_EQ(batch.at("ids").shape(), (Shape{3, 4}));
  EXPECT_TRUE(stack_inputs({}).empty());
}

TEST(StackInputs, MismatchesAreDataErrorsNamingTheInput) {
  const DatasetPtr ds = small_random(2);
  std::vector<Sample> samples = {ds->get(0), ds->get(1)};
  samples[1].inputs["x"] = Tensor(DType::kFloat32, {1, 2, 4});
  try {
    stack_inputs(samples);
    FAIL() << "expected DataError";
  } catch (const DataError& e) {
    EXPECT_NE(std::string(e.what()).find("'x'"), std::string::npos) << e.what();
  }
  samples[1].inputs["x"] = Tensor(DType::kInt32, {1, 2, 3});
  EXPECT_THROW(stack_inputs(samples), DataError);
  samples[1].inputs.erase("x");
  EXPECT_THROW(stack_inputs(samples), DataError);
}

}  // namespace
}  // namespace qwac
