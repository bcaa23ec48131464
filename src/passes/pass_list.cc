#include "passes/pass_list.h"

#include "passes/eliminate_dropout.h"
#include "passes/fold_batchnorm.h"
#include "passes/fold_constant_nodes.h"
#include "passes/fuse_conv_activation.h"
#include "passes/fuse_matmul.h"
#include "passes/fuse_quantize_dequantize.h"
#include "passes/qdq/lookup_fusion.h"
#include "passes/qdq/qdq_fusion.h"
#include "passes/recognize_activations.h"
#include "passes/recognize_layer_norm.h"

namespace qwac::passes {

using Target = RecognizeActivations::Target;

std::vector<std::unique_ptr<Pass>> recognize_passes() {
  std::vector<std::unique_ptr<Pass>> list;
  list.push_back(std::make_unique<RecognizeActivations>(Target::kOnnx));  // x * HardSigmoid(x) -> HardSwish, ...
  return list;
}

std::vector<std::unique_ptr<Pass>> engine_int8_passes() {
  std::vector<std::unique_ptr<Pass>> list;
  // Activation decompositions between quantizers -> com.qwac Activation, which the QDQ rules fuse as one op.
  list.push_back(std::make_unique<RecognizeActivations>(Target::kEngine));
  // Decomposed LayerNorms between quantizers -> LayerNormalization, which the QDQ rules turn into QLayerNorm.
  list.push_back(std::make_unique<FoldConstantNodes>());
  list.push_back(std::make_unique<RecognizeLayerNorm>());
  // The QDQ rule table (passes/qdq/qdq_rules.cc): DQ -> data movement -> Q on integers, requantizing pooling ->
  // QLinearPool, DQ(X), DQ(W) -> Conv [-> act] [-> Q] -> QConv, DQ(A) + DQ(B) -> Add -> QAdd (Mul -> QMul),
  // DQ -> LayerNorm -> Q -> QLayerNorm, Gemm/MatMul -> QGemm.
  list.push_back(std::make_unique<QdqFusion>());
  // Element-wise chains of one 8-bit tensor (hard-swish, SiLU, hard-sigmoid between quantizers) -> QLookup.
  list.push_back(std::make_unique<FuseQdqLookup>());
  return list;
}

std::vector<std::unique_ptr<Pass>> engine_fusion_passes() {
  std::vector<std::unique_ptr<Pass>> list;
  list.push_back(std::make_unique<EliminateDropout>());    // Identity / inference Dropout -> nothing
  list.push_back(std::make_unique<FoldConstantNodes>());   // Constant -> initializer (recognizers read values)
  list.push_back(std::make_unique<RecognizeLayerNorm>());  // ReduceMean/Sub/Pow/.../Div [*s] [+b] -> LayerNormalization
  list.push_back(std::make_unique<FoldBatchNorm>());  // Conv / ConvTranspose / Gemm -> BatchNormalization -> one op
  list.push_back(std::make_unique<RecognizeActivations>(Target::kEngine));  // x * Sigmoid(x) -> Activation, ...
  list.push_back(std::make_unique<FuseConvActivation>());  // Conv [+ residual Add] [+ activation] -> FusedConv
  // [Transpose/Gather views] -> MatMul [* scale] [+ bias] [+ residual/mask] [+ activation] [-> Transpose] -> FusedMatMul
  list.push_back(std::make_unique<FuseMatMul>());
  list.push_back(std::make_unique<FuseQuantizeDequantize>());  // QuantizeLinear -> DequantizeLinear -> FakeQuantize
  return list;
}

bool run_passes(const std::vector<std::unique_ptr<Pass>>& passes, ir::Model& model, std::vector<PassNote>* notes) {
  bool changed = false;
  for (const std::unique_ptr<Pass>& pass : passes) {
    changed |= pass->run(model);
    if (notes != nullptr) notes->insert(notes->end(), pass->notes().begin(), pass->notes().end());
  }
  return changed;
}

}  // namespace qwac::passes
