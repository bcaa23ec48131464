// Shape inference for qwac's transformer ops (com.qwac FusedMatMul, ir/fused_matmul.h).
#include <string>

#include "ir/activation.h"
#include "ir/fused_matmul.h"
#include "ir/fused_ops.h"
#include "ir/op_schema.h"
#include "qwac/error.h"

namespace qwac::ir {
namespace {

std::vector<OutputInfo> infer_fused_matmul(const InferContext& ctx) {
  using In = FusedMatMulInputs;
  for (size_t i = 0; i < In::kCount; ++i) {
    if (ctx.has_input(i) && ctx.input(i).dtype != DType::kFloat32) {
      ctx.fail("input " + std::to_string(i) + " is " + std::string(dtype_name(ctx.input(i).dtype)) +
               ", expected float");
    }
  }
  const Shape* bias = ctx.has_input(In::kBias) ? &ctx.input(In::kBias).shape : nullptr;
  const Shape* z = ctx.has_input(In::kZ) ? &ctx.input(In::kZ).shape : nullptr;
  const FusedMatMulShapes s = fused_matmul_shapes(ctx.input(In::kA).shape, ctx.input(In::kB).shape, bias, z,
                                                  ctx.attrs(), ctx.node().describe());
  Activation::from_attributes(ctx.attrs(), ctx.node().describe());
  return {{DType::kFloat32, s.y}};
}

}  // namespace

void register_transformer_shapes(OpRegistry& registry) {
  registry.add(OpSchema{std::string(kFusedMatMulOp), std::string(kQwacDomain), 1, &infer_fused_matmul});
}

}  // namespace qwac::ir
