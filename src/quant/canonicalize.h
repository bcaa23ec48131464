// Canonicalization before placement: the FP32 model in the form quantizers are placed on.
//
//   1. inference-only clean-up (Identity/Dropout removed) and BatchNormalization folded into the preceding
//      Conv/ConvTranspose/Gemm, so the folded weights are what gets quantized (a BN left alone would rescale
//      int8 outputs in float, and runtimes cannot fuse it);
//   2. constant sub-graphs folded (weights reached through Reshape/Transpose/Cast... become initializers);
//   3. the default opset raised to 13 when per-channel weights need it (QuantizeLinear/DequantizeLinear `axis`),
//      with ONNX's version converter; if that fails and the opset is >= 10, per-tensor weights are used instead
//      (logged); below 10 Q/DQ do not exist and the model is refused;
//   4. every value's dtype and shape filled (placement only quantizes float tensors).
// Activations are not fused here: Conv -> Relu stays two ONNX ops in the exported file (ONNX Runtime and qwac's
// engine fuse them at load time), and the quantizer sits after the Relu where the int8 data flows.
#pragma once

#include <map>
#include <string>

#include "core/logger.h"
#include "core/shape.h"
#include "ir/graph.h"

namespace qwac::quant {

struct CanonicalizeOptions {
  bool want_per_channel = true;  // raise the opset to 13 for per-channel weights
};

struct CanonicalModel {
  ir::Model model;
  bool per_channel_allowed = true;  // false when the opset could not be raised to 13
  int64_t original_opset = 0;
  std::vector<std::string> changes;  // readable list for the report ("folded 21 BatchNormalization", ...)
};

// `input_shapes`: concrete shapes of one sample (batch 1), used only to fill value types; the returned model keeps
// its symbolic/declared input shapes and runs at any batch.
CanonicalModel canonicalize(const ir::Model& model, const std::map<std::string, Shape>& input_shapes,
                            const CanonicalizeOptions& options, Logger& logger);

}  // namespace qwac::quant
