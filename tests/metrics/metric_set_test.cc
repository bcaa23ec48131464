#include "metrics/metric_set.h"

#include <gtest/gtest.h>

#include "metric_test_util.h"
#include "metrics/accuracy.h"
#include "metrics/reference_distance.h"

namespace qwac::metrics {
namespace {

using testing::float_tensor;
using testing::outputs_of;

TEST(MetricSet, ForwardsUpdateAndResetAndCollectsValues) {
  MetricSet set({std::make_shared<AccuracyMetric>(AccuracyOptions{.k = 1}),
                 std::make_shared<AccuracyMetric>(AccuracyOptions{.k = 2})});
  set.add(std::make_shared<ReferenceDistanceMetric>(ReferenceDistance::kNmse, ReferenceDistanceOptions{}));
  EXPECT_EQ(set.size(), 3u);
  EXPECT_EQ(set.primary()->name(), "accuracy@top1");

  auto batch = [](std::vector<float> scores, std::vector<int64_t> labels) {
    std::vector<Annotation> ann(labels.size());
    for (size_t i = 0; i < labels.size(); ++i) {
      ann[i].label = labels[i];
      ann[i].reference_outputs = {float_tensor({3}, {scores[3 * i], scores[3 * i + 1], scores[3 * i + 2]})};
    }
    return std::make_pair(outputs_of({{"s", float_tensor({static_cast<int64_t>(labels.size()), 3}, scores)}}), ann);
  };
  auto [o1, a1] = batch({0.1f, 0.5f, 0.4f, 0.7f, 0.2f, 0.1f}, {2, 0});  // top1: 0 1, top2: 1 1
  set.update(o1, a1);
  auto [o2, a2] = batch({0.3f, 0.3f, 0.4f}, {1});  // top1 0, top2 0: the 0.3/0.3 tie ranks class 0 first
  set.update(o2, a2);
  const auto last = set.values();
  EXPECT_DOUBLE_EQ(last.at("accuracy@top1"), 0.0);
  EXPECT_DOUBLE_EQ(last.at("accuracy@top2"), 0.0);
  const auto avg = set.avg_values();
  EXPECT_DOUBLE_EQ(avg.at("accuracy@top1"), 1.0 / 3);
  EXPECT_DOUBLE_EQ(avg.at("accuracy@top2"), 2.0 / 3);
  EXPECT_DOUBLE_EQ(avg.at("nmse"), 0.0);  // references equal the outputs
  set.reset();
  for (const auto& m : set.metrics()) EXPECT_TRUE(m->per_sample_values().empty()) << m->name();
}

TEST(MetricSet, RejectsDuplicateNames) {
  MetricSet set;
  set.add(std::make_shared<AccuracyMetric>(AccuracyOptions{}));
  EXPECT_THROW(set.add(std::make_shared<AccuracyMetric>(AccuracyOptions{})), InvalidConfig);
  EXPECT_THROW(MetricSet().primary(), InternalError);
}

}  // namespace
}  // namespace qwac::metrics
