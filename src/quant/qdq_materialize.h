// QuantizerSet -> QDQ model: QuantizeLinear/DequantizeLinear around the float ops, as ONNX Runtime consumes it.
//
// For every enabled quantizer: a Q/DQ pair at each source tensor, rewiring only the inputs on paths to its
// quantized edges (other consumers keep reading the float tensor); with `requantize_after_agnostic`, the same Q/DQ
// again after each agnostic op on those paths (a numerical no-op: the op only moves on-grid values) so runtimes
// see DQ -> op -> Q patterns they run in int8. Weights: stored as integer initializers + DequantizeLinear
// (`compress_weights`, the seeds' compress_model_weights) or float + Q/DQ. Bias of Conv/ConvTranspose/Gemm whose
// input and weight are both quantized: int32 with scale = s_input * s_weight and zero-point 0 (ORT's layout), kept
// float (and logged) when it would overflow int32. Per-channel parameters need opset >= 13, per-tensor >= 10:
// otherwise InvalidModel (canonicalize upgrades the opset first).
#pragma once

#include "core/logger.h"
#include "ir/graph.h"
#include "quant/hw_config.h"
#include "quant/quantized_weight_cache.h"
#include "quant/quantizer_set.h"

namespace qwac::quant {

struct MaterializeOptions {
  bool compress_weights = true;
  bool quantize_bias = true;
  bool requantize_after_agnostic = true;
  // The exported file's runtime (not owned; the built-in profiles live for the program): storage types, lowerings
  // and float weights where the runtime would not fuse. nullptr = plain QDQ.
  const ExportProfile* profile = nullptr;
  // Shared by the models built from one state (the accuracy search's candidates): each (weight, parameters) is
  // quantized once and its integer tensor shared. nullptr = quantize every time.
  std::shared_ptr<QuantizedWeightCache> weight_cache;
};

ir::Model materialize_qdq(const ir::Model& canonical, const QuantizerSet& set, const MaterializeOptions& options,
                          Logger* logger = nullptr);

}  // namespace qwac::quant
