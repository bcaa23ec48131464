// Shape and type inference for the integer element-wise and matrix ops QAdd, QMul, QLookup and QGemm (ir/fused_ops.h): the shape
// of the float op on the dequantized operands, the type of the trailing QuantizeLinear (y_zero_point's) or float.
#include <string>

#include "ir/activation.h"
#include "ir/fused_ops.h"
#include "ir/op_schema.h"
#include "ir/shape/qwac_shapes.h"
#include "qwac/error.h"

namespace qwac::ir {
namespace {

bool is_8bit(DType t) {
  return t == DType::kUInt8 || t == DType::kInt8;
}

std::string type_name(DType t) {
  return std::string(dtype_name(t));
}

// An 8-bit input with its float scalar scale and a zero point of its type (absent: the input must be uint8).
void check_quantized_input(const InferContext& ctx, size_t x, size_t scale, size_t zero_point, const char* name) {
  const DType t = ctx.input(x).dtype;
  if (!is_8bit(t)) ctx.fail(std::string("input ") + name + " is " + type_name(t) + ", expected uint8 or int8");
  if (ctx.input(scale).dtype != DType::kFloat32) {
    ctx.fail(std::string(name) + "'s scale is " + type_name(ctx.input(scale).dtype) + ", expected float");
  }
  const DType zp = ctx.has_input(zero_point) ? ctx.input(zero_point).dtype : DType::kUInt8;
  if (zp != t) ctx.fail(std::string(name) + "'s zero point is " + type_name(zp) + ", expected " + type_name(t));
}

void check_activation(const InferContext& ctx) { Activation::from_attributes(ctx.attrs(), ctx.node().describe()); }

// float, or y_zero_point's type when the output is quantized.
DType output_type(const InferContext& ctx, size_t y_scale, size_t y_zero_point) {
  if (ctx.has_input(y_scale) != ctx.has_input(y_zero_point)) {
    ctx.fail("y_scale and y_zero_point must be both present or both absent");
  }
  if (!ctx.has_input(y_scale)) return DType::kFloat32;
  const DType t = ctx.input(y_zero_point).dtype;
  if (!is_8bit(t)) ctx.fail("y_zero_point is " + type_name(t) + ", expected uint8 or int8");
  return t;
}

}  // namespace

std::vector<OutputInfo> infer_qadd(const InferContext& ctx) {
  using In = QAddInputs;
  check_quantized_input(ctx, In::kA, In::kAScale, In::kAZeroPoint, "A");
  check_quantized_input(ctx, In::kB, In::kBScale, In::kBZeroPoint, "B");
  check_activation(ctx);
  const Shape y = broadcast_shapes(ctx.input(In::kA).shape, ctx.input(In::kB).shape, ctx.node().describe());
  return {OutputInfo{output_type(ctx, In::kYScale, In::kYZeroPoint), y}};
}

std::vector<OutputInfo> infer_qmatmul(const InferContext& ctx) {
  using In = QMatMulInputs;
  check_quantized_input(ctx, In::kA, In::kAScale, In::kAZeroPoint, "A");
  check_quantized_input(ctx, In::kB, In::kBScale, In::kBZeroPoint, "B");
  const Shape& a = ctx.input(In::kA).shape;
  const Shape& b = ctx.input(In::kB).shape;
  if (a.empty() || b.empty()) ctx.fail("an operand is a scalar (MatMul takes rank >= 1)");
  // MatMul's numpy rule: a 1-D A is a row [1, K], a 1-D B a column [K, 1], and that dim leaves the result.
  const Shape pa = a.size() == 1 ? Shape{1, a[0]} : a;
  const Shape pb = b.size() == 1 ? Shape{b[0], 1} : b;
  if (pa.back() != pb[pb.size() - 2]) {
    ctx.fail("A of shape " + shape_to_string(a) + " does not multiply B of shape " + shape_to_string(b));
  }
  Shape y = broadcast_shapes(Shape(pa.begin(), pa.end() - 2), Shape(pb.begin(), pb.end() - 2), ctx.node().describe());
  if (a.size() > 1) y.push_back(pa[pa.size() - 2]);
  if (b.size() > 1) y.push_back(pb.back());
  return {OutputInfo{DType::kFloat32, y}};
}

std::vector<OutputInfo> infer_qlookup(const InferContext& ctx) {
  using In = QLookupInputs;
  const TensorInfo& table = ctx.input(In::kTable);
  if (shape_numel(table.shape) != 256) {
    ctx.fail("Table has shape " + shape_to_string(table.shape) + ", expected 256 values (one per 8-bit code)");
  }
  return {OutputInfo{table.dtype, ctx.input(In::kX).shape}};
}

std::vector<OutputInfo> infer_qgemm(const InferContext& ctx) {
  using In = QGemmInputs;
  const TensorInfo& x = ctx.input(In::kX);
  if (x.dtype == DType::kFloat32) {
    if (ctx.has_input(In::kXZeroPoint) && !is_8bit(ctx.input(In::kXZeroPoint).dtype)) {
      ctx.fail("x_zero_point is " + type_name(ctx.input(In::kXZeroPoint).dtype) + ", expected uint8 or int8");
    }
  } else {
    check_quantized_input(ctx, In::kX, In::kXScale, In::kXZeroPoint, "X");
  }
  const TensorInfo& w = ctx.input(In::kW);
  if (w.dtype != DType::kInt8) ctx.fail("weights W are " + type_name(w.dtype) + ", expected int8");
  if (w.shape.size() != 2) ctx.fail("weights W have shape " + shape_to_string(w.shape) + ", expected 2-D");
  if (x.shape.size() < 2) ctx.fail("input X has shape " + shape_to_string(x.shape) + ", expected rank >= 2");
  const int64_t trans_b = ctx.attrs().get_int("transB", 0);
  if (trans_b != 0 && trans_b != 1) ctx.fail("transB is " + std::to_string(trans_b) + ", expected 0 or 1");
  const int64_t k = w.shape[trans_b ? 1 : 0], n = w.shape[trans_b ? 0 : 1];
  if (x.shape.back() != k) {
    ctx.fail("X of shape " + shape_to_string(x.shape) + " does not multiply W of shape " + shape_to_string(w.shape) +
             (trans_b ? " (transposed)" : ""));
  }
  const TensorInfo& w_scale = ctx.input(In::kWScale);
  if (w_scale.dtype != DType::kFloat32 || (shape_numel(w_scale.shape) != 1 && w_scale.shape != Shape{n})) {
    ctx.fail("w_scale is " + type_name(w_scale.dtype) + shape_to_string(w_scale.shape) + ", expected float [1] or [" +
             std::to_string(n) + "]");
  }
  if (ctx.has_input(In::kBias)) {
    const TensorInfo& b = ctx.input(In::kBias);
    if (b.dtype != DType::kFloat32 || (b.shape != Shape{n} && b.shape != Shape{1, n})) {
      ctx.fail("bias is " + type_name(b.dtype) + shape_to_string(b.shape) + ", expected float [" + std::to_string(n) +
               "] or [1, " + std::to_string(n) + "]");
    }
  }
  check_activation(ctx);
  Shape y = x.shape;
  y.back() = n;
  return {OutputInfo{output_type(ctx, In::kYScale, In::kYZeroPoint), y}};
}

}  // namespace qwac::ir
