#include "metrics/detection_map.h"

#include <gtest/gtest.h>

#include <cmath>

#include "metric_test_util.h"

namespace qwac::metrics {
namespace {

using testing::error_message;
using testing::float_tensor;
using testing::outputs_of;

Detection det(float x0, float y0, float x1, float y1, float score, int64_t label = 0) {
  return Detection{x0, y0, x1, y1, score, label};
}
BoundingBox gt(float x0, float y0, float x1, float y1, int64_t label = 0, bool difficult = false) {
  return BoundingBox{x0, y0, x1, y1, label, difficult};
}

TEST(DetectionMap, BoxIou) {
  EXPECT_DOUBLE_EQ(box_iou(0, 0, 10, 10, 0, 0, 10, 10), 1.0);
  EXPECT_DOUBLE_EQ(box_iou(0, 0, 10, 10, 5, 0, 15, 10), 50.0 / 150.0);
  EXPECT_DOUBLE_EQ(box_iou(0, 0, 10, 10, 10, 0, 20, 10), 0.0);  // touching
  EXPECT_DOUBLE_EQ(box_iou(0, 0, 0, 0, 0, 0, 0, 0), 0.0);       // empty boxes
}

// One class, two images. Image 0: ground truth A [0,0,10,10] and B [20,20,30,30]; detections 0.9 on A (TP), 0.8 on A
// again (duplicate -> FP), 0.6 on B (TP). Image 1: ground truth C [0,0,10,10]; detection 0.7 elsewhere (FP).
// Score order TP FP FP TP over 3 positives: recall 1/3 1/3 1/3 2/3, precision 1 1/2 1/3 1/2.
std::vector<DetectionImage> two_images() {
  return {
      {{det(0, 0, 10, 10, 0.9f), det(0, 0, 10, 10, 0.8f), det(20, 20, 30, 30, 0.6f)},
       {gt(0, 0, 10, 10), gt(20, 20, 30, 30)}},
      {{det(50, 50, 60, 60, 0.7f)}, {gt(0, 0, 10, 10)}},
  };
}

TEST(DetectionMap, VocElevenPointHandComputed) {
  // t = 0, .1, .2, .3: max precision at recall >= t is 1; t = .4, .5, .6: only recall 2/3, precision 1/2; t >= .7: 0.
  // AP = (4 * 1 + 3 * 0.5) / 11 = 0.5.
  EXPECT_DOUBLE_EQ(mean_average_precision(two_images(), MapStyle::kVoc), 5.5 / 11);
}

TEST(DetectionMap, CocoHundredOnePointHandComputed) {
  // IoUs are all 1 or 0, so every threshold gives the same AP. Monotone precision 1, .5, .5, .5; recall thresholds
  // 0..0.33 (34 points) -> 1, 0.34..0.66 (33 points) -> 0.5, 0.67..1 -> 0. AP = (34 + 16.5) / 101 = 0.5.
  EXPECT_DOUBLE_EQ(mean_average_precision(two_images(), MapStyle::kCoco), 50.5 / 101);
}

TEST(DetectionMap, VocRecallThresholdsFollowNumpyArange) {
  // 10 positives, 3 true positives: recall 0.1, 0.2, 0.3 at precision 1. voc_eval's np.arange(0, 1.1, 0.1) gives
  // t = 0.30000000000000004 > 0.3, so only t = 0, .1, .2 count: AP = 3/11 (not 4/11).
  DetectionImage im;
  for (int i = 0; i < 10; ++i) im.ground_truth.push_back(gt(20.f * i, 0, 20.f * i + 10, 10));
  for (int i = 0; i < 3; ++i) im.detections.push_back(det(20.f * i, 0, 20.f * i + 10, 10, 0.9f - 0.1f * i));
  EXPECT_DOUBLE_EQ(mean_average_precision({im}, MapStyle::kVoc), 3.0 / 11);
  // COCO: recall thresholds 0..0.3 -> 1 (31 points; 0.3 == 30 * 0.01 is reached exactly by 3/10? no: 30 * 0.01 is
  // 0.3 in double and 3/10 is the same double), so AP = 31/101.
  EXPECT_DOUBLE_EQ(mean_average_precision({im}, MapStyle::kCoco), 31.0 / 101);
}

TEST(DetectionMap, CocoAveragesOverIouThresholds) {
  // IoU 0.62 (ground truth [0,0,10,10], detection [0,0,10,6.2]): TP at 0.50, 0.55, 0.60 only -> AP 3/10 over the ten
  // thresholds. VOC (IoU > 0.5) counts it: AP 1.
  const std::vector<DetectionImage> images = {{{det(0, 0, 10, 6.2f, 0.9f)}, {gt(0, 0, 10, 10)}}};
  EXPECT_DOUBLE_EQ(mean_average_precision(images, MapStyle::kCoco), 0.3);
  EXPECT_DOUBLE_EQ(mean_average_precision(images, MapStyle::kVoc), 1.0);
  // IoU exactly 0.5 is a miss for VOC (strict >) but a hit at COCO's 0.50 threshold (>=).
  const std::vector<DetectionImage> half = {{{det(0, 0, 10, 5, 0.9f)}, {gt(0, 0, 10, 10)}}};
  EXPECT_DOUBLE_EQ(mean_average_precision(half, MapStyle::kVoc), 0.0);
  EXPECT_DOUBLE_EQ(mean_average_precision(half, MapStyle::kCoco), 0.1);
}

TEST(DetectionMap, DifficultGroundTruthIsIgnored) {
  // Ground truth A [0,0,10,10] and difficult B [20,20,30,30]; detections 0.95 far away (FP), 0.9 on B (ignored),
  // 0.8 on A (TP). Kept decisions FP, TP over 1 positive: recall 0, 1; precision 0, 1/2.
  // VOC: every t sees precision 1/2 -> AP 0.5. Were B not difficult: recall 0, .5, 1, precision 0, .5, 2/3 -> 2/3.
  DetectionImage im{{det(40, 40, 50, 50, 0.95f), det(20, 20, 30, 30, 0.9f), det(0, 0, 10, 10, 0.8f)},
                    {gt(0, 0, 10, 10), gt(20, 20, 30, 30, 0, true)}};
  EXPECT_DOUBLE_EQ(mean_average_precision({im}, MapStyle::kVoc), 0.5);
  EXPECT_DOUBLE_EQ(mean_average_precision({im}, MapStyle::kCoco), 0.5);
  im.ground_truth[1].difficult = false;
  EXPECT_DOUBLE_EQ(mean_average_precision({im}, MapStyle::kVoc), 2.0 / 3);
  // Only difficult ground truth: no class to average over.
  const std::vector<DetectionImage> only = {{{det(0, 0, 10, 10, 0.9f)}, {gt(0, 0, 10, 10, 0, true)}}};
  EXPECT_TRUE(std::isnan(mean_average_precision(only, MapStyle::kVoc)));
}

TEST(DetectionMap, MeanOverClassesWithGroundTruth) {
  // Class 0 found (AP 1), class 1 missed (AP 0), class 2 has detections but no ground truth (not averaged).
  const std::vector<DetectionImage> images = {
      {{det(0, 0, 10, 10, 0.9f, 0), det(0, 0, 10, 10, 0.8f, 2)}, {gt(0, 0, 10, 10, 0), gt(20, 20, 30, 30, 1)}}};
  EXPECT_DOUBLE_EQ(mean_average_precision(images, MapStyle::kVoc), 0.5);
  EXPECT_DOUBLE_EQ(mean_average_precision(images, MapStyle::kCoco), 0.5);
}

TEST(DetectionMap, VocMatchesBestIouEvenIfClaimed) {
  // voc_eval takes the highest-IoU ground truth even when already claimed (then FP), unlike COCO which moves on to
  // the next unclaimed box. Ground truth A [0,0,10,10], B [0,2,10,12]. Detection 0.9 on A, then 0.8 on [0,1,10,11],
  // whose IoU is 90/110 = .818 with both: VOC takes the first maximum, A, already claimed -> FP; COCO takes B -> TP.
  const std::vector<DetectionImage> images = {
      {{det(0, 0, 10, 10, 0.9f), det(0, 1, 10, 11, 0.8f)}, {gt(0, 0, 10, 10), gt(0, 2, 10, 12)}}};
  // VOC: TP, FP over 2 positives: recall .5, .5, precision 1, .5: t <= .5 -> 1 (6 points) -> AP 6/11.
  EXPECT_DOUBLE_EQ(mean_average_precision(images, MapStyle::kVoc), 6.0 / 11);
  // COCO at IoU .818 >= t for t in .50 .. .80 (7 thresholds): TP, TP -> AP 1; at .85 .. .95 second is FP but the
  // first is IoU 1: AP (51 * 1) / 101 (recall .5 reached with precision 1, 1.0 never).
  EXPECT_NEAR(mean_average_precision(images, MapStyle::kCoco), (7 * 1.0 + 3 * 51.0 / 101) / 10, 1e-12);
}

ModelOutputs detection_outputs(const std::vector<float>& boxes, const std::vector<float>& scores,
                               const std::vector<float>& classes, int64_t n, int64_t max_det,
                               const std::vector<float>& num = {}) {
  std::vector<std::pair<std::string, Tensor>> named = {{"boxes", float_tensor({n, max_det, 4}, boxes)},
                                                       {"scores", float_tensor({n, max_det}, scores)},
                                                       {"classes", float_tensor({n, max_det}, classes)}};
  if (!num.empty()) named.push_back({"num_detections", float_tensor({n}, num)});
  return outputs_of(std::move(named));
}

TEST(DetectionMapMetric, UpdateReadsOutputsAndSkipsPadding) {
  // The two_images() case as model outputs with max_det 4: image 1 pads with class -1 rows.
  const auto out =
      detection_outputs({0,  0,  10, 10, 0, 0, 10, 10, 20, 20, 30, 30, 0, 0, 0,  0,  //
                         50, 50, 60, 60, 0, 0, 10, 10, 0,  0,  10, 10, 0, 0, 10, 10},
                        {0.9f, 0.8f, 0.6f, 0.0f, 0.7f, 0.99f, 0.99f, 0.99f}, {0, 0, 0, -1, 0, -1, -1, -1}, 2, 4);
  std::vector<Annotation> ann(2);
  ann[0].boxes = {gt(0, 0, 10, 10), gt(20, 20, 30, 30)};
  ann[1].boxes = {gt(0, 0, 10, 10)};
  DetectionMapMetric voc({});
  voc.update(out, ann);
  EXPECT_EQ(voc.name(), "map@voc");
  EXPECT_DOUBLE_EQ(voc.value(), 0.5);
  EXPECT_TRUE(voc.per_sample_values().empty());
  EXPECT_EQ(voc.attributes().at("type"), "map");

  // num_detections instead of padding classes: rows past the count are ignored even with a valid class.
  const auto counted =
      detection_outputs({0,  0,  10, 10, 0, 0, 10, 10, 20, 20, 30, 30, 0, 0, 10, 10,  //
                         50, 50, 60, 60, 0, 0, 10, 10, 0,  0,  10, 10, 0, 0, 10, 10},
                        {0.9f, 0.8f, 0.6f, 0.99f, 0.7f, 0.99f, 0.99f, 0.99f}, {0, 0, 0, 0, 0, 0, 0, 0}, 2, 4, {3, 1});
  DetectionMapMetric coco({.style = MapStyle::kCoco, .num_detections_output = "num_detections"});
  coco.update(counted, ann);
  EXPECT_EQ(coco.name(), "map@coco");
  EXPECT_DOUBLE_EQ(coco.avg_value(), 0.5);
}

TEST(DetectionMapMetric, ValueIsLastBatchAvgIsAllImages) {
  DetectionMapMetric m({});
  std::vector<Annotation> a0(1), a1(1);
  a0[0].boxes = {gt(0, 0, 10, 10), gt(20, 20, 30, 30)};
  a1[0].boxes = {gt(0, 0, 10, 10)};
  m.update(detection_outputs({0, 0, 10, 10, 0, 0, 10, 10, 20, 20, 30, 30}, {0.9f, 0.8f, 0.6f}, {0, 0, 0}, 1, 3), a0);
  // Image 0 alone: TP FP TP over 2 positives: recall .5 .5 1, precision 1 .5 2/3 -> t<=.5: 1 (6), t>.5: 2/3 (5).
  EXPECT_DOUBLE_EQ(m.value(), (6 + 5 * 2.0 / 3) / 11);
  m.update(detection_outputs({50, 50, 60, 60}, {0.7f}, {0}, 1, 1), a1);
  EXPECT_DOUBLE_EQ(m.value(), 0.0);  // image 1 alone: one FP
  EXPECT_DOUBLE_EQ(m.avg_value(), 0.5);
  m.reset();
  EXPECT_THROW(m.avg_value(), DataError);
}

TEST(DetectionMapMetric, YxyxBoxOrderAndLabelOffset) {
  // Box given as [y0, x0, y1, x1]; model classes are 1-based (background 0), annotation labels 0-based.
  const auto out = detection_outputs({0, 0, 10, 20}, {0.9f}, {1}, 1, 1);
  std::vector<Annotation> ann(1);
  ann[0].boxes = {gt(0, 0, 20, 10, 0)};  // x extent 20, y extent 10
  DetectionMapMetric yxyx({.boxes_yxyx = true, .label_offset = 1});
  yxyx.update(out, ann);
  EXPECT_DOUBLE_EQ(yxyx.value(), 1.0);
  DetectionMapMetric xyxy({.label_offset = 1});
  xyxy.update(out, ann);
  EXPECT_DOUBLE_EQ(xyxy.value(), 0.0);  // IoU 100/300
}

TEST(DetectionMapMetric, BadInputs) {
  DetectionMapMetric m({});
  std::vector<Annotation> ann(1);
  ann[0].boxes = {gt(0, 0, 10, 10)};
  auto out = detection_outputs({0, 0, 10, 10}, {0.9f}, {0}, 1, 1);
  out.names[1] = "detection_scores";
  std::string msg = error_message<DataError>([&] { m.update(out, ann); });
  EXPECT_NE(msg.find("'scores' not found"), std::string::npos) << msg;
  EXPECT_NE(msg.find("'detection_scores'"), std::string::npos) << msg;
  out = detection_outputs({0, 0, 10, 10, 0, 0, 1, 1}, {0.9f, 0.5f}, {0, 0}, 1, 2);
  out.tensors[1] = float_tensor({1, 1}, {0.9f});
  msg = error_message<DataError>([&] { m.update(out, ann); });
  EXPECT_NE(msg.find("expected [1,2]"), std::string::npos) << msg;
  DetectionMapMetric counted({.num_detections_output = "num_detections"});
  out = detection_outputs({0, 0, 10, 10}, {0.9f}, {0}, 1, 1, {2});
  msg = error_message<DataError>([&] { counted.update(out, ann); });
  EXPECT_NE(msg.find("expected 0..1"), std::string::npos) << msg;
  // Only difficult ground truth: value undefined.
  ann[0].boxes[0].difficult = true;
  m.update(detection_outputs({0, 0, 10, 10}, {0.9f}, {0}, 1, 1), ann);
  msg = error_message<DataError>([&] { m.value(); });
  EXPECT_NE(msg.find("non-difficult"), std::string::npos) << msg;
}

}  // namespace
}  // namespace qwac::metrics
