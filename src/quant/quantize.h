// DefaultQuantization on the library's own model type, with parameters in their config form (strings and JSON as a
// config's `compression` section spells them; parsed and validated by the algorithms). The public, typed entry
// point (include/qwac/quantize.h) converts its parameters to this form (src/api/params.h).
#pragma once

#include <cstdint>
#include <memory>
#include <optional>
#include <string>

#include <nlohmann/json.hpp>

#include "qwac/dataset.h"
#include "qwac/execution.h"

namespace qwac {

namespace ir {
struct Model;
}

// Quantizer settings for weights or activations; unset fields keep the target device's preset.
struct QuantizerConfig {
  std::optional<int> bits;                  // 8 (16 where the device allows it)
  std::optional<std::string> mode;          // "symmetric" | "asymmetric"
  std::optional<std::string> granularity;   // "perchannel" | "pertensor"
  nlohmann::json range_estimator;           // POT form (see quant/range_estimator.h) or null = defaults
};

struct QuantizationConfig {
  std::string target_device = "ANY";        // ANY, CPU, GPU, NPU, GNA
  std::string preset;                       // performance | mixed (| accuracy on GNA); "" = the model type's
                                            //   default (mixed for transformers), else performance
  // The network family, for its quantization rules (NNCF's model_type; src/quant/hw_configs/transformer.json):
  // "" = none, "transformer" = LayerNorm/GELU glue, the attention mask's Add and Softmax x V in float, symmetric
  // Q x K^T inputs, mixed preset.
  std::string model_type;
  int64_t stat_subset_size = 300;           // calibration samples (clamped to the dataset size)
  bool shuffle_data = false;                // deterministic subset: first N, or a seeded shuffle
  uint64_t seed = 0;
  QuantizerConfig weights;                  // default granularity: per-channel
  QuantizerConfig activations;
  std::string bias_correction = "fast";     // fast | full | none (POT's use_fast_bias true/false = fast/full)
  int64_t bias_correction_subset_size = 0;  // full bias correction samples; 0 = 20 % of stat_subset_size (NNCF)
  // SmoothQuant's alpha on MatMul inputs (quant/smooth_quant.h; NNCF's smooth_quant_alphas.matmul): unset = the model
  // type's default (none for plain models), negative = off.
  std::optional<double> smooth_quant_alpha;
  nlohmann::json ignored_scope;             // {"names": [], "patterns": [], "types": []} or null
  bool compress_weights = true;             // int8 weight initializers + DequantizeLinear (else float + Q/DQ)
  bool quantize_bias = true;                // int32 bias (ORT's QDQ layout) where input and weight are quantized
  // The runtime the exported QDQ file is shaped for (src/quant/hw_configs/<name>.json): "onnxruntime" (DQ -> op -> Q
  // around every int8 op, uint8 activations) or "qwac" (NNCF-style: no quantizer inside a fused pattern); "" = the
  // target device's default (onnxruntime for ANY/CPU/GPU/NPU, qwac for GNA).
  std::string export_profile;
};

struct QuantizeOutput {
  std::shared_ptr<ir::Model> model;         // the QDQ model, ready for onnxio::save_model
  nlohmann::json report;                    // every decision: quantizers, groups, float ops, timings
};

// Default quantization of `model` with `calibration` samples. Throws InvalidConfig for bad parameters,
// InvalidModel when nothing can be quantized or the opset is too old, DataError for non-finite activations.
QuantizeOutput quantize(const ir::Model& model, const Dataset& calibration, const QuantizationConfig& params,
                        const RunOptions& options = {});

}  // namespace qwac
