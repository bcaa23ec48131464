// Target-device configurations, as JSON data files in src/quant/hw_configs/ (embedded in the library at build
// time): which op types are quantizable and at which inputs, which ops are quantize-agnostic, which op patterns the
// device fuses into one kernel, and what quantizers the device allows (bits, modes, granularities) for weights and
// activations under each preset.
//
// Export profiles live in the same folder: what the runtime that will execute the exported QDQ file needs from its
// shape (ONNX Runtime's QDQ selectors need DQ -> op -> Q, unsigned activations on x86, ...). A device names its
// default profile; the quantization parameters may choose another. See hw_configs/README.md.
#pragma once

#include <map>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "quant/fusion_pattern.h"
#include "quant/quantizer_set.h"

namespace qwac::quant {

enum class Preset { kPerformance, kMixed, kAccuracy };

// Whether a quantized op's output gets a quantizer of its own (export profiles with output_quantizers):
// kRequired = always when something reads it (ONNX Runtime fuses Conv only as DQ -> Conv -> Q); kOptional = only when
// a quantized op reads it (ORT runs Gemm/MatMul with a float output too); kNone = never.
enum class OutputQuantizer { kNone, kRequired, kOptional };

struct QuantizableOp {
  std::string op_type;
  std::vector<int> activation_inputs;  // input indices quantized as activations (a constant there = weight)
  std::vector<int> weight_inputs;      // input indices quantized as weights when constant
  int weight_channel_axis = 0;         // per-channel axis of the weight (Gemm: depends on transB, see placement)
  int min_non_constant_inputs = 1;     // e.g. 2 for Add: only residual-style adds are quantized
  OutputQuantizer output = OutputQuantizer::kNone;
};

// An op the runtime runs faster in float than in int8 (a measured property of its kernels), kept float with the
// activation fused after it.
struct KeepFloatRule {
  std::string op_type;
  int64_t max_input_channels = 0;  // > 0: only when the op reads at most this many channels (weight dim 1 x group)
  bool graph_input_only = false;   // only when its data input is a graph input
  std::string reason;              // why, for the report
};

// What the runtime of the exported file needs (hw_configs/<name>.json with "export_profile"). Read by placement
// (which ops run in int8, output quantizers, which fusions the runtime honours) and by the materializer (storage
// types, lowerings, float weights where the runtime cannot fuse).
struct ExportProfile {
  std::string name;                    // "onnxruntime", "qwac"
  std::string description;
  // Names of the device's fusion patterns the runtime executes as one kernel; {"*"} = all of them. Outside these, a
  // quantizer may sit between the ops of a device pattern.
  std::vector<std::string> fusions;
  bool output_quantizers = false;      // quantized ops get output quantizers per QuantizableOp::output
  // Ops the runtime runs in int8, with their inputs; empty = the device's list.
  std::map<std::string, QuantizableOp> quantizable;
  // 8-bit signed activation quantizers are stored as uint8 with zero-point + 128 (the same numbers): ONNX Runtime
  // fuses QDQ Conv/MatMul with int8 activations only on ARM.
  bool unsigned_activations = false;
  // A constant weight whose DequantizeLinear the runtime would not fold into an int8 kernel is exported as float
  // (dequantized at export, the same numbers) instead of being dequantized at every run.
  bool float_unfused_weights = false;
  std::vector<std::string> lowerings;  // named QDQ rewrites applied at export (quant/qdq_materialize.h)
  std::vector<KeepFloatRule> keep_float;

  bool honours(const std::string& fusion) const;
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
  std::vector<FusionPattern> fusions;  // ops the device runs as one kernel (NNCF's fused patterns)
  std::string export_profile;          // default export profile name ("" = the device's own semantics)
};

// The built-in config for a device name (case-insensitive); InvalidConfig listing the known devices otherwise.
const HwConfig& hw_config_for(const std::string& target_device);
// Parses a config document (the format of src/quant/hw_configs/*.json); InvalidConfig naming the JSON path.
HwConfig parse_hw_config(const nlohmann::json& j, const std::string& where);
std::vector<std::string> known_target_devices();

// The built-in export profile by name (case-sensitive: "onnxruntime", "qwac"); InvalidConfig listing the known ones.
const ExportProfile& export_profile_for(const std::string& name);
// Parses a profile document (hw_configs/<name>.json with "export_profile"); InvalidConfig naming the JSON path.
ExportProfile parse_export_profile(const nlohmann::json& j, const std::string& where);
std::vector<std::string> known_export_profiles();

// The ops placement quantizes under `profile` (nullptr = the device's own list).
const std::map<std::string, QuantizableOp>& quantizable_ops(const HwConfig& hw, const ExportProfile* profile);
// The device's fusion patterns the profile's runtime executes fused (nullptr = all).
std::vector<const FusionPattern*> honoured_fusions(const HwConfig& hw, const ExportProfile* profile);

Preset parse_preset(const std::string& name, const std::string& where);  // "performance" | "mixed" | "accuracy"
std::string preset_name(Preset p);

}  // namespace qwac::quant
