// Mean average precision for object detection, in two styles:
//  - "voc":  PASCAL VOC 2007 devkit (voc_eval.py): IoU > 0.5, 11-point interpolated AP, "difficult" ground truth
//            ignored (a detection matching it counts neither as TP nor FP; it is not in the recall denominator).
//  - "coco": pycocotools COCOeval, area range "all": AP averaged over IoU 0.50:0.05:0.95 (IoU >= t), 101-point
//            interpolation on the monotone precision envelope.
// The mean is over the classes that have (non-difficult) ground truth in the evaluated images.
//
// Deliberate differences from the reference code, documented here once:
//  - IoU uses continuous coordinates (no VOC "+1 pixel"), so normalized boxes work.
//  - COCO has no "difficult": such boxes behave like COCO crowd regions (ignored, can absorb any number of
//    detections) but are matched by IoU, not by intersection-over-detection-area.
//  - No per-image cap on detections (COCO's maxDets=100): the model's max_det already bounds them.
//  - Ties in score are broken by image order, then by detection order within the image (stable sorts; COCO uses
//    mergesort, VOC's argsort has no defined tie order).
//
// The model's post-processed outputs are read by name: boxes [N, D, 4], scores [N, D], classes [N, D] and
// optionally num_detections [N] (only the first num_detections[i] rows of image i are used). Without it, rows with a
// negative class are padding and skipped. mAP has no per-sample form: per_sample_values() is empty.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "metrics/metric_util.h"
#include "qwac/metric.h"

namespace qwac::metrics {

enum class MapStyle { kVoc, kCoco };

struct DetectionMapOptions {
  MapStyle style = MapStyle::kVoc;         // JSON "style": "voc" | "coco"
  std::string boxes_output = "boxes";      // JSON "boxes_output"
  std::string scores_output = "scores";    // JSON "scores_output"
  std::string classes_output = "classes";  // JSON "classes_output"
  std::string num_detections_output;       // JSON "num_detections_output": "" = none
  bool boxes_yxyx = false;                 // JSON "box_order": "xyxy" (default) | "yxyx" (TensorFlow models)
  int64_t label_offset = 0;                // JSON "label_offset": added to ground-truth labels before matching
};

struct Detection {
  float x_min, y_min, x_max, y_max;
  float score;
  int64_t label;
};

// One image's detections and ground truth.
struct DetectionImage {
  std::vector<Detection> detections;
  std::vector<BoundingBox> ground_truth;
};

// mAP over images; NaN when no class has ground truth. Exposed for tests and for callers that hold the data.
double mean_average_precision(const std::vector<DetectionImage>& images, MapStyle style);
// IoU of two boxes in continuous coordinates (0 when either has no area).
double box_iou(double ax0, double ay0, double ax1, double ay1, double bx0, double by0, double bx1, double by1);

class DetectionMapMetric : public Metric {
 public:
  explicit DetectionMapMetric(DetectionMapOptions options);

  std::string name() const override { return name_; }
  void update(const ModelOutputs& outputs, const std::vector<Annotation>& annotations) override;
  // mAP of the last batch's images / of every image since reset(). DataError when no class had ground truth.
  double value() const override;
  double avg_value() const override;
  void reset() override;
  std::map<std::string, std::string> attributes() const override { return metric_attributes(true, "map"); }

  const DetectionMapOptions& options() const { return options_; }

 private:
  double checked_map(const std::vector<DetectionImage>& images) const;

  DetectionMapOptions options_;
  std::string name_;
  std::vector<DetectionImage> images_;
  size_t last_begin_ = 0;
};

}  // namespace qwac::metrics
