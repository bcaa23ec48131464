// QuantizeLinear / DequantizeLinear parameters: output type and per-tensor vs per-axis layout, for opsets 10..21.
#pragma once

#include <cstdint>

#include "core/dtype.h"
#include "ir/op_schema.h"

namespace qwac::ir {

// The data viewed as [outer, channels, inner]: channels = 1 for per-tensor quantization, else the size of the
// quantization axis (scale and zero point are 1-D of that size).
struct QuantLayout {
  int64_t axis = -1;  // normalized axis, -1 = per-tensor
  int64_t outer = 1;
  int64_t channels = 1;
  int64_t inner = 1;
};

// Integer types Q/DQ compute on (int8, uint8, int16, uint16; DequantizeLinear also takes int32).
bool is_quantized_dtype(DType t);

// Validates scale / zero-point shapes and returns the layout. Throws UnsupportedOp for blocked quantization
// (opset 21 block_size > 0).
QuantLayout quant_layout(const InferContext& ctx);

// QuantizeLinear output type: the zero point's type, else opset-21 output_dtype, else uint8.
DType quantize_output_dtype(const InferContext& ctx);

}  // namespace qwac::ir
