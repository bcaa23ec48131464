// Shape and type inference of the tensor-manipulation, indexing, quantization, resize and reduction ops.
// The op semantics live in the tensor_*_params files, shared with the reference kernels.
#include <string>

#include "ir/contrib_ops.h"
#include "ir/op_schema.h"
#include "ir/shape/tensor_params.h"
#include "ir/shape/tensor_quantize_params.h"
#include "ir/shape/tensor_reduce_params.h"
#include "ir/shape/tensor_resize_params.h"
#include "qwac/error.h"

namespace qwac::ir {

namespace {

using Outputs = std::vector<OutputInfo>;

DType dtype0(const InferContext& ctx) {
  return ctx.input(0).dtype;
}

void require_index_dtype(const InferContext& ctx, size_t i, const std::string& what) {
  const DType t = ctx.input(i).dtype;
  if (t != DType::kInt32 && t != DType::kInt64) {
    ctx.fail(what + " must be int32 or int64, got " + std::string(dtype_name(t)));
  }
}

Outputs infer_same_shape_as(const InferContext& ctx, Shape shape) {
  return {{dtype0(ctx), std::move(shape)}};
}

Outputs infer_concat(const InferContext& ctx) {
  const int64_t axis = concat_axis(ctx);
  Shape out = ctx.input(0).shape;
  out[axis] = 0;
  for (size_t i = 0; i < ctx.num_inputs(); ++i) out[axis] += ctx.input(i).shape[axis];
  return {{dtype0(ctx), out}};
}

Outputs infer_split(const InferContext& ctx) {
  const SplitParams p = split_params(ctx);
  Outputs outs;
  for (int64_t s : p.sizes) {
    Shape shape = ctx.input(0).shape;
    shape[p.axis] = s;
    outs.push_back({dtype0(ctx), shape});
  }
  return outs;
}

Outputs infer_gather(const InferContext& ctx) {
  require_index_dtype(ctx, 1, "indices");
  const int64_t axis = gather_axis(ctx);
  const Shape& data = ctx.input(0).shape;
  Shape out(data.begin(), data.begin() + axis);
  for (int64_t d : ctx.input(1).shape) out.push_back(d);
  for (size_t i = static_cast<size_t>(axis) + 1; i < data.size(); ++i) out.push_back(data[i]);
  return {{dtype0(ctx), out}};
}

Outputs infer_gather_elements(const InferContext& ctx) {
  require_index_dtype(ctx, 1, "indices");
  gather_axis(ctx);
  const Shape& data = ctx.input(0).shape;
  const Shape& idx = ctx.input(1).shape;
  if (idx.size() != data.size()) {
    ctx.fail("indices of shape " + shape_to_string(idx) + " must have the rank of data " + shape_to_string(data));
  }
  return {{dtype0(ctx), idx}};
}

Outputs infer_transpose(const InferContext& ctx) {
  const std::vector<int64_t> perm = transpose_perm(ctx);
  Shape out;
  for (int64_t p : perm) out.push_back(ctx.input(0).shape[p]);
  return {{dtype0(ctx), out}};
}

Outputs infer_expand(const InferContext& ctx) {
  const std::vector<int64_t> shape = ctx.constant_ints(1, "shape");
  return {{dtype0(ctx), broadcast_shapes(ctx.input(0).shape, shape, ctx.node().describe())}};
}

Outputs infer_tile(const InferContext& ctx) {
  const std::vector<int64_t> repeats = tile_repeats(ctx);
  Shape out = ctx.input(0).shape;
  for (size_t i = 0; i < out.size(); ++i) out[i] *= repeats[i];
  return {{dtype0(ctx), out}};
}

Outputs infer_shape(const InferContext& ctx) {
  const auto [start, end] = shape_op_range(ctx);
  return {{DType::kInt64, {end - start}}};
}

Outputs infer_constant(const InferContext& ctx) {
  const Tensor v = constant_attribute_value(ctx.node());
  return {{v.dtype(), v.shape()}};
}

Outputs infer_constant_of_shape(const InferContext& ctx) {
  const std::vector<int64_t> shape = ctx.constant_ints(0, "shape");
  for (int64_t d : shape) {
    if (d < 0) ctx.fail("shape " + shape_to_string(shape) + " has a negative dimension");
  }
  return {{constant_of_shape_value(ctx.node()).dtype(), shape}};
}

Outputs infer_range(const InferContext& ctx) {
  return {{dtype0(ctx), {range_count(ctx)}}};
}

Outputs infer_quantize(const InferContext& ctx) {
  const DType in = dtype0(ctx);
  if (in != DType::kFloat32 && in != DType::kInt32) {
    throw UnsupportedOp(ctx.node().describe() + ": input of type " + std::string(dtype_name(in)) +
                        " is not supported (expected float or int32)");
  }
  quant_layout(ctx);
  return {{quantize_output_dtype(ctx), ctx.input(0).shape}};
}

Outputs infer_dequantize(const InferContext& ctx) {
  const DType in = dtype0(ctx);
  if (!is_quantized_dtype(in) && in != DType::kInt32) {
    throw UnsupportedOp(ctx.node().describe() + ": input of type " + std::string(dtype_name(in)) +
                        " is not supported (expected int8, uint8, int16, uint16 or int32)");
  }
  if (ctx.has_input(2) && ctx.input(2).dtype != in) {
    ctx.fail("zero point type " + std::string(dtype_name(ctx.input(2).dtype)) + " differs from input type " +
             std::string(dtype_name(in)));
  }
  quant_layout(ctx);
  return {{ctx.input(1).dtype, ctx.input(0).shape}};
}

Outputs infer_resize(const InferContext& ctx) {
  return {{dtype0(ctx), resize_params(ctx).out_shape}};
}

Outputs infer_reduce(const InferContext& ctx) {
  return {{dtype0(ctx), reduce_params(ctx).out_shape}};
}

Outputs infer_arg_reduce(const InferContext& ctx) {
  return {{DType::kInt64, arg_reduce_params(ctx).out_shape}};
}

}  // namespace

void register_tensor_shapes(OpRegistry& registry) {
  const std::vector<OpSchema> schemas = {
      {"Concat", "", 1, infer_concat},
      {"Split", "", 1, infer_split},
      {"Slice", "", 1, [](const InferContext& ctx) { return infer_same_shape_as(ctx, slice_params(ctx).out_shape); }},
      {"Gather", "", 1, infer_gather},
      {"GatherElements", "", 11, infer_gather_elements},
      {"Reshape", "", 5, [](const InferContext& ctx) { return infer_same_shape_as(ctx, reshape_output_shape(ctx)); }},
      {"Flatten", "", 1, [](const InferContext& ctx) { return infer_same_shape_as(ctx, flatten_output_shape(ctx)); }},
      {"Squeeze", "", 1, [](const InferContext& ctx) { return infer_same_shape_as(ctx, squeeze_output_shape(ctx)); }},
      {"Unsqueeze", "", 1,
       [](const InferContext& ctx) { return infer_same_shape_as(ctx, unsqueeze_output_shape(ctx)); }},
      {"Transpose", "", 1, infer_transpose},
      {"Shape", "", 1, infer_shape},
      {"Size", "", 1,
       [](const InferContext&) -> Outputs {
         return {{DType::kInt64, {}}};
       }},
      {"Expand", "", 8, infer_expand},
      {"Tile", "", 6, infer_tile},
      {"Pad", "", 2, [](const InferContext& ctx) { return infer_same_shape_as(ctx, pad_params(ctx).out_shape); }},
      {"Constant", "", 1, infer_constant},
      {"ConstantOfShape", "", 9, infer_constant_of_shape},
      {"Range", "", 11, infer_range},
      {"QuantizeLinear", "", 10, infer_quantize},
      {"DequantizeLinear", "", 10, infer_dequantize},
      {"Resize", "", 10, infer_resize},
      {"Upsample", "", 7, infer_resize},
      {"ReduceSum", "", 1, infer_reduce},
      {"ReduceMean", "", 1, infer_reduce},
      {"ReduceMax", "", 1, infer_reduce},
      {"ReduceMin", "", 1, infer_reduce},
      {"ReduceProd", "", 1, infer_reduce},
      {"ReduceL1", "", 1, infer_reduce},
      {"ReduceL2", "", 1, infer_reduce},
      {"ReduceSumSquare", "", 1, infer_reduce},
      {"ReduceLogSumExp", "", 1, infer_reduce},
      {"ReduceLogSum", "", 1, infer_reduce},
      {"ArgMax", "", 1, infer_arg_reduce},
      {"ArgMin", "", 1, infer_arg_reduce},
  };
  for (const OpSchema& s : schemas) registry.add(s);
  // ONNX Runtime's contrib Q/DQ (ir/contrib_ops.h): the opset-13 rules whatever the contrib opset version.
  auto as_opset13 = [](Outputs (*infer)(const InferContext&)) {
    return [infer](const InferContext& ctx) {
      std::vector<TensorInfo> inputs;
      for (size_t i = 0; i < ctx.num_inputs(); ++i) inputs.push_back(ctx.has_input(i) ? ctx.input(i) : TensorInfo{});
      return infer(InferContext(ctx.node(), kContribQdqSemanticsOpset, std::move(inputs)));
    };
  };
  registry.add(OpSchema{"QuantizeLinear", std::string(kMicrosoftDomain), 1, as_opset13(infer_quantize)});
  registry.add(OpSchema{"DequantizeLinear", std::string(kMicrosoftDomain), 1, as_opset13(infer_dequantize)});
}

}  // namespace qwac::ir
