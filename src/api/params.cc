#include "api/params.h"

#include <utility>
#include <vector>

#include "core/json_options.h"
#include "qwac/error.h"

namespace qwac {
namespace {

// One spelling table per enum, in the configs' spelling (docs/config.md). The first spelling of a value is the one
// to_string gives; later ones are accepted aliases.
template <typename E>
using Spellings = std::vector<std::pair<std::string, E>>;

const Spellings<QuantizerMode> kModes = {{"symmetric", QuantizerMode::kSymmetric},
                                         {"asymmetric", QuantizerMode::kAsymmetric}};
const Spellings<Granularity> kGranularities = {{"perchannel", Granularity::kPerChannel},
                                               {"pertensor", Granularity::kPerTensor}};
const Spellings<Preset> kPresets = {
    {"performance", Preset::kPerformance}, {"mixed", Preset::kMixed}, {"accuracy", Preset::kAccuracy}};
const Spellings<BiasCorrection> kBiasCorrections = {
    {"fast", BiasCorrection::kFast}, {"full", BiasCorrection::kFull}, {"none", BiasCorrection::kNone}};
const Spellings<RangePreset> kRangePresets = {{"default", RangePreset::kDefault},
                                              {"quantile", RangePreset::kQuantile},
                                              {"mse", RangePreset::kMse},
                                              {"kl", RangePreset::kKl}};
const Spellings<RangeType> kRangeTypes = {{"min", RangeType::kMin},
                                          {"max", RangeType::kMax},
                                          {"abs_max", RangeType::kAbsMax},
                                          {"quantile", RangeType::kQuantile},
                                          {"abs_quantile", RangeType::kAbsQuantile}};
const Spellings<RangeAggregator> kAggregators = {{"mean", RangeAggregator::kMean},
                                                 {"max", RangeAggregator::kMax},
                                                 {"min", RangeAggregator::kMin},
                                                 {"median", RangeAggregator::kMedian},
                                                 {"mean_no_outliers", RangeAggregator::kMeanNoOutliers},
                                                 {"median_no_outliers", RangeAggregator::kMedianNoOutliers}};
const Spellings<DropType> kDropTypes = {{"absolute", DropType::kAbsolute}, {"relative", DropType::kRelative}};
const Spellings<SearchStrategy> kSearches = {{"bisection", SearchStrategy::kBisection},
                                             {"greedy", SearchStrategy::kGreedy}};
const Spellings<RestoreMode> kRestoreModes = {{"weights_and_activations", RestoreMode::kWeightsAndActivations},
                                              {"activations", RestoreMode::kActivations},
                                              {"ACTIVATIONS_AND_WEIGHTS", RestoreMode::kWeightsAndActivations},
                                              {"ONLY_ACTIVATIONS", RestoreMode::kActivations}};

template <typename E>
std::string name_of(const Spellings<E>& table, E v) {
  for (const auto& [spelling, e] : table) {
    if (e == v) return spelling;
  }
  throw InternalError("to_string: enum value " + std::to_string(static_cast<int>(v)) + " has no spelling");
}

// InvalidArgument for a value given through the API, InvalidConfig (with the JSON path) for one from a config.
template <typename E, typename ErrorType = InvalidArgument>
E value_of(const Spellings<E>& table, const std::string& s, const std::string& what) {
  std::string allowed;
  for (const auto& [spelling, e] : table) {
    if (spelling == s) return e;
    allowed += (allowed.empty() ? "\"" : " | \"") + spelling + "\"";
  }
  throw ErrorType(what + ": unknown value \"" + s + "\"; expected one of " + allowed);
}

template <typename E>
E config_value(const Spellings<E>& table, const std::string& s, const std::string& where) {
  return value_of<E, InvalidConfig>(table, s, where);
}

}  // namespace

std::string to_string(QuantizerMode v) { return name_of(kModes, v); }
std::string to_string(Granularity v) { return name_of(kGranularities, v); }
std::string to_string(Preset v) { return name_of(kPresets, v); }
std::string to_string(BiasCorrection v) { return name_of(kBiasCorrections, v); }
std::string to_string(RangePreset v) { return name_of(kRangePresets, v); }
std::string to_string(RangeType v) { return name_of(kRangeTypes, v); }
std::string to_string(RangeAggregator v) { return name_of(kAggregators, v); }
std::string to_string(DropType v) { return name_of(kDropTypes, v); }
std::string to_string(SearchStrategy v) { return name_of(kSearches, v); }
std::string to_string(RestoreMode v) { return name_of(kRestoreModes, v); }
QuantizerMode quantizer_mode_from_string(const std::string& s) { return value_of(kModes, s, "mode"); }
Granularity granularity_from_string(const std::string& s) { return value_of(kGranularities, s, "granularity"); }
Preset preset_from_string(const std::string& s) { return value_of(kPresets, s, "preset"); }
BiasCorrection bias_correction_from_string(const std::string& s) {
  return value_of(kBiasCorrections, s, "bias_correction");
}
RangePreset range_preset_from_string(const std::string& s) { return value_of(kRangePresets, s, "range preset"); }
RangeType range_type_from_string(const std::string& s) { return value_of(kRangeTypes, s, "range type"); }
RangeAggregator range_aggregator_from_string(const std::string& s) {
  return value_of(kAggregators, s, "aggregator");
}
DropType drop_type_from_string(const std::string& s) { return value_of(kDropTypes, s, "drop_type"); }
SearchStrategy search_strategy_from_string(const std::string& s) { return value_of(kSearches, s, "search"); }
RestoreMode restore_mode_from_string(const std::string& s) { return value_of(kRestoreModes, s, "restore_mode"); }

namespace api {
namespace {

nlohmann::json to_json(const RangeBound& b) {
  nlohmann::json j = nlohmann::json::object();
  if (b.type) j["type"] = to_string(*b.type);
  if (b.aggregator) j["aggregator"] = to_string(*b.aggregator);
  if (b.outlier_prob) j["outlier_prob"] = *b.outlier_prob;
  return j;
}

QuantizerConfig to_config(const QuantizerParams& p) {
  QuantizerConfig c;
  c.bits = p.bits;
  if (p.mode) c.mode = to_string(*p.mode);
  if (p.granularity) c.granularity = to_string(*p.granularity);
  if (p.range_estimator) {
    const RangeEstimatorParams& r = *p.range_estimator;
    nlohmann::json j = nlohmann::json::object();
    if (r.preset) j["preset"] = to_string(*r.preset);
    if (r.min) j["min"] = to_json(*r.min);
    if (r.max) j["max"] = to_json(*r.max);
    c.range_estimator = j;
  }
  return c;
}

// The config form of a range estimator: a preset name, or {"preset", "min": {...}, "max": {...}}. Strict, with
// the same messages as the algorithms' own parser (they name the JSON path).
RangeEstimatorParams range_estimator_from(const nlohmann::json& j, const std::string& where) {
  RangeEstimatorParams r;
  if (j.is_string()) {
    r.preset = kRangePresets.front().second;
    JsonOptions(nlohmann::json{{"preset", j}}, where).read_choice("preset", *r.preset, kRangePresets);
    return r;
  }
  JsonOptions o(j, where);
  if (o.has("preset")) {
    r.preset = RangePreset::kDefault;
    o.read_choice("preset", *r.preset, kRangePresets);
  }
  for (const bool max_side : {false, true}) {
    const std::string key = max_side ? "max" : "min";
    const nlohmann::json* section = o.section(key);
    if (section == nullptr) continue;
    JsonOptions s(*section, o.path(key));
    RangeBound b;
    if (s.has("type")) {
      b.type = RangeType::kMin;
      s.read_choice("type", *b.type, kRangeTypes);
    }
    if (s.has("aggregator")) {
      b.aggregator = RangeAggregator::kMean;
      s.read_choice("aggregator", *b.aggregator, kAggregators);
    }
    if (s.has("outlier_prob")) {
      double p = 0;
      s.read("outlier_prob", p);
      b.outlier_prob = p;
    }
    s.finish();
    (max_side ? r.max : r.min) = b;
  }
  o.finish();
  return r;
}

QuantizerParams from_config(const QuantizerConfig& c, const std::string& where) {
  QuantizerParams p;
  p.bits = c.bits;
  if (c.mode) p.mode = config_value(kModes, *c.mode, where + ".mode");
  if (c.granularity) p.granularity = config_value(kGranularities, *c.granularity, where + ".granularity");
  if (!c.range_estimator.is_null()) {
    p.range_estimator = range_estimator_from(c.range_estimator, where + ".range_estimator");
  }
  return p;
}

}  // namespace

QuantizationConfig to_config(const QuantizationParams& p) {
  QuantizationConfig c;
  c.target_device = p.target_device;
  if (p.preset) c.preset = to_string(*p.preset);
  c.model_type = p.model_type;  // validated by the algorithm (quant/model_type.h)
  c.stat_subset_size = p.stat_subset_size;
  c.shuffle_data = p.shuffle_data;
  c.seed = p.seed;
  c.weights = to_config(p.weights);
  c.activations = to_config(p.activations);
  c.bias_correction = to_string(p.bias_correction);
  c.bias_correction_subset_size = p.bias_correction_subset_size;
  c.smooth_quant_alpha = p.smooth_quant_alpha;
  const IgnoredScope& s = p.ignored_scope;
  if (!s.names.empty() || !s.patterns.empty() || !s.types.empty()) {
    c.ignored_scope = {{"names", s.names}, {"patterns", s.patterns}, {"types", s.types}};
  }
  c.compress_weights = p.compress_weights;
  c.quantize_bias = p.quantize_bias;
  c.export_profile = p.export_profile;
  return c;
}

AccuracyControlConfig to_config(const AccuracyControlParams& p) {
  AccuracyControlConfig c;
  c.base = to_config(p.base);
  c.max_drop = p.max_drop;
  c.drop_type = to_string(p.drop_type);
  c.ranking_subset_size = p.ranking_subset_size;
  c.max_iter_num = p.max_iter_num;
  c.use_prev_if_drop_increase = p.use_prev_if_drop_increase;
  c.convert_to_mixed_preset = p.convert_to_mixed_preset;
  c.metrics = p.metrics;
  c.metric_subset_ratio = p.metric_subset_ratio;
  c.tune_hyperparams = p.tune_hyperparams;
  c.precision_ladder = p.precision_ladder;
  c.annotation_free = p.annotation_free;
  c.search = to_string(p.search);
  c.restore_mode = to_string(p.restore_mode);
  c.max_time_seconds = p.max_time_seconds;
  c.max_evaluations = p.max_evaluations;
  c.checkpoint_path = p.checkpoint_path;
  c.checkpoint_identity = p.checkpoint_identity;
  c.resume = p.resume;
  return c;
}

QuantizationParams from_config(const QuantizationConfig& c, const std::string& where) {
  QuantizationParams p;
  p.target_device = c.target_device;
  if (!c.preset.empty()) p.preset = config_value(kPresets, c.preset, where + ".preset");
  p.model_type = c.model_type;
  p.stat_subset_size = c.stat_subset_size;
  p.shuffle_data = c.shuffle_data;
  p.seed = c.seed;
  p.weights = from_config(c.weights, where + ".weights");
  p.activations = from_config(c.activations, where + ".activations");
  p.bias_correction = config_value(kBiasCorrections, c.bias_correction, where + ".bias_correction");
  p.bias_correction_subset_size = c.bias_correction_subset_size;
  p.smooth_quant_alpha = c.smooth_quant_alpha;
  if (!c.ignored_scope.is_null()) {
    // The same reader as the algorithms (names, patterns, types; POT's scope/operations), so the typed form holds
    // exactly what they would apply.
    const std::string at = where + ".ignored_scope";
    JsonOptions o(c.ignored_scope, at);
    o.read("names", p.ignored_scope.names);
    o.read("patterns", p.ignored_scope.patterns);
    o.read("types", p.ignored_scope.types);
    std::vector<std::string> pot_scope;
    o.read("scope", pot_scope);
    p.ignored_scope.names.insert(p.ignored_scope.names.end(), pot_scope.begin(), pot_scope.end());
    if (const nlohmann::json* ops = o.section("operations")) {
      if (!ops->is_array()) o.wrong_type("operations", *ops, "an array of {\"type\": \"<op type>\"}");
      for (size_t i = 0; i < ops->size(); ++i) {
        JsonOptions op(ops->at(i), o.path("operations") + "[" + std::to_string(i) + "]");
        std::string type;
        op.require("type", type);
        op.finish();
        p.ignored_scope.types.push_back(type);
      }
    }
    o.finish();
  }
  p.compress_weights = c.compress_weights;
  p.quantize_bias = c.quantize_bias;
  p.export_profile = c.export_profile;
  return p;
}

AccuracyControlParams from_config(const AccuracyControlConfig& c, const std::string& where) {
  AccuracyControlParams p;
  p.base = from_config(c.base, where);
  p.max_drop = c.max_drop;
  p.drop_type = config_value(kDropTypes, c.drop_type, where + ".drop_type");
  p.ranking_subset_size = c.ranking_subset_size;
  p.max_iter_num = c.max_iter_num;
  p.use_prev_if_drop_increase = c.use_prev_if_drop_increase;
  p.convert_to_mixed_preset = c.convert_to_mixed_preset;
  p.metrics = c.metrics;
  p.metric_subset_ratio = c.metric_subset_ratio;
  p.tune_hyperparams = c.tune_hyperparams;
  p.precision_ladder = c.precision_ladder;
  p.annotation_free = c.annotation_free;
  p.search = config_value(kSearches, c.search, where + ".search");
  p.restore_mode = config_value(kRestoreModes, c.restore_mode, where + ".restore_mode");
  p.max_time_seconds = c.max_time_seconds;
  p.max_evaluations = c.max_evaluations;
  p.checkpoint_path = c.checkpoint_path;
  p.checkpoint_identity = c.checkpoint_identity;
  p.resume = c.resume;
  return p;
}

}  // namespace api
}  // namespace qwac
