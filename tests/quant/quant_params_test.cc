// Quantization parameter math (hand-computed cases) and element-wise quantization, checked against the ONNX
// QuantizeLinear reference kernel on random data with ties and saturation.
#include "quant/quant_params.h"

#include <gtest/gtest.h>

#include <cmath>
#include <limits>
#include <random>

#include "kernels/kernel_test_util.h"

namespace qwac::quant {
namespace {

using testing::make_scalar;
using testing::make_tensor;
using testing::tensor_values;

QuantizerSpec spec(QuantMode mode, bool is_signed = true) {
  QuantizerSpec s;
  s.mode = mode;
  s.is_signed = is_signed;
  return s;
}

TEST(QuantizeValue, RoundsHalfToEven) {
  EXPECT_EQ(quantize_value(2.5f, 1.f, 0, -128, 127), 2);
  EXPECT_EQ(quantize_value(-2.5f, 1.f, 0, -128, 127), -2);
  EXPECT_EQ(quantize_value(3.5f, 1.f, 0, -128, 127), 4);
  EXPECT_EQ(quantize_value(0.5f, 1.f, 0, -128, 127), 0);
  EXPECT_EQ(quantize_value(-1.5f, 1.f, 0, -128, 127), -2);
  // Rounding happens before the zero-point is added: 2.5 -> 2, + 3 = 5 (not round(5.5) = 6).
  EXPECT_EQ(quantize_value(1.25f, 0.5f, 3, 0, 255), 5);
}

TEST(QuantizeValue, Saturates) {
  EXPECT_EQ(quantize_value(200.f, 1.f, 0, -128, 127), 127);
  EXPECT_EQ(quantize_value(-200.f, 1.f, 0, -128, 127), -128);
  EXPECT_EQ(quantize_value(-1000.f, 1.f, 0, -127, 127), -127);  // narrow range
  EXPECT_EQ(quantize_value(-1.f, 0.1f, 128, 0, 255), 118);
  EXPECT_EQ(quantize_value(-20.f, 0.1f, 128, 0, 255), 0);
  EXPECT_EQ(quantize_value(std::numeric_limits<float>::infinity(), 1.f, 0, -128, 127), 127);
  EXPECT_EQ(quantize_value(-std::numeric_limits<float>::infinity(), 1.f, 0, 0, 255), 0);
  EXPECT_EQ(quantize_value(std::nanf(""), 1.f, 7, 0, 255), 7);  // NaN -> zero-point, as the ONNX kernels
  // int32 range (bias): no precision lost in the zero-point sum, no overflow in the clamp.
  EXPECT_EQ(quantize_value(1e12f, 1.f, 0, std::numeric_limits<int32_t>::min(), std::numeric_limits<int32_t>::max()),
            std::numeric_limits<int32_t>::max());
  EXPECT_FLOAT_EQ(dequantize_value(-3, 0.5f, 1), -2.f);
}

TEST(ComputeQuantParams, SymmetricSigned) {
  const QuantParams p = compute_quant_params(spec(QuantMode::kSymmetric), {-1.f}, {2.54f}, "t");
  EXPECT_EQ(p.dtype, DType::kInt8);
  EXPECT_EQ(p.axis, -1);
  ASSERT_EQ(p.scale.size(), 1u);
  EXPECT_FLOAT_EQ(p.scale[0], 0.02f);  // 2.54 / 127
  EXPECT_EQ(p.zero_point[0], 0);
  EXPECT_EQ(p.qmin, -128);
  EXPECT_EQ(p.qmax, 127);
  EXPECT_FLOAT_EQ(p.range_min[0], -128 * 0.02f);
  EXPECT_FLOAT_EQ(p.range_max[0], 127 * 0.02f);
  // The larger magnitude wins, whichever side it is on.
  EXPECT_FLOAT_EQ(compute_quant_params(spec(QuantMode::kSymmetric), {-2.54f}, {1.f}, "t").scale[0], 0.02f);
}

TEST(ComputeQuantParams, NarrowRange) {
  QuantizerSpec s = spec(QuantMode::kSymmetric);
  s.narrow_range = true;
  const QuantParams p = compute_quant_params(s, {-1.27f}, {0.5f}, "w");
  EXPECT_EQ(p.qmin, -127);
  EXPECT_EQ(p.qmax, 127);
  EXPECT_FLOAT_EQ(p.scale[0], 0.01f);
  EXPECT_FLOAT_EQ(p.range_min[0], -1.27f);
  const Tensor q = quantize_tensor(make_tensor<float>({2}, {-5.f, 5.f}), p);
  EXPECT_EQ(tensor_values<int8_t>(q), (std::vector<int8_t>{-127, 127}));
}

TEST(ComputeQuantParams, SymmetricUnsignedFromRange) {
  QuantizerSpec s = spec(QuantMode::kSymmetric);
  s.signedness_from_range = true;
  const QuantParams p = compute_quant_params(s, {0.f}, {5.1f}, "relu");
  EXPECT_EQ(p.dtype, DType::kUInt8);
  EXPECT_EQ(p.qmin, 0);
  EXPECT_EQ(p.qmax, 255);
  EXPECT_FLOAT_EQ(p.scale[0], 0.02f);  // 5.1 / 255
  EXPECT_EQ(p.zero_point[0], 0);
  // A negative minimum keeps it signed.
  const QuantParams signed_p = compute_quant_params(s, {-0.1f}, {2.54f}, "x");
  EXPECT_EQ(signed_p.dtype, DType::kInt8);
  EXPECT_FLOAT_EQ(signed_p.scale[0], 0.02f);
  // Explicitly unsigned: uint8 whatever the range.
  const QuantParams u = compute_quant_params(spec(QuantMode::kSymmetric, false), {-1.f}, {2.55f}, "x");
  EXPECT_EQ(u.dtype, DType::kUInt8);
  EXPECT_FLOAT_EQ(u.scale[0], 0.01f);
}

TEST(ComputeQuantParams, AsymmetricWidensToZeroAndZeroIsExact) {
  // [-1, 3]: scale 4/255, zero-point round(1 / (4/255)) = round(63.75) = 64.
  const QuantParams p = compute_quant_params(spec(QuantMode::kAsymmetric), {-1.f}, {3.f}, "x");
  EXPECT_EQ(p.dtype, DType::kUInt8);
  EXPECT_FLOAT_EQ(p.scale[0], 4.f / 255.f);
  EXPECT_EQ(p.zero_point[0], 64);
  EXPECT_EQ(quantize_value(0.f, p.scale[0], p.zero_point[0], p.qmin, p.qmax), 64);
  EXPECT_EQ(dequantize_value(64, p.scale[0], p.zero_point[0]), 0.f);
  EXPECT_FLOAT_EQ(p.range_min[0], -64 * 4.f / 255.f);
  EXPECT_FLOAT_EQ(p.range_max[0], 191 * 4.f / 255.f);
  // Positive-only range widened to [0, 3]: zero-point 0.
  const QuantParams pos = compute_quant_params(spec(QuantMode::kAsymmetric), {1.f}, {3.f}, "x");
  EXPECT_FLOAT_EQ(pos.scale[0], 3.f / 255.f);
  EXPECT_EQ(pos.zero_point[0], 0);
  // Negative-only range widened to [-2, 0]: zero-point 255.
  const QuantParams neg = compute_quant_params(spec(QuantMode::kAsymmetric), {-2.f}, {-1.f}, "x");
  EXPECT_FLOAT_EQ(neg.scale[0], 2.f / 255.f);
  EXPECT_EQ(neg.zero_point[0], 255);
}

TEST(ComputeQuantParams, DegenerateRangeGetsScaleOne) {
  for (QuantMode mode : {QuantMode::kSymmetric, QuantMode::kAsymmetric}) {
    const QuantParams p = compute_quant_params(spec(mode), {0.f}, {0.f}, "zeros");
    EXPECT_EQ(p.scale[0], 1.f);
    EXPECT_EQ(p.zero_point[0], 0);
  }
}

TEST(ComputeQuantParams, PerChannel) {
  QuantizerSpec s = spec(QuantMode::kSymmetric);
  s.granularity = Granularity::kPerChannel;
  s.axis = 0;
  s.narrow_range = true;
  const QuantParams p = compute_quant_params(s, {-1.27f, -0.1f, 0.f}, {0.5f, 2.54f, 0.f}, "w");
  EXPECT_EQ(p.axis, 0);
  ASSERT_EQ(p.scale.size(), 3u);
  EXPECT_FLOAT_EQ(p.scale[0], 0.01f);
  EXPECT_FLOAT_EQ(p.scale[1], 0.02f);
  EXPECT_EQ(p.scale[2], 1.f);  // an all-zero channel
  EXPECT_EQ(p.zero_point, (std::vector<int32_t>{0, 0, 0}));
}

TEST(ComputeQuantParams, SixteenBits) {
  QuantizerSpec s = spec(QuantMode::kSymmetric);
  s.bits = 16;
  const QuantParams p = compute_quant_params(s, {-1.f}, {32.767f}, "x");
  EXPECT_EQ(p.dtype, DType::kInt16);
  EXPECT_EQ(p.qmin, -32768);
  EXPECT_EQ(p.qmax, 32767);
  EXPECT_FLOAT_EQ(p.scale[0], 0.001f);
  s.mode = QuantMode::kAsymmetric;
  EXPECT_EQ(compute_quant_params(s, {-1.f}, {1.f}, "x").dtype, DType::kUInt16);
}

TEST(ComputeQuantParams, RejectsNonFiniteAndInvertedRanges) {
  const QuantizerSpec s = spec(QuantMode::kSymmetric);
  EXPECT_THROW(compute_quant_params(s, {std::nanf("")}, {1.f}, "conv1 input 0"), DataError);
  EXPECT_THROW(compute_quant_params(s, {0.f}, {std::numeric_limits<float>::infinity()}, "x"), DataError);
  EXPECT_THROW(compute_quant_params(s, {1.f}, {0.f}, "x"), DataError);
  try {
    compute_quant_params(s, {std::nanf("")}, {1.f}, "conv1 input 0");
  } catch (const DataError& e) {
    EXPECT_NE(std::string(e.what()).find("conv1 input 0"), std::string::npos) << e.what();
  }
  QuantizerSpec bad = s;
  bad.bits = 4;
  EXPECT_THROW(compute_quant_params(bad, {-1.f}, {1.f}, "x"), InvalidConfig);
}

QuantParams params(DType dtype, int64_t axis, std::vector<float> scale, std::vector<int32_t> zp) {
  QuantParams p;
  p.dtype = dtype;
  p.axis = axis;
  p.scale = std::move(scale);
  p.zero_point = std::move(zp);
  const bool is_signed = dtype == DType::kInt8;
  p.qmin = is_signed ? -128 : 0;
  p.qmax = is_signed ? 127 : 255;
  return p;
}

TEST(QuantizeTensor, PerTensorTiesAndSaturation) {
  const QuantParams p = params(DType::kInt8, -1, {0.5f}, {0});
  const Tensor x = make_tensor<float>({6}, {1.25f, -1.25f, 1.75f, 100.f, -100.f, 0.3f});
  EXPECT_EQ(tensor_values<int8_t>(quantize_tensor(x, p)), (std::vector<int8_t>{2, -2, 4, 127, -128, 1}));
  EXPECT_EQ(tensor_values<float>(fake_quantize_tensor(x, p)),
            (std::vector<float>{1.f, -1.f, 2.f, 63.5f, -64.f, 0.5f}));
}

TEST(QuantizeTensor, PerAxis) {
  // [2, 3] along axis 1: scales 1, 2, 4 per column; uint8 with zero-points 10, 0, 255.
  const QuantParams p = params(DType::kUInt8, 1, {1.f, 2.f, 4.f}, {10, 0, 255});
  const Tensor x = make_tensor<float>({2, 3}, {-3.f, 5.f, -6.f, 300.f, -1.f, 2.f});
  EXPECT_EQ(tensor_values<uint8_t>(quantize_tensor(x, p)), (std::vector<uint8_t>{7, 2, 253, 255, 0, 255}));
  EXPECT_EQ(tensor_values<float>(fake_quantize_tensor(x, p)),
            (std::vector<float>{-3.f, 4.f, -8.f, 245.f, 0.f, 0.f}));
  // Along axis 0: one scale per row.
  const QuantParams rows = params(DType::kInt8, 0, {1.f, 0.5f}, {0, 0});
  EXPECT_EQ(tensor_values<int8_t>(quantize_tensor(x, rows)), (std::vector<int8_t>{-3, 5, -6, 127, -2, 4}));
  EXPECT_THROW(quantize_tensor(make_tensor<float>({4, 3}, std::vector<float>(12, 0.f)), rows), InvalidArgument);
}

// quantize_tensor equals the ONNX QuantizeLinear reference kernel, values chosen to hit ties and saturation.
TEST(QuantizeTensor, EqualsQuantizeLinearKernel) {
  std::mt19937 rng(5);
  std::uniform_int_distribution<int> half_steps(-600, 600);
  std::uniform_real_distribution<float> any(-300.f, 300.f);
  for (const QuantParams& p : {params(DType::kInt8, -1, {0.37f}, {0}), params(DType::kUInt8, -1, {0.25f}, {131}),
                               params(DType::kInt8, 0, {0.5f, 0.1f, 3.f}, {0, 0, 0})}) {
    std::vector<float> values(3 * 50);
    for (size_t i = 0; i < values.size(); ++i) {
      values[i] = i % 2 == 0 ? half_steps(rng) * 0.5f * p.scale[0] : any(rng);
    }
    const Tensor x = make_tensor<float>({3, 50}, values);
    const Shape shape = p.axis < 0 ? Shape{} : Shape{3};
    Tensor scale = Tensor::from_values<float>(shape, p.scale.data());
    Tensor zp(p.dtype, shape);
    for (size_t c = 0; c < p.zero_point.size(); ++c) {
      if (p.dtype == DType::kInt8) zp.data<int8_t>()[c] = static_cast<int8_t>(p.zero_point[c]);
      if (p.dtype == DType::kUInt8) zp.data<uint8_t>()[c] = static_cast<uint8_t>(p.zero_point[c]);
    }
    ir::Attributes attrs;
    attrs.set("axis", int64_t{0});
    const Tensor expected = testing::run_single_node("QuantizeLinear", attrs, {x, scale, zp}, 13)[0];
    EXPECT_EQ(testing::compare_tensors_exact(quantize_tensor(x, p), expected), "")
        << "dtype " << dtype_name(p.dtype) << " axis " << p.axis;
    const Tensor dq = testing::run_single_node("DequantizeLinear", attrs, {expected, scale, zp}, 13)[0];
    EXPECT_EQ(testing::compare_tensors_exact(fake_quantize_tensor(x, p), dq), "");
  }
}

}  // namespace
}  // namespace qwac::quant
