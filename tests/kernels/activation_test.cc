// The fused activation's scalar oracle (kernels/ref/activation.h) on hand-computed values, and its oneDNN mapping
// (kernels/dnnl/dnnl_activation.h) against the oracle for every kind: as the standalone com.qwac Activation and as
// the ONNX op the kind stands for. The kernels that fuse an activation (FusedConv, QConv, QGemm, QAdd) test every
// kind too, through tests/kernels/activation_cases.h.
#include "kernels/ref/activation.h"

#include <gtest/gtest.h>

#include <cmath>
#include <random>

#include "ir/fused_ops.h"
#include "kernels/activation_cases.h"
#include "kernels/dnnl_registry_util.h"
#include "kernels/dnnl_test_util.h"
#include "kernels/kernel_test_util.h"

namespace qwac::testing {
namespace {

using K = ir::ActivationKind;
constexpr double kDnnlRtol = 1e-5;  // oneDNN's exp/erf/tanh approximations
constexpr double kDnnlAtol = 1e-6;

struct HandCase {
  ir::Activation act;
  float x;
  float expected;
};

// Values computed by hand (or with a calculator to 7 digits).
const HandCase kHandCases[] = {
    {{K::kNone}, -2.f, -2.f},
    {{K::kRelu}, -2.f, 0.f},
    {{K::kRelu}, 1.5f, 1.5f},
    {{K::kLeakyRelu, 0.13f}, -2.f, -0.26f},
    {{K::kLeakyRelu, 0.13f}, 3.f, 3.f},
    {{K::kClip, -0.4f, 0.7f}, -1.f, -0.4f},
    {{K::kClip, -0.4f, 0.7f}, 0.5f, 0.5f},
    {{K::kClip, -0.4f, 0.7f}, 2.f, 0.7f},
    {{K::kSigmoid}, 0.f, 0.5f},
    {{K::kSigmoid}, 2.f, 0.8807971f},
    {{K::kSigmoid}, -100.f, 3.720076e-44f},
    {{K::kTanh}, 1.f, 0.7615942f},
    {{K::kHardSigmoid, 0.3f, 0.4f}, 1.f, 0.7f},
    {{K::kHardSigmoid, 0.3f, 0.4f}, 3.f, 1.f},
    {{K::kHardSigmoid, 0.3f, 0.4f}, -2.f, 0.f},
    {{K::kHardSwish}, 1.f, 0.6666667f},  // 1 * (1/6 + 1/2)
    {{K::kHardSwish}, -4.f, 0.f},
    {{K::kHardSwish}, 4.f, 4.f},
    {{K::kSwish, 1.f}, 2.f, 1.7615942f},  // 2 * sigmoid(2)
    {{K::kSwish, 1.f}, -1.f, -0.2689414f},
    {{K::kSwish, 2.f}, 1.f, 0.8807971f},  // 1 * sigmoid(2)
    {{K::kGelu}, 1.f, 0.8413447f},        // Phi(1)
    {{K::kGelu}, -1.f, -0.1586553f},
    {{K::kGeluTanh}, 1.f, 0.8411920f},
    {{K::kGeluTanh}, -2.f, -0.0454023f},
    {{K::kElu, 0.7f}, -1.f, -0.4424847f},  // 0.7 * (e^-1 - 1)
    {{K::kElu, 0.7f}, 2.f, 2.f},
    {{K::kMish}, 1.f, 0.8650984f},  // tanh(ln(1 + e))
    {{K::kMish}, -1.f, -0.3034015f},
    {{K::kMish}, -20.f, -4.122307e-08f},
};

TEST(ActivationOracle, HandComputedValuesForEveryKind) {
  for (const HandCase& c : kHandCases) {
    EXPECT_NEAR(kernels::ref::activation_scalar(c.act, c.x), c.expected, 1e-6f * std::max(1.f, std::fabs(c.expected)))
        << c.act.describe() << " at " << c.x;
    EXPECT_NEAR(kernels::ref::activation_scalar(c.act, double{c.x}), c.expected,
                1e-6 * std::max(1.f, std::fabs(c.expected)))
        << c.act.describe() << " in double at " << c.x;
  }
  for (const ir::Activation& a : all_activations()) {
    const bool covered = std::any_of(std::begin(kHandCases), std::end(kHandCases),
                                     [&](const HandCase& c) { return c.act.kind == a.kind; });
    EXPECT_TRUE(covered) << "no hand-computed value for " << a.describe() << ": add one to kHandCases";
  }
}

TEST(ActivationOracle, ClipKeepsNaNAndAppliesInPlace) {
  const ir::Activation clip{K::kClip, 0.f, 1.f};
  EXPECT_TRUE(std::isnan(kernels::ref::activation_scalar(clip, std::nanf(""))));
  std::vector<float> y = {-1.f, 0.5f, 3.f};
  kernels::ref::apply_activation(clip, y.data(), 3);
  EXPECT_EQ(y, (std::vector<float>{0.f, 0.5f, 1.f}));
}

// The oracle applied to a plain tensor.
Tensor oracle(const ir::Activation& act, const Tensor& x) {
  Tensor y = x.clone();
  kernels::ref::apply_activation(act, y.data<float>(), y.numel());
  return y;
}

TEST(ActivationDnnl, StandaloneActivationMatchesOracleForEveryKind) {
  std::mt19937 rng(5);
  for (const ir::Activation& act : all_activations()) {
    for (const Shape& shape : {Shape{2, 16, 5, 5}, Shape{3, 7}}) {
      const Tensor x = random_tensor(shape, rng, -6.f, 6.f);
      ir::Attributes attrs;
      act.to_attributes(attrs);
      std::string impl;
      const Tensor y = run_plain(std::string(ir::kActivationOp), attrs, {Blob::plain(x)}, 13, dnnl_only_registry(),
                                 &impl, std::string(ir::kQwacDomain));
      EXPECT_EQ(impl, "dnnl") << act.describe();
      EXPECT_EQ(compare_tensors(y, oracle(act, x), kDnnlRtol, kDnnlAtol), "") << act.describe();
      const Tensor r = run_plain(std::string(ir::kActivationOp), attrs, {Blob::plain(x)}, 13,
                                 kernels::reference_kernel_registry(), nullptr, std::string(ir::kQwacDomain));
      EXPECT_EQ(compare_tensors(r, oracle(act, x), 0, 0), "") << "reference Activation " << act.describe();
    }
  }
}

// The ONNX op a kind stands for, on oneDNN and on the reference kernels, against the oracle.
TEST(ActivationDnnl, OnnxOpsMatchOracle) {
  std::mt19937 rng(8);
  constexpr int64_t kOpset = 20;  // HardSwish (14), Gelu (20)
  for (const ir::Activation& act : all_activations()) {
    const ir::ActivationFacts& f = ir::activation_facts(act.kind);
    if (f.onnx_op.empty()) continue;
    const Tensor x = random_tensor({2, 8, 4, 4}, rng, -6.f, 6.f);
    ir::Attributes attrs;
    std::vector<Blob> in = {Blob::plain(x)};
    if (act.kind == K::kClip) {
      in.push_back(Blob::plain(make_scalar(act.alpha), true));
      in.push_back(Blob::plain(make_scalar(act.beta), true));
    } else {
      if (f.num_params > 0) attrs.set(std::string(f.params[0]), act.alpha);
      if (f.num_params > 1) attrs.set(std::string(f.params[1]), act.beta);
    }
    for (const kernels::KernelRegistry* registry : {&dnnl_only_registry(), &kernels::reference_kernel_registry()}) {
      std::string impl;
      const Tensor y = run_plain(std::string(f.onnx_op), attrs, in, kOpset, *registry, &impl);
      EXPECT_EQ(compare_tensors(y, oracle(act, x), kDnnlRtol, kDnnlAtol), "") << f.onnx_op << " on " << impl;
    }
  }
}

}  // namespace
}  // namespace qwac::testing
