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

const std::vector<std::pair<std::string, Preset>>& preset_spellings() {
  static const std::vector<std::pair<std::string, Preset>> kSpellings = {
      {"performance", Preset::kPerformance}, {"mixed", Preset::kMixed}, {"accuracy", Preset::kAccuracy}};
  return kSpellings;
}

const std::vector<std::pair<std::string, Granularity>> kGranularities = {{"pertensor", Granularity::kPerTensor},
                                                                         {"perchannel", Granularity::kPerChannel}};
const std::vector<std::pair<std::string, QuantMode>> kModes = {{"symmetric", QuantMode::kSymmetric},
                                                               {"asymmetric", QuantMode::kAsymmetric}};

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

struct Registry {
  std::map<std::string, HwConfig> by_device;  // upper-case device name
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
      HwConfig cfg = parse_hw_config(j, where);
      if (upper(embedded::kHwConfigNames[i]) != cfg.target_device) {
        throw InternalError(where + ": target_device \"" + cfg.target_device + "\" does not match the file name");
      }
      r.by_device.emplace(cfg.target_device, std::move(cfg));
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

  const nlohmann::json* quantizable = o.section("quantizable");
  if (quantizable == nullptr || !quantizable->is_array()) {
    throw InvalidConfig(o.path("quantizable") + ": expected an array of {\"type\", \"activation_inputs\", ...}");
  }
  for (size_t i = 0; i < quantizable->size(); ++i) {
    QuantizableOp op = parse_quantizable((*quantizable)[i], index_path(where, "quantizable", i));
    if (cfg.quantizable.count(op.op_type) != 0) {
      throw InvalidConfig(index_path(where, "quantizable", i) + ": op type " + op.op_type + " is listed twice");
    }
    cfg.quantizable.emplace(op.op_type, std::move(op));
  }
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
