#include "quant/model_type.h"

#include <map>

#include "core/json_options.h"
#include "qwac/error.h"

namespace qwac::quant {
namespace embedded {
extern const char* const kHwConfigNames[];
extern const char* const kHwConfigTexts[];
extern const int kHwConfigCount;
}  // namespace embedded

namespace {

const std::map<std::string, ModelTypeConfig>& registry() {
  static const std::map<std::string, ModelTypeConfig> kTypes = [] {
    std::map<std::string, ModelTypeConfig> out;
    for (int i = 0; i < embedded::kHwConfigCount; ++i) {
      const std::string where = std::string("hw_configs/") + embedded::kHwConfigNames[i] + ".json";
      nlohmann::json j;
      try {
        j = nlohmann::json::parse(embedded::kHwConfigTexts[i]);
      } catch (const nlohmann::json::parse_error& e) {
        throw InternalError(where + ": malformed built-in config: " + e.what());
      }
      if (!j.is_object() || !j.contains("model_type")) continue;
      ModelTypeConfig t = parse_model_type(j, where);
      if (t.name != embedded::kHwConfigNames[i]) {
        throw InternalError(where + ": model_type \"" + t.name + "\" does not match the file name");
      }
      out.emplace(t.name, std::move(t));
    }
    return out;
  }();
  return kTypes;
}

}  // namespace

ModelTypeConfig parse_model_type(const nlohmann::json& j, const std::string& where) {
  JsonOptions o(j, where);
  ModelTypeConfig t;
  o.require("model_type", t.name);
  o.read("description", t.description);
  o.read("preset", t.preset);
  if (!t.preset.empty() && t.preset != "performance" && t.preset != "mixed") {
    throw InvalidConfig(o.path("preset") + ": \"" + t.preset + "\", expected \"performance\" or \"mixed\"");
  }
  std::vector<std::string> types;
  o.read("float_op_types", types);
  t.float_op_types.insert(types.begin(), types.end());
  if (const nlohmann::json* patterns = o.section("ignored_patterns")) {
    if (!patterns->is_array()) throw InvalidConfig(o.path("ignored_patterns") + ": expected an array of patterns");
    for (size_t i = 0; i < patterns->size(); ++i) {
      t.ignored_patterns.push_back(
          parse_fusion_pattern((*patterns)[i], o.path("ignored_patterns") + "[" + std::to_string(i) + "]"));
    }
  }
  o.read("symmetric_activation_matmul", t.symmetric_activation_matmul);
  if (o.has("smooth_quant_alpha")) {
    double alpha = 0;
    o.read("smooth_quant_alpha", alpha);
    if (alpha > 1) throw InvalidConfig(o.path("smooth_quant_alpha") + ": must be <= 1 (negative = off)");
    if (alpha >= 0) t.smooth_quant_alpha = alpha;
  } else {
    o.section("smooth_quant_alpha");
  }
  o.finish();
  return t;
}

const ModelTypeConfig* model_type_for(const std::string& name, const std::string& where) {
  if (name.empty()) return nullptr;
  auto it = registry().find(name);
  if (it == registry().end()) {
    std::string known;
    for (const std::string& k : known_model_types()) known += (known.empty() ? "\"" : ", \"") + k + "\"";
    throw InvalidConfig(where + ": unknown model type \"" + name + "\"; known: " + known);
  }
  return &it->second;
}

std::vector<std::string> known_model_types() {
  std::vector<std::string> out;
  for (const auto& [name, t] : registry()) out.push_back(name);
  return out;
}

std::string resolved_preset(const QuantizationConfig& params) {
  if (!params.preset.empty()) return params.preset;
  const ModelTypeConfig* t = model_type_for(params.model_type, "model_type");
  return t != nullptr && !t->preset.empty() ? t->preset : "performance";
}

std::optional<double> resolved_smooth_quant_alpha(const QuantizationConfig& params) {
  if (params.smooth_quant_alpha) {
    if (*params.smooth_quant_alpha < 0) return std::nullopt;
    return params.smooth_quant_alpha;
  }
  const ModelTypeConfig* t = model_type_for(params.model_type, "model_type");
  return t != nullptr ? t->smooth_quant_alpha : std::nullopt;
}

}  // namespace qwac::quant
