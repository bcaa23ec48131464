#include "ir/shape/tensor_quantize_params.h"

#include <string>

#include "qwac/error.h"

namespace qwac::ir {

bool is_quantized_dtype(DType t) {
  return t == DType::kInt8 || t == DType::kUInt8 || t == DType::kInt16 || t == DType::kUInt16;
}

QuantLayout quant_layout(const InferContext& ctx) {
  const Shape& x = ctx.input(0).shape;
  const Shape& scale = ctx.input(1).shape;
  const int64_t rank = static_cast<int64_t>(x.size());
  if (ctx.opset() >= 21 && ctx.attrs().get_int("block_size", 0) > 0) {
    throw UnsupportedOp(ctx.node().describe() + ": blocked quantization (block_size=" +
                        std::to_string(ctx.attrs().get_int("block_size")) + ") is not supported");
  }
  if (ctx.input(1).dtype != DType::kFloat32) {
    throw UnsupportedOp(ctx.node().describe() + ": scale of type " + std::string(dtype_name(ctx.input(1).dtype)) +
                        " is not supported (expected float)");
  }
  QuantLayout q;
  const int64_t scale_numel = shape_numel(scale);
  const bool per_tensor = scale.empty() || (scale.size() == 1 && scale[0] == 1);
  if (per_tensor) {
    q.outer = shape_numel(x);
  } else {
    if (scale.size() != 1 || ctx.opset() < 13) {
      ctx.fail("scale of shape " + shape_to_string(scale) + " is not supported: expected a scalar" +
               std::string(ctx.opset() >= 13 ? " or a 1-D tensor (per-axis)" : " (per-axis needs opset 13)"));
    }
    q.axis = normalize_axis(ctx.attrs().get_int("axis", 1), rank, ctx.node().describe() + " per-axis quantization");
    if (x[q.axis] != scale_numel) {
      ctx.fail("per-axis scale has " + std::to_string(scale_numel) + " elements, expected " +
               std::to_string(x[q.axis]) + " (size of axis " + std::to_string(q.axis) + " of input " +
               shape_to_string(x) + ")");
    }
    for (int64_t i = 0; i < rank; ++i) {
      if (i < q.axis) q.outer *= x[i];
      if (i > q.axis) q.inner *= x[i];
    }
    q.channels = x[q.axis];
  }
  if (ctx.has_input(2)) {
    const TensorInfo& zp = ctx.input(2);
    if (zp.shape != scale && !(shape_numel(zp.shape) == 1 && scale_numel == 1)) {
      ctx.fail("zero point shape " + shape_to_string(zp.shape) + " differs from scale shape " + shape_to_string(scale));
    }
  }
  return q;
}

DType quantize_output_dtype(const InferContext& ctx) {
  const int64_t requested = ctx.opset() >= 21 ? ctx.attrs().get_int("output_dtype", 0) : 0;
  DType out = DType::kUInt8;
  if (ctx.has_input(2)) {
    out = ctx.input(2).dtype;
    if (requested != 0 && requested != static_cast<int64_t>(out)) {
      ctx.fail("output_dtype " + std::to_string(requested) + " disagrees with the zero point's type " +
               std::string(dtype_name(out)));
    }
  } else if (requested != 0) {
    if (!is_valid_dtype_code(static_cast<int>(requested))) {
      throw UnsupportedOp(ctx.node().describe() + ": output_dtype " + std::to_string(requested) +
                          " is not supported (expected int8, uint8, int16 or uint16)");
    }
    out = static_cast<DType>(requested);
  }
  if (!is_quantized_dtype(out)) {
    throw UnsupportedOp(ctx.node().describe() + ": quantized type " + std::string(dtype_name(out)) +
                        " is not supported (expected int8, uint8, int16 or uint16)");
  }
  return out;
}

}  // namespace qwac::ir
