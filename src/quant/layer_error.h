// Per-layer quantization error: every computing node of a QDQ model compared with the same tensor of its FP32
// model on a few samples, in graph order, so a report shows where the error enters and how it accumulates
// (Intel Neural Compressor's "diagnosis" shows per-op MSE; qwac shows it along the network).
//
// The FP32 model is canonicalized as DefaultQuantization does (BN folded, constants folded), so its tensors have
// the names the QDQ model kept; Q/DQ nodes are skipped. The quantized model runs as the exact float simulation of
// its QDQ graph (ONNX semantics), the numbers every runtime approximates; both run at batch 1 with every compared
// tensor tapped, so memory stays that of one sample.
#pragma once

#include <cstdint>

#include "ir/graph.h"
#include "qwac/dataset.h"
#include "qwac/execution.h"
#include "qwac/report.h"

namespace qwac::quant {

// `fp32` is the model `quantized` was made from (not canonicalized: done here). Uses the first `max_samples`
// samples of `data` (at least one). DataError when a sample does not fit the model.
LayerErrorReport measure_layer_errors(const ir::Model& fp32, const ir::Model& quantized, const Dataset& data,
                                      int64_t max_samples, const ExecutionOptions& options);

}  // namespace qwac::quant
