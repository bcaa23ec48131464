#include "quant/hw_config.h"
#include "quant/precision_ladder.h"

#include <algorithm>
#include <cctype>

#include "core/json_options.h"
#include "qwac/error.h"

// The JSON texts of src/quant/hw_configs/*.json, generated at configure time by CMake (see the root
// CMakeLists.txt): file stems ("cpu") and contents, in file-name order.
namespace qwac::quant::embedded {
extern const char* const kHwConfigNames[];
extern const char* const kHwConfigTexts[];
extern const int kHwConfigCount;
}  // namespace qwac::quant::embedded

namespace qwac::quant {
namespace {

std::string upper(std::string s) {
  std::transform(s.begin(), s.end(), s.begin(), [](unsigned char c) { return static_cast<char>(std::toupper(c)); });
  return s;
}

std::string lower(std::string s) {
  std::transform(s.begin(), s.end(), s.begin(), [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
  return s;
}

const std::vector<std::pair<std::string, Preset>>& preset_spellings() {
  static const std::vector<std::pair<std::string, Preset>> kSpellings = {
      {"performance", Preset::kPerformance}, {"mixed", Preset::kMixed}, {"accuracy", Preset::kAccuracy}};
  return kSpellings;
}

const std::vector<std::pair<std::string, Granularity>> kGranularities = {{"pertensor", Granularity::kPerTensor},
                                                                         {"perchannel", Granularity::kPerChannel}};
const std::vector<std::pair<std::string, QuantMode>> kModes = {{"symmetric", QuantMode::kSymmetric},
                                                               {"asymmetric", QuantMode::kAsymmetric}};
const std::vector<std::pair<std::string, OutputQuantizer>> kOutputQuantizers = {
    {"none", OutputQuantizer::kNone}, {"required", OutputQuantizer::kRequired}, {"optional", OutputQuantizer::kOptional}};

std::string index_path(const std::string& where, const std::string& key, size_t i) {
  return (where.empty() ? key : where + "." + key) + "[" + std::to_string(i) + "]";
}

// Reads a list of strings that each must be one of `choices`; the list must be non-empty and without repeats.
template <typename E>
std::vector<E> read_choice_list(JsonOptions& o, const std::string& key,
                                const std::vector<std::pair<std::string, E>>& choices) {
  std::vector<std::string> spellings;
  o.require(key, spellings);
  if (spellings.empty()) throw InvalidConfig(o.path(key) + ": expected a non-empty list");
  std::vector<E> out;
  for (size_t i = 0; i < spellings.size(); ++i) {
    auto it = std::find_if(choices.begin(), choices.end(), [&](const auto& c) { return c.first == spellings[i]; });
    if (it == choices.end()) {
      std::string allowed;
      for (const auto& c : choices) allowed += (allowed.empty() ? "\"" : " | \"") + c.first + "\"";
      throw InvalidConfig(index_path(o.where(), key, i) + ": unknown value \"" + spellings[i] +
                          "\"; expected one of " + allowed);
    }
    if (std::find(out.begin(), out.end(), it->second) != out.end()) {
      throw InvalidConfig(index_path(o.where(), key, i) + ": \"" + spellings[i] + "\" is listed twice");
    }
    out.push_back(it->second);
  }
  return out;
}

QuantizerSpec parse_spec(const nlohmann::json& j, const std::string& where, Granularity preferred) {
  JsonOptions o(j, where);
  QuantizerSpec spec;
  o.require("bits", spec.bits);
  if (!o.has("mode")) throw InvalidConfig(o.path("mode") + ": required key is missing");
  o.read_choice("mode", spec.mode, kModes);
  o.read("narrow_range", spec.narrow_range);
  o.read("signed", spec.is_signed);
  o.read("signedness_from_range", spec.signedness_from_range);
  o.finish();
  if (spec.bits != 8 && spec.bits != 16) {
    throw InvalidConfig(o.path("bits") + ": " + std::to_string(spec.bits) + " bits is not supported; expected 8 or 16");
  }
  if (spec.mode == QuantMode::kAsymmetric && (spec.narrow_range || spec.signedness_from_range)) {
    throw InvalidConfig(where + ": narrow_range and signedness_from_range apply to symmetric quantizers only");
  }
  if (spec.narrow_range && !spec.is_signed) {
    throw InvalidConfig(o.path("narrow_range") + ": a narrow range needs a signed quantizer (\"signed\": true)");
  }
  spec.granularity = preferred;
  spec.axis = -1;
  return spec;
}

// "weights" / "activations": {"granularities": [...], "<preset>": spec, ...}.
void parse_quantizer_section(JsonOptions& root, const std::string& key, const std::vector<Preset>& presets,
                             std::map<Preset, QuantizerSpec>& specs, std::vector<Granularity>& granularities) {
  const nlohmann::json* section = root.section(key);
  if (section == nullptr) throw InvalidConfig(root.path(key) + ": required key is missing");
  JsonOptions o(*section, root.path(key));
  granularities = read_choice_list(o, "granularities", kGranularities);
  for (const auto& [spelling, preset] : preset_spellings()) {
    const nlohmann::json* spec = o.section(spelling);
    const bool listed = std::find(presets.begin(), presets.end(), preset) != presets.end();
    if (spec == nullptr) {
      if (listed) throw InvalidConfig(o.path(spelling) + ": required key is missing (preset listed in \"presets\")");
      continue;
    }
    if (!listed) throw InvalidConfig(o.path(spelling) + ": preset \"" + spelling + "\" is not listed in \"presets\"");
    specs[preset] = parse_spec(*spec, o.path(spelling), granularities.front());
  }
  o.finish();
}

std::vector<int> read_indices(JsonOptions& o, const std::string& key) {
  std::vector<int64_t> raw;
  o.read(key, raw);
  std::vector<int> out;
  for (size_t i = 0; i < raw.size(); ++i) {
    if (raw[i] < 0 || raw[i] > 64) {
      throw InvalidConfig(index_path(o.where(), key, i) + ": input index " + std::to_string(raw[i]) +
                          " out of range; expected 0..64");
    }
    if (std::find(out.begin(), out.end(), static_cast<int>(raw[i])) != out.end()) {
      throw InvalidConfig(index_path(o.where(), key, i) + ": input index " + std::to_string(raw[i]) + " listed twice");
    }
    out.push_back(static_cast<int>(raw[i]));
  }
  return out;
}

QuantizableOp parse_quantizable(const nlohmann::json& j, const std::string& where) {
  JsonOptions o(j, where);
  QuantizableOp op;
  o.require("type", op.op_type);
  op.activation_inputs = read_indices(o, "activation_inputs");
  op.weight_inputs = read_indices(o, "weight_inputs");
  o.read("weight_channel_axis", op.weight_channel_axis);
  o.read("min_non_constant_inputs", op.min_non_constant_inputs);
  o.read_choice("output", op.output, kOutputQuantizers);
  o.finish();
  if (op.op_type.empty()) throw InvalidConfig(o.path("type") + ": expected a non-empty op type");
  if (op.activation_inputs.empty() && op.weight_inputs.empty()) {
    throw InvalidConfig(where + ": " + op.op_type + " lists neither activation_inputs nor weight_inputs");
  }
  if (op.weight_channel_axis < -8 || op.weight_channel_axis > 7) {
    throw InvalidConfig(o.path("weight_channel_axis") + ": " + std::to_string(op.weight_channel_axis) +
                        " out of range; expected -8..7 (negative counts from the last axis)");
  }
  const int listed = static_cast<int>(op.activation_inputs.size() + op.weight_inputs.size());
  if (op.min_non_constant_inputs < 0 || op.min_non_constant_inputs > listed) {
    throw InvalidConfig(o.path("min_non_constant_inputs") + ": " + std::to_string(op.min_non_constant_inputs) +
                        " out of range; expected 0.." + std::to_string(listed));
  }
  return op;
}

std::map<std::string, QuantizableOp> parse_quantizable_list(JsonOptions& o, const std::string& where) {
  const nlohmann::json* quantizable = o.section("quantizable");
  if (quantizable == nullptr || !quantizable->is_array()) {
    throw InvalidConfig(o.path("quantizable") + ": expected an array of {\"type\", \"activation_inputs\", ...}");
  }
  std::map<std::string, QuantizableOp> out;
  for (size_t i = 0; i < quantizable->size(); ++i) {
    QuantizableOp op = parse_quantizable((*quantizable)[i], index_path(where, "quantizable", i));
    if (out.count(op.op_type) != 0) {
      throw InvalidConfig(index_path(where, "quantizable", i) + ": op type " + op.op_type + " is listed twice");
    }
    out.emplace(op.op_type, std::move(op));
  }
  return out;
}

struct Registry {
  std::map<std::string, HwConfig> by_device;        // upper-case device name
  std::map<std::string, ExportProfile> by_profile;  // profile name
};

const Registry& registry() {
  static const Registry kRegistry = [] {
    Registry r;
    for (int i = 0; i < embedded::kHwConfigCount; ++i) {
      const std::string where = std::string("hw_configs/") + embedded::kHwConfigNames[i] + ".json";
      nlohmann::json j;
      try {
        j = nlohmann::json::parse(embedded::kHwConfigTexts[i]);
      } catch (const nlohmann::json::parse_error& e) {
        throw InternalError(where + ": malformed built-in config: " + e.what());
      }
      if (j.is_object() && j.contains("model_type")) continue;  // a model type (quant/model_type.h reads it)
      if (j.is_object() && j.contains("export_profile") && !j.contains("target_device")) {
        ExportProfile profile = parse_export_profile(j, where);
        if (profile.name != embedded::kHwConfigNames[i]) {
          throw InternalError(where + ": export_profile \"" + profile.name + "\" does not match the file name");
        }
        r.by_profile.emplace(profile.name, std::move(profile));
        continue;
      }
      HwConfig cfg = parse_hw_config(j, where);
      if (upper(embedded::kHwConfigNames[i]) != cfg.target_device) {
        throw InternalError(where + ": target_device \"" + cfg.target_device + "\" does not match the file name");
      }
      r.by_device.emplace(cfg.target_device, std::move(cfg));
    }
    // Every device's default profile exists, and every fusion a profile honours is declared by some device.
    for (const auto& [name, cfg] : r.by_device) {
      if (!cfg.export_profile.empty() && r.by_profile.count(cfg.export_profile) == 0) {
        throw InternalError("hw_configs/" + lower(name) + ".json: export_profile \"" + cfg.export_profile +
                            "\" is not a built-in profile");
      }
    }
    return r;
  }();
  return kRegistry;
}

}  // namespace

HwConfig parse_hw_config(const nlohmann::json& j, const std::string& where) {
  if (!j.is_object()) throw InvalidConfig(where + ": expected an object, got " + json_type_name(j));
  JsonOptions o(j, where);
  HwConfig cfg;
  o.require("target_device", cfg.target_device);
  if (cfg.target_device.empty() || upper(cfg.target_device) != cfg.target_device) {
    throw InvalidConfig(o.path("target_device") + ": \"" + cfg.target_device +
                        "\" must be a non-empty upper-case device name");
  }
  std::string description;
  o.read("description", description);  // free text for readers of the file
  cfg.presets = read_choice_list(o, "presets", preset_spellings());
  parse_quantizer_section(o, "weights", cfg.presets, cfg.weights, cfg.weight_granularities);
  parse_quantizer_section(o, "activations", cfg.presets, cfg.activations, cfg.activation_granularities);

  cfg.quantizable = parse_quantizable_list(o, where);
  for (const auto& [type, op] : cfg.quantizable) {
    if (op.output != OutputQuantizer::kNone) {
      throw InvalidConfig(where + ".quantizable: " + type + ": \"output\" belongs in an export profile, not a device");
    }
  }
  if (const nlohmann::json* fusions = o.section("fusions")) {
    if (!fusions->is_array()) throw InvalidConfig(o.path("fusions") + ": expected an array of patterns");
    for (size_t i = 0; i < fusions->size(); ++i) {
      FusionPattern p = parse_fusion_pattern((*fusions)[i], index_path(where, "fusions", i));
      for (const FusionPattern& q : cfg.fusions) {
        if (q.name == p.name) {
          throw InvalidConfig(index_path(where, "fusions", i) + ": fusion \"" + p.name + "\" is listed twice");
        }
      }
      cfg.fusions.push_back(std::move(p));
    }
  }
  o.read("export_profile", cfg.export_profile);
  if (const nlohmann::json* ladder = o.section("precision_ladder")) {
    cfg.precision_ladder = parse_precision_ladder(*ladder, o.path("precision_ladder"));
  }
  o.read("agnostic", cfg.agnostic);
  for (size_t i = 0; i < cfg.agnostic.size(); ++i) {
    const std::string& t = cfg.agnostic[i];
    if (cfg.quantizable.count(t) != 0) {
      throw InvalidConfig(index_path(where, "agnostic", i) + ": " + t + " is also listed as quantizable");
    }
    if (std::find(cfg.agnostic.begin(), cfg.agnostic.begin() + static_cast<std::ptrdiff_t>(i), t) !=
        cfg.agnostic.begin() + static_cast<std::ptrdiff_t>(i)) {
      throw InvalidConfig(index_path(where, "agnostic", i) + ": " + t + " is listed twice");
    }
  }
  o.finish();
  return cfg;
}

ExportProfile parse_export_profile(const nlohmann::json& j, const std::string& where) {
  if (!j.is_object()) throw InvalidConfig(where + ": expected an object, got " + json_type_name(j));
  JsonOptions o(j, where);
  ExportProfile p;
  o.require("export_profile", p.name);
  if (p.name.empty() || lower(p.name) != p.name) {
    throw InvalidConfig(o.path("export_profile") + ": \"" + p.name + "\" must be a non-empty lower-case name");
  }
  o.read("description", p.description);
  o.read("fusions", p.fusions);
  o.read("output_quantizers", p.output_quantizers);
  o.read("unsigned_activations", p.unsigned_activations);
  o.read("float_unfused_weights", p.float_unfused_weights);
  o.read("lowerings", p.lowerings);
  if (o.has("quantizable")) p.quantizable = parse_quantizable_list(o, where);
  if (const nlohmann::json* rules = o.section("keep_float")) {
    if (!rules->is_array()) throw InvalidConfig(o.path("keep_float") + ": expected an array of rules");
    for (size_t i = 0; i < rules->size(); ++i) {
      JsonOptions r((*rules)[i], index_path(where, "keep_float", i));
      KeepFloatRule rule;
      r.require("op_type", rule.op_type);
      r.read("max_input_channels", rule.max_input_channels);
      r.read("graph_input_only", rule.graph_input_only);
      r.require("reason", rule.reason);
      r.finish();
      if (rule.max_input_channels < 0) {
        throw InvalidConfig(r.path("max_input_channels") + ": must be >= 0 (0 = any), got " +
                            std::to_string(rule.max_input_channels));
      }
      p.keep_float.push_back(std::move(rule));
    }
  }
  o.finish();
  return p;
}

bool ExportProfile::honours(const std::string& fusion) const {
  return std::find(fusions.begin(), fusions.end(), "*") != fusions.end() ||
         std::find(fusions.begin(), fusions.end(), fusion) != fusions.end();
}

const ExportProfile& export_profile_for(const std::string& name) {
  const Registry& r = registry();
  auto it = r.by_profile.find(name);
  if (it == r.by_profile.end()) {
    std::string known;
    for (const std::string& p : known_export_profiles()) known += (known.empty() ? "\"" : ", \"") + p + "\"";
    throw InvalidConfig("export_profile: unknown profile \"" + name + "\"; known profiles: " + known);
  }
  return it->second;
}

std::vector<std::string> known_export_profiles() {
  std::vector<std::string> out;
  for (const auto& [name, p] : registry().by_profile) out.push_back(name);
  return out;
}

const std::map<std::string, QuantizableOp>& quantizable_ops(const HwConfig& hw, const ExportProfile* profile) {
  return profile != nullptr && !profile->quantizable.empty() ? profile->quantizable : hw.quantizable;
}

std::vector<const FusionPattern*> honoured_fusions(const HwConfig& hw, const ExportProfile* profile) {
  std::vector<const FusionPattern*> out;
  for (const FusionPattern& f : hw.fusions) {
    if (profile == nullptr || profile->honours(f.name)) out.push_back(&f);
  }
  return out;
}

const HwConfig& hw_config_for(const std::string& target_device) {
  const Registry& r = registry();
  auto it = r.by_device.find(upper(target_device));
  if (it == r.by_device.end()) {
    std::string known;
    for (const std::string& d : known_target_devices()) known += (known.empty() ? "" : ", ") + d;
    throw InvalidConfig("target_device: unknown device \"" + target_device + "\"; known devices: " + known);
  }
  return it->second;
}

std::vector<std::string> known_target_devices() {
  std::vector<std::string> out;
  for (const auto& [name, cfg] : registry().by_device) out.push_back(name);
  return out;
}

Preset parse_preset(const std::string& name, const std::string& where) {
  std::string allowed;
  for (const auto& [spelling, preset] : preset_spellings()) {
    if (spelling == name) return preset;
    allowed += (allowed.empty() ? "\"" : " | \"") + spelling + "\"";
  }
  throw InvalidConfig(where + ": unknown preset \"" + name + "\"; expected one of " + allowed);
}

std::string preset_name(Preset p) {
  for (const auto& [spelling, preset] : preset_spellings()) {
    if (preset == p) return spelling;
  }
  throw InternalError("preset_name: unknown preset value " + std::to_string(static_cast<int>(p)));
}

}  // namespace qwac::quant
