// Raises a model's default-domain opset with ONNX's version converter (via a proto round trip), e.g. to 13 so
// QuantizeLinear/DequantizeLinear can be per-channel. The converter knows every op's semantic changes (Softmax
// axis, Clip/Pad/Reshape inputs...).
#pragma once

#include <cstdint>

#include "ir/graph.h"

namespace qwac::onnxio {

// No-op when the model's opset is already >= target. Throws InvalidModel naming the opsets and the converter's
// message when the converter cannot upgrade it.
void upgrade_opset(ir::Model& model, int64_t target);

}  // namespace qwac::onnxio
