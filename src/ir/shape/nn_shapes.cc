// Shape and type inference for the NN op family: Conv, ConvTranspose, Gemm, MatMul, pooling, normalizations and
// the softmax family. Window arithmetic lives in nn_window.cc (shared with the reference kernels).
#include <algorithm>
#include <string>
#include <vector>

#include "ir/op_schema.h"
#include "ir/shape/nn_attrs.h"
#include "ir/shape/nn_window.h"
#include "qwac/error.h"

namespace qwac::ir {
namespace {

using nn::attr_float;
using nn::attr_int;

std::string str(const Shape& s) { return shape_to_string(s); }

// Checks that input i has the same element type as input 0 (the ops here have one type variable T).
void check_same_dtype(const InferContext& ctx, size_t i, const char* name) {
  if (!ctx.has_input(i)) return;
  const DType a = ctx.input(0).dtype, b = ctx.input(i).dtype;
  if (a != b) {
    ctx.fail(std::string("input ") + name + " has type " + std::string(dtype_name(b)) + ", expected " +
             std::string(dtype_name(a)) + " (the type of input 0)");
  }
}

// A per-channel parameter (bias, scale, mean, ...) must be 1-D of length `expected`.
void check_vector(const InferContext& ctx, size_t i, const char* name, int64_t expected) {
  if (!ctx.has_input(i)) return;
  const Shape& s = ctx.input(i).shape;
  if (s.size() != 1 || s[0] != expected) {
    ctx.fail(std::string("input ") + name + " has shape " + str(s) + ", expected [" + std::to_string(expected) + "]");
  }
}

Shape with_spatial(int64_t n, int64_t c, const Shape& spatial) {
  Shape out{n, c};
  out.insert(out.end(), spatial.begin(), spatial.end());
  return out;
}

int64_t read_group(const InferContext& ctx) {
  const int64_t group = attr_int(ctx.node(), "group", 1);
  if (group < 1) ctx.fail("attribute 'group' = " + std::to_string(group) + ", expected >= 1");
  return group;
}

std::vector<OutputInfo> infer_conv(const InferContext& ctx) {
  const Shape& x = ctx.input(0).shape;
  const Shape& w = ctx.input(1).shape;
  check_same_dtype(ctx, 1, "W");
  check_same_dtype(ctx, 2, "B");
  const nn::WindowGeometry g = nn::conv_geometry(ctx.node(), x, w);
  const int64_t group = read_group(ctx);
  if (x[1] != w[1] * group) {
    ctx.fail("input X " + str(x) + " has " + std::to_string(x[1]) + " channels, but weight W " + str(w) +
             " with group " + std::to_string(group) + " expects " + std::to_string(w[1] * group));
  }
  if (w[0] % group != 0) {
    ctx.fail("weight W " + str(w) + " has " + std::to_string(w[0]) + " output channels, not divisible by group " +
             std::to_string(group));
  }
  check_vector(ctx, 2, "B", w[0]);
  return {{ctx.input(0).dtype, with_spatial(x[0], w[0], g.out)}};
}

std::vector<OutputInfo> infer_conv_transpose(const InferContext& ctx) {
  const Shape& x = ctx.input(0).shape;
  const Shape& w = ctx.input(1).shape;
  check_same_dtype(ctx, 1, "W");
  check_same_dtype(ctx, 2, "B");
  const nn::WindowGeometry g = nn::conv_transpose_geometry(ctx.node(), x, w);
  const int64_t group = read_group(ctx);
  if (x[1] != w[0]) {
    ctx.fail("input X " + str(x) + " has " + std::to_string(x[1]) + " channels, but weight W " + str(w) +
             " expects " + std::to_string(w[0]) + " (W is C x M/group x k...)");
  }
  if (x[1] % group != 0) {
    ctx.fail("input X " + str(x) + " has " + std::to_string(x[1]) + " channels, not divisible by group " +
             std::to_string(group));
  }
  const int64_t m = w[1] * group;
  check_vector(ctx, 2, "B", m);
  return {{ctx.input(0).dtype, with_spatial(x[0], m, g.out)}};
}

std::vector<OutputInfo> infer_gemm(const InferContext& ctx) {
  const Shape& a = ctx.input(0).shape;
  const Shape& b = ctx.input(1).shape;
  check_same_dtype(ctx, 1, "B");
  check_same_dtype(ctx, 2, "C");
  if (a.size() != 2 || b.size() != 2) {
    ctx.fail("inputs A " + str(a) + " and B " + str(b) + " must both have rank 2");
  }
  const bool trans_a = attr_int(ctx.node(), "transA", 0) != 0;
  const bool trans_b = attr_int(ctx.node(), "transB", 0) != 0;
  const int64_t m = trans_a ? a[1] : a[0], k = trans_a ? a[0] : a[1];
  const int64_t kb = trans_b ? b[1] : b[0], n = trans_b ? b[0] : b[1];
  if (k != kb) {
    ctx.fail("inner dimensions differ: A " + str(a) + (trans_a ? " (transposed)" : "") + " and B " + str(b) +
             (trans_b ? " (transposed)" : "") + " give K = " + std::to_string(k) + " vs " + std::to_string(kb));
  }
  if (!ctx.has_input(2)) {
    if (ctx.opset() < 11) ctx.fail("input C is required before opset 11");
  } else {
    // C broadcasts unidirectionally to [M, N].
    const Shape& c = ctx.input(2).shape;
    const Shape target{m, n};
    bool ok = c.size() <= 2;
    for (size_t i = 0; ok && i < c.size(); ++i) {
      const int64_t d = c[c.size() - 1 - i], t = target[1 - i];
      ok = d == 1 || d == t;
    }
    if (!ok) ctx.fail("input C " + str(c) + " cannot be broadcast to the output shape " + str(target));
  }
  return {{ctx.input(0).dtype, {m, n}}};
}

std::vector<OutputInfo> infer_matmul(const InferContext& ctx) {
  const Shape& a = ctx.input(0).shape;
  const Shape& b = ctx.input(1).shape;
  check_same_dtype(ctx, 1, "B");
  if (a.empty() || b.empty()) ctx.fail("inputs A " + str(a) + " and B " + str(b) + " must have rank >= 1");
  // numpy.matmul: a 1-D A is a row vector [1, K], a 1-D B a column vector [K, 1]; the added dim is removed again.
  const Shape a2 = a.size() == 1 ? Shape{1, a[0]} : a;
  const Shape b2 = b.size() == 1 ? Shape{b[0], 1} : b;
  const int64_t ka = a2[a2.size() - 1], kb = b2[b2.size() - 2];
  if (ka != kb) {
    ctx.fail("inner dimensions differ: A " + str(a) + " has K = " + std::to_string(ka) + ", B " + str(b) +
             " has K = " + std::to_string(kb));
  }
  const Shape batch = broadcast_shapes(Shape(a2.begin(), a2.end() - 2), Shape(b2.begin(), b2.end() - 2),
                                       ctx.node().describe() + " batch dimensions of A " + str(a) + " and B " +
                                           str(b));
  Shape out = batch;
  if (a.size() != 1) out.push_back(a2[a2.size() - 2]);
  if (b.size() != 1) out.push_back(b2[b2.size() - 1]);
  return {{ctx.input(0).dtype, out}};
}

std::vector<OutputInfo> infer_max_pool(const InferContext& ctx) {
  const Shape& x = ctx.input(0).shape;
  const nn::WindowGeometry g = nn::pool_geometry(ctx.node(), x);
  const int64_t storage_order = attr_int(ctx.node(), "storage_order", 0);
  if (storage_order != 0 && storage_order != 1) {
    ctx.fail("attribute 'storage_order' = " + std::to_string(storage_order) + ", expected 0 or 1");
  }
  const Shape y = with_spatial(x[0], x[1], g.out);
  std::vector<OutputInfo> out{{ctx.input(0).dtype, y}};
  if (ctx.node().num_outputs() > 1 && ctx.node().output(1) != nullptr) {
    if (ctx.opset() < 8) ctx.fail("output Indices exists only from opset 8");
    out.push_back({DType::kInt64, y});
  }
  return out;
}

std::vector<OutputInfo> infer_average_pool(const InferContext& ctx) {
  const Shape& x = ctx.input(0).shape;
  const nn::WindowGeometry g = nn::pool_geometry(ctx.node(), x);
  return {{ctx.input(0).dtype, with_spatial(x[0], x[1], g.out)}};
}

std::vector<OutputInfo> infer_global_pool(const InferContext& ctx) {
  const Shape& x = ctx.input(0).shape;
  if (x.size() < 3) ctx.fail("input X must have rank >= 3 (N x C x D1 x ... x Dk), got shape " + str(x));
  return {{ctx.input(0).dtype, with_spatial(x[0], x[1], Shape(x.size() - 2, 1))}};
}

// Inference only: the training outputs (running/saved mean and variance) are not supported.
std::vector<OutputInfo> infer_batch_norm(const InferContext& ctx) {
  const Node& node = ctx.node();
  const Shape& x = ctx.input(0).shape;
  const bool training_attr = ctx.opset() >= 14 && attr_int(node, "training_mode", 0) != 0;
  bool training_outputs = false;
  for (size_t i = 1; i < node.num_outputs(); ++i) training_outputs |= node.output(i) != nullptr;
  if (training_attr || training_outputs) {
    throw UnsupportedOp(node.describe() + ": training mode (training_mode=1 or mean/var outputs requested) is not "
                                          "supported; only inference-mode BatchNormalization is");
  }
  if (x.size() < 2) ctx.fail("input X must have rank >= 2 (N x C x ...), got shape " + str(x));
  for (size_t i = 1; i <= 4; ++i) ctx.input(i);  // scale, B, mean, var are all required
  const char* names[] = {"", "scale", "B", "mean", "var"};
  // Opset 7's spatial=0 normalizes per activation: the parameters then have shape C x D1 x ... x Dk.
  const bool per_activation = ctx.opset() < 9 && attr_int(node, "spatial", 1) == 0;
  const int64_t expected = per_activation ? shape_numel(Shape(x.begin() + 1, x.end())) : x[1];
  for (size_t i = 1; i <= 4; ++i) {
    check_same_dtype(ctx, i, names[i]);
    const Shape& s = ctx.input(i).shape;
    const bool ok = per_activation ? shape_numel(s) == expected : (s.size() == 1 && s[0] == expected);
    if (!ok) {
      const std::string want = per_activation ? str(Shape(x.begin() + 1, x.end())) + " (spatial=0)" : str({expected});
      ctx.fail(std::string("input ") + names[i] + " has shape " + str(s) + ", expected " + want + " for input X " +
               str(x));
    }
  }
  return {{ctx.input(0).dtype, x}};
}

std::vector<OutputInfo> infer_instance_norm(const InferContext& ctx) {
  const Shape& x = ctx.input(0).shape;
  if (x.size() < 3) ctx.fail("input X must have rank >= 3 (N x C x D1 x ... x Dk), got shape " + str(x));
  ctx.input(1);
  ctx.input(2);
  check_same_dtype(ctx, 1, "scale");
  check_same_dtype(ctx, 2, "B");
  check_vector(ctx, 1, "scale", x[1]);
  check_vector(ctx, 2, "B", x[1]);
  return {{ctx.input(0).dtype, x}};
}

std::vector<OutputInfo> infer_lrn(const InferContext& ctx) {
  const Shape& x = ctx.input(0).shape;
  if (x.size() < 2) ctx.fail("input X must have rank >= 2 (N x C x ...), got shape " + str(x));
  const int64_t size = nn::attr_int_required(ctx.node(), "size");
  if (size < 1) ctx.fail("attribute 'size' = " + std::to_string(size) + ", expected >= 1");
  return {{ctx.input(0).dtype, x}};
}

// Scale and B broadcast unidirectionally to the normalized shape X[axis:].
void check_broadcast_to(const InferContext& ctx, size_t i, const char* name, const Shape& target) {
  if (!ctx.has_input(i)) return;
  const Shape& s = ctx.input(i).shape;
  bool ok = s.size() <= target.size();
  for (size_t k = 0; ok && k < s.size(); ++k) {
    const int64_t d = s[s.size() - 1 - k], t = target[target.size() - 1 - k];
    ok = d == 1 || d == t;
  }
  if (!ok) ctx.fail(std::string("input ") + name + " " + str(s) + " cannot be broadcast to the normalized shape " +
                    str(target));
}

std::vector<OutputInfo> infer_layer_norm(const InferContext& ctx) {
  const Node& node = ctx.node();
  const Shape& x = ctx.input(0).shape;
  if (x.empty()) ctx.fail("input X must have rank >= 1");
  const int64_t rank = static_cast<int64_t>(x.size());
  const int64_t axis = normalize_axis(attr_int(node, "axis", -1), rank, node.describe() + " attribute 'axis'");
  const int64_t stash_type = attr_int(node, "stash_type", 1);
  if (stash_type != static_cast<int64_t>(DType::kFloat32)) {
    throw UnsupportedOp(node.describe() + ": stash_type " + std::to_string(stash_type) +
                        " is not supported, only 1 (float)");
  }
  ctx.input(1);
  check_same_dtype(ctx, 1, "Scale");
  check_same_dtype(ctx, 2, "B");
  const Shape normalized(x.begin() + axis, x.end());
  check_broadcast_to(ctx, 1, "Scale", normalized);
  check_broadcast_to(ctx, 2, "B", normalized);
  Shape stat(x.begin(), x.begin() + axis);
  stat.resize(x.size(), 1);
  std::vector<OutputInfo> out{{ctx.input(0).dtype, x}, {DType::kFloat32, stat}, {DType::kFloat32, stat}};
  out.resize(std::min<size_t>(out.size(), std::max<size_t>(1, node.num_outputs())));
  return out;
}

// Softmax, LogSoftmax, Hardmax: same shape and type; only the axis needs validating.
std::vector<OutputInfo> infer_softmax_family(const InferContext& ctx) {
  const Shape& x = ctx.input(0).shape;
  const int64_t rank = static_cast<int64_t>(x.size());
  const bool coerce_2d = ctx.opset() < 13;
  const int64_t axis = attr_int(ctx.node(), "axis", coerce_2d ? 1 : -1);
  // Before opset 13 the input is coerced to 2-D at `axis`; axis == rank is accepted there (inner size 1), as the
  // original opset-1 definition did not bound it.
  if (!(coerce_2d && axis == rank)) {
    if (rank == 0) ctx.fail("input must have rank >= 1");
    normalize_axis(axis, rank, ctx.node().describe() + " attribute 'axis'");
  }
  return {{ctx.input(0).dtype, x}};
}

}  // namespace

void register_nn_shapes(OpRegistry& registry) {
  const struct {
    const char* op;
    int64_t since;
    ShapeInferenceFn fn;
  } ops[] = {
      {"Conv", 1, infer_conv},
      {"ConvTranspose", 1, infer_conv_transpose},
      {"Gemm", 1, infer_gemm},
      {"MatMul", 1, infer_matmul},
      {"MaxPool", 1, infer_max_pool},
      {"AveragePool", 1, infer_average_pool},
      {"GlobalAveragePool", 1, infer_global_pool},
      {"GlobalMaxPool", 1, infer_global_pool},
      {"BatchNormalization", 1, infer_batch_norm},
      {"InstanceNormalization", 1, infer_instance_norm},
      {"LRN", 1, infer_lrn},
      // Accepted at every opset, as ONNX Runtime does (its former contrib op, registered in the ONNX domain for
      // opsets 1-16 with the same attributes and outputs); passes/recognize_layer_norm.h writes it.
      {"LayerNormalization", 1, infer_layer_norm},
      {"Softmax", 1, infer_softmax_family},
      {"LogSoftmax", 1, infer_softmax_family},
      {"Hardmax", 1, infer_softmax_family},
  };
  for (const auto& op : ops) registry.add(OpSchema{op.op, "", op.since, op.fn});
}

}  // namespace qwac::ir
