// The `compression` section of a config, POT style:
//   "compression": {"target_device": "ANY",
//                   "algorithms": [{"name": "DefaultQuantization", "params": {"preset": "performance", ...}}]}
// Parsed strictly into the public QuantizationConfig (qwac/quantize.h) or AccuracyControlConfig
// (qwac/accuracy_control.h); documented in docs/config.md.
#pragma once

#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "accuracy/accuracy_control.h"
#include "quant/quantize.h"

namespace qwac::config {

struct AlgorithmSection {
  std::string name;       // "DefaultQuantization" | "AccuracyAwareQuantization"
  nlohmann::json params;  // validated by the parser of that algorithm
  std::string where;      // JSON path of params, for messages
  std::string model_type;  // compression.model_type (POT), the default of params.model_type (NNCF)
};

struct CompressionSection {
  std::string target_device = "ANY";
  std::string model_type;  // "" | "transformer" (quant/model_type.h); also copied into each AlgorithmSection
  std::vector<AlgorithmSection> algorithms;
};

// The algorithm names parse_compression accepts.
const std::vector<std::string>& known_algorithms();

// InvalidConfig when the section is missing/empty or malformed, or names an algorithm not in known_algorithms().
CompressionSection parse_compression(const nlohmann::json& compression);

// DefaultQuantization parameters (POT names, and NNCF's where they differ: ignored/ignored_scope,
// use_fast_bias/fast_bias_correction). `target_device` comes from the section unless params override it.
QuantizationConfig parse_default_quantization_params(const AlgorithmSection& algorithm,
                                                     const std::string& target_device);

// AccuracyAwareQuantization parameters: its own keys (POT names; NNCF's max_drop and restore_mode spellings) plus
// every DefaultQuantization key in the same object, which fill `base` (POT: "all its parameters are also valid").
AccuracyControlConfig parse_accuracy_aware_params(const AlgorithmSection& algorithm, const std::string& target_device);

}  // namespace qwac::config
