#include "ir/shape/tensor_reduce_params.h"

#include <string>

#include "qwac/error.h"

namespace qwac::ir {

ReduceParams reduce_params(const InferContext& ctx) {
  const int64_t axes_input_since = ctx.node().op_type() == "ReduceSum" ? 13 : 18;
  const Shape& in = ctx.input(0).shape;
  const int64_t rank = static_cast<int64_t>(in.size());
  ReduceParams p;
  p.keepdims = ctx.attrs().get_int("keepdims", 1) != 0;
  std::vector<int64_t> axes;
  bool noop_with_empty_axes = false;
  if (ctx.opset() >= axes_input_since) {
    if (ctx.has_input(1)) axes = ctx.constant_ints(1, "axes");
    noop_with_empty_axes = ctx.attrs().get_int("noop_with_empty_axes", 0) != 0;
  } else {
    axes = ctx.attrs().get_ints("axes", {});
  }
  p.reduced.assign(in.size(), axes.empty());
  if (axes.empty() && noop_with_empty_axes) {
    p.noop = true;
    p.reduced.assign(in.size(), false);
    p.out_shape = in;
    return p;
  }
  for (int64_t a : axes) {
    // Repeated axes are harmless (ONNX Runtime accepts them): reducing an axis twice is reducing it once.
    p.reduced[normalize_axis(a, rank, ctx.node().describe() + " axes")] = true;
  }
  for (int64_t i = 0; i < rank; ++i) {
    if (!p.reduced[i]) {
      p.out_shape.push_back(in[i]);
    } else if (p.keepdims) {
      p.out_shape.push_back(1);
    }
  }
  return p;
}

ArgReduceParams arg_reduce_params(const InferContext& ctx) {
  const Shape& in = ctx.input(0).shape;
  ArgReduceParams p;
  p.axis = normalize_axis(ctx.attrs().get_int("axis", 0), static_cast<int64_t>(in.size()), ctx.node().describe());
  p.keepdims = ctx.attrs().get_int("keepdims", 1) != 0;
  p.select_last_index = ctx.opset() >= 12 && ctx.attrs().get_int("select_last_index", 0) != 0;
  if (in[p.axis] == 0) ctx.fail("cannot take the arg-extremum over an empty axis of input " + shape_to_string(in));
  for (size_t i = 0; i < in.size(); ++i) {
    if (static_cast<int64_t>(i) != p.axis) {
      p.out_shape.push_back(in[i]);
    } else if (p.keepdims) {
      p.out_shape.push_back(1);
    }
  }
  return p;
}

}  // namespace qwac::ir
