#include "metrics/reference_distance.h"

#include <gtest/gtest.h>

#include <cmath>

#include "metric_test_util.h"

namespace qwac::metrics {
namespace {

using testing::error_message;
using testing::float_tensor;
using testing::outputs_of;

Annotation with_reference(std::vector<Tensor> refs) {
  Annotation a;
  a.reference_outputs = std::move(refs);
  return a;
}

TEST(ReferenceDistance, HandComputedFormulas) {
  const float ref[] = {3, 4};  // ||ref||^2 = 25, peak 4
  const float x[] = {3, 1};    // diff (0, 3): err 9, mse 4.5
  EXPECT_DOUBLE_EQ(nmse(ref, x, 2), 9.0 / 25);
  EXPECT_DOUBLE_EQ(cosine_similarity(ref, x, 2), 13.0 / (5 * std::sqrt(10.0)));
  EXPECT_DOUBLE_EQ(psnr(ref, x, 2), 10 * std::log10(16 / 4.5));
  // Degenerate cases, as documented in the header.
  const float zero[] = {0, 0};
  EXPECT_EQ(nmse(ref, ref, 2), 0.0);
  EXPECT_EQ(nmse(zero, zero, 2), 0.0);
  EXPECT_TRUE(std::isinf(nmse(zero, x, 2)));
  EXPECT_EQ(cosine_similarity(zero, zero, 2), 1.0);
  EXPECT_EQ(cosine_similarity(zero, x, 2), 0.0);
  EXPECT_EQ(psnr(ref, ref, 2), kPsnrCapDb);
  const float near[] = {3, 4.0000005f};
  EXPECT_EQ(psnr(ref, near, 2), kPsnrCapDb);  // > 100 dB is capped
  const float neg[] = {-8, 2};                // peak uses |ref|
  const float neg_x[] = {-6, 2};
  EXPECT_DOUBLE_EQ(psnr(neg, neg_x, 2), 10 * std::log10(64 / 2.0));
}

TEST(ReferenceDistanceMetric, PerSampleAndAverages) {
  ReferenceDistanceMetric m(ReferenceDistance::kNmse, {});
  EXPECT_EQ(m.name(), "nmse");
  EXPECT_FALSE(m.higher_better());
  EXPECT_EQ(m.attributes().at("direction"), "higher-worse");
  EXPECT_EQ(m.attributes().at("type"), "nmse");
  // Two samples of output [2, 2]; references with a leading batch dim of 1.
  const auto out = outputs_of({{"y", float_tensor({2, 2}, {3, 1, 1, 0})}});
  std::vector<Annotation> ann = {with_reference({float_tensor({1, 2}, {3, 4})}),
                                 with_reference({float_tensor({2}, {1, 1})})};
  m.update(out, ann);
  EXPECT_DOUBLE_EQ(m.per_sample_values()[0], 9.0 / 25);
  EXPECT_DOUBLE_EQ(m.per_sample_values()[1], 1.0 / 2);
  EXPECT_DOUBLE_EQ(m.value(), (9.0 / 25 + 0.5) / 2);
  m.update(outputs_of({{"y", float_tensor({1, 2}, {1, 1})}}), {ann[1]});
  EXPECT_DOUBLE_EQ(m.value(), 0.0);
  EXPECT_DOUBLE_EQ(m.avg_value(), (9.0 / 25 + 0.5) / 3);
  m.reset();
  EXPECT_THROW(m.avg_value(), DataError);

  ReferenceDistanceMetric cos(ReferenceDistance::kCosine, {});
  ReferenceDistanceMetric ps(ReferenceDistance::kPsnr, {});
  cos.update(out, ann);
  ps.update(out, ann);
  EXPECT_EQ(cos.name(), "cosine");
  EXPECT_TRUE(cos.higher_better());
  EXPECT_DOUBLE_EQ(cos.per_sample_values()[1], 1 / std::sqrt(2.0));
  EXPECT_EQ(ps.name(), "psnr");
  EXPECT_DOUBLE_EQ(ps.per_sample_values()[1], 10 * std::log10(1 / 0.5));
}

TEST(ReferenceDistanceMetric, ComparesTheSelectedOutputWithTheSameReference) {
  const auto out = outputs_of({{"a", float_tensor({1, 2}, {0, 0})}, {"b", float_tensor({1, 3}, {1, 2, 3})}});
  std::vector<Annotation> ann = {with_reference({float_tensor({2}, {5, 5}), float_tensor({3}, {1, 2, 3})})};
  ReferenceDistanceMetric by_name(ReferenceDistance::kNmse, {.output = {"b", 0}});
  by_name.update(out, ann);
  EXPECT_EQ(by_name.value(), 0.0);
  ReferenceDistanceMetric first(ReferenceDistance::kNmse, {});
  first.update(out, ann);
  EXPECT_EQ(first.value(), 1.0);
}

TEST(ReferenceDistanceMetric, BadInputs) {
  ReferenceDistanceMetric m(ReferenceDistance::kPsnr, {});
  const auto out = outputs_of({{"y", float_tensor({1, 2}, {1, 2})}});
  std::string msg = error_message<DataError>([&] { m.update(out, {Annotation{}}); });
  EXPECT_NE(msg.find("no reference outputs"), std::string::npos) << msg;
  msg = error_message<DataError>([&] { m.update(out, {with_reference({float_tensor({3}, {1, 2, 3})})}); });
  EXPECT_NE(msg.find("expected float with 2 elements"), std::string::npos) << msg;
  ReferenceDistanceMetric second(ReferenceDistance::kPsnr, {.output = {"", 1}});
  const auto two = outputs_of({{"y", float_tensor({1, 2}, {1, 2})}, {"z", float_tensor({1, 1}, {1})}});
  msg = error_message<DataError>([&] { second.update(two, {with_reference({float_tensor({2}, {1, 2})})}); });
  EXPECT_NE(msg.find("has 1 reference output(s)"), std::string::npos) << msg;
  EXPECT_TRUE(m.per_sample_values().empty());
}

}  // namespace
}  // namespace qwac::metrics
