#include "metrics/accuracy.h"

#include <gtest/gtest.h>

#include <cmath>
#include <limits>
#include <random>

#include "metric_test_util.h"
#include "test_util.h"

namespace qwac::metrics {
namespace {

using testing::error_message;
using testing::float_tensor;
using testing::labels_of;
using testing::outputs_of;

TEST(AccuracyMetric, NameAndAttributes) {
  AccuracyMetric top5({.k = 5});
  EXPECT_EQ(top5.name(), "accuracy@top5");
  EXPECT_TRUE(top5.higher_better());
  const auto attrs = top5.attributes();
  EXPECT_EQ(attrs.at("direction"), "higher-better");
  EXPECT_EQ(attrs.at("type"), "accuracy");
}

TEST(AccuracyMetric, HandComputedTop1AndTop2) {
  // Row 0: best class 1; row 1: best class 0, second class 2; row 2: best class 2.
  const auto out = outputs_of({{"prob", float_tensor({3, 3}, {0.1f, 0.7f, 0.2f, 0.5f, 0.1f, 0.4f, 0.0f, 0.3f, 0.7f})}});
  AccuracyMetric top1({.k = 1});
  AccuracyMetric top2({.k = 2});
  top1.update(out, labels_of({1, 2, 0}));
  top2.update(out, labels_of({1, 2, 0}));
  EXPECT_EQ(top1.per_sample_values(), (std::vector<double>{1, 0, 0}));
  EXPECT_EQ(top2.per_sample_values(), (std::vector<double>{1, 1, 0}));
  EXPECT_DOUBLE_EQ(top1.value(), 1.0 / 3);
  EXPECT_DOUBLE_EQ(top2.avg_value(), 2.0 / 3);
}

// eval.js sorts classes by descending score with a stable sort: on equal scores the lower class index wins.
TEST(AccuracyMetric, TiesFavourTheLowerClassIndexLikeEvalJs) {
  const auto out = outputs_of({{"s", float_tensor({1, 4}, {1.f, 3.f, 3.f, 2.f})}});
  struct Case {
    int64_t label, k;
    double hit;
  };
  for (const Case c : {Case{1, 1, 1}, Case{2, 1, 0}, Case{2, 2, 1}, Case{3, 2, 0}, Case{3, 3, 1}, Case{0, 3, 0},
                       Case{0, 4, 1}}) {
    AccuracyMetric m({.k = c.k});
    m.update(out, labels_of({c.label}));
    EXPECT_EQ(m.value(), c.hit) << "label " << c.label << " k " << c.k;
  }
  // All-equal scores: the label ranks at its own index.
  const auto flat = outputs_of({{"s", float_tensor({1, 5}, {0.f, 0.f, 0.f, 0.f, 0.f})}});
  for (int64_t label = 0; label < 5; ++label) {
    AccuracyMetric m({.k = 3});
    m.update(flat, labels_of({label}));
    EXPECT_EQ(m.value(), label < 3 ? 1.0 : 0.0) << "label " << label;
  }
}

// k beyond the class count would make every sample a hit: refused, naming k and the output.
TEST(AccuracyMetric, KLargerThanTheClassCountIsADataError) {
  const auto out = outputs_of({{"s", float_tensor({1, 4}, {1.f, 3.f, 3.f, 2.f})}});
  AccuracyMetric m({.k = 9});
  const std::string msg = error_message<DataError>([&] { m.update(out, labels_of({0})); });
  EXPECT_NE(msg.find("k = 9"), std::string::npos) << msg;
  EXPECT_NE(msg.find("4 classes"), std::string::npos) << msg;
  EXPECT_TRUE(m.per_sample_values().empty());
}

TEST(AccuracyMetric, NanScoresNeverWin) {
  const float nan = std::numeric_limits<float>::quiet_NaN();
  const auto out = outputs_of({{"s", float_tensor({2, 3}, {nan, 0.5f, 0.2f, 0.1f, nan, 0.2f})}});
  AccuracyMetric m({.k = 1});
  m.update(out, labels_of({1, 1}));
  EXPECT_EQ(m.per_sample_values(), (std::vector<double>{1, 0}));
}

// Compares against a direct stable sort of (score desc, index asc) on random scores with many ties.
TEST(AccuracyMetric, MatchesStableSortOnRandomTiedScores) {
  std::mt19937 rng(7);
  std::uniform_int_distribution<int> level(0, 4);
  for (int trial = 0; trial < 200; ++trial) {
    const int64_t classes = 1 + trial % 12;
    std::vector<float> s(static_cast<size_t>(classes));
    for (auto& v : s) v = static_cast<float>(level(rng));
    std::vector<int64_t> order(static_cast<size_t>(classes));
    for (int64_t i = 0; i < classes; ++i) order[static_cast<size_t>(i)] = i;
    std::stable_sort(order.begin(), order.end(), [&](int64_t a, int64_t b) { return s[a] > s[b]; });
    for (int64_t label = 0; label < classes; ++label)
      for (int64_t k = 1; k <= classes + 1; ++k) {
        const bool expected = std::find(order.begin(), order.begin() + std::min(k, classes), label) !=
                              order.begin() + std::min(k, classes);
        EXPECT_EQ(in_top_k(s.data(), classes, label, k), expected)
            << "trial " << trial << " classes " << classes << " label " << label << " k " << k;
      }
  }
}

TEST(AccuracyMetric, FlattensTrailingUnitDims) {
  // SqueezeNet's [N, C, 1, 1].
  const auto out = outputs_of({{"softmaxout_1", float_tensor({2, 3, 1, 1}, {0.1f, 0.2f, 0.7f, 0.6f, 0.3f, 0.1f})}});
  AccuracyMetric m({});
  m.update(out, labels_of({2, 1}));
  EXPECT_EQ(m.per_sample_values(), (std::vector<double>{1, 0}));
}

TEST(AccuracyMetric, ValueIsLastBatchAvgIsEverythingAndResetClears) {
  AccuracyMetric m({});
  const auto out2 = outputs_of({{"s", float_tensor({2, 2}, {1.f, 0.f, 0.f, 1.f})}});
  m.update(out2, labels_of({0, 1}));  // 2 hits
  EXPECT_DOUBLE_EQ(m.value(), 1.0);
  const auto out3 = outputs_of({{"s", float_tensor({3, 2}, {1.f, 0.f, 1.f, 0.f, 1.f, 0.f})}});
  m.update(out3, labels_of({1, 1, 0}));  // 1 hit
  EXPECT_DOUBLE_EQ(m.value(), 1.0 / 3);
  EXPECT_DOUBLE_EQ(m.avg_value(), 3.0 / 5);
  EXPECT_EQ(m.per_sample_values(), (std::vector<double>{1, 1, 0, 0, 1}));
  m.reset();
  EXPECT_TRUE(m.per_sample_values().empty());
  EXPECT_NE(error_message<DataError>([&] { m.avg_value(); }).find("no samples since reset"), std::string::npos);
  EXPECT_NE(error_message<DataError>([&] { m.value(); }).find("accuracy@top1"), std::string::npos);
  m.update(out3, labels_of({0, 0, 0}));
  EXPECT_DOUBLE_EQ(m.avg_value(), 1.0);
}

TEST(AccuracyMetric, SelectsOutputByNameOrIndex) {
  const auto out =
      outputs_of({{"features", float_tensor({1, 2}, {0.f, 9.f})}, {"logits", float_tensor({1, 2}, {5.f, 1.f})}});
  AccuracyMetric by_name({.output = {"logits", 0}});
  AccuracyMetric by_index({.output = {"", 1}});
  AccuracyMetric first({});
  for (Metric* m : std::initializer_list<Metric*>{&by_name, &by_index, &first}) m->update(out, labels_of({0}));
  EXPECT_EQ(by_name.value(), 1.0);
  EXPECT_EQ(by_index.value(), 1.0);
  EXPECT_EQ(first.value(), 0.0);

  AccuracyMetric missing({.output = {"prob", 0}});
  const std::string msg = error_message<DataError>([&] { missing.update(out, labels_of({0})); });
  EXPECT_NE(msg.find("'prob'"), std::string::npos) << msg;
  EXPECT_NE(msg.find("'features', 'logits'"), std::string::npos) << msg;
  AccuracyMetric bad_index({.output = {"", 2}});
  EXPECT_NE(error_message<DataError>([&] { bad_index.update(out, labels_of({0})); }).find("output #2"),
            std::string::npos);
}

TEST(AccuracyMetric, LabelOffsetShiftsTheAnnotationLabel) {
  // Model with a background class at index 0: class k of the dataset is index k + 1.
  const auto out = outputs_of({{"s", float_tensor({2, 4}, {0.9f, 0.05f, 0.05f, 0.f, 0.f, 0.f, 0.1f, 0.9f})}});
  AccuracyMetric m({.label_offset = 1});
  m.update(out, labels_of({0, 2}));
  EXPECT_EQ(m.per_sample_values(), (std::vector<double>{0, 1}));
  const std::string msg = error_message<DataError>([&] { m.update(out, labels_of({3, 0})); });
  EXPECT_NE(msg.find("label 3 (+ label_offset 1)"), std::string::npos) << msg;
}

TEST(AccuracyMetric, RejectsBadInputsWithoutChangingState) {
  AccuracyMetric m({});
  const auto out = outputs_of({{"s", float_tensor({2, 3}, {1.f, 0.f, 0.f, 0.f, 1.f, 0.f})}});
  m.update(out, labels_of({0, 1}));
  std::string msg = error_message<DataError>([&] { m.update(out, labels_of({0, 3})); });
  EXPECT_NE(msg.find("label 3"), std::string::npos) << msg;
  EXPECT_NE(msg.find("3 classes"), std::string::npos) << msg;
  msg = error_message<DataError>([&] { m.update(out, labels_of({-1, 0})); });
  EXPECT_NE(msg.find("label -1"), std::string::npos) << msg;
  msg = error_message<DataError>([&] { m.update(out, labels_of({0})); });
  EXPECT_NE(msg.find("batch has 1 annotation"), std::string::npos) << msg;
  EXPECT_THROW(m.update(out, {}), DataError);
  EXPECT_EQ(m.per_sample_values().size(), 2u);
  EXPECT_DOUBLE_EQ(m.avg_value(), 1.0);
  EXPECT_THROW(AccuracyMetric({.k = 0}), InvalidConfig);
}

TEST(AccuracyMetric, ReadsIntegerAndDoubleScores) {
  const auto ints = outputs_of({{"s", testing::int64_tensor({1, 3}, {4, 9, 9})}});
  AccuracyMetric m({});
  m.update(ints, labels_of({1}));
  EXPECT_EQ(m.value(), 1.0);
  const std::vector<double> d = {0.25, 0.5, 0.25};
  const auto dbl = outputs_of({{"s", Tensor::from_values<double>({1, 3}, d.data())}});
  m.update(dbl, labels_of({2}));
  EXPECT_EQ(m.value(), 0.0);
}

}  // namespace
}  // namespace qwac::metrics
