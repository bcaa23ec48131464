// qwac public API: default 8-bit post-training quantization (the seeds' "DefaultQuantization").
//
//   qwac::QuantizationParams params;                 // POT-style parameters, defaults as there
//   qwac::QuantizeResult r = qwac::quantize(model, calibration_dataset, params);
//   qwac::onnxio::save_model(*r.model, "model.int8.onnx");   // QDQ ONNX, int8 weights
//   write r.report (JSON) next to it
//
// The same parameters are read from a config's `compression` section
// ({"name": "DefaultQuantization", "params": {...}}, see docs/config.md).
#pragma once

#include <cstdint>
#include <memory>
#include <optional>
#include <string>

#include <nlohmann/json.hpp>

#include "core/logger.h"
#include "qwac/dataset.h"

namespace qwac {

namespace ir {
struct Model;
}

// Quantizer settings for weights or activations; unset fields keep the target device's preset.
struct QuantizerParams {
  std::optional<int> bits;                  // 8 (16 where the device allows it)
  std::optional<std::string> mode;          // "symmetric" | "asymmetric"
  std::optional<std::string> granularity;   // "perchannel" | "pertensor"
  nlohmann::json range_estimator;           // POT form (see quant/range_estimator.h) or null = defaults
};

struct QuantizationParams {
  std::string target_device = "ANY";        // ANY, CPU, GPU, NPU, GNA
  std::string preset = "performance";       // performance | mixed (| accuracy on GNA)
  int64_t stat_subset_size = 300;           // calibration samples (clamped to the dataset size)
  bool shuffle_data = false;                // deterministic subset: first N, or a seeded shuffle
  uint64_t seed = 0;
  QuantizerParams weights;                  // default granularity: per-channel
  QuantizerParams activations;
  std::string bias_correction = "fast";     // fast | full | none (POT's use_fast_bias true/false = fast/full)
  int64_t bias_correction_subset_size = 0;  // full bias correction samples; 0 = 20 % of stat_subset_size (NNCF)
  nlohmann::json ignored_scope;             // {"names": [], "patterns": [], "types": []} or null
  bool compress_weights = true;             // int8 weight initializers + DequantizeLinear (else float + Q/DQ)
  bool quantize_bias = true;                // int32 bias (ORT's QDQ layout) where input and weight are quantized
  // The runtime the exported QDQ file is shaped for (src/quant/hw_configs/<name>.json): "onnxruntime" (DQ -> op -> Q
  // around every int8 op, uint8 activations) or "qwac" (NNCF-style: no quantizer inside a fused pattern); "" = the
  // target device's default (onnxruntime for ANY/CPU/GPU/NPU, qwac for GNA).
  std::string export_profile;
};

struct RunOptions {
  int64_t batch_size = 8;                   // calibration batch (falls back to 1 when the model cannot batch)
  int threads = 0;                          // 0 = all cores
  bool use_dnnl = true;
  // Quantized (QDQ) candidates run on qwac's int8 kernels, as they will be deployed; false = the exact float
  // simulation of the QDQ graph (ONNX semantics, slower). FP32 models are unaffected.
  bool int8 = true;
  std::shared_ptr<Logger> logger;           // nullptr = silent
  std::shared_ptr<Progress> progress;       // nullptr = none
};

struct QuantizeResult {
  std::shared_ptr<ir::Model> model;         // the QDQ model, ready for onnxio::save_model
  nlohmann::json report;                    // every decision: quantizers, groups, float ops, timings
};

// Default quantization of `model` with `calibration` samples. Throws InvalidConfig for bad parameters,
// InvalidModel when nothing can be quantized or the opset is too old, DataError for non-finite activations.
QuantizeResult quantize(const ir::Model& model, const Dataset& calibration, const QuantizationParams& params,
                        const RunOptions& options = {});

}  // namespace qwac
