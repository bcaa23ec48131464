#include "metrics/metric_registry.h"

#include <gtest/gtest.h>

#include "metric_test_util.h"
#include "metrics/accuracy.h"
#include "metrics/detection_map.h"
#include "metrics/f1.h"
#include "metrics/mean_iou.h"
#include "metrics/reference_distance.h"

namespace qwac::metrics {
namespace {

using nlohmann::json;
using testing::error_message;

MetricPtr make(const std::string& type, const json& options, const std::string& where = "metrics[0].options") {
  const MetricType* t = find_metric_type(type);
  if (!t) throw std::runtime_error("test bug: no metric type " + type);
  return t->make(options, where);
}

TEST(MetricRegistry, TableListsEveryType) {
  EXPECT_EQ(metric_type_names(), "accuracy, map, mean_iou, nmse, cosine, psnr, f1");
  EXPECT_EQ(find_metric_type("top1"), nullptr);
  for (const auto& t : metric_types()) {
    const MetricPtr m = t.make(json::object(), "");
    ASSERT_NE(m, nullptr) << t.type;
    EXPECT_FALSE(t.summary.empty()) << t.type;
    // Null options mean defaults too.
    EXPECT_EQ(t.make(json(), "")->name(), m->name()) << t.type;
  }
}

TEST(MetricRegistry, BuildsConfiguredMetrics) {
  auto acc =
      std::dynamic_pointer_cast<AccuracyMetric>(make("accuracy", {{"k", 5}, {"output", "prob"}, {"label_offset", 1}}));
  ASSERT_NE(acc, nullptr);
  EXPECT_EQ(acc->name(), "accuracy@top5");
  EXPECT_EQ(acc->options().output.name, "prob");
  EXPECT_EQ(acc->options().label_offset, 1);
  acc = std::dynamic_pointer_cast<AccuracyMetric>(make("accuracy", {{"output", 2}}));
  EXPECT_EQ(acc->options().output.index, 2);
  EXPECT_TRUE(acc->options().output.name.empty());

  auto map = std::dynamic_pointer_cast<DetectionMapMetric>(make("map", {{"style", "coco"},
                                                                        {"boxes_output", "b"},
                                                                        {"scores_output", "s"},
                                                                        {"classes_output", "c"},
                                                                        {"num_detections_output", "n"},
                                                                        {"box_order", "yxyx"},
                                                                        {"label_offset", -1}}));
  ASSERT_NE(map, nullptr);
  EXPECT_EQ(map->name(), "map@coco");
  EXPECT_EQ(map->options().boxes_output, "b");
  EXPECT_EQ(map->options().num_detections_output, "n");
  EXPECT_TRUE(map->options().boxes_yxyx);
  EXPECT_EQ(map->options().label_offset, -1);

  auto iou = std::dynamic_pointer_cast<MeanIouMetric>(make("mean_iou", {{"ignore_label", -1}}));
  EXPECT_EQ(iou->options().ignore_label, -1);

  for (const char* type : {"nmse", "cosine", "psnr"}) {
    auto d = std::dynamic_pointer_cast<ReferenceDistanceMetric>(make(type, {{"output", "logits"}}));
    ASSERT_NE(d, nullptr) << type;
    EXPECT_EQ(d->name(), type);
    EXPECT_EQ(d->options().output.name, "logits");
  }

  auto f1 = std::dynamic_pointer_cast<F1Metric>(
      make("f1", {{"threshold", 0}, {"apply_sigmoid", true}, {"positive_label", 0}}));
  EXPECT_EQ(f1->options().threshold, 0.0);
  EXPECT_TRUE(f1->options().apply_sigmoid);
  EXPECT_EQ(f1->options().positive_label, 0);
}

TEST(MetricRegistry, UnknownKeyNamesItAndListsAllowed) {
  const std::string msg = error_message<InvalidConfig>([] { make("accuracy", {{"k", 1}, {"top_k", 5}}); });
  EXPECT_NE(msg.find("metrics[0].options.top_k"), std::string::npos) << msg;
  EXPECT_NE(msg.find("unknown key"), std::string::npos) << msg;
  EXPECT_NE(msg.find("allowed keys here: k, label_offset, output"), std::string::npos) << msg;
  const std::string f1 = error_message<InvalidConfig>([] { make("f1", {{"sigmoid", true}}, ""); });
  EXPECT_NE(f1.find("f1 options.sigmoid"), std::string::npos) << f1;
  EXPECT_NE(f1.find("apply_sigmoid, output, positive_label, threshold"), std::string::npos) << f1;
  EXPECT_THROW(make("nmse", {{"peak", 1}}), InvalidConfig);
}

TEST(MetricRegistry, WrongTypeNamesKeyAndExpectedType) {
  struct Case {
    std::string type;
    json options;
    std::string expected;
  };
  const std::vector<Case> cases = {
      {"accuracy", {{"k", "5"}}, "metrics[0].options.k: expected an integer, got string \"5\""},
      {"accuracy", {{"k", 1.5}}, "metrics[0].options.k: expected an integer, got number 1.5"},
      {"accuracy", {{"output", true}}, "expected a string (output name) or an integer (output index), got boolean"},
      {"accuracy", {{"output", -1}}, "output index must be >= 0"},
      {"accuracy", {{"output", ""}}, "output name must not be empty"},
      {"accuracy", {{"k", 0}}, "metrics[0].options.k: must be >= 1, got 0"},
      {"map",
       {{"style", "pascal"}},
       "metrics[0].options.style: unknown value \"pascal\"; expected one of \"voc\" | \"coco\""},
      {"map", {{"box_order", 1}}, "metrics[0].options.box_order: expected one of \"xyxy\" | \"yxyx\", got integer 1"},
      {"map", {{"boxes_output", ""}}, "metrics[0].options.boxes_output: must name a model output"},
      {"mean_iou", {{"ignore_label", "255"}}, "metrics[0].options.ignore_label: expected an integer"},
      {"f1", {{"threshold", "0.5"}}, "metrics[0].options.threshold: expected a number, got string"},
      {"f1", {{"apply_sigmoid", 1}}, "metrics[0].options.apply_sigmoid: expected a boolean (true or false), got integer 1"},
      {"f1", {{"positive_label", -2}}, "metrics[0].options.positive_label: must be >= 0"},
  };
  for (const auto& c : cases) {
    const std::string msg = error_message<InvalidConfig>([&] { make(c.type, c.options); });
    EXPECT_NE(msg.find(c.expected), std::string::npos) << c.type << " " << c.options.dump() << " -> " << msg;
  }
  const std::string not_object = error_message<InvalidConfig>([] { make("psnr", json::array({1, 2})); });
  EXPECT_NE(not_object.find("metrics[0].options: expected an object, got array"), std::string::npos)
      << not_object;
}

}  // namespace
}  // namespace qwac::metrics
