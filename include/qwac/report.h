// qwac public API: the report of a quantization run, as a plain typed structure.
//
// Every decision the algorithms take is here: parameters, the metrics before and after, each step of the accuracy
// search, the quantizers and their groups, the ops left in float and why, bias correction, timings. Renderers are
// separate (qwac/report_json.h writes the versioned JSON schema that `qwac quantize --report` writes); a renderer
// reads only this structure.
//
// Which parts are set depends on `algorithm`:
//   kDefaultQuantization        quantization (+ evaluation when the caller measured the metrics)
//   kAccuracyAwareQuantization  quantization (the default quantization the search started from) + accuracy_control
//   kSensitivity                quantization + sensitivity
// `files` is filled by whoever writes the model (the CLI: paths, sizes, peak memory), as are the optional
// measurement `layer_errors`, `config_json` and `versions`.
#pragma once

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <vector>

namespace qwac {

// Version of the report's JSON schema (`schema_version`): raised when a key changes meaning or disappears; new keys
// do not raise it. History: 1 = the first versioned schema (qwac 0.1).
inline constexpr int kReportSchemaVersion = 1;

enum class ReportAlgorithm { kDefaultQuantization, kAccuracyAwareQuantization, kSensitivity };

// A per-tensor value, or a summary of per-channel ones. count 0 = none, 1 = `min` (= max = mean) is the value.
struct ValueSummary {
  int64_t count = 0;
  double min = 0, max = 0, mean = 0;
};

// ---------------------------------------------------------------------------------------------------------------
// The quantizer set: what is quantized, in which groups, and what stays in float.

struct QuantizedEdge {
  std::string node;   // the op reading the quantized tensor
  int64_t input = 0;  // which of its inputs
};

struct QuantizerValues {  // set once the quantizer is calibrated
  std::string dtype;      // "int8", "uint8", "int16"...
  std::optional<int64_t> axis;  // per-channel axis
  ValueSummary scale, zero_point, range_min, range_max;
  int64_t qmin = 0, qmax = 0;  // integer range
};

struct QuantizerReport {
  int64_t id = 0;
  std::string name;                  // "activation 'Input3' -> Conv 'Convolution28'"
  std::string kind;                  // "weight" | "activation"
  std::vector<std::string> tensors;  // the tensors it quantizes (several when a Concat shares one quantizer)
  std::vector<QuantizedEdge> edges;
  int64_t group = 0;
  bool enabled = true;
  int64_t bits = 8;
  std::string mode;         // "symmetric" | "asymmetric"
  std::string granularity;  // "perchannel" | "pertensor"
  std::optional<QuantizerValues> values;
  std::string range_method;   // how the range was chosen, readable
  double clipping_ratio = 0;  // fraction of calibration values outside the range
};

struct GroupReport {  // quantizers placed, scored and reverted together, and the ops they cover
  int64_t id = 0;
  std::string name;
  std::vector<int64_t> quantizers;
  std::vector<std::string> ops;
  bool enabled = true;
};

struct FloatOpReport {  // a quantizable op left in float, and why
  std::string node;
  std::string op_type;
  std::string reason;
};

struct QuantizerSetReport {
  std::vector<QuantizerReport> quantizers;
  std::vector<GroupReport> groups;
  std::vector<FloatOpReport> float_ops;
  std::vector<std::string> quantized_ops;
};

// ---------------------------------------------------------------------------------------------------------------
// Default quantization.

struct QuantizationSettingsReport {  // the parameters as applied
  std::string target_device;
  std::string preset;
  std::string model_type;  // "none" or the model type applied ("transformer")
  int64_t stat_subset_size = 0;
  bool shuffle_data = false;
  uint64_t seed = 0;
  std::string weights_granularity;
  std::string bias_correction;
  bool compress_weights = true;
  bool quantize_bias = true;
  std::string export_profile;  // the runtime the QDQ file is shaped for ("onnxruntime", "qwac"; "none")
};

struct CanonicalizationReport {
  int64_t original_opset = 0;
  int64_t opset = 0;
  std::vector<std::string> changes;  // "folded 21 BatchNormalization", ...
};

struct CalibrationReport {
  std::string dataset;  // Dataset::describe()
  int64_t samples = 0;
  int64_t batch_size = 0;
};

struct BiasCorrectionEntry {
  std::string node;
  double max_abs_shift = 0;
  bool bias_added = false;  // the op had no bias
};

struct BiasCorrectionReport {
  std::string method;              // "fast" | "full" | "none"
  std::optional<int64_t> samples;  // full bias correction
  std::vector<BiasCorrectionEntry> corrected;
};

struct SmoothedActivation {  // one MatMul input rescaled by SmoothQuant
  std::string activation;
  std::string folded_into;         // the node whose per-channel constants took 1/s
  std::vector<std::string> nodes;  // the MatMuls whose weight rows took s
  int64_t channels = 0;
  double scale_min = 0, scale_max = 0;
};

struct SmoothQuantReport {
  double alpha = 0;
  std::vector<SmoothedActivation> smoothed;
  std::vector<FloatOpReport> skipped;  // MatMuls left alone (op_type empty), with the reason
};

struct QuantizationReport {
  std::string tool_name = "qwac";
  std::string tool_version;
  QuantizationSettingsReport params;
  CanonicalizationReport canonicalization;
  CalibrationReport calibration;
  QuantizerSetReport set;
  BiasCorrectionReport bias_correction;
  std::optional<SmoothQuantReport> smooth_quant;  // when SmoothQuant ran
  std::map<std::string, double> timings_seconds;  // phase -> seconds ("statistics", "quantize_total", ...)
};

// A metric measured before and after default quantization (`qwac quantize --evaluate`).
struct EvaluatedMetric {
  std::string name;
  double fp32 = 0;
  double quantized = 0;
  double drop_absolute = 0;
  double drop_relative = 0;
};

// ---------------------------------------------------------------------------------------------------------------
// Accuracy control.

struct ControlledMetricReport {
  std::string name;
  double fp32 = 0;                  // baseline (measured, or given as baseline_value)
  double default_quantization = 0;  // before any tuning or revert
  std::optional<double> tuned_default_quantization;  // tune_hyperparams ran
  std::optional<double> final_value;                 // the returned model (accuracy control)
  double drop = 0;                  // of the final model (accuracy control) or the default quantization
  double bound = 0;                 // the largest allowed drop in the metric's units
  bool higher_better = true;
};

struct PrecisionRungReport {
  std::string name;  // "INT16"
  int64_t weights_bits = 0, activations_bits = 0;
};

struct AccuracyControlSettingsReport {
  double max_drop = 0;
  std::string drop_type;
  int64_t ranking_subset_size = 0;
  std::string search;
  std::string restore_mode;
  bool use_prev_if_drop_increase = true;
  bool annotation_free = false;
  bool convert_to_mixed_preset = false;
  bool tune_hyperparams = false;
  std::optional<int64_t> max_iter_num;
  std::vector<PrecisionRungReport> precision_ladder;  // float, the implicit last rung, is not listed
};

// A validation decided early (on part of the set) predicts a bound on the drop instead of measuring the value.
enum class DropMeasure {
  kMeasured,  // value and drop measured on the whole set
  kAtMost,    // the drop can be at most `drop`, whatever the remaining samples give (the candidate passes)
  kAtLeast,   // the drop is at least `drop` (the candidate fails)
};

struct StepMetric {
  std::string name;
  double value = 0;  // kMeasured only
  double drop = 0;
  DropMeasure measure = DropMeasure::kMeasured;
};

struct RankingEntry {
  int64_t group = 0;
  double score = 0;      // controlled metric on the ranking subset with the group reverted alone (higher = helps more)
  int64_t samples = 0;   // how many subset samples scored it (the adaptive ranking drops groups early)
  std::vector<int64_t> unit;          // the groups reverted together for this entry, when more than the group
  std::optional<double> distance;     // mean distance of the first output to FP32's on those samples
  std::optional<double> agreement;    // share of samples agreeing with the better decisions (when known)
  // The full-set value of each controlled metric estimated from those samples (the other samples keep the values of
  // the model the ranking started from); empty when a metric has no per-sample values or the group was scored only
  // within its block.
  std::vector<StepMetric> estimated;
};

// One round of the ranking: the groups still in it (or, in round 0, the blocks of groups scored together) and how
// many subset samples it had seen by its end.
struct RankingRound {
  int64_t round = 0;
  std::optional<int64_t> groups;
  std::optional<int64_t> blocks, groups_per_block, blocks_kept;  // round 0 of a blocked ranking
  int64_t samples = 0;
};

enum class StepKind {
  kValidation,  // a full validation of a candidate
  kRanking,     // groups scored on the ranking subset
  kEstimate,    // a candidate predicted on the ranking subset (bisection); `metrics` = the estimated full-set values
};

struct SearchStep {
  StepKind kind = StepKind::kValidation;
  std::string what;  // "default quantization", "revert the top 3 ranked group(s)", "ranking", "estimate"...
  // kValidation
  int64_t full_validation = 0;  // its number
  std::vector<StepMetric> metrics;
  bool satisfied = false;
  std::optional<int64_t> stopped_after_samples;  // decided early, on this many samples of the validation set
  std::optional<bool> accepted;                  // greedy: the revert was kept
  std::vector<int64_t> reverted_groups, raised_groups;
  std::vector<int64_t> restored_groups;  // bisection's prune: groups put back into int8 for this candidate
  double seconds = 0;                    // kValidation and kRanking
  std::optional<std::string> search;  // "bisection" | "greedy"
  std::optional<int64_t> group;       // the group reverted or restored
  std::vector<int64_t> groups;        // bisection: the prefix's groups
  std::map<std::string, std::string> tune_hyperparams;  // parameter -> value as JSON text (tuned validation)
  // kRanking (+ kValidation for extras)
  std::string metric;
  int64_t subset_size = 0;
  std::vector<RankingEntry> ranking;
  std::optional<bool> adaptive;           // successive halving over the subset
  std::optional<std::string> ordered_by;  // "distance to FP32", "metric, then distance to FP32", ...
  std::vector<RankingRound> rounds;       // the ranking's rounds (one when not adaptive)
  // kEstimate / bisection validations
  std::optional<int64_t> prefix;
  bool estimated_within_bound = false;
};

struct OpPrecisionReport {
  std::string op;
  std::string type;
  std::string precision;  // "float", "float (int8 weights)", "INT16"...
};

struct TuneTrial {
  std::string parameter;
  std::string value_json;                          // the value tried, as JSON text
  std::map<std::string, double> estimated_drops;   // metric -> drop estimated on the ranking subset
};

struct TuneReport {
  std::optional<std::string> skipped;              // why tuning did not run
  std::vector<TuneTrial> tried;
  std::map<std::string, std::string> chosen;       // parameter -> value as JSON text
  int64_t ranking_subset_size = 0;
  std::map<std::string, double> full_set_drops;
  bool kept = false;
  double seconds = 0;
};

// What the validations of one phase of the search cost ("full", "subset", ...).
struct ValidationCost {
  int64_t runs = 0;
  int64_t model_samples = 0;  // samples times models run
  double seconds = 0;
  double compile_seconds = 0;
};

struct KernelCacheReport {
  int64_t hits = 0, misses = 0;
};

struct AccuracyControlReport {
  std::map<std::string, double> fp32;  // every metric's FP32 value
  std::vector<ControlledMetricReport> metrics;
  AccuracyControlSettingsReport params;
  bool reached = false;
  std::vector<SearchStep> steps;
  std::vector<OpPrecisionReport> reverted_ops, raised_ops;
  int64_t quantized_ops_total = 0;
  double int8_op_fraction = 0;  // quantized ops still quantized
  int64_t full_validations = 0, subset_validations = 0;
  QuantizerSetReport final_set;  // the returned model's quantizers
  std::optional<TuneReport> tune_hyperparams;
  std::map<std::string, ValidationCost> runs;  // per phase
  std::optional<KernelCacheReport> kernel_cache;
  std::map<std::string, double> timings_seconds;
  std::map<std::string, double> search_stage_seconds;  // "ranking", "bisection"... (timings_seconds.search_stages)
  std::string summary;  // "2 of 27 quantized ops reverted: Conv_0 (Conv), ..."
};

// ---------------------------------------------------------------------------------------------------------------
// Sensitivity (qwac sensitivity / quantization_sensitivity).

struct SensitivityGroup {
  int64_t rank = 0;  // 1 = most harmful
  int64_t group = 0;
  std::string name;
  std::vector<OpPrecisionReport> ops;  // op and type (precision unused)
  std::vector<int64_t> quantizers;
  double score = 0;
  std::vector<StepMetric> estimated;   // estimated full-set value and drop per controlled metric
  std::optional<bool> estimated_within_bound;
};

struct SensitivityReport {
  std::map<std::string, double> fp32;
  std::vector<ControlledMetricReport> metrics;  // final_value unset
  std::string ranked_metric;
  int64_t ranking_subset_size = 0;
  std::string restore_mode;
  std::vector<SensitivityGroup> groups;
  int64_t full_validations = 0, subset_validations = 0;
  std::map<std::string, double> timings_seconds;
};

// ---------------------------------------------------------------------------------------------------------------

struct ReportFiles {
  std::string model_name;
  std::string fp32_path, output_path;
  int64_t fp32_bytes = 0, quantized_bytes = 0;
  double peak_rss_mb = 0;   // of the process that ran the quantization
  std::string config_path;  // the config file the run was given (CLI), empty otherwise
  std::string created;      // when the report was written, UTC ISO 8601 ("2026-12-07T15:04:05Z")
};

// ---------------------------------------------------------------------------------------------------------------
// Per-layer quantization error (measure_layer_errors, qwac/layer_error.h): where the error enters and accumulates.

struct LayerError {
  std::string node;     // a computing node of the quantized model (Q/DQ nodes are not listed)
  std::string op_type;
  std::string tensor;   // its first output, compared with the FP32 model's tensor of the same name
  // Over the samples, with e = quantized - fp32: nmse = sum(e^2) / sum(fp32^2), sqnr_db = -10 log10(nmse). Unset
  // when the FP32 model has no such tensor or it is all zeros (nmse), or when the tensors are equal (sqnr_db).
  std::optional<double> nmse, sqnr_db;
  double max_abs_error = 0;
};

struct LayerErrorReport {
  std::string dataset;    // Dataset::describe() of the samples
  int64_t samples = 0;
  std::string execution;  // how the quantized model ran ("QDQ simulation": ONNX semantics, what runtimes approximate)
  std::vector<LayerError> layers;  // every computing node, in graph (topological) order
  double seconds = 0;              // what measuring them cost
};

struct Report {
  int schema_version = kReportSchemaVersion;
  ReportAlgorithm algorithm = ReportAlgorithm::kDefaultQuantization;
  QuantizationReport quantization;
  std::vector<EvaluatedMetric> evaluation;             // kDefaultQuantization, when measured
  std::optional<AccuracyControlReport> accuracy_control;
  std::optional<SensitivityReport> sensitivity;
  std::optional<ReportFiles> files;
  std::optional<LayerErrorReport> layer_errors;  // when measured (qwac quantize --report/--html)
  std::string config_json;                       // the config the run was given, as JSON text (CLI), or empty
  std::map<std::string, std::string> versions;   // component -> version of the run ("qwac", "oneDNN", "ONNX"...)
};

std::string to_string(ReportAlgorithm v);  // "DefaultQuantization", "AccuracyAwareQuantization", "sensitivity"
std::string to_string(StepKind v);         // "validation", "ranking", "estimate"

// The versions of qwac and the libraries it was built with, as Report::versions records them.
std::map<std::string, std::string> build_versions();

}  // namespace qwac
