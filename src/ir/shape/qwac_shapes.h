// Shape and type inference of qwac's own ops (com.qwac), referenced by their definitions in ir/qwac_ops.cc. Each
// runs after the generic checks of the definition (required inputs present, element types allowed, activation
// attributes valid) and checks what is specific to the op.
#pragma once

#include <vector>

#include "ir/op_schema.h"

namespace qwac::ir {

std::vector<OutputInfo> infer_fused_conv(const InferContext& ctx);     // fused_shapes.cc
std::vector<OutputInfo> infer_fake_quantize(const InferContext& ctx);  // fused_shapes.cc
std::vector<OutputInfo> infer_qconv(const InferContext& ctx);          // fused_shapes.cc
std::vector<OutputInfo> infer_qlinear_pool(const InferContext& ctx);   // fused_shapes.cc
std::vector<OutputInfo> infer_qlayer_norm(const InferContext& ctx);    // fused_shapes.cc
std::vector<OutputInfo> infer_activation(const InferContext& ctx);     // fused_shapes.cc
std::vector<OutputInfo> infer_qadd(const InferContext& ctx);           // qarith_shapes.cc
std::vector<OutputInfo> infer_qgemm(const InferContext& ctx);          // qarith_shapes.cc
std::vector<OutputInfo> infer_qlookup(const InferContext& ctx);        // qarith_shapes.cc
std::vector<OutputInfo> infer_qmatmul(const InferContext& ctx);        // qarith_shapes.cc

}  // namespace qwac::ir
