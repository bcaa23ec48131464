// The oneDNN mapping of ir::Activation: the eltwise algorithm(s) that compute each kind, used as post-ops by the
// FP32 kernels (Conv, FusedConv, FusedGemm), as post-ops in the real domain by the int8 kernels (QConv, QGemm), and
// as primitives by the standalone element-wise kernel (dnnl_eltwise.cc). The scalar oracle it must agree with is
// kernels/ref/activation.h.
#pragma once

#include <oneapi/dnnl/dnnl.hpp>
#include <string>
#include <vector>

#include "ir/activation.h"

namespace qwac::kernels::dnnl_impl {

// One oneDNN eltwise operation: dst = alg(src; alpha, beta).
struct EltwiseStep {
  dnnl::algorithm algorithm;
  float alpha = 0.f, beta = 0.f;
};

// The eltwise steps computing `act`, applied in order (empty for kNone); false with `reason` when oneDNN has none.
bool eltwise_steps(const ir::Activation& act, std::vector<EltwiseStep>& steps, std::string& reason);

// Appends `act` as eltwise post-ops of a float primitive.
bool append_activation(dnnl::post_ops& ops, const ir::Activation& act, std::string& reason);

// The post-ops of an int8 primitive whose output scale maps the int32 accumulator to the real domain
// (s_x * s_w, the dequantization) and whose output is then quantized with scale `s_y` (1 for a float output):
// the activation in the real domain, then the factor 1 / s_y. The factor is moved back through the steps that
// commute with a positive scale (relu; clip with scaled bounds) into an eltwise_linear, or into the output scale
// (`scale_multiplier`, which the caller folds into its output scales; 1 otherwise), or else appended as
// eltwise_linear(1 / s_y) after the activation.
bool append_requantized_activation(dnnl::post_ops& ops, const ir::Activation& act, double s_y, double& scale_multiplier,
                                   std::string& reason);

}  // namespace qwac::kernels::dnnl_impl
