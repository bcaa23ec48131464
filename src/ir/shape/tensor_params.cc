#include "ir/shape/tensor_params.h"

#include <algorithm>
#include <cmath>
#include <limits>
#include <set>

#include "qwac/error.h"

namespace qwac::ir {

namespace {

std::string ints_to_string(const std::vector<int64_t>& v) {
  return shape_to_string(v);
}

int64_t rank_of(const InferContext& ctx, size_t i) {
  return static_cast<int64_t>(ctx.input(i).shape.size());
}

// Normalizes a list of axes against `rank`, rejecting duplicates.
std::vector<int64_t> normalize_axes(const InferContext& ctx, const std::vector<int64_t>& axes, int64_t rank,
                                    const std::string& what) {
  std::vector<int64_t> out;
  std::set<int64_t> seen;
  for (int64_t a : axes) {
    const int64_t n = normalize_axis(a, rank, ctx.node().describe() + " " + what);
    if (!seen.insert(n).second)
      ctx.fail(what + " " + ints_to_string(axes) + " lists axis " + std::to_string(a) + " twice");
    out.push_back(n);
  }
  return out;
}

}  // namespace

std::optional<std::vector<int64_t>> ints_from_input_or_attr(const InferContext& ctx, size_t input_index,
                                                            const std::string& attr, const std::string& what) {
  if (ctx.has_input(input_index)) return ctx.constant_ints(input_index, what);
  if (ctx.attrs().has(attr)) return ctx.attrs().get_ints(attr);
  return std::nullopt;
}

double constant_scalar(const InferContext& ctx, size_t input_index, const std::string& what) {
  const Tensor& t = ctx.constant_input(input_index, what);
  if (t.numel() != 1) ctx.fail(what + " must hold exactly one value, got " + t.describe());
  if (t.dtype() == DType::kFloat16 || dtype_size(t.dtype()) == 0) {
    throw UnsupportedOp(ctx.node().describe() + ": " + what + " of type " + std::string(dtype_name(t.dtype())) +
                        " is not supported");
  }
  return dispatch_dtype(t.dtype(), [&](auto tag) -> double {
    using T = decltype(tag);
    return static_cast<double>(t.data<T>()[0]);
  });
}

Shape reshape_output_shape(const InferContext& ctx) {
  const Shape& in = ctx.input(0).shape;
  const std::vector<int64_t> target = ctx.constant_ints(1, "target shape");
  const bool allowzero = ctx.opset() >= 14 && ctx.attrs().get_int("allowzero", 0) != 0;
  Shape out(target.size());
  int64_t infer_at = -1;
  int64_t known = 1;
  for (size_t i = 0; i < target.size(); ++i) {
    const int64_t t = target[i];
    if (t == 0 && !allowzero) {
      if (i >= in.size()) {
        ctx.fail("target shape " + ints_to_string(target) + " has 0 (copy the input dim) at position " +
                 std::to_string(i) + " but the input " + shape_to_string(in) + " has only rank " +
                 std::to_string(in.size()));
      }
      out[i] = in[i];
    } else if (t == -1) {
      if (infer_at >= 0) ctx.fail("target shape " + ints_to_string(target) + " has more than one -1");
      infer_at = static_cast<int64_t>(i);
      continue;
    } else if (t < 0) {
      ctx.fail("target shape " + ints_to_string(target) + " has invalid dimension " + std::to_string(t) +
               " (expected >= -1)");
    } else {
      out[i] = t;
    }
    known *= out[i];
  }
  if (allowzero && infer_at >= 0 && known == 0) {
    ctx.fail("target shape " + ints_to_string(target) + " combines -1 with a 0 dimension while allowzero=1");
  }
  const int64_t numel = shape_numel(in);
  const bool fits = infer_at >= 0 ? (known != 0 ? numel % known == 0 : numel == 0) : known == numel;
  if (!fits) {
    // The common cause is a model exported with a fixed batch size (or image size) baked into the Reshape target
    // and then run at another batch: say so, since the raw numbers alone do not explain it.
    ctx.fail("cannot reshape input of shape " + shape_to_string(in) + " (" + std::to_string(numel) +
             " elements) to target shape " + ints_to_string(target) +
             ": the Reshape target shape hard-codes dimensions that are incompatible with the input shape (for "
             "example a batch size fixed when the model was exported), so the model cannot run with this input "
             "shape; run it at the shape it was exported for, or re-export it with 0/-1 in the target shape");
  }
  if (infer_at >= 0) out[infer_at] = known != 0 ? numel / known : 0;
  return out;
}

Shape flatten_output_shape(const InferContext& ctx) {
  const Shape& in = ctx.input(0).shape;
  const int64_t rank = static_cast<int64_t>(in.size());
  int64_t axis = ctx.attrs().get_int("axis", 1);
  if (axis < -rank || axis > rank) {
    ctx.fail("axis " + std::to_string(axis) + " is out of range for rank " + std::to_string(rank) + " (expected " +
             std::to_string(-rank) + ".." + std::to_string(rank) + ")");
  }
  if (axis < 0) axis += rank;
  int64_t outer = 1, inner = 1;
  for (int64_t i = 0; i < rank; ++i) (i < axis ? outer : inner) *= in[i];
  return {outer, inner};
}

Shape squeeze_output_shape(const InferContext& ctx) {
  const Shape& in = ctx.input(0).shape;
  const int64_t rank = static_cast<int64_t>(in.size());
  std::optional<std::vector<int64_t>> axes =
      ctx.opset() >= 13 ? ints_from_input_or_attr(ctx, 1, "", "axes")
                        : (ctx.attrs().has("axes") ? std::optional(ctx.attrs().get_ints("axes")) : std::nullopt);
  std::vector<bool> drop(in.size(), false);
  if (!axes || axes->empty()) {
    for (int64_t i = 0; i < rank; ++i) drop[i] = in[i] == 1;
  } else {
    for (int64_t a : normalize_axes(ctx, *axes, rank, "axes")) {
      if (in[a] != 1) {
        ctx.fail("cannot squeeze axis " + std::to_string(a) + " of input shape " + shape_to_string(in) +
                 ": its size is " + std::to_string(in[a]) + ", expected 1");
      }
      drop[a] = true;
    }
  }
  Shape out;
  for (int64_t i = 0; i < rank; ++i) {
    if (!drop[i]) out.push_back(in[i]);
  }
  return out;
}

Shape unsqueeze_output_shape(const InferContext& ctx) {
  const Shape& in = ctx.input(0).shape;
  std::optional<std::vector<int64_t>> axes =
      ctx.opset() >= 13 ? ints_from_input_or_attr(ctx, 1, "", "axes")
                        : (ctx.attrs().has("axes") ? std::optional(ctx.attrs().get_ints("axes")) : std::nullopt);
  if (!axes) ctx.fail("axes are required");
  const int64_t out_rank = static_cast<int64_t>(in.size() + axes->size());
  std::vector<bool> inserted(static_cast<size_t>(out_rank), false);
  for (int64_t a : normalize_axes(ctx, *axes, out_rank, "axes")) inserted[a] = true;
  Shape out;
  size_t k = 0;
  for (int64_t i = 0; i < out_rank; ++i) out.push_back(inserted[i] ? 1 : in[k++]);
  return out;
}

std::vector<int64_t> transpose_perm(const InferContext& ctx) {
  const int64_t rank = rank_of(ctx, 0);
  std::vector<int64_t> perm;
  if (ctx.attrs().has("perm")) {
    perm = ctx.attrs().get_ints("perm");
    if (static_cast<int64_t>(perm.size()) != rank) {
      ctx.fail("perm " + ints_to_string(perm) + " has " + std::to_string(perm.size()) + " entries, expected " +
               std::to_string(rank) + " (the input rank)");
    }
    perm = normalize_axes(ctx, perm, rank, "perm");
  } else {
    for (int64_t i = rank - 1; i >= 0; --i) perm.push_back(i);
  }
  return perm;
}

int64_t concat_axis(const InferContext& ctx) {
  const Shape& first = ctx.input(0).shape;
  const int64_t rank = static_cast<int64_t>(first.size());
  const int64_t axis = normalize_axis(ctx.attrs().get_int("axis"), rank, ctx.node().describe());
  for (size_t i = 1; i < ctx.num_inputs(); ++i) {
    const TensorInfo& t = ctx.input(i);
    if (t.dtype != ctx.input(0).dtype) {
      ctx.fail("input " + std::to_string(i) + " has type " + std::string(dtype_name(t.dtype)) + ", expected " +
               std::string(dtype_name(ctx.input(0).dtype)) + " like input 0");
    }
    bool ok = static_cast<int64_t>(t.shape.size()) == rank;
    for (int64_t d = 0; ok && d < rank; ++d) ok = d == axis || t.shape[d] == first[d];
    if (!ok) {
      ctx.fail("input " + std::to_string(i) + " has shape " + shape_to_string(t.shape) +
               ", incompatible with input 0 shape " + shape_to_string(first) + " for concatenation on axis " +
               std::to_string(axis));
    }
  }
  return axis;
}

SplitParams split_params(const InferContext& ctx) {
  const Shape& in = ctx.input(0).shape;
  SplitParams p;
  p.axis = normalize_axis(ctx.attrs().get_int("axis", 0), static_cast<int64_t>(in.size()), ctx.node().describe());
  const int64_t dim = in[p.axis];
  std::optional<std::vector<int64_t>> split;
  if (ctx.opset() >= 13) {
    if (ctx.has_input(1)) split = ctx.constant_ints(1, "split");
  } else if (ctx.attrs().has("split")) {
    split = ctx.attrs().get_ints("split");
  }
  const int64_t n_outputs = static_cast<int64_t>(ctx.node().num_outputs());
  if (split && !split->empty()) {
    int64_t sum = 0;
    for (int64_t s : *split) {
      if (s < 0) ctx.fail("split " + ints_to_string(*split) + " has a negative size");
      sum += s;
    }
    if (static_cast<int64_t>(split->size()) != n_outputs) {
      ctx.fail("split " + ints_to_string(*split) + " has " + std::to_string(split->size()) +
               " entries but the node has " + std::to_string(n_outputs) + " outputs");
    }
    if (sum != dim) {
      ctx.fail("split " + ints_to_string(*split) + " sums to " + std::to_string(sum) + ", expected " +
               std::to_string(dim) + " (size of axis " + std::to_string(p.axis) + " of input " + shape_to_string(in) +
               ")");
    }
    p.sizes = *split;
    return p;
  }
  if (ctx.opset() >= 18 && ctx.attrs().has("num_outputs")) {
    const int64_t n = ctx.attrs().get_int("num_outputs");
    if (n <= 0 || n != n_outputs) {
      ctx.fail("num_outputs=" + std::to_string(n) + " does not match the node's " + std::to_string(n_outputs) +
               " outputs");
    }
    // Opset 18: chunks of ceil(dim / n), the last one smaller when dim is not divisible.
    const int64_t chunk = (dim + n - 1) / n;
    const int64_t last = dim - chunk * (n - 1);
    if (last < 0) {
      ctx.fail("cannot split axis of size " + std::to_string(dim) + " into " + std::to_string(n) + " chunks of size " +
               std::to_string(chunk));
    }
    p.sizes.assign(static_cast<size_t>(n), chunk);
    p.sizes.back() = last;
    return p;
  }
  if (n_outputs <= 0 || dim % n_outputs != 0) {
    ctx.fail("axis " + std::to_string(p.axis) + " of input " + shape_to_string(in) + " (size " + std::to_string(dim) +
             ") cannot be split evenly into " + std::to_string(n_outputs) + " outputs");
  }
  p.sizes.assign(static_cast<size_t>(n_outputs), dim / n_outputs);
  return p;
}

SliceParams slice_params(const InferContext& ctx) {
  const Shape& in = ctx.input(0).shape;
  const int64_t rank = static_cast<int64_t>(in.size());
  std::vector<int64_t> starts, ends, axes, steps;
  if (ctx.opset() < 10) {
    starts = ctx.attrs().get_ints("starts");
    ends = ctx.attrs().get_ints("ends");
    axes = ctx.attrs().get_ints("axes", {});
  } else {
    starts = ctx.constant_ints(1, "starts");
    ends = ctx.constant_ints(2, "ends");
    if (ctx.has_input(3)) axes = ctx.constant_ints(3, "axes");
    if (ctx.has_input(4)) steps = ctx.constant_ints(4, "steps");
  }
  if (ends.size() != starts.size()) {
    ctx.fail("starts " + ints_to_string(starts) + " and ends " + ints_to_string(ends) + " differ in length");
  }
  if (axes.empty()) {
    if (static_cast<int64_t>(starts.size()) > rank) ctx.fail("more starts than input dimensions");
    for (size_t i = 0; i < starts.size(); ++i) axes.push_back(static_cast<int64_t>(i));
  } else if (axes.size() != starts.size()) {
    ctx.fail("axes " + ints_to_string(axes) + " and starts " + ints_to_string(starts) + " differ in length");
  }
  if (steps.empty()) steps.assign(starts.size(), 1);
  if (steps.size() != starts.size()) {
    ctx.fail("steps " + ints_to_string(steps) + " and starts " + ints_to_string(starts) + " differ in length");
  }
  axes = normalize_axes(ctx, axes, rank, "axes");

  SliceParams p;
  p.starts.assign(in.size(), 0);
  p.steps.assign(in.size(), 1);
  p.out_shape = in;
  for (size_t k = 0; k < axes.size(); ++k) {
    const int64_t a = axes[k];
    const int64_t dim = in[a];
    const int64_t step = steps[k];
    if (step == 0) ctx.fail("step for axis " + std::to_string(a) + " is 0");
    int64_t s = starts[k], e = ends[k];
    // Indices are clamped as the spec says; values like INT64_MAX mean "to the end" (no overflow: dim is small).
    if (s < 0) s = s < std::numeric_limits<int64_t>::min() + dim ? -1 : s + dim;
    if (e < 0) e = e < std::numeric_limits<int64_t>::min() + dim ? -1 : e + dim;
    int64_t len = 0;
    if (step > 0) {
      s = std::clamp<int64_t>(s, 0, dim);
      e = std::clamp<int64_t>(e, 0, dim);
      len = e > s ? (e - s + step - 1) / step : 0;
    } else {
      s = std::clamp<int64_t>(s, 0, dim - 1);
      e = std::clamp<int64_t>(e, -1, dim - 1);
      len = s > e ? (s - e - step - 1) / (-step) : 0;
    }
    p.starts[a] = len > 0 ? s : 0;
    p.steps[a] = step;
    p.out_shape[a] = len;
  }
  return p;
}

int64_t gather_axis(const InferContext& ctx) {
  return normalize_axis(ctx.attrs().get_int("axis", 0), rank_of(ctx, 0), ctx.node().describe());
}

PadParams pad_params(const InferContext& ctx) {
  const Shape& in = ctx.input(0).shape;
  const int64_t rank = static_cast<int64_t>(in.size());
  PadParams p;
  p.mode = ctx.attrs().get_string("mode", "constant");
  if (p.mode != "constant" && p.mode != "reflect" && p.mode != "edge" && !(p.mode == "wrap" && ctx.opset() >= 19)) {
    ctx.fail("mode '" + p.mode + "' is not a Pad mode of opset " + std::to_string(ctx.opset()) +
             " (expected constant, reflect, edge" + (ctx.opset() >= 19 ? ", wrap)" : ")"));
  }
  std::vector<int64_t> pads = ctx.opset() >= 11 ? ctx.constant_ints(1, "pads") : ctx.attrs().get_ints("pads");
  std::vector<int64_t> axes;
  if (ctx.opset() >= 18 && ctx.has_input(3)) {
    axes = normalize_axes(ctx, ctx.constant_ints(3, "axes"), rank, "axes");
  } else {
    for (int64_t i = 0; i < rank; ++i) axes.push_back(i);
  }
  if (pads.size() != 2 * axes.size()) {
    ctx.fail("pads " + ints_to_string(pads) + " has " + std::to_string(pads.size()) + " entries, expected " +
             std::to_string(2 * axes.size()) + " (begin and end for each of " + std::to_string(axes.size()) + " axes)");
  }
  p.begin.assign(in.size(), 0);
  p.end.assign(in.size(), 0);
  p.out_shape = in;
  for (size_t k = 0; k < axes.size(); ++k) {
    const int64_t a = axes[k];
    p.begin[a] = pads[k];
    p.end[a] = pads[k + axes.size()];
    p.out_shape[a] = in[a] + p.begin[a] + p.end[a];
    if (p.out_shape[a] < 0) {
      ctx.fail("pads " + ints_to_string(pads) + " remove more than the " + std::to_string(in[a]) +
               " elements of axis " + std::to_string(a));
    }
    const int64_t kept = in[a] + std::min<int64_t>(p.begin[a], 0) + std::min<int64_t>(p.end[a], 0);
    if (p.mode != "constant" && p.out_shape[a] > 0 && kept <= 0) {
      ctx.fail("mode '" + p.mode + "' cannot pad axis " + std::to_string(a) + " which has no elements left");
    }
  }
  return p;
}

std::vector<int64_t> tile_repeats(const InferContext& ctx) {
  std::vector<int64_t> repeats = ctx.constant_ints(1, "repeats");
  const Shape& in = ctx.input(0).shape;
  if (repeats.size() != in.size()) {
    ctx.fail("repeats " + ints_to_string(repeats) + " has " + std::to_string(repeats.size()) + " entries, expected " +
             std::to_string(in.size()) + " (the input rank)");
  }
  for (int64_t r : repeats) {
    if (r < 0) ctx.fail("repeats " + ints_to_string(repeats) + " has a negative entry");
  }
  return repeats;
}

std::pair<int64_t, int64_t> shape_op_range(const InferContext& ctx) {
  const int64_t rank = rank_of(ctx, 0);
  int64_t start = 0, end = rank;
  if (ctx.opset() >= 15) {
    start = ctx.attrs().get_int("start", 0);
    end = ctx.attrs().get_int("end", rank);
  }
  if (start < 0) start += rank;
  if (end < 0) end += rank;
  start = std::clamp<int64_t>(start, 0, rank);
  end = std::clamp<int64_t>(end, 0, rank);
  return {start, std::max(start, end)};
}

Tensor constant_attribute_value(const Node& node) {
  const Attributes& a = node.attrs;
  if (a.has("value")) return a.get_tensor("value");
  if (a.has("value_float")) {
    const float v = a.get_float("value_float");
    return Tensor::from_values<float>({}, &v);
  }
  if (a.has("value_floats")) {
    const std::vector<float>& v = a.get_floats("value_floats");
    return Tensor::from_values<float>({static_cast<int64_t>(v.size())}, v.data());
  }
  if (a.has("value_int")) {
    const int64_t v = a.get_int("value_int");
    return Tensor::from_values<int64_t>({}, &v);
  }
  if (a.has("value_ints")) {
    const std::vector<int64_t>& v = a.get_ints("value_ints");
    return Tensor::from_values<int64_t>({static_cast<int64_t>(v.size())}, v.data());
  }
  if (a.has("value_string") || a.has("value_strings") || a.has("sparse_value")) {
    throw UnsupportedOp(node.describe() + ": string and sparse constants are not supported");
  }
  throw InvalidModel(node.describe() + ": none of the attributes value, value_float(s), value_int(s) is set");
}

Tensor constant_of_shape_value(const Node& node) {
  if (!node.attrs.has("value")) return Tensor(DType::kFloat32, {1});
  const Tensor& v = node.attrs.get_tensor("value");
  if (v.numel() != 1) {
    throw InvalidModel(node.describe() + ": attribute 'value' must hold one element, got " + v.describe());
  }
  if (dtype_size(v.dtype()) == 0) {
    throw UnsupportedOp(node.describe() + ": value of type " + std::string(dtype_name(v.dtype())) +
                        " is not supported");
  }
  return v;
}

int64_t range_count(const InferContext& ctx) {
  const DType t = ctx.input(0).dtype;
  for (size_t i = 1; i < 3; ++i) {
    if (ctx.input(i).dtype != t) ctx.fail("start, limit and delta must have the same type");
  }
  const double start = constant_scalar(ctx, 0, "start");
  const double limit = constant_scalar(ctx, 1, "limit");
  const double delta = constant_scalar(ctx, 2, "delta");
  if (delta == 0) ctx.fail("delta is 0");
  double n = 0;
  if (dtype_traits(t).is_float) {
    n = std::ceil((limit - start) / delta);
  } else {
    // Exact integer ceil division (doubles hold every int32 exactly; int64 ranges this long do not exist).
    const int64_t num = static_cast<int64_t>(limit) - static_cast<int64_t>(start);
    const int64_t den = static_cast<int64_t>(delta);
    int64_t q = num / den;
    if ((num % den != 0) && ((num > 0) == (den > 0))) ++q;
    n = static_cast<double>(q);
  }
  return n > 0 ? static_cast<int64_t>(n) : 0;
}

}  // namespace qwac::ir
