// DefaultQuantization: canonicalize -> place quantizers -> statistics -> ranges -> bias correction -> QDQ model.
//
// The state it ends with (QuantizationState) is what the accuracy search edits: it reverts groups in the
// QuantizerSet and rebuilds the QDQ model with build_quantized_model(), which also restores the FP32 bias of every
// op whose weight quantizer is disabled (undoing bias correction, as NNCF/POT do on revert).
#pragma once

#include <map>
#include <memory>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "core/tensor.h"
#include "ir/graph.h"
#include "qwac/dataset.h"
#include "quant/quantize.h"
#include "quant/hw_config.h"
#include "quant/qdq_materialize.h"
#include "quant/quantizer_set.h"

namespace qwac::quant {

struct QuantizationState {
  std::shared_ptr<const ir::Model> canonical;      // FP32 model quantizers are placed on
  QuantizerSet set;
  std::map<std::string, Tensor> corrected_biases;  // by op name, valid while the op's weight quantizer is enabled
  MaterializeOptions materialize;
  nlohmann::json report;                           // DefaultQuantization report (see quantize())
};

QuantizationState run_default_quantization(const ir::Model& model, const Dataset& calibration,
                                           const QuantizationConfig& params, const RunOptions& options);

// The QDQ model for the current state of `state.set`.
ir::Model build_quantized_model(const QuantizationState& state, Logger* logger = nullptr);

// The per-quantizer / per-group part of the report for the current state (also used after the accuracy search).
nlohmann::json quantizers_report(const QuantizerSet& set);

}  // namespace qwac::quant
