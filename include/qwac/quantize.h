// qwac public API: default 8-bit post-training quantization (the seeds' "DefaultQuantization", NNCF's
// nncf.quantize).
//
//   qwac::Model fp32 = qwac::Model::load("model.onnx");
//   qwac::QuantizationParams params;                  // POT/NNCF parameters, defaults as there
//   qwac::QuantizeResult r = qwac::quantize(fp32, calibration_dataset, params);
//   r.model.save("model.int8.onnx");                  // QDQ ONNX, int8 weights
//   std::string json = qwac::report_to_json(r.report);  // every decision (qwac/report_json.h)
//
// The same parameters are read from a config's `compression` section ({"name": "DefaultQuantization", "params":
// {...}}, docs/config.md; qwac/config.h).
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "qwac/dataset.h"
#include "qwac/execution.h"
#include "qwac/model.h"
#include "qwac/report.h"

namespace qwac {

enum class QuantizerMode { kSymmetric, kAsymmetric };
enum class Granularity { kPerChannel, kPerTensor };
// performance: symmetric weights and activations; mixed: asymmetric activations; accuracy: 16-bit (GNA only).
enum class Preset { kPerformance, kMixed, kAccuracy };
// fast: the expected output shift of the weight error on the mean input; full: layer by layer on the quantized
// model (slower); none.
enum class BiasCorrection { kFast, kFull, kNone };

// How a quantizer's real range [min, max] is chosen from statistics (POT's range estimators).
enum class RangePreset { kDefault, kQuantile, kMse, kKl };
enum class RangeType { kMin, kMax, kAbsMax, kQuantile, kAbsQuantile };
enum class RangeAggregator { kMean, kMax, kMin, kMedian, kMeanNoOutliers, kMedianNoOutliers };

// One side of the range; unset fields keep the preset's choice.
struct RangeBound {
  std::optional<RangeType> type;              // min side: kMin | kAbsMax | kQuantile | kAbsQuantile (max: kMax...)
  std::optional<RangeAggregator> aggregator;  // reduces per-sample values (activations)
  std::optional<double> outlier_prob;         // quantiles, in [0, 0.5)
};

// Unset sides keep the preset's choice; the preset's defaults follow POT (abs max / min-max for weights, mean of
// per-sample extremes for activations). kMse and kKl search the whole range over a histogram.
struct RangeEstimatorParams {
  std::optional<RangePreset> preset;
  std::optional<RangeBound> min, max;
};

// Quantizer settings for weights or activations; unset fields keep the target device's preset.
struct QuantizerParams {
  std::optional<int> bits;                 // 8 (16 where the device allows it)
  std::optional<QuantizerMode> mode;
  std::optional<Granularity> granularity;  // weights default to per-channel
  std::optional<RangeEstimatorParams> range_estimator;
};

// Ops that stay in float whatever the device allows: exact node names, regular expressions over node names
// (ECMAScript, matching the whole name) and op types. An entry that matches nothing is an InvalidConfig error
// listing the nearest names (a typo would silently quantize what the user wanted to protect).
struct IgnoredScope {
  std::vector<std::string> names;
  std::vector<std::string> patterns;
  std::vector<std::string> types;
};

struct QuantizationParams {
  // Target device of the hardware config (data, src/quant/hw_configs/*.json): "ANY", "CPU", "GPU", "NPU", "GNA".
  // A string because devices are data: a new config file adds one without a new API.
  std::string target_device = "ANY";
  std::optional<Preset> preset;  // unset = the model type's default (mixed for transformers), else performance
  // The network family, for its quantization rules (NNCF's model_type; src/quant/hw_configs/transformer.json):
  // "" = none, "transformer" = LayerNorm/GELU glue, the attention mask's Add and Softmax x V in float, symmetric
  // Q x K^T inputs, mixed preset.
  std::string model_type;
  int64_t stat_subset_size = 300;  // calibration samples (clamped to the dataset size); NNCF's subset_size
  bool shuffle_data = false;       // the first stat_subset_size samples, or a seeded sample of the dataset
  uint64_t seed = 0;
  QuantizerParams weights;
  QuantizerParams activations;
  BiasCorrection bias_correction = BiasCorrection::kFast;  // NNCF's fast_bias_correction=False is kFull
  int64_t bias_correction_subset_size = 0;  // kFull: samples used; 0 = 20 % of stat_subset_size (NNCF)
  // SmoothQuant's alpha on MatMul inputs (NNCF's smooth_quant_alphas.matmul): unset = the model type's default
  // (transformer: see src/quant/hw_configs/transformer.json; none otherwise), negative = off, at most 1.
  std::optional<double> smooth_quant_alpha;
  IgnoredScope ignored_scope;
  bool compress_weights = true;  // int8 weight initializers + DequantizeLinear (false: float weights + Q/DQ)
  bool quantize_bias = true;     // int32 bias (ONNX Runtime's QDQ layout) where input and weight are quantized
  // The runtime the exported QDQ file is shaped for (src/quant/hw_configs/<name>.json): "onnxruntime" (DQ -> op -> Q
  // around every int8 op, uint8 activations) or "qwac" (NNCF-style: no quantizer inside a fused pattern); "" = the
  // target device's default (onnxruntime for ANY/CPU/GPU/NPU, qwac for GNA).
  std::string export_profile;
};

struct QuantizeResult {
  Model model;    // the QDQ model
  Report report;  // every decision: quantizers, groups, ops left in float, bias correction, timings
};

// Default quantization of `model` with `calibration` samples. Throws InvalidConfig for bad parameters,
// InvalidModel when nothing can be quantized, DataError for samples that do not fit the model or non-finite
// activations, and whatever a user's Dataset throws.
QuantizeResult quantize(const Model& model, const Dataset& calibration, const QuantizationParams& params = {},
                        const ExecutionOptions& options = {});

// Names as configs spell them ("performance", "perchannel", "fast", ...), and back (InvalidArgument listing the
// accepted names). One table per enum, shared with the config parser and the Python module.
std::string to_string(QuantizerMode v);
std::string to_string(Granularity v);
std::string to_string(Preset v);
std::string to_string(BiasCorrection v);
std::string to_string(RangePreset v);
std::string to_string(RangeType v);
std::string to_string(RangeAggregator v);
QuantizerMode quantizer_mode_from_string(const std::string& s);
Granularity granularity_from_string(const std::string& s);
Preset preset_from_string(const std::string& s);
BiasCorrection bias_correction_from_string(const std::string& s);
RangePreset range_preset_from_string(const std::string& s);
RangeType range_type_from_string(const std::string& s);
RangeAggregator range_aggregator_from_string(const std::string& s);

}  // namespace qwac
