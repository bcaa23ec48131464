// Target-device configurations, as JSON data files in src/quant/hw_configs/ (embedded in the library at build
// time): which op types are quantizable and at which inputs, which ops are quantize-agnostic, and what quantizers
// the device allows (bits, modes, granularities) for weights and activations under each preset.
#pragma once

#include <map>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "quant/quantizer_set.h"

namespace qwac::quant {

enum class Preset { kPerformance, kMixed, kAccuracy };

struct QuantizableOp {
  std::string op_type;
  std::vector<int> activation_inputs;  // input indices quantized as activations (a constant there = weight)
  std::vector<int> weight_inputs;      // input indices quantized as weights when constant
  int weight_channel_axis = 0;         // per-channel axis of the weight (Gemm: depends on transB, see placement)
  int min_non_constant_inputs = 1;     // e.g. 2 for Add: only residual-style adds are quantized
};

struct HwConfig {
  std::string target_device;           // "ANY", "CPU", "GPU", "NPU", "GNA"
  std::map<std::string, QuantizableOp> quantizable;  // by op type
  std::vector<std::string> agnostic;   // quantize-agnostic op types (share their input's quantizer)
  // Quantizer specs per preset for weights and activations (granularity = the device's preferred one).
  std::map<Preset, QuantizerSpec> weights, activations;
  std::vector<Granularity> weight_granularities;       // allowed, preferred first
  std::vector<Granularity> activation_granularities;
  std::vector<Preset> presets;                         // allowed presets
  // The accuracy search's rungs between the preset and float ("precision_ladder"; empty = revert to float).
  std::vector<PrecisionRung> precision_ladder;
};

// The built-in config for a device name (case-insensitive); InvalidConfig listing the known devices otherwise.
const HwConfig& hw_config_for(const std::string& target_device);
// Parses a config document (the format of src/quant/hw_configs/*.json); InvalidConfig naming the JSON path.
HwConfig parse_hw_config(const nlohmann::json& j, const std::string& where);
std::vector<std::string> known_target_devices();

Preset parse_preset(const std::string& name, const std::string& where);  // "performance" | "mixed" | "accuracy"
std::string preset_name(Preset p);

}  // namespace qwac::quant
