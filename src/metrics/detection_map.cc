#include "metrics/detection_map.h"

#include <algorithm>
#include <cmath>
#include <limits>
#include <set>

namespace qwac::metrics {

namespace {

constexpr double kEps = std::numeric_limits<double>::epsilon();  // numpy's finfo(float64).eps == spacing(1)
constexpr double kVocIouThreshold = 0.5;
constexpr int kVocRecallPoints = 11;
constexpr int kCocoIouThresholds = 10;  // 0.50:0.05:0.95
constexpr int kCocoRecallPoints = 101;  // 0:0.01:1

// numpy.linspace(start, stop, num)[i], computed the way numpy does (i * step + start, last element exact), so the
// thresholds compare against recalls/IoUs exactly as in pycocotools.
double linspace_at(double start, double stop, int num, int i) {
  if (i == num - 1) return stop;
  const double step = (stop - start) / (num - 1);
  return i * step + start;
}

double det_iou(const Detection& d, const BoundingBox& g) {
  return box_iou(d.x_min, d.y_min, d.x_max, d.y_max, g.x_min, g.y_min, g.x_max, g.y_max);
}

// One class's view of the data: per image, its ground truth and its detections sorted by descending score.
struct ClassData {
  std::vector<std::vector<const BoundingBox*>> gts;  // per image; COCO order: non-difficult first (stable)
  std::vector<std::vector<const Detection*>> dets;   // per image, stable by descending score
  int64_t positives = 0;                             // non-difficult ground truth boxes
};

ClassData gather_class(const std::vector<DetectionImage>& images, int64_t label) {
  ClassData c;
  c.gts.resize(images.size());
  c.dets.resize(images.size());
  for (size_t i = 0; i < images.size(); ++i) {
    for (const auto& g : images[i].ground_truth)
      if (g.label == label && !g.difficult) c.gts[i].push_back(&g), ++c.positives;
    for (const auto& g : images[i].ground_truth)
      if (g.label == label && g.difficult) c.gts[i].push_back(&g);
    for (const auto& d : images[i].detections)
      if (d.label == label) c.dets[i].push_back(&d);
    std::stable_sort(c.dets[i].begin(), c.dets[i].end(),
                     [](const Detection* a, const Detection* b) { return a->score > b->score; });
  }
  return c;
}

// A scored decision, for the cross-image precision/recall curve.
struct Decision {
  double score;
  bool true_positive;
};

// Cumulative precision/recall over decisions sorted by descending score (stable: image order, then rank in image).
void precision_recall(std::vector<Decision> decisions, int64_t positives, std::vector<double>& precision,
                      std::vector<double>& recall) {
  std::stable_sort(decisions.begin(), decisions.end(),
                   [](const Decision& a, const Decision& b) { return a.score > b.score; });
  precision.clear();
  recall.clear();
  double tp = 0, fp = 0;
  for (const auto& d : decisions) {
    (d.true_positive ? tp : fp) += 1;
    recall.push_back(tp / static_cast<double>(positives));
    precision.push_back(tp / std::max(tp + fp, kEps));
  }
}

// voc_eval.py: detections in score order; each takes the ground truth of highest IoU in its image (difficult
// included); above the threshold it is a TP if that box is unclaimed, ignored if the box is difficult, else FP.
double voc_class_ap(const ClassData& c) {
  std::vector<Decision> decisions;
  // The cross-image order decides which detection claims a box first, so match in global score order.
  struct Ref {
    const Detection* det;
    size_t image;
  };
  std::vector<Ref> order;
  for (size_t i = 0; i < c.dets.size(); ++i)
    for (const Detection* d : c.dets[i]) order.push_back({d, i});
  std::stable_sort(order.begin(), order.end(), [](const Ref& a, const Ref& b) { return a.det->score > b.det->score; });
  std::vector<std::vector<char>> claimed(c.gts.size());
  for (size_t i = 0; i < c.gts.size(); ++i) claimed[i].assign(c.gts[i].size(), 0);
  for (const auto& r : order) {
    const auto& gts = c.gts[r.image];
    double best = -std::numeric_limits<double>::infinity();
    size_t best_j = 0;
    for (size_t j = 0; j < gts.size(); ++j) {
      const double iou = det_iou(*r.det, *gts[j]);
      if (iou > best) best = iou, best_j = j;
    }
    if (best > kVocIouThreshold) {
      if (gts[best_j]->difficult) continue;  // neither TP nor FP
      const bool first = !claimed[r.image][best_j];
      claimed[r.image][best_j] = 1;
      decisions.push_back({r.det->score, first});
    } else {
      decisions.push_back({r.det->score, false});
    }
  }
  std::vector<double> precision, recall;
  precision_recall(std::move(decisions), c.positives, precision, recall);
  double ap = 0;
  for (int p = 0; p < kVocRecallPoints; ++p) {
    const double t = p * 0.1;  // numpy.arange(0., 1.1, 0.1)[p]
    double best = 0;
    for (size_t k = 0; k < recall.size(); ++k)
      if (recall[k] >= t) best = std::max(best, precision[k]);
    ap += best / kVocRecallPoints;
  }
  return ap;
}

// COCOeval.evaluateImg + accumulate for one class and one IoU threshold.
double coco_class_ap_at(const ClassData& c, double iou_threshold) {
  std::vector<Decision> decisions;
  for (size_t i = 0; i < c.dets.size(); ++i) {
    const auto& gts = c.gts[i];
    std::vector<char> matched(gts.size(), 0);
    for (const Detection* d : c.dets[i]) {
      double best = std::min(iou_threshold, 1 - 1e-10);
      int64_t m = -1;
      for (size_t g = 0; g < gts.size(); ++g) {
        const bool ignored = gts[g]->difficult;
        if (matched[g] && !ignored) continue;  // ignored (crowd-like) regions may absorb several detections
        if (m > -1 && !gts[static_cast<size_t>(m)]->difficult && ignored) break;  // prefer real ground truth
        const double iou = det_iou(*d, *gts[g]);
        if (iou < best) continue;
        best = iou;
        m = static_cast<int64_t>(g);
      }
      if (m == -1) {
        decisions.push_back({d->score, false});
      } else if (!gts[static_cast<size_t>(m)]->difficult) {
        matched[static_cast<size_t>(m)] = 1;
        decisions.push_back({d->score, true});
      }  // else matched an ignored region: dropped from the curve
    }
  }
  std::vector<double> precision, recall;
  precision_recall(std::move(decisions), c.positives, precision, recall);
  for (size_t k = precision.size(); k-- > 1;) precision[k - 1] = std::max(precision[k - 1], precision[k]);
  double sum = 0;
  for (int p = 0; p < kCocoRecallPoints; ++p) {
    const double r = linspace_at(0.0, 1.0, kCocoRecallPoints, p);
    const auto it = std::lower_bound(recall.begin(), recall.end(), r);  // numpy searchsorted(side='left')
    if (it != recall.end()) sum += precision[static_cast<size_t>(it - recall.begin())];
  }
  return sum / kCocoRecallPoints;
}

double coco_class_ap(const ClassData& c) {
  double sum = 0;
  for (int t = 0; t < kCocoIouThresholds; ++t)
    sum += coco_class_ap_at(c, linspace_at(0.5, 0.95, kCocoIouThresholds, t));
  return sum / kCocoIouThresholds;
}

}  // namespace

double box_iou(double ax0, double ay0, double ax1, double ay1, double bx0, double by0, double bx1, double by1) {
  const double iw = std::min(ax1, bx1) - std::max(ax0, bx0);
  const double ih = std::min(ay1, by1) - std::max(ay0, by0);
  if (iw <= 0 || ih <= 0) return 0;
  const double inter = iw * ih;
  const double uni =
      std::max(0.0, ax1 - ax0) * std::max(0.0, ay1 - ay0) + std::max(0.0, bx1 - bx0) * std::max(0.0, by1 - by0) - inter;
  return uni > 0 ? inter / uni : 0;
}

double mean_average_precision(const std::vector<DetectionImage>& images, MapStyle style) {
  std::set<int64_t> labels;
  for (const auto& im : images)
    for (const auto& g : im.ground_truth)
      if (!g.difficult) labels.insert(g.label);
  if (labels.empty()) return std::numeric_limits<double>::quiet_NaN();
  double sum = 0;
  for (int64_t label : labels) {
    const ClassData c = gather_class(images, label);
    sum += style == MapStyle::kVoc ? voc_class_ap(c) : coco_class_ap(c);
  }
  return sum / static_cast<double>(labels.size());
}

DetectionMapMetric::DetectionMapMetric(DetectionMapOptions options)
    : options_(std::move(options)), name_(options_.style == MapStyle::kVoc ? "map@voc" : "map@coco") {
  if (options_.boxes_output.empty() || options_.scores_output.empty() || options_.classes_output.empty())
    throw InvalidConfig("map: options 'boxes_output', 'scores_output' and 'classes_output' must name model outputs");
}

void DetectionMapMetric::update(const ModelOutputs& outputs, const std::vector<Annotation>& annotations) {
  const size_t batch = annotations.size();
  check_nonempty_batch(batch, name_);
  const Tensor& boxes = outputs.by_name(options_.boxes_output);
  const Tensor& scores = outputs.by_name(options_.scores_output);
  const Tensor& classes = outputs.by_name(options_.classes_output);
  const std::string bw = "boxes output '" + options_.boxes_output + "'";
  const std::string sw = "scores output '" + options_.scores_output + "'";
  const std::string cw = "classes output '" + options_.classes_output + "'";
  check_batch_dim(boxes, batch, name_, bw);
  if (boxes.rank() != 3 || boxes.dim(2) != 4)
    throw DataError(name_ + ": " + bw + " is " + boxes.describe() + ", expected [N, max_det, 4]");
  const int64_t max_det = boxes.dim(1);
  const Shape per_det = {static_cast<int64_t>(batch), max_det};
  for (const auto* t : {&scores, &classes}) {
    const Shape& s = t->shape();
    const bool ok = s == per_det || (s.size() == 3 && s[0] == per_det[0] && s[1] == max_det && s[2] == 1);
    if (!ok)
      throw DataError(name_ + ": " + (t == &scores ? sw : cw) + " is " + t->describe() + ", expected " +
                      shape_to_string(per_det) + " to match " + bw + " " + boxes.describe());
  }
  std::vector<double> counts;
  if (!options_.num_detections_output.empty()) {
    const Tensor& nd = outputs.by_name(options_.num_detections_output);
    const std::string nw = "num_detections output '" + options_.num_detections_output + "'";
    check_batch_dim(nd, batch, name_, nw);
    if (nd.numel() != static_cast<int64_t>(batch))
      throw DataError(name_ + ": " + nw + " is " + nd.describe() + ", expected [N]");
    counts = tensor_values(nd, name_ + ": " + nw);
    for (size_t i = 0; i < batch; ++i)
      if (!(counts[i] >= 0 && counts[i] <= static_cast<double>(max_det)))
        throw DataError(name_ + ": " + nw + " gives " + std::to_string(counts[i]) + " detections for sample " +
                        std::to_string(i) + ", expected 0.." + std::to_string(max_det));
  }
  const auto box_v = tensor_values(boxes, name_ + ": " + bw);
  const auto score_v = tensor_values(scores, name_ + ": " + sw);
  const auto class_v = tensor_values(classes, name_ + ": " + cw);

  std::vector<DetectionImage> batch_images(batch);
  for (size_t i = 0; i < batch; ++i) {
    auto& im = batch_images[i];
    const int64_t n = counts.empty() ? max_det : static_cast<int64_t>(counts[i]);
    for (int64_t j = 0; j < n; ++j) {
      const size_t k = i * static_cast<size_t>(max_det) + static_cast<size_t>(j);
      const double cls = class_v[k];
      if (!(cls >= 0)) continue;  // padding rows (class -1) or NaN
      const double* b = &box_v[4 * k];
      Detection d{};
      d.x_min = static_cast<float>(options_.boxes_yxyx ? b[1] : b[0]);
      d.y_min = static_cast<float>(options_.boxes_yxyx ? b[0] : b[1]);
      d.x_max = static_cast<float>(options_.boxes_yxyx ? b[3] : b[2]);
      d.y_max = static_cast<float>(options_.boxes_yxyx ? b[2] : b[3]);
      d.score = static_cast<float>(score_v[k]);
      d.label = std::llround(cls);
      im.detections.push_back(d);
    }
    im.ground_truth = annotations[i].boxes;
    for (auto& g : im.ground_truth) g.label += options_.label_offset;
  }
  last_begin_ = images_.size();
  for (auto& im : batch_images) images_.push_back(std::move(im));
}

double DetectionMapMetric::checked_map(const std::vector<DetectionImage>& images) const {
  if (images.empty()) throw_no_samples(name_);
  const double v = mean_average_precision(images, options_.style);
  if (std::isnan(v))
    throw DataError(name_ + ": none of the " + std::to_string(images.size()) +
                    " image(s) has a non-difficult ground-truth box; mAP is undefined");
  return v;
}

double DetectionMapMetric::value() const {
  return checked_map(
      std::vector<DetectionImage>(images_.begin() + static_cast<std::ptrdiff_t>(last_begin_), images_.end()));
}

double DetectionMapMetric::avg_value() const {
  return checked_map(images_);
}

void DetectionMapMetric::reset() {
  images_.clear();
  last_begin_ = 0;
}

}  // namespace qwac::metrics
