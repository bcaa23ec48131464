#include "metrics/metric_registry.h"

#include "metrics/accuracy.h"
#include "metrics/detection_map.h"
#include "metrics/f1.h"
#include "metrics/json_options.h"
#include "metrics/mean_iou.h"
#include "metrics/reference_distance.h"

namespace qwac::metrics {

namespace {

std::string options_path(const std::string& type, const std::string& where) {
  return where.empty() ? type + " options" : where;
}

MetricPtr make_accuracy(const nlohmann::json& json, const std::string& where) {
  JsonOptions r(json, options_path("accuracy", where));
  AccuracyOptions o;
  r.read("k", o.k);
  r.read("output", o.output);
  r.read("label_offset", o.label_offset);
  r.finish();
  if (o.k < 1) throw InvalidConfig(r.path("k") + ": must be >= 1, got " + std::to_string(o.k));
  return std::make_shared<AccuracyMetric>(o);
}

MetricPtr make_map(const nlohmann::json& json, const std::string& where) {
  JsonOptions r(json, options_path("map", where));
  DetectionMapOptions o;
  r.read_choice<MapStyle>("style", o.style, {{"voc", MapStyle::kVoc}, {"coco", MapStyle::kCoco}});
  r.read("boxes_output", o.boxes_output);
  r.read("scores_output", o.scores_output);
  r.read("classes_output", o.classes_output);
  r.read("num_detections_output", o.num_detections_output);
  r.read_choice<bool>("box_order", o.boxes_yxyx, {{"xyxy", false}, {"yxyx", true}});
  r.read("label_offset", o.label_offset);
  r.finish();
  const std::pair<const char*, const std::string*> required[] = {
      {"boxes_output", &o.boxes_output}, {"scores_output", &o.scores_output}, {"classes_output", &o.classes_output}};
  for (const auto& [key, value] : required)
    if (value->empty()) throw InvalidConfig(r.path(key) + ": must name a model output, got \"\"");
  return std::make_shared<DetectionMapMetric>(o);
}

MetricPtr make_mean_iou(const nlohmann::json& json, const std::string& where) {
  JsonOptions r(json, options_path("mean_iou", where));
  MeanIouOptions o;
  r.read("output", o.output);
  r.read("ignore_label", o.ignore_label);
  r.finish();
  return std::make_shared<MeanIouMetric>(o);
}

MetricFactory reference_distance_factory(ReferenceDistance kind, const std::string& type) {
  return [kind, type](const nlohmann::json& json, const std::string& where) -> MetricPtr {
    JsonOptions r(json, options_path(type, where));
    ReferenceDistanceOptions o;
    r.read("output", o.output);
    r.finish();
    return std::make_shared<ReferenceDistanceMetric>(kind, o);
  };
}

MetricPtr make_f1(const nlohmann::json& json, const std::string& where) {
  JsonOptions r(json, options_path("f1", where));
  F1Options o;
  r.read("output", o.output);
  r.read("threshold", o.threshold);
  r.read("apply_sigmoid", o.apply_sigmoid);
  r.read("positive_label", o.positive_label);
  r.finish();
  if (o.positive_label < 0)
    throw InvalidConfig(r.path("positive_label") + ": must be >= 0, got " + std::to_string(o.positive_label));
  return std::make_shared<F1Metric>(o);
}

}  // namespace

const std::vector<MetricType>& metric_types() {
  static const std::vector<MetricType> table = {
      {"accuracy", "top-k classification accuracy (options: k, output, label_offset)", make_accuracy},
      {"map",
       "detection mean average precision, VOC 11-point or COCO 0.50:0.95 (options: style, boxes_output, "
       "scores_output, classes_output, num_detections_output, box_order, label_offset)",
       make_map},
      {"mean_iou", "segmentation mean IoU (options: output, ignore_label)", make_mean_iou},
      {"nmse", "label-free: normalized MSE to the FP32 outputs, lower is better (options: output)",
       reference_distance_factory(ReferenceDistance::kNmse, "nmse")},
      {"cosine", "label-free: cosine similarity to the FP32 outputs (options: output)",
       reference_distance_factory(ReferenceDistance::kCosine, "cosine")},
      {"psnr", "label-free: PSNR in dB to the FP32 outputs, peak = max|ref| (options: output)",
       reference_distance_factory(ReferenceDistance::kPsnr, "psnr")},
      {"f1", "binary F1 score (options: output, threshold, apply_sigmoid, positive_label)", make_f1},
  };
  return table;
}

const MetricType* find_metric_type(const std::string& type) {
  for (const auto& t : metric_types())
    if (t.type == type) return &t;
  return nullptr;
}

std::string metric_type_names() {
  std::string out;
  for (const auto& t : metric_types()) out += (out.empty() ? "" : ", ") + t.type;
  return out;
}

}  // namespace qwac::metrics
