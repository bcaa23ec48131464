// Reduce* and ArgMax/ArgMin parameters: which axes are reduced (attribute or input depending on the opset),
// keepdims, noop_with_empty_axes, and the output shape.
#pragma once

#include <cstdint>
#include <vector>

#include "core/shape.h"
#include "ir/op_schema.h"

namespace qwac::ir {

struct ReduceParams {
  std::vector<bool> reduced;  // per input dim
  bool keepdims = true;
  bool noop = false;  // noop_with_empty_axes with no axes: the output is the input
  Shape out_shape;
};

// Axes come from the optional input 1 from opset 13 for ReduceSum and from opset 18 for the other Reduce ops,
// from the `axes` attribute before.
ReduceParams reduce_params(const InferContext& ctx);

struct ArgReduceParams {
  int64_t axis = 0;
  bool keepdims = true;
  bool select_last_index = false;
  Shape out_shape;
};
ArgReduceParams arg_reduce_params(const InferContext& ctx);

}  // namespace qwac::ir
