// Reference kernels of the NN family, part 3: BatchNormalization, InstanceNormalization, LRN, LayerNormalization,
// Softmax, LogSoftmax, Hardmax.
#include <gtest/gtest.h>

#include <cmath>

#include "ref_nn_test_util.h"

namespace qwac::testing {
namespace {

using nn::attrs;
using nn::f32;
using nn::Floats;
using nn::Ints;
using nn::run_ref;

TEST(RefNnBatchNorm, Inference) {
  const Tensor x = f32({1, 2, 1, 2}, {1, 2, 3, 4});
  const std::vector<Tensor> in{x, f32({2}, {1, 2}), f32({2}, {0, 1}), f32({2}, {1, 3}), f32({2}, {4, 0.25f})};
  const ir::Attributes a = attrs({{"epsilon", 0.f}});
  for (int64_t opset : {7, 9, 14, 15}) {
    SCOPED_TRACE("opset " + std::to_string(opset));
    expect_tensor_near(run_ref("BatchNormalization", a, in, opset)[0], f32({1, 2, 1, 2}, {0, 0.5f, 1, 5}));
  }
  // Default epsilon 1e-5 applies.
  const auto y = run_ref("BatchNormalization", {}, in, 15);
  EXPECT_NEAR(y[0].data<float>()[1], 1.f / std::sqrt(4.f + 1e-5f) * 1.f, 1e-6);
}

TEST(RefNnBatchNorm, PerActivationSpatialZeroOpset7) {
  // spatial=0: parameters are C x D1 (here 2 x 2), one per activation.
  const Tensor x = f32({2, 2, 2}, {1, 2, 3, 4, 5, 6, 7, 8});
  const std::vector<Tensor> in{x, f32({2, 2}, {1, 1, 1, 2}), f32({2, 2}, {0, 0, 0, 1}), f32({2, 2}, {1, 2, 3, 4}),
                               f32({2, 2}, {1, 1, 1, 1})};
  const auto y = run_ref("BatchNormalization", attrs({{"epsilon", 0.f}, {"spatial", int64_t{0}}}), in, 7);
  expect_tensor_near(y[0], f32({2, 2, 2}, {0, 0, 0, 1, 4, 4, 4, 9}));
}

TEST(RefNnBatchNorm, TrainingIsUnsupportedAndShapesChecked) {
  const Tensor x = f32({1, 2, 1, 1}, {1, 2});
  const Tensor p = f32({2}, {1, 1});
  EXPECT_THROW(run_ref("BatchNormalization", attrs({{"training_mode", int64_t{1}}}), {x, p, p, p, p}, 15),
               UnsupportedOp);
  EXPECT_THROW(run_ref("BatchNormalization", {}, {x, p, p, p, p}, 9, 5), UnsupportedOp);
  EXPECT_THROW(run_ref("BatchNormalization", {}, {x, p, p, f32({3}, {1, 1, 1}), p}, 15), InvalidModel);
}

TEST(RefNnInstanceNorm, PerInstanceStatistics) {
  // Channel 0: mean 2.5, variance 1.25; channel 1: mean 0, variance 4.
  const Tensor x = f32({1, 2, 4}, {1, 2, 3, 4, -2, 2, -2, 2});
  const auto y = run_ref("InstanceNormalization", attrs({{"epsilon", 0.f}}), {x, f32({2}, {1, 2}), f32({2}, {0, 1})},
                         6);
  const float s = 1.f / std::sqrt(1.25f);
  expect_tensor_near(y[0], f32({1, 2, 4}, {-1.5f * s, -0.5f * s, 0.5f * s, 1.5f * s, -1, 3, -1, 3}));
  EXPECT_THROW(run_ref("InstanceNormalization", {}, {x, f32({3}, {1, 1, 1}), f32({2}, {0, 0})}, 6), InvalidModel);
}

TEST(RefNnLrn, SpecFormulaEvenAndOddSize) {
  const Tensor x = f32({1, 3, 1, 1}, {1, 2, 3});
  // size 2: window [c, c + 1] (floor((2-1)/2) = 0 before, ceil((2-1)/2) = 1 after); alpha / size = 0.5.
  auto y = run_ref("LRN", attrs({{"size", int64_t{2}}, {"alpha", 1.f}, {"beta", 1.f}, {"bias", 1.f}}), {x}, 13);
  expect_tensor_near(y[0], f32({1, 3, 1, 1}, {1 / 3.5f, 2 / 7.5f, 3 / 5.5f}));
  // size 3: window [c - 1, c + 1]; defaults alpha 1e-4, beta 0.75, bias 1.
  y = run_ref("LRN", attrs({{"size", int64_t{3}}}), {x}, 13);
  auto e = [](float v, float sq) { return v / std::pow(1.f + 1e-4f / 3 * sq, 0.75f); };
  expect_tensor_near(y[0], f32({1, 3, 1, 1}, {e(1, 5), e(2, 14), e(3, 13)}));
  EXPECT_THROW(run_ref("LRN", {}, {x}, 13), InvalidModel);  // size is required
}

TEST(RefNnLayerNorm, LastAxisWithStatistics) {
  const Tensor x = f32({2, 2}, {1, 3, 2, 6});
  const auto y = run_ref("LayerNormalization", attrs({{"epsilon", 0.f}}), {x, f32({2}, {2, 3}), f32({2}, {1, 0})},
                         17, 3);
  expect_tensor_near(y[0], f32({2, 2}, {-1, 3, -1, 3}));
  expect_tensor_near(y[1], f32({2, 1}, {2, 4}));
  expect_tensor_near(y[2], f32({2, 1}, {1, 0.5f}));
}

TEST(RefNnLayerNorm, AxisZeroNoBiasAndBroadcastScale) {
  const Tensor x = f32({2, 2}, {1, 3, 1, 3});
  // axis 0 normalizes all four elements (mean 2, variance 1); a [1]-shaped Scale broadcasts.
  auto y = run_ref("LayerNormalization", attrs({{"epsilon", 0.f}, {"axis", int64_t{0}}}), {x, f32({1}, {2})}, 17, 3);
  expect_tensor_near(y[0], f32({2, 2}, {-2, 2, -2, 2}));
  expect_tensor_near(y[1], f32({1, 1}, {2}));
  EXPECT_THROW(run_ref("LayerNormalization", {}, {x, f32({3}, {1, 1, 1})}, 17), InvalidModel);
  EXPECT_THROW(run_ref("LayerNormalization", attrs({{"stash_type", int64_t{11}}}), {x, f32({2}, {1, 1})}, 17),
               UnsupportedOp);
}

// ----------------------------------------------------------------------------------------- softmax family

const Tensor kX = f32({1, 2, 2}, {1, 2, 3, 4});

TEST(RefNnSoftmax, Opset11CoercesTo2dOpset13IsPerAxis) {
  const float a = 0.26894142f, b = 0.73105858f;
  // Opset 13, default axis -1: each row of two.
  expect_tensor_near(run_ref("Softmax", {}, {kX}, 13)[0], f32({1, 2, 2}, {a, b, a, b}));
  // Opset 11, default axis 1: coerced to [1, 4], one softmax over all four values.
  expect_tensor_near(run_ref("Softmax", {}, {kX}, 11)[0],
                     f32({1, 2, 2}, {0.0320586f, 0.0871443f, 0.2368828f, 0.6439143f}));
  // Opset 11 with axis 2 equals opset 13 with axis -1 here; opset 13 axis 1 runs down the columns.
  expect_tensor_near(run_ref("Softmax", attrs({{"axis", int64_t{2}}}), {kX}, 11)[0], f32({1, 2, 2}, {a, b, a, b}));
  expect_tensor_near(run_ref("Softmax", attrs({{"axis", int64_t{1}}}), {kX}, 13)[0],
                     f32({1, 2, 2}, {0.1192029f, 0.1192029f, 0.8807971f, 0.8807971f}));
  EXPECT_THROW(run_ref("Softmax", attrs({{"axis", int64_t{3}}}), {kX}, 13), InvalidModel);
}

TEST(RefNnSoftmax, LargeInputsAreStable) {
  const auto y = run_ref("Softmax", {}, {f32({1, 2}, {1000, 1001})}, 13);
  expect_tensor_near(y[0], f32({1, 2}, {0.26894142f, 0.73105858f}));
  const auto l = run_ref("LogSoftmax", {}, {f32({1, 2}, {1000, 1001})}, 13);
  expect_tensor_near(l[0], f32({1, 2}, {-1.3132617f, -0.3132617f}));
}

TEST(RefNnLogSoftmax, Opset11VersusOpset13) {
  expect_tensor_near(run_ref("LogSoftmax", {}, {kX}, 13)[0],
                     f32({1, 2, 2}, {-1.3132617f, -0.3132617f, -1.3132617f, -0.3132617f}));
  expect_tensor_near(run_ref("LogSoftmax", {}, {kX}, 11)[0],
                     f32({1, 2, 2}, {-3.4401897f, -2.4401897f, -1.4401897f, -0.4401897f}));
}

TEST(RefNnHardmax, Opset11VersusOpset13AndTies) {
  expect_tensor_eq(run_ref("Hardmax", {}, {kX}, 11)[0], f32({1, 2, 2}, {0, 0, 0, 1}));
  expect_tensor_eq(run_ref("Hardmax", {}, {kX}, 13)[0], f32({1, 2, 2}, {0, 1, 0, 1}));
  expect_tensor_eq(run_ref("Hardmax", attrs({{"axis", int64_t{0}}}), {f32({2, 2}, {3, 1, 3, 2})}, 13)[0],
                   f32({2, 2}, {1, 0, 0, 1}));
}

}  // namespace
}  // namespace qwac::testing
