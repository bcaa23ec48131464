#include "metrics/f1.h"

#include <gtest/gtest.h>

#include "metric_test_util.h"

namespace qwac::metrics {
namespace {

using testing::error_message;
using testing::float_tensor;
using testing::labels_of;
using testing::outputs_of;

TEST(F1Metric, ProbabilityThresholdHandComputed) {
  // Scores .9 .6 .4 .2 .5 with labels 1 0 1 0 1 at threshold .5 (>=): predictions 1 1 0 0 1.
  // TP 2 (samples 0, 4), FP 1 (sample 1), FN 1 (sample 2), TN 1 -> F1 = 4 / (4 + 1 + 1) = 2/3.
  F1Metric m({});
  m.update(outputs_of({{"p", float_tensor({5}, {0.9f, 0.6f, 0.4f, 0.2f, 0.5f})}}), labels_of({1, 0, 1, 0, 1}));
  EXPECT_DOUBLE_EQ(m.value(), 2.0 / 3);
  EXPECT_EQ(m.per_sample_values(), (std::vector<double>{1, 0, 0, 1, 1}));
  EXPECT_EQ(m.counts().tp, 2);
  EXPECT_EQ(m.counts().fp, 1);
  EXPECT_EQ(m.counts().fn, 1);
  EXPECT_EQ(m.counts().tn, 1);
  EXPECT_EQ(m.attributes().at("type"), "f1");
}

TEST(F1Metric, SigmoidThresholdAndPositiveLabel) {
  // Logits [N, 1] with apply_sigmoid: sigmoid(x) >= .5 iff x >= 0. Positive label 0 flips which class counts.
  const auto out = outputs_of({{"logit", float_tensor({4, 1}, {2.f, -1.f, 0.f, -3.f})}});
  F1Metric sig({.apply_sigmoid = true});
  sig.update(out, labels_of({1, 1, 0, 0}));  // predictions 1 0 1 0: TP 1, FN 1, FP 1 -> F1 1/2
  EXPECT_DOUBLE_EQ(sig.value(), 0.5);
  F1Metric raw({.threshold = 0.7});  // raw: predictions 1 0 0 0: TP 1, FN 1 -> 2/3
  raw.update(out, labels_of({1, 1, 0, 0}));
  EXPECT_DOUBLE_EQ(raw.value(), 2.0 / 3);
  F1Metric zero({.apply_sigmoid = true, .positive_label = 0});
  // Positive = label 0, predicted positive = sigmoid >= .5 (samples 0, 2): TP sample 2, FP sample 0, FN sample 3.
  zero.update(out, labels_of({1, 1, 0, 0}));
  EXPECT_DOUBLE_EQ(zero.value(), 0.5);
}

TEST(F1Metric, TwoClassArgmax) {
  const auto out = outputs_of({{"s", float_tensor({3, 2}, {0.2f, 0.8f, 0.6f, 0.4f, 0.5f, 0.5f})}});
  F1Metric m({});
  m.update(out, labels_of({1, 1, 1}));  // argmax 1 0 0 (tie -> class 0): TP 1, FN 2 -> 2/4
  EXPECT_DOUBLE_EQ(m.value(), 0.5);
  EXPECT_EQ(m.per_sample_values(), (std::vector<double>{1, 0, 0}));
}

TEST(F1Metric, ValueVsAvgAndReset) {
  F1Metric m({});
  m.update(outputs_of({{"p", float_tensor({2}, {0.9f, 0.1f})}}), labels_of({1, 1}));  // TP 1 FN 1 -> 2/3
  EXPECT_DOUBLE_EQ(m.value(), 2.0 / 3);
  m.update(outputs_of({{"p", float_tensor({2}, {0.9f, 0.1f})}}), labels_of({0, 0}));  // FP 1 TN 1 -> 0
  EXPECT_DOUBLE_EQ(m.value(), 0.0);
  EXPECT_DOUBLE_EQ(m.avg_value(), 2.0 / 4);  // TP 1 FP 1 FN 1
  m.reset();
  EXPECT_THROW(m.value(), DataError);
  m.update(outputs_of({{"p", float_tensor({1}, {0.1f})}}), labels_of({0}));  // only TN: F1 defined as 0
  EXPECT_DOUBLE_EQ(m.avg_value(), 0.0);
}

TEST(F1Metric, BadInputs) {
  F1Metric m({});
  std::string msg = error_message<DataError>([&] {
    m.update(outputs_of({{"p", float_tensor({2, 3}, {0, 0, 0, 0, 0, 0})}}), labels_of({1, 0}));
  });
  EXPECT_NE(msg.find("expected one score per sample"), std::string::npos) << msg;
  msg = error_message<DataError>([&] { m.update(outputs_of({{"p", float_tensor({1}, {0.5f})}}), labels_of({-1})); });
  EXPECT_NE(msg.find("no label"), std::string::npos) << msg;
  F1Metric three({.positive_label = 2});
  msg = error_message<DataError>([&] {
    three.update(outputs_of({{"p", float_tensor({1, 2}, {0.5f, 0.1f})}}), labels_of({1}));
  });
  EXPECT_NE(msg.find("positive_label 2"), std::string::npos) << msg;
  EXPECT_THROW(F1Metric({.positive_label = -1}), InvalidConfig);
}

}  // namespace
}  // namespace qwac::metrics
