// QuantizeLinear / DequantizeLinear reference kernels: hand-computed saturation, round-half-to-even, zero points,
// per-axis layouts and every supported integer type.
#include <gtest/gtest.h>

#include <cmath>
#include <random>

#include "kernels/kernel_test_util.h"

namespace qwac::testing {
namespace {

using ir::Attributes;

Tensor quantize(const Tensor& x, const Tensor& scale, const Tensor& zp, int64_t opset = 13, Attributes attrs = {}) {
  return run_single_node("QuantizeLinear", attrs, {x, scale, zp}, opset)[0];
}

Tensor dequantize(const Tensor& x, const Tensor& scale, const Tensor& zp, int64_t opset = 13, Attributes attrs = {}) {
  return run_single_node("DequantizeLinear", attrs, {x, scale, zp}, opset)[0];
}

TEST(RefQuantizeLinear, DefaultsToUint8AndSaturatesAtBothEnds) {
  // No zero point: uint8 output, zero point 0; negatives saturate to 0, large values to 255.
  const Tensor x = make_tensor<float>({8}, {0.f, 0.5f, 1.5f, 2.5f, -0.5f, -3.f, 255.4f, 1000.f});
  const Tensor y = quantize(x, make_scalar(1.f), Tensor());
  expect_tensor_eq(y, make_tensor<uint8_t>({8}, {0, 0, 2, 2, 0, 0, 255, 255}));
}

TEST(RefQuantizeLinear, RoundsHalfToEven) {
  const Tensor x = make_tensor<float>({9}, {0.5f, 1.5f, 2.5f, -0.5f, -1.5f, -2.5f, 3.5f, 0.49f, -0.51f});
  const Tensor y = quantize(x, make_scalar(1.f), make_scalar<int8_t>(0));
  expect_tensor_eq(y, make_tensor<int8_t>({9}, {0, 2, 2, 0, -2, -2, 4, 0, -1}));
}

TEST(RefQuantizeLinear, RoundsBeforeAddingZeroPointWithPowerOfTwoScale) {
  // x / 0.5 = [-128, 0, 0.5, 1.5, 127, 128, -129]; round half to even; + 128; saturate to [0, 255].
  const Tensor x = make_tensor<float>({7}, {-64.f, 0.f, 0.25f, 0.75f, 63.5f, 64.f, -64.5f});
  const Tensor y = quantize(x, make_scalar(0.5f), make_scalar<uint8_t>(128));
  expect_tensor_eq(y, make_tensor<uint8_t>({7}, {0, 128, 128, 130, 255, 255, 0}));
}

TEST(RefQuantizeLinear, Int8SaturatesAtBothEnds) {
  const Tensor x = make_tensor<float>({6}, {-1000.f, 1000.f, 127.4f, 127.5f, -128.5f, -128.6f});
  const Tensor y = quantize(x, make_scalar(1.f), make_scalar<int8_t>(0));
  // 127.5 rounds to 128 (even) and saturates; -128.5 rounds to -128 (even).
  expect_tensor_eq(y, make_tensor<int8_t>({6}, {-128, 127, 127, 127, -128, -128}));
}

TEST(RefQuantizeLinear, Int8ZeroPointShiftsBeforeSaturation) {
  // scale 2, zp -10: x/2 = [-60, -59.5 -> -60, 0, 68.5 -> 68, 100] + (-10) = [-70, -70, -10, 58, 90]; then -200/2-10.
  const Tensor x = make_tensor<float>({6}, {-120.f, -119.f, 0.f, 137.f, 200.f, -300.f});
  const Tensor y = quantize(x, make_scalar(2.f), make_scalar<int8_t>(-10));
  expect_tensor_eq(y, make_tensor<int8_t>({6}, {-70, -70, -10, 58, 90, -128}));
}

TEST(RefQuantizeLinear, Int16AndUint16) {
  const Tensor x = make_tensor<float>({4}, {40000.f, -40000.f, 1.5f, -2.5f});
  expect_tensor_eq(quantize(x, make_scalar(1.f), make_scalar<int16_t>(0), 21),
                   make_tensor<int16_t>({4}, {32767, -32768, 2, -2}));
  expect_tensor_eq(quantize(x, make_scalar(1.f), make_scalar<uint16_t>(32768), 21),
                   make_tensor<uint16_t>({4}, {65535, 0, 32770, 32766}));
}

TEST(RefQuantizeLinear, Opset21OutputDtypeWithoutZeroPoint) {
  Attributes attrs;
  attrs.set("output_dtype", static_cast<int64_t>(DType::kInt16));
  const Tensor y = quantize(make_tensor<float>({3}, {-3.5f, 0.5f, 70000.f}), make_scalar(1.f), Tensor(), 21, attrs);
  expect_tensor_eq(y, make_tensor<int16_t>({3}, {-4, 0, 32767}));
}

TEST(RefQuantizeLinear, Opset21OutputDtypeMustMatchZeroPoint) {
  Attributes attrs;
  attrs.set("output_dtype", static_cast<int64_t>(DType::kInt16));
  EXPECT_THROW(quantize(make_tensor<float>({1}, {1.f}), make_scalar(1.f), make_scalar<int8_t>(0), 21, attrs),
               InvalidModel);
}

TEST(RefQuantizeLinear, BlockedQuantizationIsUnsupported) {
  Attributes attrs;
  attrs.set("block_size", int64_t{2});
  EXPECT_THROW(quantize(make_tensor<float>({2, 2}, {1.f, 2.f, 3.f, 4.f}), make_tensor<float>({2, 1}, {1.f, 1.f}),
                        Tensor(), 21, attrs),
               UnsupportedOp);
}

TEST(RefQuantizeLinear, PerAxisOnAxis0) {
  Attributes attrs;
  attrs.set("axis", int64_t{0});
  // Row 0: scale 1, zp 0. Row 1: scale 2, zp 10: [4,5,6]/2 = [2, 2.5 -> 2, 3] + 10.
  const Tensor y = quantize(make_tensor<float>({2, 3}, {1.f, 2.f, 3.f, 4.f, 5.f, 6.f}),
                            make_tensor<float>({2}, {1.f, 2.f}), make_tensor<int8_t>({2}, {0, 10}), 13, attrs);
  expect_tensor_eq(y, make_tensor<int8_t>({2, 3}, {1, 2, 3, 12, 12, 13}));
}

TEST(RefQuantizeLinear, PerAxisOnAxis1IsTheDefault) {
  // Columns: scale [1, 2, 4], zp [0, 1, 2]: col1 [2,6]/2 = [1,3] + 1; col2 [3,10]/4 = [0.75 -> 1, 2.5 -> 2] + 2.
  const Tensor x = make_tensor<float>({2, 3}, {1.f, 2.f, 3.f, 4.f, 6.f, 10.f});
  const Tensor scale = make_tensor<float>({3}, {1.f, 2.f, 4.f});
  const Tensor zp = make_tensor<uint8_t>({3}, {0, 1, 2});
  expect_tensor_eq(quantize(x, scale, zp), make_tensor<uint8_t>({2, 3}, {1, 2, 3, 4, 4, 4}));
  Attributes neg;
  neg.set("axis", int64_t{-1});
  expect_tensor_eq(quantize(x, scale, zp, 13, neg), make_tensor<uint8_t>({2, 3}, {1, 2, 3, 4, 4, 4}));
}

TEST(RefQuantizeLinear, PerAxisOnMiddleAxisOfRank4) {
  // NCHW with 2 channels: channel 1 uses scale 0.5.
  const Tensor x = make_tensor<float>({1, 2, 1, 2}, {1.f, -1.f, 1.f, -1.25f});
  const Tensor y = quantize(x, make_tensor<float>({2}, {1.f, 0.5f}), make_tensor<int8_t>({2}, {0, 0}));
  expect_tensor_eq(y, make_tensor<int8_t>({1, 2, 1, 2}, {1, -1, 2, -2}));
}

TEST(RefQuantizeLinear, PerAxisScaleOfWrongLengthIsInvalid) {
  EXPECT_THROW(quantize(make_tensor<float>({2, 3}, {1, 2, 3, 4, 5, 6}), make_tensor<float>({2}, {1.f, 1.f}), Tensor()),
               InvalidModel);
  // Opset 10 has no per-axis quantization.
  EXPECT_THROW(quantize(make_tensor<float>({2, 2}, {1, 2, 3, 4}), make_tensor<float>({2}, {1.f, 1.f}), Tensor(), 10),
               InvalidModel);
}

TEST(RefQuantizeLinear, Int32Input) {
  const Tensor y = quantize(make_tensor<int32_t>({4}, {-7, 5, 3, 1000}), make_scalar(2.f), make_scalar<int8_t>(1));
  // -3.5 -> -4, 2.5 -> 2, 1.5 -> 2, 500 -> saturate; then + 1.
  expect_tensor_eq(y, make_tensor<int8_t>({4}, {-3, 3, 3, 127}));
}

TEST(RefDequantizeLinear, PerTensorAllTypes) {
  expect_tensor_eq(dequantize(make_tensor<int8_t>({3}, {-128, 0, 127}), make_scalar(0.5f), make_scalar<int8_t>(-1)),
                   make_tensor<float>({3}, {-63.5f, 0.5f, 64.f}));
  expect_tensor_eq(dequantize(make_tensor<uint8_t>({3}, {0, 128, 255}), make_scalar(0.25f), make_scalar<uint8_t>(128)),
                   make_tensor<float>({3}, {-32.f, 0.f, 31.75f}));
  expect_tensor_eq(dequantize(make_tensor<uint8_t>({2}, {0, 255}), make_scalar(2.f), Tensor()),
                   make_tensor<float>({2}, {0.f, 510.f}));
  expect_tensor_eq(
      dequantize(make_tensor<int16_t>({2}, {-32768, 32767}), make_scalar(1.f), make_scalar<int16_t>(-32768), 21),
      make_tensor<float>({2}, {0.f, 65535.f}));
  expect_tensor_eq(
      dequantize(make_tensor<uint16_t>({2}, {0, 65535}), make_scalar(0.5f), make_scalar<uint16_t>(32768), 21),
      make_tensor<float>({2}, {-16384.f, 16383.5f}));
}

TEST(RefDequantizeLinear, Int32BiasPerTensorAndPerAxis) {
  expect_tensor_eq(dequantize(make_tensor<int32_t>({3}, {-4, 0, 10}), make_scalar(0.25f), Tensor()),
                   make_tensor<float>({3}, {-1.f, 0.f, 2.5f}));
  Attributes attrs;
  attrs.set("axis", int64_t{0});
  expect_tensor_eq(
      dequantize(make_tensor<int32_t>({2}, {100, -100}), make_tensor<float>({2}, {0.5f, 0.25f}), Tensor(), 13, attrs),
      make_tensor<float>({2}, {50.f, -25.f}));
}

TEST(RefDequantizeLinear, PerAxisAxis0And1) {
  Attributes axis0;
  axis0.set("axis", int64_t{0});
  const Tensor x = make_tensor<int8_t>({2, 2}, {10, 20, 10, 20});
  expect_tensor_eq(dequantize(x, make_tensor<float>({2}, {1.f, 0.5f}), make_tensor<int8_t>({2}, {0, 10}), 13, axis0),
                   make_tensor<float>({2, 2}, {10.f, 20.f, 0.f, 5.f}));
  expect_tensor_eq(dequantize(x, make_tensor<float>({2}, {1.f, 0.5f}), make_tensor<int8_t>({2}, {0, 10})),
                   make_tensor<float>({2, 2}, {10.f, 5.f, 10.f, 5.f}));
}

TEST(RefDequantizeLinear, ZeroPointTypeMustMatchInput) {
  EXPECT_THROW(dequantize(make_tensor<int8_t>({1}, {1}), make_scalar(1.f), make_scalar<uint8_t>(0)), InvalidModel);
}

TEST(RefQuantizeDequantize, RoundTripErrorIsAtMostHalfAStep) {
  std::mt19937 rng(1234);
  for (int trial = 0; trial < 5; ++trial) {
    const float scale = std::uniform_real_distribution<float>(0.001f, 0.1f)(rng);
    const int8_t zp = static_cast<int8_t>(std::uniform_int_distribution<int>(-20, 20)(rng));
    const float lo = (-128 - zp) * scale, hi = (127 - zp) * scale;
    const Tensor x = random_tensor({3, 50}, rng, lo, hi);
    const Tensor q = quantize(x, make_scalar(scale), make_scalar(zp));
    const Tensor r = dequantize(q, make_scalar(scale), make_scalar(zp));
    for (int64_t i = 0; i < x.numel(); ++i) {
      ASSERT_LE(std::abs(r.data<float>()[i] - x.data<float>()[i]), scale * 0.5f * 1.0001f)
          << "trial " << trial << " scale " << scale << " zp " << int(zp) << " x " << x.data<float>()[i];
    }
  }
}

}  // namespace
}  // namespace qwac::testing
