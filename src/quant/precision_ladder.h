// The precision ladder of the accuracy search (the seeds' GNA special case, generalized): instead of reverting a
// harmful group straight to float, the search first raises it to a higher-precision rung (INT16 weights on GNA,
// 16-bit activations where the user asks), cheapest first; float is the implicit last rung.
//
// A rung keeps each quantizer's range (the one the range estimator chose for the preset) and recomputes scale and
// zero point for the rung's bits, so raising a group needs no new statistics. 16-bit quantizers are exported as
// ONNX Runtime's com.microsoft QuantizeLinear/DequantizeLinear (ir/contrib_ops.h).
#pragma once

#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "quant/quantizer_set.h"

namespace qwac::quant {

// [{"name": "INT16", "weights_bits": 16, "activations_bits": 0}, ...]; InvalidConfig naming `where` on bad input
// (bits other than 0, 8 and 16, a rung that changes nothing, a name used twice).
std::vector<PrecisionRung> parse_precision_ladder(const nlohmann::json& j, const std::string& where);

// Fills every parameterized quantizer's `rungs` (rung 0 = its current spec/params, then one per ladder rung) and
// puts it on rung 0. A rung with the same bits as the preset for a kind leaves that kind's quantizers unchanged.
void attach_precision_ladder(QuantizerSet& set, const std::vector<PrecisionRung>& ladder);

}  // namespace qwac::quant
