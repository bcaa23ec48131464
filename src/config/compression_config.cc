#include "config/compression_config.h"

#include <algorithm>

#include "core/json_options.h"
#include "quant/precision_ladder.h"
#include "quant/model_type.h"
#include "qwac/error.h"

namespace qwac::config {
namespace {

constexpr const char* kDefaultQuantization = "DefaultQuantization";
constexpr const char* kAccuracyAwareQuantization = "AccuracyAwareQuantization";

// Shortest round-trip spelling of a number, as the user wrote it in JSON (std::to_string prints "0.000000").
std::string number(double v) { return nlohmann::json(v).dump(); }

QuantizerConfig parse_quantizer_params(JsonOptions& parent, const std::string& key) {
  QuantizerConfig p;
  const nlohmann::json* section = parent.section(key);
  if (section == nullptr) return p;
  JsonOptions o(*section, parent.path(key));
  if (o.has("bits")) {
    int bits = 8;
    o.read("bits", bits);
    p.bits = bits;
  }
  if (o.has("mode")) {
    std::string mode;
    o.read("mode", mode);
    p.mode = mode;
  }
  if (o.has("granularity")) {
    std::string g;
    o.read("granularity", g);
    p.granularity = g;
  }
  if (const nlohmann::json* re = o.section("range_estimator")) p.range_estimator = *re;
  o.finish();
  return p;
}

// Every DefaultQuantization key, read from `o` into `p`. The keys are declared in `o`, so the caller's finish()
// accepts them and lists them among the allowed keys: one list for DefaultQuantization and for the
// AccuracyAwareQuantization params that embed it.
void read_default_quantization_keys(JsonOptions& o, QuantizationConfig& p) {
  o.read("target_device", p.target_device);
  o.read("preset", p.preset);
  // model_type: NNCF's parameter here, POT's compression.model_type as the default; both must agree.
  const std::string section_model_type = p.model_type;
  o.read("model_type", p.model_type);
  if (!section_model_type.empty() && p.model_type != section_model_type) {
    throw InvalidConfig(o.path("model_type") + ": \"" + p.model_type + "\" differs from compression.model_type \"" +
                        section_model_type + "\"");
  }
  quant::model_type_for(p.model_type, o.path("model_type"));
  o.read("stat_subset_size", p.stat_subset_size);
  o.read("shuffle_data", p.shuffle_data);
  int64_t seed = 0;
  o.read("seed", seed);
  if (seed < 0) throw InvalidConfig(o.path("seed") + ": must be >= 0, got " + std::to_string(seed));
  p.seed = static_cast<uint64_t>(seed);
  p.weights = parse_quantizer_params(o, "weights");
  p.activations = parse_quantizer_params(o, "activations");
  // Bias correction: POT's use_fast_bias (true = fast, false = full), NNCF's fast_bias_correction, or qwac's
  // explicit "bias_correction": "fast" | "full" | "none".
  const int spellings = o.has("use_fast_bias") + o.has("fast_bias_correction") + o.has("bias_correction");
  if (spellings > 1) {
    throw InvalidConfig(o.where() + ": give only one of use_fast_bias, fast_bias_correction, bias_correction");
  }
  for (const char* key : {"use_fast_bias", "fast_bias_correction"}) {
    if (!o.has(key)) {
      o.section(key);  // declared even when absent, so that unknown-key messages list it
      continue;
    }
    bool fast = true;
    o.read(key, fast);
    p.bias_correction = fast ? "fast" : "full";
  }
  o.read_choice<std::string>("bias_correction", p.bias_correction,
                             {{"fast", "fast"}, {"full", "full"}, {"none", "none"}});
  o.read("bias_correction_subset_size", p.bias_correction_subset_size);
  // NNCF's smooth_quant_alphas.matmul (also its older smooth_quant_alpha): negative = off, absent = the model type's.
  if (o.has("smooth_quant_alpha")) {
    double alpha = 0;
    o.read("smooth_quant_alpha", alpha);
    if (alpha > 1) {
      throw InvalidConfig(o.path("smooth_quant_alpha") + ": must be <= 1 (a negative value turns SmoothQuant off), got " +
                          std::to_string(alpha));
    }
    p.smooth_quant_alpha = alpha;
  } else {
    o.section("smooth_quant_alpha");
  }
  if (o.has("ignored") && o.has("ignored_scope")) {
    throw InvalidConfig(o.where() + ": give either `ignored` (POT) or `ignored_scope` (NNCF), not both");
  }
  for (const char* key : {"ignored", "ignored_scope"}) {
    if (const nlohmann::json* s = o.section(key)) p.ignored_scope = *s;
  }
  o.read("compress_weights", p.compress_weights);
  o.read("quantize_bias", p.quantize_bias);
  o.read("export_profile", p.export_profile);
  if (p.stat_subset_size < 1) {
    throw InvalidConfig(o.path("stat_subset_size") + ": must be >= 1, got " + std::to_string(p.stat_subset_size));
  }
}

// The CLI dispatches on the name; a mismatch here is a caller bug, not a user error.
void check_algorithm(const AlgorithmSection& algorithm, const char* expected) {
  if (algorithm.name != expected) {
    throw InternalError(algorithm.where + ": parameters of algorithm '" + algorithm.name + "' given to the " +
                        expected + " parser");
  }
}

// POT's `metrics`: [{"name": "accuracy@top1", "baseline_value": 0.75}, ...]. Names are checked against the
// engine's metrics when the algorithm runs (the config layer does not build them).
std::vector<MetricBound> parse_metric_bounds(JsonOptions& o, const std::string& key) {
  std::vector<MetricBound> bounds;
  const nlohmann::json* v = o.section(key);
  if (v == nullptr) return bounds;
  if (!v->is_array()) o.wrong_type(key, *v, "an array of {\"name\", \"baseline_value\"} objects");
  for (size_t i = 0; i < v->size(); ++i) {
    const std::string where = o.path(key) + "[" + std::to_string(i) + "]";
    if (!(*v)[i].is_object()) {
      throw InvalidConfig(where + ": expected an object {\"name\", \"baseline_value\"}, got " +
                          json_type_name((*v)[i]) + " " + (*v)[i].dump());
    }
    JsonOptions m((*v)[i], where);
    MetricBound b;
    m.require("name", b.name);
    if (b.name.empty()) throw InvalidConfig(m.path("name") + ": must not be empty");
    if (m.has("baseline_value")) {
      double baseline = 0;
      m.read("baseline_value", baseline);
      b.baseline_value = baseline;
    } else {
      m.section("baseline_value");
    }
    m.finish();
    for (const MetricBound& earlier : bounds) {
      if (earlier.name == b.name) {
        throw InvalidConfig(m.path("name") + ": metric '" + b.name + "' is listed twice; give each metric once");
      }
    }
    bounds.push_back(std::move(b));
  }
  return bounds;
}

}  // namespace

const std::vector<std::string>& known_algorithms() {
  static const std::vector<std::string> names = {kDefaultQuantization, kAccuracyAwareQuantization};
  return names;
}

CompressionSection parse_compression(const nlohmann::json& compression) {
  if (compression.is_null()) {
    throw InvalidConfig("compression: the config has no `compression` section; add {\"algorithms\": [{\"name\": "
                        "\"DefaultQuantization\", \"params\": {\"preset\": \"performance\"}}]} (see docs/config.md)");
  }
  JsonOptions o(compression, "compression");
  CompressionSection c;
  o.read("target_device", c.target_device);
  o.read("model_type", c.model_type);
  quant::model_type_for(c.model_type, o.path("model_type"));  // InvalidConfig listing the known types
  const nlohmann::json* algos = o.section("algorithms");
  if (algos == nullptr || !algos->is_array() || algos->empty()) {
    throw InvalidConfig("compression.algorithms: expected a non-empty array of {\"name\", \"params\"} objects");
  }
  for (size_t i = 0; i < algos->size(); ++i) {
    const std::string where = "compression.algorithms[" + std::to_string(i) + "]";
    JsonOptions a((*algos)[i], where);
    AlgorithmSection s;
    a.require("name", s.name);
    const auto& known = known_algorithms();
    if (std::find(known.begin(), known.end(), s.name) == known.end()) {
      std::string list;
      for (const auto& k : known) list += (list.empty() ? "\"" : " | \"") + k + "\"";
      throw InvalidConfig(a.path("name") + ": unknown algorithm '" + s.name + "'; expected one of " + list);
    }
    if (const nlohmann::json* p = a.section("params")) s.params = *p;
    s.where = where + ".params";
    s.model_type = c.model_type;
    a.finish();
    c.algorithms.push_back(std::move(s));
  }
  o.finish();
  return c;
}

QuantizationConfig parse_default_quantization_params(const AlgorithmSection& algorithm,
                                                     const std::string& target_device) {
  check_algorithm(algorithm, kDefaultQuantization);
  QuantizationConfig p;
  p.target_device = target_device;
  p.model_type = algorithm.model_type;
  JsonOptions o(algorithm.params, algorithm.where);
  read_default_quantization_keys(o, p);
  o.finish();
  return p;
}

AccuracyControlConfig parse_accuracy_aware_params(const AlgorithmSection& algorithm, const std::string& target_device) {
  check_algorithm(algorithm, kAccuracyAwareQuantization);
  AccuracyControlConfig a;
  a.base.target_device = target_device;
  a.base.model_type = algorithm.model_type;
  JsonOptions o(algorithm.params, algorithm.where);
  read_default_quantization_keys(o, a.base);

  std::string base_algorithm = kDefaultQuantization;
  o.read("base_algorithm", base_algorithm);
  if (base_algorithm != kDefaultQuantization) {
    throw InvalidConfig(o.path("base_algorithm") + ": unknown base algorithm '" + base_algorithm +
                        "'; only \"DefaultQuantization\" is supported");
  }

  // The bound: POT's maximal_drop or NNCF's max_drop, a share of the FP32 value when relative.
  if (o.has("maximal_drop") && o.has("max_drop")) {
    throw InvalidConfig(o.where() + ": give either `maximal_drop` (POT) or `max_drop` (NNCF), not both");
  }
  const std::string drop_key = o.has("max_drop") ? "max_drop" : "maximal_drop";
  o.read("maximal_drop", a.max_drop);
  o.read("max_drop", a.max_drop);
  o.read_choice<std::string>("drop_type", a.drop_type, {{"absolute", "absolute"}, {"relative", "relative"}});
  if (a.max_drop < 0) throw InvalidConfig(o.path(drop_key) + ": must be >= 0, got " + number(a.max_drop));
  if (a.drop_type == "relative" && a.max_drop >= 1) {
    throw InvalidConfig(o.path(drop_key) + ": a relative drop is a share of the FP32 value and must be < 1 "
                        "(0.01 = 1 %), got " + number(a.max_drop));
  }

  o.read("ranking_subset_size", a.ranking_subset_size);
  if (a.ranking_subset_size < 1) {
    throw InvalidConfig(o.path("ranking_subset_size") + ": must be >= 1, got " +
                        std::to_string(a.ranking_subset_size));
  }
  o.read("max_iter_num", a.max_iter_num);
  if (a.max_iter_num < 1) {
    throw InvalidConfig(o.path("max_iter_num") + ": must be >= 1 (omit it for no limit), got " +
                        std::to_string(a.max_iter_num));
  }
  o.read("use_prev_if_drop_increase", a.use_prev_if_drop_increase);
  o.read("convert_to_mixed_preset", a.convert_to_mixed_preset);
  a.metrics = parse_metric_bounds(o, "metrics");
  o.read("metric_subset_ratio", a.metric_subset_ratio);
  if (!(a.metric_subset_ratio > 0 && a.metric_subset_ratio <= 1)) {
    throw InvalidConfig(o.path("metric_subset_ratio") + ": must be in (0, 1], got " + number(a.metric_subset_ratio));
  }
  o.read("tune_hyperparams", a.tune_hyperparams);
  o.read("annotation_free", a.annotation_free);
  if (const nlohmann::json* ladder = o.section("precision_ladder")) {
    a.precision_ladder = quant::parse_precision_ladder(*ladder, o.path("precision_ladder"));
  }
  o.read_choice<std::string>("search", a.search, {{"bisection", "bisection"}, {"greedy", "greedy"}});
  // qwac's spellings and NNCF's RestoreMode names.
  o.read_choice<std::string>("restore_mode", a.restore_mode,
                             {{"weights_and_activations", "weights_and_activations"},
                              {"activations", "activations"},
                              {"ACTIVATIONS_AND_WEIGHTS", "weights_and_activations"},
                              {"ONLY_ACTIVATIONS", "activations"}});
  o.read("max_time", a.max_time_seconds);
  if (a.max_time_seconds < 0) {
    throw InvalidConfig(o.path("max_time") + ": must be >= 0 seconds (0 = unlimited), got " +
                        number(a.max_time_seconds));
  }
  o.read("max_evaluations", a.max_evaluations);
  if (a.max_evaluations < 0) {
    throw InvalidConfig(o.path("max_evaluations") + ": must be >= 0 (0 = unlimited), got " +
                        std::to_string(a.max_evaluations));
  }
  o.finish();
  return a;
}

}  // namespace qwac::config
