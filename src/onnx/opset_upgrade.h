// Raises a model's default-domain opset, e.g. to 13 so QuantizeLinear/DequantizeLinear can be per-channel, with
// qwac's own adapters (onnx/opset_adapters.h): every default-domain node is taken through each version at which
// its op's definition changed (ONNX's schema registry says which) and rewritten where the meaning moved (Softmax's
// axis, Clip/Pad/Slice/Split/Squeeze/Unsqueeze/ReduceSum attributes becoming inputs, Upsample becoming Resize...).
// Nodes of other domains are kept as they are: their meaning does not depend on the default-domain opset.
#pragma once

#include <cstdint>

#include "ir/graph.h"
#include "onnx/opset_adapters.h"

namespace qwac::onnxio {

// No-op when the model's opset is already >= target; target must be <= kMaxAdaptedOpset. `value_types` are the
// concrete types of the values for one sample from qwac's shape inference (runtime::infer_value_types), read by the
// adapters that depend on a rank, a dtype or a resize direction; declared types are used for values absent there.
// Throws InvalidModel listing every node that cannot be upgraded and why; the model is then left unchanged.
void upgrade_opset(ir::Model& model, int64_t target, const ValueTypes& value_types = {});

}  // namespace qwac::onnxio
