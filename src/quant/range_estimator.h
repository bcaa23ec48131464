// Range estimators in the POT style: how a quantizer's real range [min, max] is chosen from statistics.
//
//   "range_estimator": {"preset": "default" | "quantile" | "mse" | "kl",
//                       "min": {"type": "min" | "abs_max" | "quantile" | "abs_quantile",
//                               "aggregator": "mean" | "max" | "min" | "median" | "mean_no_outliers" |
//                                             "median_no_outliers",
//                               "outlier_prob": 1e-4},
//                       "max": {"type": "max" | "abs_max" | "quantile" | "abs_quantile", ...}}
//
// Types apply per sample (activations) or to the whole tensor (weights, per channel when per-channel); the
// aggregator reduces the per-sample values. Defaults follow POT: weights abs_max (symmetric) or min/max
// (asymmetric); per-tensor activations: min = global min, max = mean of per-sample abs max (symmetric) or mean of
// per-sample min / max (asymmetric); per-channel activations: global min/max per channel. Presets: "quantile" =
// quantile / abs_quantile with mean aggregator and outlier_prob 1e-4; "mse" = the range minimizing the expected
// squared quantization error over the histogram; "kl" = TensorRT-style entropy calibration.
#pragma once

#include <optional>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "core/tensor.h"
#include "quant/quantizer_set.h"
#include "quant/statistics/tensor_statistics.h"

namespace qwac::quant {

enum class RangeType { kMin, kMax, kAbsMax, kQuantile, kAbsQuantile };
enum class Aggregator { kMean, kMax, kMin, kMedian, kMeanNoOutliers, kMedianNoOutliers };
enum class RangeSearch { kNone, kMse, kKl };  // whole-range searches over the histogram

struct RangeSide {
  RangeType type = RangeType::kMin;
  Aggregator aggregator = Aggregator::kMean;
  double outlier_prob = 1e-4;
  bool operator==(const RangeSide&) const = default;
};

struct RangeEstimatorConfig {
  std::string preset = "default";  // for reports
  RangeSide min, max;
  RangeSearch search = RangeSearch::kNone;
  bool operator==(const RangeEstimatorConfig&) const = default;
};

// POT defaults for a quantizer kind and spec.
RangeEstimatorConfig default_range_estimator(QuantizerKind kind, const QuantizerSpec& spec);
// Parses a `range_estimator` JSON object (strict: unknown keys/values are InvalidConfig naming `where`, the JSON
// path). Unspecified sides keep the defaults for (kind, spec).
RangeEstimatorConfig parse_range_estimator(const nlohmann::json& j, const std::string& where, QuantizerKind kind,
                                           const QuantizerSpec& spec);
// Named preset ("default", "quantile", "mse", "kl"); InvalidConfig naming `where` otherwise.
RangeEstimatorConfig range_estimator_preset(const std::string& preset, const std::string& where, QuantizerKind kind,
                                            const QuantizerSpec& spec);

// Statistics an activation quantizer needs for this estimator.
StatisticsNeeds needs_for(const RangeEstimatorConfig& cfg, const QuantizerSpec& spec);

struct Range {
  std::vector<float> min, max;  // one entry per-tensor, or one per channel
  std::string method;           // readable, e.g. "min: global min; max: mean of per-sample abs max"
  double clipping_ratio = 0.0;  // fraction of calibration values outside [min, max] (histogram or exact for weights)
};

// Activation range from collected statistics. For symmetric specs with signedness_from_range, the grid used by the
// MSE/KL searches is unsigned when global_min() >= 0.
Range estimate_activation_range(const RangeEstimatorConfig& cfg, const TensorStatistics& stats,
                                const QuantizerSpec& spec);
// Weight range computed directly from the constant (per channel along spec.axis when per-channel).
Range estimate_weight_range(const RangeEstimatorConfig& cfg, const Tensor& weight, const QuantizerSpec& spec);

}  // namespace qwac::quant
