#include "metrics/mean_iou.h"

#include <gtest/gtest.h>

#include <cmath>

#include "metric_test_util.h"

namespace qwac::metrics {
namespace {

using testing::error_message;
using testing::float_tensor;
using testing::int64_tensor;
using testing::outputs_of;

Annotation mask_of(const Shape& shape, const std::vector<int64_t>& values) {
  Annotation a;
  a.mask = int64_tensor(shape, values);
  return a;
}

// Two 2x2 images, 3 classes, logits [2, 3, 2, 2].
// Image 0: prediction [[0,1],[1,1]], ground truth [[0,0],[1,255]]: class 0 I=1 U=2, class 1 I=1 U=2 -> mIoU 0.5.
// Image 1: prediction [[2,2],[0,0]], ground truth [[2,2],[2,0]]: class 2 I=2 U=3, class 0 I=1 U=2 -> (2/3+1/2)/2.
// Pooled: class 0 I=2 U=4, class 1 I=1 U=2, class 2 I=2 U=3 -> (1/2 + 1/2 + 2/3) / 3 = 5/9.
ModelOutputs two_images_logits() {
  return outputs_of({{"seg", float_tensor({2, 3, 2, 2}, {
                                                            // image 0: channel 0, 1, 2
                                                            5, 0, 0, 0,  //
                                                            1, 5, 5, 5,  //
                                                            0, 0, 0, 0,  //
                                                                         // image 1
                                                            0, 0, 5, 5,  //
                                                            0, 0, 0, 0,  //
                                                            5, 5, 1, 1,  //
                                                        })}});
}

std::vector<Annotation> two_masks() {
  return {mask_of({2, 2}, {0, 0, 1, 255}), mask_of({1, 2, 2}, {2, 2, 2, 0})};
}

TEST(MeanIouMetric, HandComputedPooledAndPerSample) {
  MeanIouMetric m({});
  m.update(two_images_logits(), two_masks());
  EXPECT_DOUBLE_EQ(m.value(), 5.0 / 9);
  EXPECT_DOUBLE_EQ(m.avg_value(), 5.0 / 9);
  ASSERT_EQ(m.per_sample_values().size(), 2u);
  EXPECT_DOUBLE_EQ(m.per_sample_values()[0], 0.5);
  EXPECT_DOUBLE_EQ(m.per_sample_values()[1], (2.0 / 3 + 0.5) / 2);
  EXPECT_EQ(m.attributes().at("type"), "mean_iou");
  EXPECT_EQ(m.attributes().at("direction"), "higher-better");
}

TEST(MeanIouMetric, ClassMapOutputAndBatchSplit) {
  // The same predictions as class maps [N, H, W], one image per update.
  MeanIouMetric m({});
  m.update(outputs_of({{"seg", int64_tensor({1, 2, 2}, {0, 1, 1, 1})}}), {two_masks()[0]});
  EXPECT_DOUBLE_EQ(m.value(), 0.5);
  m.update(outputs_of({{"seg", float_tensor({1, 1, 2, 2}, {2, 2, 0, 0})}}), {two_masks()[1]});
  EXPECT_DOUBLE_EQ(m.value(), (2.0 / 3 + 0.5) / 2);
  EXPECT_DOUBLE_EQ(m.avg_value(), 5.0 / 9);
  m.reset();
  EXPECT_THROW(m.value(), DataError);
  EXPECT_TRUE(m.per_sample_values().empty());
}

TEST(MeanIouMetric, IgnoreLabelOption) {
  // With ignore_label 0 instead of 255, class 0 pixels are skipped and 255 becomes an ordinary class.
  MeanIouMetric m({.ignore_label = 0});
  m.update(outputs_of({{"seg", int64_tensor({1, 2, 2}, {0, 1, 1, 255})}}), {mask_of({2, 2}, {0, 0, 1, 255})});
  // Counted pixels: (0,1) p1 g0 -> skipped (g == 0); (1,0) p1 g1: I1=1 U1=1; (1,1) p255 g255: I255=1 U255=1.
  EXPECT_DOUBLE_EQ(m.value(), 1.0);
}

TEST(MeanIouMetric, BadInputs) {
  MeanIouMetric m({});
  std::string msg = error_message<DataError>([&] {
    m.update(two_images_logits(), {mask_of({2, 2}, {0, 0, 1, 1}), mask_of({3, 2}, {0, 0, 0, 0, 0, 0})});
  });
  EXPECT_NE(msg.find("mask of sample 1"), std::string::npos) << msg;
  EXPECT_NE(msg.find("expected [2,2]"), std::string::npos) << msg;
  msg = error_message<DataError>([&] { m.update(two_images_logits(), {two_masks()[0], Annotation{}}); });
  EXPECT_NE(msg.find("missing"), std::string::npos) << msg;
  msg = error_message<DataError>([&] {
    m.update(two_images_logits(), {mask_of({2, 2}, {0, -3, 1, 1}), two_masks()[1]});
  });
  EXPECT_NE(msg.find("class -3"), std::string::npos) << msg;
  msg = error_message<DataError>([&] {
    m.update(outputs_of({{"seg", float_tensor({2, 4}, {0, 0, 0, 0, 0, 0, 0, 0})}}), two_masks());
  });
  EXPECT_NE(msg.find("expected logits [N, C, H, W]"), std::string::npos) << msg;
  // Every pixel ignored: per-sample NaN, value undefined.
  m.update(outputs_of({{"seg", int64_tensor({1, 1, 1}, {0})}}), {mask_of({1, 1}, {255})});
  EXPECT_TRUE(std::isnan(m.per_sample_values()[0]));
  msg = error_message<DataError>([&] { m.value(); });
  EXPECT_NE(msg.find("ignore_label 255"), std::string::npos) << msg;
}

}  // namespace
}  // namespace qwac::metrics
