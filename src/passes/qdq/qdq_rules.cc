#include "passes/qdq/qdq_rules.h"

#include <algorithm>

#include "ir/fused_ops.h"
#include "passes/qdq/qdq_match.h"

namespace qwac::passes::qdq {

bool QdqRule::applies_to(const ir::Node& n) const {
  return is_default_domain(n) && std::find(op_types.begin(), op_types.end(), n.op_type()) != op_types.end();
}

const std::vector<QdqRule>& qdq_rules() {
  static const std::vector<QdqRule> rules = [] {
    auto drop_qdq = std::make_shared<DropQdq>();
    std::vector<QdqRule> r;
    // Data movement first, so that a QConv's DequantizeLinear(X) then reads the 8-bit result directly.
    r.push_back({"int8_ops",
                 {"MaxPool", "GlobalMaxPool", "Reshape", "Flatten", "Squeeze", "Unsqueeze", "Transpose", "Gather"},
                 std::make_shared<DropQdqSelector>(/*all_inputs_data=*/false),
                 drop_qdq});
    // Movers with float readers too (attention's qkv split: Q and K quantized, V float): run on the integers and
    // dequantize after them, so a chain Reshape -> Transpose -> Gather stays 8-bit up to the op that needs floats.
    r.push_back({"int8_ops",
                 {"Reshape", "Flatten", "Squeeze", "Unsqueeze", "Transpose", "Gather"},
                 std::make_shared<SinkDequantizeSelector>(),
                 std::make_shared<SinkDequantize>()});
    r.push_back({"int8_ops", {"Concat"}, std::make_shared<DropQdqSelector>(/*all_inputs_data=*/true), drop_qdq});
    r.push_back({"int8_ops",
                 {"MaxPool", "GlobalMaxPool", "AveragePool", "GlobalAveragePool"},
                 std::make_shared<UnarySelector>(),
                 std::make_shared<ReplaceWithQLinearPool>()});
    r.push_back(
        {"conv", {"Conv"}, std::make_shared<ConvSelector>(), std::make_shared<ReplaceWithConvLikeOp>(ir::kQConvOp)});
    // After the Convs: an Add whose readers are QConvs quantizing their float input writes integers for them.
    r.push_back(
        {"add", {"Add"}, std::make_shared<BinarySelector>(), std::make_shared<ReplaceWithBinaryOp>(ir::kQAddOp)});
    // x * HardSigmoid(x) as ONNX Runtime's export profile writes it, SiLU's x * Sigmoid(x), an SE block's scale.
    r.push_back(
        {"mul", {"Mul"}, std::make_shared<BinarySelector>(), std::make_shared<ReplaceWithBinaryOp>(ir::kQMulOp)});
    // Before the matmuls: a LayerNorm between an 8-bit residual stream and a quantized matmul input writes the
    // 8-bit input itself (the QGemm then reads integers instead of quantizing a float X).
    r.push_back({"layer_norm",
                 {"LayerNormalization"},
                 std::make_shared<LayerNormSelector>(),
                 std::make_shared<ReplaceWithQLayerNorm>()});
    r.push_back({"gemm",
                 {"Gemm", "MatMul"},
                 std::make_shared<MatMulSelector>(),
                 std::make_shared<ReplaceWithConvLikeOp>(ir::kQGemmOp, std::vector<std::string>{"transB"})});
    // After the weights' MatMuls: two computed 8-bit operands (attention's Q x K^T, quantized on both sides).
    r.push_back({"gemm", {"MatMul"}, std::make_shared<ActivationMatMulSelector>(), std::make_shared<ReplaceWithQMatMul>()});
    return r;
  }();
  return rules;
}

}  // namespace qwac::passes::qdq
