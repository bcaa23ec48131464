// Model types (NNCF's `model_type`, POT's `compression.model_type`): what a family of networks needs from
// quantization beyond the target device's rules, as data (src/quant/hw_configs/<name>.json with a "model_type"
// key; the only one today is "transformer"):
//   - the preset used when the parameters give none (transformer: mixed);
//   - op types that stay in float whatever the device quantizes (the element-wise glue of LayerNorm and GELU),
//     reported as float ops with the model type as the reason;
//   - ignored patterns (NNCF's IgnoredPatternNames for transformers), in the fusion-pattern format
//     (quant/fusion_pattern.h): every node of a match stays float (Softmax -> MatMul: attention's P x V, whose
//     probabilities an 8-bit grid resolves poorly; Add -> Softmax: the additive mask, whose -10000 entries would
//     take the whole range);
//   - symmetric quantizers for both inputs of a MatMul of two computed tensors (attention's Q x K^T).
//   - SmoothQuant's default alpha on MatMul inputs (quant/smooth_quant.h).
#pragma once

#include <optional>
#include <set>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "quant/fusion_pattern.h"
#include "quant/quantize.h"

namespace qwac::quant {

struct ModelTypeConfig {
  std::string name;
  std::string description;
  std::string preset;                        // the default preset ("" = the library's default)
  std::set<std::string> float_op_types;      // default-domain op types never quantized
  std::vector<FusionPattern> ignored_patterns;  // every node of a match stays float
  bool symmetric_activation_matmul = false;     // MatMul of two computed inputs: symmetric activation quantizers
  std::optional<double> smooth_quant_alpha;     // SmoothQuant's default alpha (unset = off)
};

// The built-in model type `name` ("" = none: nullptr). InvalidConfig naming `where` and listing the known types
// for an unknown name.
const ModelTypeConfig* model_type_for(const std::string& name, const std::string& where);
// Parses a model-type document (the format of hw_configs/transformer.json); InvalidConfig naming the JSON path.
ModelTypeConfig parse_model_type(const nlohmann::json& j, const std::string& where);
std::vector<std::string> known_model_types();

// The preset a run uses: params.preset, or the model type's default when it is empty, or "performance".
std::string resolved_preset(const QuantizationConfig& params);
// SmoothQuant's alpha for a run: params.smooth_quant_alpha, or the model type's default; nullopt = off.
std::optional<double> resolved_smooth_quant_alpha(const QuantizationConfig& params);

}  // namespace qwac::quant
