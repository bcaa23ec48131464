#include "quant/input_model_check.h"

#include <algorithm>
#include <array>
#include <map>
#include <string>
#include <string_view>

#include "ir/graph.h"
#include "ir/fused_ops.h"
#include "qwac/error.h"

namespace qwac::quant {
namespace {

// Ops that only a quantized model holds: ONNX's quantize/dequantize and integer ops, ONNX Runtime's com.microsoft
// versions and qwac's own com.qwac ones (an engine-internal model handed back in).
constexpr std::array<std::string_view, 23> kQuantizedOps = {
    "QuantizeLinear", "DequantizeLinear", "DynamicQuantizeLinear", "QLinearConv",   "QLinearMatMul",
    "ConvInteger",    "MatMulInteger",    "QLinearAdd",            "QLinearMul",    "QLinearSigmoid",
    "QLinearConcat",  "QLinearAveragePool", "QLinearGlobalAveragePool", ir::kQConvOp, ir::kQGemmOp,
    ir::kQAddOp,      ir::kQMulOp,        ir::kQMatMulOp,          ir::kQLookupOp,  ir::kQLinearPoolOp,
    "QLinearSoftmax", ir::kFakeQuantizeOp, ir::kQLayerNormOp};

bool is_quantized_op(const std::string& op) {
  for (std::string_view q : kQuantizedOps) {
    if (op == q) return true;
  }
  return false;
}

// Ops whose input 1 is the weight quantization reads (its range, per channel).
constexpr std::array<std::string_view, 4> kWeightedOps = {"Conv", "ConvTranspose", "Gemm", "MatMul"};

void check_weights_not_empty(const ir::Model& model) {
  for (const ir::Node* n : model.graph->nodes()) {
    if (std::find(kWeightedOps.begin(), kWeightedOps.end(), n->op_type()) == kWeightedOps.end()) continue;
    if (n->inputs().size() < 2 || n->inputs()[1] == nullptr || !n->inputs()[1]->is_constant()) continue;
    const Tensor& w = *n->inputs()[1]->constant;
    if (w.numel() == 0) {
      throw InvalidModel(n->describe() + " has an empty weight '" + n->inputs()[1]->name() + "' " + w.describe() +
                         ": there is nothing to quantize and the op computes nothing; fix or re-export the model");
    }
  }
}

}  // namespace

void check_quantizable_input(const ir::Model& model) {
  check_weights_not_empty(model);
  std::map<std::string, int> counts;
  const ir::Node* first = nullptr;
  for (const ir::Node* n : model.graph->nodes()) {
    if (!is_quantized_op(n->op_type())) continue;
    ++counts[n->op_type()];
    if (first == nullptr) first = n;
  }
  if (first == nullptr) return;
  std::string ops;
  for (const auto& [op, count] : counts) ops += (ops.empty() ? "" : ", ") + std::to_string(count) + " " + op;
  throw InvalidModel("the model is already quantized (" + ops + "; first: " + first->describe() +
                     "): quantizing it again would add a second quantization layer over the first; quantize the "
                     "FP32 original instead (qwac evaluate/bench/inspect run quantized models as they are)");
}

}  // namespace qwac::quant
