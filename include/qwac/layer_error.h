// qwac public API: per-layer quantization error, the "where does the damage come from?" of a report.
//
//   qwac::QuantizeResult r = qwac::quantize(fp32, calibration, params);
//   r.report.layer_errors = qwac::measure_layer_errors(fp32, r.model, calibration);
//
// Every computing node of the quantized (QDQ) model, in graph order, with the error of its output against the same
// tensor of the FP32 model on the first `max_samples` samples: NMSE and SQNR, which rise and fall along the network
// where error enters and accumulates. The quantized model runs as the exact float simulation of its QDQ graph
// (ONNX semantics). The HTML report (qwac/report_html.h) draws it under the network's precision strip.
#pragma once

#include <cstdint>

#include "qwac/dataset.h"
#include "qwac/execution.h"
#include "qwac/model.h"
#include "qwac/report.h"

namespace qwac {

// `fp32` is the model `quantized` was made from. DataError when a sample does not fit the model or `data` is empty.
LayerErrorReport measure_layer_errors(const Model& fp32, const Model& quantized, const Dataset& data,
                                      int64_t max_samples = 8, const ExecutionOptions& options = {});

}  // namespace qwac
