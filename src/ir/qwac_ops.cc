#include "ir/qwac_ops.h"

#include <algorithm>
#include <string>

#include "ir/activation.h"
#include "ir/fused_ops.h"
#include "ir/shape/qwac_shapes.h"

namespace qwac::ir {
namespace {

const std::vector<DType> kFloat = {DType::kFloat32};
const std::vector<DType> k8Bit = {DType::kUInt8, DType::kInt8};
const std::vector<DType> kFloatOr8Bit = {DType::kFloat32, DType::kUInt8, DType::kInt8};
const std::vector<DType> kInt8 = {DType::kInt8};
const std::vector<DType> kZeroPoint = {DType::kUInt8, DType::kInt8, DType::kUInt16, DType::kInt16};

constexpr QwacAttributeDef kActivationAttribute = {"activation", "string", "absent",
                                                   "a kind of ir/activation.h applied to the result; absent = none"};
constexpr QwacAttributeDef kActivationParamsAttribute = {"activation_params", "floats", "the kind's defaults",
                                                         "the activation's parameters (Clip: min, max; ...)"};

// The X, x_scale, x_zero_point, W, w_scale, B, y_scale, y_zero_point layout of QConv and QGemm.
std::vector<QwacInputDef> conv_like_inputs(std::string_view w_doc, std::string_view b_doc) {
  return {
      {"X", kFloatOr8Bit, false,
       "uint8/int8 activations, or float ones the op quantizes first with x_scale, x_zero_point"},
      {"x_scale", kFloat, false, "float scalar"},
      {"x_zero_point", k8Bit, true, "scalar of X's type (a float X: the type it is quantized to); absent = uint8 0"},
      {"W", kInt8, false, w_doc},
      {"w_scale", kFloat, false, "float scalar, or one per output channel"},
      {"B", kFloat, true, b_doc},
      {"y_scale", kFloat, true, "float scalar; with y_zero_point the output is quantized, else it is float"},
      {"y_zero_point", k8Bit, true, "uint8/int8 scalar, the output type"},
  };
}

// The A, a_scale, a_zero_point, B, b_scale, b_zero_point, y_scale, y_zero_point layout of QAdd and QMul.
std::vector<QwacInputDef> quantized_binary_inputs() {
  return {
      {"A", k8Bit, false, ""},
      {"a_scale", kFloat, false, "float scalar"},
      {"a_zero_point", k8Bit, true, "scalar of A's type; absent = uint8 0"},
      {"B", k8Bit, false, ""},
      {"b_scale", kFloat, false, "float scalar"},
      {"b_zero_point", k8Bit, true, "scalar of B's type; absent = uint8 0"},
      {"y_scale", kFloat, true, "float scalar; with y_zero_point the output is quantized, else float"},
      {"y_zero_point", k8Bit, true, "uint8/int8 scalar, the output type"},
  };
}

std::vector<QwacOpDef> make_defs() {
  std::vector<QwacOpDef> defs;
  defs.push_back({kFusedConvOp,
                  "Y = activation(Conv(X, W, B) + Z); Z, the residual, broadcasts unidirectionally to the Conv output",
                  "Conv",
                  {{"X", kFloat, false, "as Conv's"},
                   {"W", kFloat, false, "as Conv's"},
                   {"B", kFloat, true, "as Conv's"},
                   {"Z", kFloat, true, "the residual added before the activation"}},
                  {kActivationAttribute, kActivationParamsAttribute},
                  true,
                  &infer_fused_conv});
  defs.push_back({kActivationOp,
                  "Y = activation(X), element-wise: the decompositions ONNX has no op for at the model's opset "
                  "(x * Sigmoid(x), x * HardSigmoid(x) before opset 14, GELU) as one op",
                  "",
                  {{"X", kFloat, false, ""}},
                  {{"activation", "string", "", "required: a kind of ir/activation.h"}, kActivationParamsAttribute},
                  true,
                  &infer_activation});
  defs.push_back({kFakeQuantizeOp,
                  "Y = DequantizeLinear(QuantizeLinear(X, scale, zero_point), scale, zero_point) in float, with the "
                  "integer range of zero_point's type: what a Q -> DQ pair computes, in one pass",
                  "",
                  {{"X", kFloat, false, ""},
                   {"scale", kFloat, false, "scalar, or 1-D along `axis`"},
                   {"zero_point", kZeroPoint, true, "as scale; absent = uint8 0"}},
                  {{"axis", "int", "1", "as QuantizeLinear's (opset 13), used when scale is 1-D"}},
                  false,
                  &infer_fake_quantize});
  defs.push_back({kQConvOp,
                  "Y = QuantizeLinear(activation(Conv(DequantizeLinear(X), DequantizeLinear(W), B)), y_scale, "
                  "y_zero_point), or the float activation(Conv(...)) without y_scale; computed with integer "
                  "arithmetic by the oneDNN kernel",
                  "Conv",
                  conv_like_inputs("int8 constant weights, zero point 0", "float [M], the dequantized bias"),
                  {kActivationAttribute, kActivationParamsAttribute},
                  true,
                  &infer_qconv});
  defs.push_back({kQGemmOp,
                  "Y = QuantizeLinear(activation(DequantizeLinear(X) @ DequantizeLinear(W)(^T) + B), y_scale, "
                  "y_zero_point), or the float activation(...); shape [..., N]: Gemm (alpha = beta = 1, transA = 0) "
                  "and MatMul with a 2-D weight on dequantized operands",
                  "",
                  conv_like_inputs("int8 constant [K, N] (transB 0) or [N, K] (transB 1), zero point 0",
                                   "float [N] or [1, N], added to every row"),
                  {{"transB", "int", "0", "W is [N, K]"}, kActivationAttribute, kActivationParamsAttribute},
                  true,
                  &infer_qgemm});
  defs.push_back({kQAddOp,
                  "Y = QuantizeLinear(activation(DequantizeLinear(A) + DequantizeLinear(B)), y_scale, y_zero_point), "
                  "or the float activation(...); A and B numpy-broadcast",
                  "",
                  quantized_binary_inputs(),
                  {kActivationAttribute, kActivationParamsAttribute},
                  true,
                  &infer_qadd});
  defs.push_back({kQMulOp,
                  "Y = QuantizeLinear(activation(DequantizeLinear(A) * DequantizeLinear(B)), y_scale, y_zero_point), "
                  "or the float activation(...); A and B numpy-broadcast",
                  "",
                  quantized_binary_inputs(),
                  {kActivationAttribute, kActivationParamsAttribute},
                  true,
                  &infer_qadd});
  defs.push_back({kQMatMulOp,
                  "Y = alpha * (DequantizeLinear(A) @ DequantizeLinear(B)), float; MatMul (numpy shapes) of two computed "
                  "8-bit tensors (attention's Q x K^T with its scale)",
                  "",
                  {{"A", k8Bit, false, ""},
                   {"a_scale", kFloat, false, "float scalar"},
                   {"a_zero_point", k8Bit, true, "scalar of A's type; absent = uint8 0"},
                   {"B", k8Bit, false, ""},
                   {"b_scale", kFloat, false, "float scalar"},
                   {"b_zero_point", k8Bit, true, "scalar of B's type; absent = uint8 0"}},
                  {{"alpha", "float", "1", "scales the product"}},
                  false,
                  &infer_qmatmul});
  defs.push_back({kQLookupOp,
                  "Y[i] = Table[X[i] as a byte]: an element-wise function of an 8-bit tensor, tabulated over its 256 "
                  "codes (uint8 code c at index c, int8 code c at index c & 0xFF)",
                  "",
                  {{"X", k8Bit, false, ""},
                   {"Table", kFloatOr8Bit, false, "256 values, the output type; a constant"}},
                  {},
                  false,
                  &infer_qlookup});
  defs.push_back({kQLinearPoolOp,
                  "Y = QuantizeLinear(pool(DequantizeLinear(X)), y_scale, y_zero_point): pooling requantized with "
                  "other parameters than its input's (ONNX Runtime's QLinearAveragePool, for every pooling op)",
                  "the op named by `pool`",
                  {{"X", k8Bit, false, ""},
                   {"x_scale", kFloat, false, "float scalar"},
                   {"x_zero_point", k8Bit, true, "scalar of X's type; absent = uint8 0"},
                   {"y_scale", kFloat, false, "float scalar"},
                   {"y_zero_point", k8Bit, false, "uint8/int8 scalar, the output type"}},
                  {{"pool", "string", "", "required: MaxPool, AveragePool, GlobalAveragePool or GlobalMaxPool"}},
                  false,
                  &infer_qlinear_pool});
  defs.push_back({kQLayerNormOp,
                  "Y = QuantizeLinear(LayerNormalization(DequantizeLinear(X), Scale, B), y_scale, y_zero_point): "
                  "the normalization of an 8-bit tensor written as the 8-bit input of the next int8 op",
                  "LayerNormalization",
                  {{"X", k8Bit, false, ""},
                   {"x_scale", kFloat, false, "float scalar"},
                   {"x_zero_point", k8Bit, true, "scalar of X's type; absent = uint8 0"},
                   {"Scale", kFloat, false, "as LayerNormalization's"},
                   {"B", kFloat, true, "as LayerNormalization's"},
                   {"y_scale", kFloat, false, "float scalar"},
                   {"y_zero_point", k8Bit, false, "uint8/int8 scalar, the output type"}},
                  {{"axis", "int", "-1", "as LayerNormalization's"}, {"epsilon", "float", "1e-5", "as LayerNormalization's"}},
                  false,
                  &infer_qlayer_norm});
  return defs;
}

// The checks every definition implies, then the op's own inference.
ShapeInferenceFn checked(const QwacOpDef& def) {
  return [&def](const InferContext& ctx) {
    if (ctx.num_inputs() > def.inputs.size()) {
      ctx.fail("has " + std::to_string(ctx.num_inputs()) + " inputs, " + std::string(def.op_type) + " takes at most " +
               std::to_string(def.inputs.size()));
    }
    for (size_t i = 0; i < def.inputs.size(); ++i) {
      const QwacInputDef& in = def.inputs[i];
      if (!ctx.has_input(i)) {
        if (!in.optional) ctx.fail("required input " + std::string(in.name) + " is missing");
        continue;
      }
      const DType t = ctx.input(i).dtype;
      if (std::find(in.types.begin(), in.types.end(), t) == in.types.end()) {
        std::string allowed;
        for (DType a : in.types) allowed += (allowed.empty() ? "" : ", ") + std::string(dtype_name(a));
        ctx.fail("input " + std::string(in.name) + " is " + std::string(dtype_name(t)) + ", expected " + allowed);
      }
    }
    if (def.takes_activation) Activation::from_attributes(ctx.attrs(), ctx.node().describe());
    return def.infer(ctx);
  };
}

}  // namespace

const std::vector<QwacOpDef>& qwac_op_defs() {
  static const std::vector<QwacOpDef> defs = make_defs();
  return defs;
}

const QwacOpDef* find_qwac_op_def(std::string_view op_type) {
  for (const QwacOpDef& d : qwac_op_defs()) {
    if (d.op_type == op_type) return &d;
  }
  return nullptr;
}

void register_qwac_ops(OpRegistry& registry) {
  for (const QwacOpDef& def : qwac_op_defs()) {
    registry.add(OpSchema{std::string(def.op_type), std::string(kQwacDomain), 1, checked(def)});
  }
}

}  // namespace qwac::ir
