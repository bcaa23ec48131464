#include "onnx/opset_adapters.h"

#include <algorithm>
#include <array>
#include <limits>
#include <vector>

namespace qwac::onnxio {

// --- context

ir::TypeInfo AdaptContext::type_of(const ir::Value* v) const {
  if (v == nullptr) return {};
  if (v->is_constant()) {
    ir::SymbolicShape s;
    for (int64_t d : v->constant->shape()) s.push_back({d, ""});
    return {v->constant->dtype(), s};
  }
  auto it = types_.find(v->name());
  ir::TypeInfo t = it != types_.end() ? it->second : v->type;
  if (t.dtype == DType::kUndefined) t.dtype = v->type.dtype;
  if (!t.shape) t.shape = v->type.shape;
  return t;
}

std::optional<int64_t> AdaptContext::rank_of(const ir::Value* v) const {
  const ir::TypeInfo t = type_of(v);
  if (!t.shape) return std::nullopt;
  return static_cast<int64_t>(t.shape->size());
}

const Tensor* AdaptContext::constant_of(const ir::Value* v) const {
  if (v == nullptr) return nullptr;
  if (v->is_constant()) return &*v->constant;
  const ir::Node* p = v->producer();
  if (p != nullptr && p->op_type() == "Constant" && (p->domain().empty() || p->domain() == "ai.onnx") &&
      p->attrs.has("value")) {
    return &p->attrs.get_tensor("value");
  }
  return nullptr;
}

ir::Value* AdaptContext::add_constant(const std::string& hint, Tensor data) {
  return graph_.add_constant(graph_.unique_name(hint), std::move(data));
}

std::string AdaptContext::unique_node_name(const std::string& hint) const {
  if (graph_.find_node(hint) == nullptr) return hint;
  for (int k = 1;; ++k) {
    std::string name = hint + "_" + std::to_string(k);
    if (graph_.find_node(name) == nullptr) return name;
  }
}

namespace {

// --- helpers shared by the adapters

Tensor int64_vector(const std::vector<int64_t>& values) {
  return Tensor::from_values<int64_t>({static_cast<int64_t>(values.size())}, values.data());
}

// A scalar of the floating dtype of `like` (Clip-6 and Pad-2 take float16/float/double; qwac reads float16 weights
// as float32, and an unknown dtype is float32, the only one torch, TF and paddle export for these ops).
Tensor float_scalar(const AdaptContext& ctx, const ir::Value* like, double value, const std::string& what) {
  const DType dtype = ctx.type_of(like).dtype;
  if (dtype == DType::kFloat64) return Tensor::from_values<double>({}, &value);
  if (dtype != DType::kFloat32 && dtype != DType::kUndefined) {
    throw AdaptDeclined(what + " would need a " + std::string(dtype_name(dtype)) + " scalar input");
  }
  const auto f = static_cast<float>(value);
  return Tensor::from_values<float>({}, &f);
}

// Moves the ints attribute `attr` to input `index` as a 1-D int64 initializer. An absent attribute leaves the input
// omitted (the newer op's default for an omitted input is the older attribute's default), unless `required`.
void move_ints_to_input(AdaptContext& ctx, ir::Node* node, const std::string& attr, size_t index, bool required) {
  if (!node->attrs.has(attr)) {
    if (required) throw AdaptDeclined("its required attribute '" + attr + "' is missing");
    return;
  }
  ir::Value* v = ctx.add_constant(node->name() + "_" + attr, int64_vector(node->attrs.get_ints(attr)));
  node->attrs.erase(attr);
  ctx.graph().set_input(node, index, v);
}

// Replaces `node` by a node of another op type with the same name, inputs, outputs and the given attributes.
ir::Node* replace_op(AdaptContext& ctx, ir::Node* node, const std::string& op_type, ir::Attributes attrs) {
  const std::string name = node->name();
  const std::vector<ir::Value*> inputs = node->inputs(), outputs = node->outputs();
  const std::string doc = node->doc_string;
  ctx.graph().remove_node(node);
  ir::Node* n = ctx.graph().add_node(op_type, inputs, outputs, name);
  n->attrs = std::move(attrs);
  n->doc_string = doc;
  return n;
}

// --- adapters, by the version they adapt to

// BatchNormalization-9 dropped `spatial`: spatial = 1 (the default) is what opset 9 computes; spatial = 0
// (statistics per activation, not per channel) has no opset-9 form.
ir::Node* batchnorm_9(AdaptContext&, ir::Node* node) {
  if (node->attrs.get_int("spatial", 1) != 1) {
    throw AdaptDeclined("spatial = 0 (per-activation statistics) has no equivalent from opset 9 on");
  }
  node->attrs.erase("spatial");
  return node;
}

// Dropout-10 made the mask output bool (it was of the data type).
ir::Node* dropout_10(AdaptContext&, ir::Node* node) {
  if (ir::Value* mask = node->output(1); mask != nullptr) {
    if (!mask->uses().empty()) throw AdaptDeclined("its mask output is read, and its type changes to bool at opset 10");
    mask->type.dtype = DType::kBool;
  }
  return node;
}

// Dropout-12 reads the ratio from an input (inference ignores it either way).
ir::Node* dropout_12(AdaptContext& ctx, ir::Node* node) {
  if (node->attrs.has("ratio")) {
    const float ratio = node->attrs.get_float("ratio");
    ir::Value* v = ctx.add_constant(node->name() + "_ratio", Tensor::from_values<float>({}, &ratio));
    node->attrs.erase("ratio");
    ctx.graph().set_input(node, 1, v);
  }
  return node;
}

// Clip-11 reads min and max from optional inputs of the data type.
ir::Node* clip_11(AdaptContext& ctx, ir::Node* node) {
  for (const auto& [attr, index] : {std::pair<std::string, size_t>{"min", 1}, {"max", 2}}) {
    if (!node->attrs.has(attr)) continue;
    Tensor bound = float_scalar(ctx, node->input(0), node->attrs.get_float(attr), "Clip's " + attr);
    ir::Value* v = ctx.add_constant(node->name() + "_" + attr, std::move(bound));
    node->attrs.erase(attr);
    ctx.graph().set_input(node, index, v);
  }
  return node;
}

// Pad-11 reads pads (int64) and the constant value (data type, optional: 0) from inputs.
ir::Node* pad_11(AdaptContext& ctx, ir::Node* node) {
  const std::string mode = node->attrs.get_string("mode", "constant");
  const float value = node->attrs.get_float("value", 0.f);
  std::optional<Tensor> constant_value;
  if (mode == "constant" && value != 0.f) constant_value = float_scalar(ctx, node->input(0), value, "Pad's value");
  move_ints_to_input(ctx, node, "pads", 1, /*required=*/true);
  node->attrs.erase("value");
  if (constant_value) {
    ir::Value* v = ctx.add_constant(node->name() + "_value", std::move(*constant_value));
    ctx.graph().set_input(node, 2, v);
  }
  return node;
}

// Slice-10 reads starts, ends and axes from inputs (steps, new, default to 1).
ir::Node* slice_10(AdaptContext& ctx, ir::Node* node) {
  move_ints_to_input(ctx, node, "starts", 1, true);
  move_ints_to_input(ctx, node, "ends", 2, true);
  move_ints_to_input(ctx, node, "axes", 3, false);
  return node;
}

// Split-13 reads the split sizes from an optional input.
ir::Node* split_13(AdaptContext& ctx, ir::Node* node) {
  move_ints_to_input(ctx, node, "split", 1, false);
  return node;
}

// Squeeze-13, Unsqueeze-13 and ReduceSum-13 read axes from an input. Squeeze's and ReduceSum's are optional and an
// omitted input keeps the old meaning of an absent attribute (every size-1 axis; every axis, since ReduceSum's new
// noop_with_empty_axes defaults to 0).
ir::Node* optional_axes_13(AdaptContext& ctx, ir::Node* node) {
  move_ints_to_input(ctx, node, "axes", 1, false);
  return node;
}
ir::Node* required_axes_13(AdaptContext& ctx, ir::Node* node) {
  move_ints_to_input(ctx, node, "axes", 1, true);
  return node;
}

// Upsample-9 reads the scales from an input.
ir::Node* upsample_9(AdaptContext& ctx, ir::Node* node) {
  if (!node->attrs.has("scales")) throw AdaptDeclined("its required attribute 'scales' is missing");
  const std::vector<float> scales = node->attrs.get_floats("scales");
  ir::Value* v = ctx.add_constant(node->name() + "_scales",
                                  Tensor::from_values<float>({static_cast<int64_t>(scales.size())}, scales.data()));
  node->attrs.erase("scales");
  ctx.graph().set_input(node, 1, v);
  return node;
}

// Upsample is deprecated from opset 10 on: Resize-10 (X, scales) computes the same.
ir::Node* upsample_10(AdaptContext& ctx, ir::Node* node) {
  ir::Attributes attrs;
  attrs.set("mode", node->attrs.get_string("mode", "nearest"));
  return replace_op(ctx, node, "Resize", std::move(attrs));
}

// Whether a Resize-10 / Upsample samples up (true) or down (false) on every axis it resizes; nullopt when it does
// both. From the scales when they are constants, else from the inferred input and output shapes.
std::optional<bool> resize_direction(const AdaptContext& ctx, const ir::Node* node) {
  bool up = false, down = false;
  if (const Tensor* scales = ctx.constant_of(node->input(1)); scales != nullptr && scales->dtype() == DType::kFloat32) {
    const float* s = scales->data<float>();
    for (int64_t i = 0; i < scales->numel(); ++i) {
      up = up || s[i] > 1.f;
      down = down || s[i] < 1.f;
    }
  } else {
    const ir::TypeInfo in = ctx.type_of(node->input(0)), out = ctx.type_of(node->output(0));
    if (!in.shape || !out.shape || in.shape->size() != out.shape->size()) {
      throw AdaptDeclined("its scales are computed at run time and its input and output shapes are unknown");
    }
    for (size_t i = 0; i < in.shape->size(); ++i) {
      const int64_t a = (*in.shape)[i].size, b = (*out.shape)[i].size;
      if (a < 0 || b < 0) throw AdaptDeclined("its scales are computed at run time and its shapes are not concrete");
      up = up || b > a;
      down = down || b < a;
    }
  }
  if (up && down) return std::nullopt;
  return !down;
}

// Resize-11 adds roi and coordinate attributes. Resize-10 (and Upsample) map output x to input x / scale
// ("asymmetric") and, for nearest, take floor(x / scale) when sampling up and ceil(x / scale) when sampling down
// (ONNX Runtime's and qwac's legacy rule): the same as nearest_mode floor / ceil, provided all axes go one way.
ir::Node* resize_11(AdaptContext& ctx, ir::Node* node) {
  const std::string mode = node->attrs.get_string("mode", "nearest");
  if (mode == "nearest") {
    const std::optional<bool> up = resize_direction(ctx, node);
    if (!up) {
      throw AdaptDeclined(
          "it samples up on some axes and down on others, which no single Resize-11 nearest_mode "
          "reproduces");
    }
    node->attrs.set("nearest_mode", std::string(*up ? "floor" : "ceil"));
  }
  node->attrs.set("coordinate_transformation_mode", std::string("asymmetric"));
  ir::Value* scales = node->input(1);
  ir::Value* roi = ctx.add_constant(node->name() + "_roi", Tensor(DType::kFloat32, {0}));
  ctx.graph().set_input(node, 1, roi);
  ctx.graph().set_input(node, 2, scales);
  return node;
}

// Resize-13 dropped coordinate_transformation_mode "tf_half_pixel_for_nn" (x_original = (x + 0.5) / scale, the
// mode tf2onnx writes for TensorFlow's nearest resize with half-pixel centers). With y = (x + 0.5) / scale and
// half_pixel's y - 0.5: floor(y) = round_prefer_ceil(y - 0.5) and round_prefer_floor(y) = ceil(y - 0.5), ties
// included, so nearest with those two rounding modes has an exact half_pixel form; the others have none.
ir::Node* resize_13(AdaptContext&, ir::Node* node) {
  if (node->attrs.get_string("coordinate_transformation_mode", "half_pixel") != "tf_half_pixel_for_nn") return node;
  if (node->attrs.get_string("mode", "nearest") != "nearest") {
    throw AdaptDeclined(
        "coordinate_transformation_mode tf_half_pixel_for_nn with a mode other than nearest has no "
        "opset-13 equivalent");
  }
  const std::string rounding = node->attrs.get_string("nearest_mode", "round_prefer_floor");
  const std::map<std::string, std::string> equivalent = {{"floor", "round_prefer_ceil"},
                                                         {"round_prefer_floor", "ceil"}};
  auto it = equivalent.find(rounding);
  if (it == equivalent.end()) {
    throw AdaptDeclined("coordinate_transformation_mode tf_half_pixel_for_nn with nearest_mode " + rounding +
                        " has no opset-13 equivalent");
  }
  node->attrs.set("coordinate_transformation_mode", std::string("half_pixel"));
  node->attrs.set("nearest_mode", it->second);
  return node;
}

// Softmax, LogSoftmax and Hardmax before 13 flatten the input to 2-D at `axis` (default 1) and normalize the rows;
// from 13 on they normalize along `axis` alone. The same result: Flatten(axis) -> op(axis 1) -> Reshape to the
// input's run-time shape (so the model still runs at any batch). When the axis is the last one the two meanings
// agree and the node only gets axis -1.
ir::Node* softmax_13(AdaptContext& ctx, ir::Node* node) {
  ir::Graph& g = ctx.graph();
  const int64_t axis = node->attrs.get_int("axis", 1);
  ir::Value* x = node->input(0);
  // Flattening at the last axis keeps the rows as they are, whatever the rank.
  const std::optional<int64_t> rank = ctx.rank_of(x);
  if (axis == -1 || (rank && *rank > 0 && axis == *rank - 1)) {
    node->attrs.set("axis", int64_t{-1});
    return node;
  }
  ir::Value* y = node->output(0);
  const std::string name = node->name(), op_type = node->op_type();
  ir::Value* flat = g.add_value(g.unique_name(x->name() + "_flat"));
  ir::Node* flatten = g.add_node("Flatten", {x}, {flat}, ctx.unique_node_name(name + "_flatten"));
  flatten->attrs.set("axis", axis);
  ir::Value* shape = g.add_value(g.unique_name(x->name() + "_shape"));
  shape->type.dtype = DType::kInt64;
  g.add_node("Shape", {x}, {shape}, ctx.unique_node_name(name + "_shape"));
  ir::Value* normalized = g.add_value(g.unique_name(y->name() + "_2d"));
  normalized->type.dtype = y->type.dtype;
  ir::Attributes attrs = node->attrs;
  attrs.set("axis", int64_t{1});
  const std::string doc = node->doc_string;
  g.remove_node(node);
  ir::Node* op = g.add_node(op_type, {flat}, {normalized}, name);
  op->attrs = std::move(attrs);
  op->doc_string = doc;
  g.add_node("Reshape", {normalized, shape}, {y}, ctx.unique_node_name(name + "_reshape"));
  return op;
}

// Ops whose changes qwac adapts, in op order. Compatible changes (nullptr) extend types (bfloat16, integers) or
// relax rules (negative axes, optional inputs, multidirectional broadcasting of Max/Min/Mean/Sum, new attributes
// whose defaults keep the old meaning: ceil_mode, select_last_index, DepthToSpace's mode, Q/DQ's axis).
constexpr OpChange kOpChanges[] = {
    {"Abs", 13, nullptr},
    {"Add", 13, nullptr},
    {"ArgMax", 11, nullptr},
    {"ArgMax", 12, nullptr},
    {"ArgMax", 13, nullptr},
    {"ArgMin", 11, nullptr},
    {"ArgMin", 12, nullptr},
    {"ArgMin", 13, nullptr},
    {"AveragePool", 10, nullptr},
    {"AveragePool", 11, nullptr},
    {"BatchNormalization", 9, batchnorm_9},
    {"Cast", 9, nullptr},
    {"Cast", 13, nullptr},
    {"Ceil", 13, nullptr},
    {"Clip", 11, clip_11},
    {"Clip", 12, nullptr},
    {"Clip", 13, nullptr},
    {"Concat", 11, nullptr},
    {"Concat", 13, nullptr},
    {"Constant", 9, nullptr},
    {"Constant", 11, nullptr},
    {"Constant", 12, nullptr},
    {"Constant", 13, nullptr},
    {"Conv", 11, nullptr},
    {"ConvTranspose", 11, nullptr},
    {"DepthToSpace", 11, nullptr},
    {"DepthToSpace", 13, nullptr},
    {"DequantizeLinear", 13, nullptr},
    {"Div", 13, nullptr},
    {"Dropout", 10, dropout_10},
    {"Dropout", 12, dropout_12},
    {"Dropout", 13, nullptr},
    {"Equal", 11, nullptr},
    {"Equal", 13, nullptr},
    {"Erf", 13, nullptr},
    {"Exp", 13, nullptr},
    {"Expand", 13, nullptr},
    {"Flatten", 9, nullptr},
    {"Flatten", 11, nullptr},
    {"Flatten", 13, nullptr},
    {"Floor", 13, nullptr},
    {"Gather", 11, nullptr},
    {"Gather", 13, nullptr},
    {"GatherElements", 13, nullptr},
    {"Gemm", 9, nullptr},
    {"Gemm", 11, nullptr},
    {"Gemm", 13, nullptr},
    {"Greater", 9, nullptr},
    {"Greater", 13, nullptr},
    {"Hardmax", 11, nullptr},
    {"Hardmax", 13, softmax_13},
    {"Identity", 13, nullptr},
    {"IsNaN", 13, nullptr},
    {"LRN", 13, nullptr},
    {"Less", 9, nullptr},
    {"Less", 13, nullptr},
    {"Log", 13, nullptr},
    {"LogSoftmax", 11, nullptr},
    {"LogSoftmax", 13, softmax_13},
    {"MatMul", 9, nullptr},
    {"MatMul", 13, nullptr},
    {"Max", 8, nullptr},
    {"Max", 12, nullptr},
    {"Max", 13, nullptr},
    {"MaxPool", 8, nullptr},
    {"MaxPool", 10, nullptr},
    {"MaxPool", 11, nullptr},
    {"MaxPool", 12, nullptr},
    {"Mean", 8, nullptr},
    {"Mean", 13, nullptr},
    {"MeanVarianceNormalization", 13, nullptr},
    {"Min", 8, nullptr},
    {"Min", 12, nullptr},
    {"Min", 13, nullptr},
    {"Mod", 13, nullptr},
    {"Mul", 13, nullptr},
    {"Neg", 13, nullptr},
    {"NonZero", 13, nullptr},
    {"PRelu", 9, nullptr},
    {"Pad", 11, pad_11},
    {"Pad", 13, nullptr},
    {"Pow", 12, nullptr},
    {"Pow", 13, nullptr},
    {"QuantizeLinear", 13, nullptr},
    {"Reciprocal", 13, nullptr},
    {"ReduceL1", 11, nullptr},
    {"ReduceL1", 13, nullptr},
    {"ReduceL2", 11, nullptr},
    {"ReduceL2", 13, nullptr},
    {"ReduceLogSum", 11, nullptr},
    {"ReduceLogSum", 13, nullptr},
    {"ReduceLogSumExp", 11, nullptr},
    {"ReduceLogSumExp", 13, nullptr},
    {"ReduceMax", 11, nullptr},
    {"ReduceMax", 12, nullptr},
    {"ReduceMax", 13, nullptr},
    {"ReduceMean", 11, nullptr},
    {"ReduceMean", 13, nullptr},
    {"ReduceMin", 11, nullptr},
    {"ReduceMin", 12, nullptr},
    {"ReduceMin", 13, nullptr},
    {"ReduceProd", 11, nullptr},
    {"ReduceProd", 13, nullptr},
    {"ReduceSum", 11, nullptr},
    {"ReduceSum", 13, optional_axes_13},
    {"ReduceSumSquare", 11, nullptr},
    {"ReduceSumSquare", 13, nullptr},
    {"Relu", 13, nullptr},
    {"Reshape", 13, nullptr},
    {"Resize", 11, resize_11},
    {"Resize", 13, resize_13},
    {"Shape", 13, nullptr},
    {"Sigmoid", 13, nullptr},
    {"Sign", 13, nullptr},
    {"Size", 13, nullptr},
    {"Slice", 10, slice_10},
    {"Slice", 11, nullptr},
    {"Slice", 13, nullptr},
    {"Softmax", 11, nullptr},
    {"Softmax", 13, softmax_13},
    {"SpaceToDepth", 13, nullptr},
    {"Split", 11, nullptr},
    {"Split", 13, split_13},
    {"Sqrt", 13, nullptr},
    {"Squeeze", 11, nullptr},
    {"Squeeze", 13, optional_axes_13},
    {"Sub", 13, nullptr},
    {"Sum", 8, nullptr},
    {"Sum", 13, nullptr},
    {"Tanh", 13, nullptr},
    {"Tile", 13, nullptr},
    {"Transpose", 13, nullptr},
    {"Unsqueeze", 11, nullptr},
    {"Unsqueeze", 13, required_axes_13},
    {"Upsample", 9, upsample_9},
    {"Upsample", 10, upsample_10},
};

}  // namespace

const OpChange* find_op_change(std::string_view op_type, int64_t version) {
  const auto* it = std::find_if(std::begin(kOpChanges), std::end(kOpChanges),
                                [&](const OpChange& c) { return c.op_type == op_type && c.version == version; });
  return it == std::end(kOpChanges) ? nullptr : it;
}

std::span<const OpChange> op_changes() {
  return kOpChanges;
}

}  // namespace qwac::onnxio
