#include "config/compression_config.h"

#include "core/json_options.h"
#include "qwac/error.h"

namespace qwac::config {
namespace {

QuantizerParams parse_quantizer_params(JsonOptions& parent, const std::string& key) {
  QuantizerParams p;
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

}  // namespace

CompressionSection parse_compression(const nlohmann::json& compression) {
  if (compression.is_null()) {
    throw InvalidConfig("compression: the config has no `compression` section; add {\"algorithms\": [{\"name\": "
                        "\"DefaultQuantization\", \"params\": {\"preset\": \"performance\"}}]} (see docs/config.md)");
  }
  JsonOptions o(compression, "compression");
  CompressionSection c;
  o.read("target_device", c.target_device);
  std::string model_type;
  o.read("model_type", model_type);
  if (!model_type.empty()) {
    throw InvalidConfig("compression.model_type: '" + model_type +
                        "' is not supported (qwac has no transformer-specific passes yet); remove the key");
  }
  const nlohmann::json* algos = o.section("algorithms");
  if (algos == nullptr || !algos->is_array() || algos->empty()) {
    throw InvalidConfig("compression.algorithms: expected a non-empty array of {\"name\", \"params\"} objects");
  }
  for (size_t i = 0; i < algos->size(); ++i) {
    const std::string where = "compression.algorithms[" + std::to_string(i) + "]";
    JsonOptions a((*algos)[i], where);
    AlgorithmSection s;
    a.require("name", s.name);
    if (const nlohmann::json* p = a.section("params")) s.params = *p;
    s.where = where + ".params";
    a.finish();
    c.algorithms.push_back(std::move(s));
  }
  o.finish();
  return c;
}

QuantizationParams parse_default_quantization_params(const AlgorithmSection& algorithm,
                                                     const std::string& target_device) {
  QuantizationParams p;
  p.target_device = target_device;
  JsonOptions o(algorithm.params, algorithm.where);
  o.read("target_device", p.target_device);
  o.read("preset", p.preset);
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
    throw InvalidConfig(algorithm.where + ": give only one of use_fast_bias, fast_bias_correction, bias_correction");
  }
  for (const char* key : {"use_fast_bias", "fast_bias_correction"}) {
    if (!o.has(key)) continue;
    bool fast = true;
    o.read(key, fast);
    p.bias_correction = fast ? "fast" : "full";
  }
  o.read_choice<std::string>("bias_correction", p.bias_correction,
                             {{"fast", "fast"}, {"full", "full"}, {"none", "none"}});
  o.read("bias_correction_subset_size", p.bias_correction_subset_size);
  if (o.has("ignored") && o.has("ignored_scope")) {
    throw InvalidConfig(algorithm.where + ": give either `ignored` (POT) or `ignored_scope` (NNCF), not both");
  }
  for (const char* key : {"ignored", "ignored_scope"}) {
    if (const nlohmann::json* s = o.section(key)) p.ignored_scope = *s;
  }
  o.read("compress_weights", p.compress_weights);
  o.read("quantize_bias", p.quantize_bias);
  if (p.stat_subset_size < 1) {
    throw InvalidConfig(o.path("stat_subset_size") + ": must be >= 1, got " + std::to_string(p.stat_subset_size));
  }
  o.finish();
  return p;
}

}  // namespace qwac::config
