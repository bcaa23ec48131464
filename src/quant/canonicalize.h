// Canonicalization before placement: the FP32 model in the form quantizers are placed on.
//
//   1. constant sub-graphs folded: weights held in `Constant` nodes (paddle2onnx, older converters) or reached
//      through Reshape/Transpose/Cast... become initializers, so the next steps see them as weights; then the
//      inference-only clean-up (Identity/Dropout removed);
//   2. BatchNormalization folded into the preceding Conv/ConvTranspose/Gemm, so the folded weights are what gets
//      quantized (a BN left alone would rescale int8 outputs in float, and runtimes cannot fuse it);
//   3. qwac's shape inference on the real input shapes: every value's concrete type for one sample (a malformed
//      model is rejected here, naming the node, before any rewrite relies on it);
//   4. the default opset raised to 13 when per-channel weights need it (QuantizeLinear/DequantizeLinear `axis`), with
//      qwac's own opset adapters (onnx/opset_upgrade.h), which read the types of step 3 where a rewrite depends on a
//      rank or a shape. When a node cannot be upgraded, weights fall back to per-tensor quantizers with a warning
//      naming the nodes, and the opset is raised to 10 only if it is below (Q/DQ exist from 10 on); a model that
//      cannot reach 10 either is refused;
//   5. constants folded again (the adapters add small constant inputs) and every value's dtype filled (placement
//      only quantizes float tensors).
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

// `input_shapes`: concrete shapes of one sample (batch 1), used for shape inference only; the returned model keeps
// its symbolic/declared input shapes and runs at any batch.
CanonicalModel canonicalize(const ir::Model& model, const std::map<std::string, Shape>& input_shapes,
                            const CanonicalizeOptions& options, Logger& logger);

}  // namespace qwac::quant
