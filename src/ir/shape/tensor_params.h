// Parameters of the tensor-manipulation ops (Reshape, Slice, Pad, Split, ...) derived from a node's attributes and
// its compile-time-known inputs, for every opset version of the op.
//
// Shape inference and the reference kernels both call these functions (a kernel builds an InferContext from its
// KernelContext), so the output shape a kernel writes is by construction the one inference promised.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "core/tensor.h"
#include "ir/op_schema.h"

namespace qwac::ir {

// Integer list from input `input_index` when it is present, else from attribute `attr` (older opsets), else
// nullopt. The input, when present, must be known at compile time.
std::optional<std::vector<int64_t>> ints_from_input_or_attr(const InferContext& ctx, size_t input_index,
                                                            const std::string& attr, const std::string& what);

// A compile-time-known numeric scalar (any numeric dtype, one element) as double.
double constant_scalar(const InferContext& ctx, size_t input_index, const std::string& what);

// Reshape: the output shape (0 copies the input dim unless allowzero, one -1 is inferred).
Shape reshape_output_shape(const InferContext& ctx);

// Flatten: the 2-D output shape.
Shape flatten_output_shape(const InferContext& ctx);

// Squeeze / Unsqueeze: the output shape.
Shape squeeze_output_shape(const InferContext& ctx);
Shape unsqueeze_output_shape(const InferContext& ctx);

// Transpose: the permutation (default: reversed dims), validated.
std::vector<int64_t> transpose_perm(const InferContext& ctx);

// Concat: the normalized axis, validated against every input.
int64_t concat_axis(const InferContext& ctx);

// Split: the normalized axis and the size of each output along it.
struct SplitParams {
  int64_t axis = 0;
  std::vector<int64_t> sizes;
};
SplitParams split_params(const InferContext& ctx);

// Slice: per input dimension, the first index, the step and the output length (dims not sliced: 0, 1, dim).
struct SliceParams {
  std::vector<int64_t> starts;
  std::vector<int64_t> steps;
  Shape out_shape;
};
SliceParams slice_params(const InferContext& ctx);

// Gather / GatherElements: the normalized axis.
int64_t gather_axis(const InferContext& ctx);

// Pad: per input dimension the (possibly negative) padding before and after, and the mode.
struct PadParams {
  std::vector<int64_t> begin;
  std::vector<int64_t> end;
  std::string mode;  // "constant", "reflect", "edge", "wrap"
  Shape out_shape;
};
PadParams pad_params(const InferContext& ctx);

// Tile: repeats per dim (validated).
std::vector<int64_t> tile_repeats(const InferContext& ctx);

// Shape (opset 15 start/end): the [start, end) range of dims reported, clamped.
std::pair<int64_t, int64_t> shape_op_range(const InferContext& ctx);

// Constant: the tensor given by whichever value* attribute is set.
Tensor constant_attribute_value(const Node& node);

// ConstantOfShape: the one-element fill value (default float 0).
Tensor constant_of_shape_value(const Node& node);

// Range: the element count max(ceil((limit - start) / delta), 0).
int64_t range_count(const InferContext& ctx);

}  // namespace qwac::ir
