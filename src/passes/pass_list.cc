#include "passes/pass_list.h"

#include "passes/eliminate_dropout.h"
#include "passes/fold_batchnorm.h"
#include "passes/fold_constant_nodes.h"
#include "passes/fuse_conv_activation.h"
#include "passes/fuse_matmul.h"
#include "passes/fuse_qdq_add.h"
#include "passes/fuse_qdq_conv.h"
#include "passes/fuse_qdq_gemm.h"
#include "passes/fuse_qdq_int8_ops.h"
#include "passes/fuse_quantize_dequantize.h"
#include "passes/recognize_layer_norm.h"

namespace qwac::passes {

std::vector<std::unique_ptr<Pass>> engine_fusion_passes() {
  std::vector<std::unique_ptr<Pass>> list;
  list.push_back(std::make_unique<EliminateDropout>());    // Identity / inference Dropout -> nothing
  list.push_back(std::make_unique<FoldConstantNodes>());   // Constant -> initializer (recognizers read values)
  list.push_back(std::make_unique<RecognizeLayerNorm>());  // ReduceMean/Sub/Pow/.../Div [*s] [+b] -> LayerNormalization
  list.push_back(std::make_unique<FoldBatchNorm>());       // Conv -> BatchNormalization -> Conv
  list.push_back(std::make_unique<FuseConvActivation>());  // Conv [+ residual Add] [+ activation] -> FusedConv
  // [Transpose/Gather views] -> MatMul [* scale] [+ bias] [+ residual/mask] [+ activation] [-> Transpose] -> FusedMatMul
  list.push_back(std::make_unique<FuseMatMul>());
  list.push_back(std::make_unique<FuseQuantizeDequantize>());  // QuantizeLinear -> DequantizeLinear -> FakeQuantize
  return list;
}

std::vector<std::unique_ptr<Pass>> engine_int8_passes() {
  std::vector<std::unique_ptr<Pass>> list;
  // DQ -> MaxPool / Concat / Reshape ... -> Q (same parameters) -> the op on int8; requantizing pooling -> QLinearPool
  list.push_back(std::make_unique<FuseQdqInt8Ops>());
  list.push_back(std::make_unique<FuseQdqConv>());  // DQ(X), DQ(W) -> Conv [-> Relu/Clip] [-> Q] -> QConv
  list.push_back(std::make_unique<FuseQdqAdd>());   // DQ(A) + DQ(B) -> Add [-> Relu/Clip] [-> Q] -> QAdd
  list.push_back(std::make_unique<FuseQdqGemm>());  // DQ(X), DQ(W) -> Gemm/MatMul [-> Relu/Clip] [-> Q] -> QGemm
  return list;
}

}  // namespace qwac::passes
