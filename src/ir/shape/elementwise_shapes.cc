// Shape and type inference for the elementwise family: unary math, broadcasting binary and variadic ops,
// comparisons and logic, Where, Cast/CastLike, Clip, PRelu, Identity and Dropout.
//
// Ops are grouped by how their outputs derive from their inputs (a "rule"); each group is a table of
// (op type, first opset) facts, so adding an op is one line.
#include <string>
#include <vector>

#include "core/shape.h"
#include "ir/op_schema.h"
#include "qwac/error.h"

namespace qwac::ir {
namespace {

struct OpSince {
  const char* op_type;
  int64_t since_version;
};

// Output 0 has the type and shape of input 0.
const OpSince kSameAsInputOps[] = {
    {"Relu", 6},     {"LeakyRelu", 6},  {"Sigmoid", 6},         {"Tanh", 6},      {"HardSigmoid", 6},
    {"HardSwish", 14}, {"Elu", 6},      {"Selu", 6},            {"Softplus", 1},  {"Softsign", 1},
    {"Gelu", 20},    {"Erf", 9},        {"Sqrt", 6},            {"Exp", 6},       {"Log", 6},
    {"Abs", 6},      {"Neg", 6},        {"Reciprocal", 6},      {"Floor", 6},     {"Ceil", 6},
    {"Sign", 9},     {"Round", 11},     {"Sin", 7},             {"Cos", 7},       {"Tan", 7},
    {"Asin", 7},     {"Acos", 7},       {"Atan", 7},            {"Sinh", 9},      {"Cosh", 9},
    {"Asinh", 9},    {"Acosh", 9},      {"Atanh", 9},           {"ThresholdedRelu", 10}, {"Celu", 12},
    {"Mish", 18},    {"Not", 1},        {"Shrink", 9},          {"Identity", 1},
};

// Output 0 is bool with the shape of input 0.
const OpSince kBoolOfInputOps[] = {{"IsNaN", 9}, {"IsInf", 10}};

// Two inputs of one type, numpy broadcasting, output of the input type.
const OpSince kBroadcastSameTypeOps[] = {
    {"Add", 7}, {"Sub", 7}, {"Mul", 7}, {"Div", 7}, {"Mod", 10}, {"And", 7}, {"Or", 7}, {"Xor", 7}, {"BitShift", 11},
};

// Two inputs of one type, numpy broadcasting, bool output.
const OpSince kCompareOps[] = {
    {"Equal", 7}, {"Less", 7}, {"Greater", 7}, {"LessOrEqual", 12}, {"GreaterOrEqual", 12},
};

// One or more inputs of one type, numpy broadcasting across all of them.
const OpSince kVariadicOps[] = {{"Max", 6}, {"Min", 6}, {"Sum", 6}, {"Mean", 6}};

std::string shapes_of(const InferContext& ctx) {
  std::string s;
  for (size_t i = 0; i < ctx.num_inputs(); ++i) {
    if (!ctx.has_input(i)) continue;
    if (!s.empty()) s += ", ";
    s += std::string(dtype_name(ctx.input(i).dtype)) + shape_to_string(ctx.input(i).shape);
  }
  return s;
}

// Broadcasts the shapes of inputs [first, ctx.num_inputs()) and requires them to share input `first`'s dtype.
Shape broadcast_inputs(const InferContext& ctx, size_t first, bool same_dtype) {
  const TensorInfo& a = ctx.input(first);
  Shape out = a.shape;
  for (size_t i = first + 1; i < ctx.num_inputs(); ++i) {
    const TensorInfo& b = ctx.input(i);
    if (same_dtype && b.dtype != a.dtype) {
      ctx.fail("input " + std::to_string(i) + " has dtype " + std::string(dtype_name(b.dtype)) + " but input " +
               std::to_string(first) + " has " + std::string(dtype_name(a.dtype)) + " (expected equal dtypes)");
    }
    out = broadcast_shapes(out, b.shape, ctx.node().describe() + " (inputs " + shapes_of(ctx) + ")");
  }
  return out;
}

void require_input_count(const InferContext& ctx, size_t lo, size_t hi) {
  if (ctx.num_inputs() < lo || ctx.num_inputs() > hi) {
    ctx.fail("has " + std::to_string(ctx.num_inputs()) + " inputs, expected " + std::to_string(lo) +
             (lo == hi ? "" : ".." + std::to_string(hi)));
  }
}

std::vector<OutputInfo> infer_same_as_input(const InferContext& ctx) {
  require_input_count(ctx, 1, 1);
  return {OutputInfo{ctx.input(0).dtype, ctx.input(0).shape}};
}

std::vector<OutputInfo> infer_bool_of_input(const InferContext& ctx) {
  require_input_count(ctx, 1, 1);
  return {OutputInfo{DType::kBool, ctx.input(0).shape}};
}

std::vector<OutputInfo> infer_broadcast_same_type(const InferContext& ctx) {
  require_input_count(ctx, 2, 2);
  return {OutputInfo{ctx.input(0).dtype, broadcast_inputs(ctx, 0, true)}};
}

std::vector<OutputInfo> infer_compare(const InferContext& ctx) {
  require_input_count(ctx, 2, 2);
  return {OutputInfo{DType::kBool, broadcast_inputs(ctx, 0, true)}};
}

std::vector<OutputInfo> infer_variadic(const InferContext& ctx) {
  if (ctx.num_inputs() < 1) ctx.fail("needs at least one input");
  return {OutputInfo{ctx.input(0).dtype, broadcast_inputs(ctx, 0, true)}};
}

// Pow: the exponent may have another numeric type than the base; the output has the base's type.
std::vector<OutputInfo> infer_pow(const InferContext& ctx) {
  require_input_count(ctx, 2, 2);
  return {OutputInfo{ctx.input(0).dtype, broadcast_inputs(ctx, 0, false)}};
}

// PRelu: slope broadcasts unidirectionally to X; the output has X's shape.
std::vector<OutputInfo> infer_prelu(const InferContext& ctx) {
  require_input_count(ctx, 2, 2);
  const TensorInfo& x = ctx.input(0);
  const TensorInfo& slope = ctx.input(1);
  if (slope.dtype != x.dtype) {
    ctx.fail("slope has dtype " + std::string(dtype_name(slope.dtype)) + ", expected X's dtype " +
             std::string(dtype_name(x.dtype)));
  }
  const Shape out = broadcast_shapes(x.shape, slope.shape, ctx.node().describe());
  if (out != x.shape) {
    ctx.fail("slope shape " + shape_to_string(slope.shape) + " does not broadcast unidirectionally to X shape " +
             shape_to_string(x.shape));
  }
  return {OutputInfo{x.dtype, x.shape}};
}

std::vector<OutputInfo> infer_where(const InferContext& ctx) {
  require_input_count(ctx, 3, 3);
  if (ctx.input(0).dtype != DType::kBool) {
    ctx.fail("condition has dtype " + std::string(dtype_name(ctx.input(0).dtype)) + ", expected bool");
  }
  if (ctx.input(1).dtype != ctx.input(2).dtype) {
    ctx.fail("X has dtype " + std::string(dtype_name(ctx.input(1).dtype)) + " but Y has " +
             std::string(dtype_name(ctx.input(2).dtype)) + " (expected equal dtypes)");
  }
  Shape out = broadcast_shapes(ctx.input(0).shape, ctx.input(1).shape,
                               ctx.node().describe() + " (inputs " + shapes_of(ctx) + ")");
  out = broadcast_shapes(out, ctx.input(2).shape, ctx.node().describe() + " (inputs " + shapes_of(ctx) + ")");
  return {OutputInfo{ctx.input(1).dtype, out}};
}

// Cast's `to` code -> the dtype qwac stores. FLOAT16 is stored as float32 holding float16-rounded values, since
// qwac computes in float32 (float16 initializers are upcast at import for the same reason).
DType cast_target_dtype(const InferContext& ctx, int64_t to) {
  if (!is_valid_dtype_code(static_cast<int>(to)) || to == static_cast<int64_t>(DType::kUndefined) ||
      to == static_cast<int64_t>(DType::kString)) {
    throw UnsupportedOp(ctx.node().describe() + ": cast to ONNX data type " + std::to_string(to) +
                        " is not supported (expected a numeric type or bool; bfloat16, float8 and string are not)");
  }
  const DType t = static_cast<DType>(to);
  return t == DType::kFloat16 ? DType::kFloat32 : t;
}

std::vector<OutputInfo> infer_cast(const InferContext& ctx) {
  require_input_count(ctx, 1, 1);
  if (!ctx.attrs().has("to")) ctx.fail("attribute 'to' is missing");
  return {OutputInfo{cast_target_dtype(ctx, ctx.attrs().get_int("to")), ctx.input(0).shape}};
}

std::vector<OutputInfo> infer_cast_like(const InferContext& ctx) {
  require_input_count(ctx, 2, 2);
  return {OutputInfo{ctx.input(1).dtype, ctx.input(0).shape}};
}

// Clip: opset < 11 has min/max attributes; opset >= 11 has optional scalar inputs of the input's type.
std::vector<OutputInfo> infer_clip(const InferContext& ctx) {
  require_input_count(ctx, 1, ctx.opset() >= 11 ? 3 : 1);
  for (size_t i = 1; i < ctx.num_inputs(); ++i) {
    if (!ctx.has_input(i)) continue;
    const TensorInfo& bound = ctx.input(i);
    if (shape_numel(bound.shape) != 1 || bound.shape.size() > 1) {
      ctx.fail(std::string(i == 1 ? "min" : "max") + " has shape " + shape_to_string(bound.shape) +
               ", expected a scalar");
    }
    if (bound.dtype != ctx.input(0).dtype) {
      ctx.fail(std::string(i == 1 ? "min" : "max") + " has dtype " + std::string(dtype_name(bound.dtype)) +
               ", expected the input's dtype " + std::string(dtype_name(ctx.input(0).dtype)));
    }
  }
  return {OutputInfo{ctx.input(0).dtype, ctx.input(0).shape}};
}

// Dropout (inference): output = input; the optional mask has the input's shape (type T before opset 10, bool
// after).
std::vector<OutputInfo> infer_dropout(const InferContext& ctx) {
  require_input_count(ctx, 1, ctx.opset() >= 12 ? 3 : 1);
  const TensorInfo& x = ctx.input(0);
  std::vector<OutputInfo> out{OutputInfo{x.dtype, x.shape}};
  if (ctx.node().num_outputs() > 1 && ctx.node().output(1) != nullptr) {
    out.push_back(OutputInfo{ctx.opset() >= 10 ? DType::kBool : x.dtype, x.shape});
  }
  return out;
}

template <size_t N>
void add_all(OpRegistry& registry, const OpSince (&ops)[N], const ShapeInferenceFn& fn) {
  for (const OpSince& op : ops) registry.add(OpSchema{op.op_type, "", op.since_version, fn});
}

}  // namespace

void register_elementwise_shapes(OpRegistry& registry) {
  add_all(registry, kSameAsInputOps, infer_same_as_input);
  add_all(registry, kBoolOfInputOps, infer_bool_of_input);
  add_all(registry, kBroadcastSameTypeOps, infer_broadcast_same_type);
  add_all(registry, kCompareOps, infer_compare);
  add_all(registry, kVariadicOps, infer_variadic);
  registry.add(OpSchema{"Pow", "", 7, infer_pow});
  registry.add(OpSchema{"PRelu", "", 7, infer_prelu});
  registry.add(OpSchema{"Where", "", 9, infer_where});
  registry.add(OpSchema{"Cast", "", 6, infer_cast});
  registry.add(OpSchema{"CastLike", "", 15, infer_cast_like});
  registry.add(OpSchema{"Clip", "", 6, infer_clip});
  registry.add(OpSchema{"Dropout", "", 7, infer_dropout});
}

}  // namespace qwac::ir
