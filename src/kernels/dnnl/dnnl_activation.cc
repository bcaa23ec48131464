#include "kernels/dnnl/dnnl_activation.h"

namespace qwac::kernels::dnnl_impl {

bool eltwise_steps(const ir::Activation& act, std::vector<EltwiseStep>& steps, std::string& reason) {
  using K = ir::ActivationKind;
  using alg = dnnl::algorithm;
  steps.clear();
  switch (act.kind) {
    case K::kNone:
      return true;
    case K::kRelu:
      steps = {{alg::eltwise_relu, 0.f, 0.f}};
      return true;
    case K::kLeakyRelu:
      steps = {{alg::eltwise_relu, act.alpha, 0.f}};
      return true;
    case K::kClip:
      steps = {{alg::eltwise_clip, act.alpha, act.beta}};
      return true;
    case K::kSigmoid:
      steps = {{alg::eltwise_logistic, 0.f, 0.f}};
      return true;
    case K::kTanh:
      steps = {{alg::eltwise_tanh, 0.f, 0.f}};
      return true;
    // oneDNN 2.6 has no hard-sigmoid: alpha * x + beta, then clip to [0, 1].
    case K::kHardSigmoid:
      steps = {{alg::eltwise_linear, act.alpha, act.beta}, {alg::eltwise_clip, 0.f, 1.f}};
      return true;
    case K::kHardSwish:
      steps = {{alg::eltwise_hardswish, 0.f, 0.f}};
      return true;  // x * relu6(x + 3) / 6
    case K::kSwish:
      steps = {{alg::eltwise_swish, act.alpha, 0.f}};
      return true;  // x * sigmoid(alpha * x)
    case K::kGelu:
      steps = {{alg::eltwise_gelu_erf, 0.f, 0.f}};
      return true;
    case K::kGeluTanh:
      steps = {{alg::eltwise_gelu_tanh, 0.f, 0.f}};
      return true;
    case K::kElu:
      steps = {{alg::eltwise_elu, act.alpha, 0.f}};
      return true;
    case K::kMish:
      steps = {{alg::eltwise_mish, 0.f, 0.f}};
      return true;
    case K::kCount:
      break;
  }
  reason = "activation " + act.describe() + " has no oneDNN eltwise";
  return false;
}

bool append_activation(dnnl::post_ops& ops, const ir::Activation& act, std::string& reason) {
  std::vector<EltwiseStep> steps;
  if (!eltwise_steps(act, steps, reason)) return false;
  for (const EltwiseStep& s : steps) ops.append_eltwise(1.f, s.algorithm, s.alpha, s.beta);
  return true;
}

bool append_requantized_activation(dnnl::post_ops& ops, const ir::Activation& act, double s_y, double& scale_multiplier,
                                   std::string& reason) {
  using alg = dnnl::algorithm;
  std::vector<EltwiseStep> steps;
  if (!eltwise_steps(act, steps, reason)) return false;
  // Move the factor f = 1 / s_y backwards through the steps that commute with a positive scale (relu, and clip with
  // its bounds scaled): absorbed by an eltwise_linear, or folded into the output scale when it reaches the start,
  // else one eltwise_linear(f) after the last step that does not commute. Besides saving a pass, this keeps a
  // chain to one eltwise_linear: oneDNN 2.6's int8 kernels compute wrong results for two linear post-ops
  // (HardSigmoid's linear, then clip, then linear; tests/kernels/qconv_test.cc caught it).
  const float f = static_cast<float>(1.0 / s_y);
  size_t insert_at = steps.size();  // the factor goes before steps[insert_at..]
  bool absorbed = false;
  while (insert_at > 0) {
    EltwiseStep& s = steps[insert_at - 1];
    if (s.algorithm == alg::eltwise_linear) {
      s.alpha *= f;
      s.beta *= f;
      absorbed = true;
      break;
    }
    if (s.algorithm != alg::eltwise_relu && s.algorithm != alg::eltwise_clip) break;
    --insert_at;
  }
  for (size_t i = insert_at; i < steps.size(); ++i) {
    if (steps[i].algorithm == alg::eltwise_clip) {
      steps[i].alpha *= f;
      steps[i].beta *= f;
    }
  }
  scale_multiplier = 1.0;
  if (!absorbed && insert_at == 0) scale_multiplier = 1.0 / s_y;
  for (size_t i = 0; i < steps.size(); ++i) {
    if (!absorbed && insert_at > 0 && i == insert_at && f != 1.f) {
      ops.append_eltwise(1.f, alg::eltwise_linear, f, 0.f);
    }
    ops.append_eltwise(1.f, steps[i].algorithm, steps[i].alpha, steps[i].beta);
  }
  if (!absorbed && insert_at == steps.size() && insert_at > 0 && f != 1.f) {
    ops.append_eltwise(1.f, alg::eltwise_linear, f, 0.f);
  }
  return true;
}

}  // namespace qwac::kernels::dnnl_impl
