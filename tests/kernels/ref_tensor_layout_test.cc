// Reference kernels and shape inference of the data-movement ops: Reshape, Flatten, Squeeze, Unsqueeze, Transpose,
// Concat, Split, Slice, Gather, GatherElements, Shape, Size, Expand, Tile, Pad, Constant, ConstantOfShape, Range.
#include <gtest/gtest.h>

#include <climits>
#include <numeric>

#include "kernels/kernel_test_util.h"

namespace qwac::testing {
namespace {

using ir::Attributes;

// Runs a node whose inputs from index `first_const` on are compile-time constants (shape, starts, pads, ...).
std::vector<Tensor> run_const(const std::string& op, const Attributes& attrs, const std::vector<Tensor>& inputs,
                              int64_t opset, size_t first_const = 1, size_t num_outputs = 1) {
  SingleNodeOptions opts;
  for (size_t i = 0; i < inputs.size(); ++i) {
    opts.input_kinds.push_back(i >= first_const ? InputKind::kConstant : InputKind::kRuntime);
  }
  return run_single_node(op, attrs, inputs, opset, kernels::reference_kernel_registry(), num_outputs, opts);
}

Tensor iota_float(const Shape& shape) {
  std::vector<float> v(static_cast<size_t>(shape_numel(shape)));
  std::iota(v.begin(), v.end(), 0.f);
  return make_tensor<float>(shape, v);
}

Tensor ints(std::initializer_list<int64_t> v) {
  return make_tensor<int64_t>({static_cast<int64_t>(v.size())}, v);
}

Attributes attr_int(const std::string& name, int64_t v) {
  Attributes a;
  a.set(name, v);
  return a;
}

Attributes attr_ints(const std::string& name, std::vector<int64_t> v) {
  Attributes a;
  a.set(name, std::move(v));
  return a;
}

TEST(RefReshape, CopiesZeroDimsAndInfersMinusOne) {
  const Tensor x = iota_float({2, 3, 4});
  const Tensor y = run_const("Reshape", {}, {x, ints({0, -1})}, 13)[0];
  EXPECT_EQ(y.shape(), (Shape{2, 12}));
  expect_tensor_eq(y, iota_float({2, 12}));
  EXPECT_EQ(run_const("Reshape", {}, {x, ints({-1, 2, 2})}, 13)[0].shape(), (Shape{6, 2, 2}));
}

TEST(RefReshape, AllowZeroKeepsZeroAsADimension) {
  const Tensor x(DType::kFloat32, {0, 3});
  EXPECT_EQ(run_const("Reshape", attr_int("allowzero", 1), {x, ints({3, 0})}, 14)[0].shape(), (Shape{3, 0}));
}

TEST(RefReshape, MismatchExplainsHardCodedDimensions) {
  // A model exported at batch 1 reshaping to [1, 12] cannot run at batch 2.
  const Tensor x = iota_float({2, 3, 4});
  try {
    run_const("Reshape", {}, {x, ints({1, 12})}, 13);
    FAIL() << "expected InvalidModel";
  } catch (const InvalidModel& e) {
    const std::string msg = e.what();
    EXPECT_NE(msg.find("hard-codes dimensions"), std::string::npos) << msg;
    EXPECT_NE(msg.find("batch size"), std::string::npos) << msg;
    EXPECT_NE(msg.find("[2,3,4]"), std::string::npos) << msg;
    EXPECT_NE(msg.find("node"), std::string::npos) << msg;
  }
  EXPECT_THROW(run_const("Reshape", {}, {x, ints({5, -1})}, 13), InvalidModel);
  EXPECT_THROW(run_const("Reshape", {}, {x, ints({-1, -1})}, 13), InvalidModel);
}

TEST(RefReshape, DataDependentShapeIsUnsupported) {
  EXPECT_THROW(run_single_node("Reshape", {}, {iota_float({4}), ints({2, 2})}, 13), UnsupportedOp);
}

TEST(RefFlatten, Axes) {
  const Tensor x = iota_float({2, 3, 4});
  EXPECT_EQ(run_single_node("Flatten", {}, {x}, 13)[0].shape(), (Shape{2, 12}));
  EXPECT_EQ(run_single_node("Flatten", attr_int("axis", 0), {x}, 13)[0].shape(), (Shape{1, 24}));
  EXPECT_EQ(run_single_node("Flatten", attr_int("axis", 3), {x}, 13)[0].shape(), (Shape{24, 1}));
  const Tensor y = run_single_node("Flatten", attr_int("axis", -1), {x}, 13)[0];
  expect_tensor_eq(y, iota_float({6, 4}));
}

TEST(RefSqueezeUnsqueeze, AttributeAndInputForms) {
  const Tensor x = iota_float({1, 3, 1, 2});
  EXPECT_EQ(run_single_node("Squeeze", {}, {x}, 13)[0].shape(), (Shape{3, 2}));
  EXPECT_EQ(run_single_node("Squeeze", attr_ints("axes", {-2}), {x}, 11)[0].shape(), (Shape{1, 3, 2}));
  EXPECT_EQ(run_const("Squeeze", {}, {x, ints({0})}, 13)[0].shape(), (Shape{3, 1, 2}));
  EXPECT_THROW(run_const("Squeeze", {}, {x, ints({1})}, 13), InvalidModel);
  const Tensor u = run_const("Unsqueeze", {}, {iota_float({3, 2}), ints({0, -1})}, 13)[0];
  EXPECT_EQ(u.shape(), (Shape{1, 3, 2, 1}));
  expect_tensor_eq(u, iota_float({1, 3, 2, 1}));
  EXPECT_EQ(run_single_node("Unsqueeze", attr_ints("axes", {1}), {iota_float({3})}, 11)[0].shape(), (Shape{3, 1}));
}

TEST(RefTranspose, DefaultReversesAndPermMoves) {
  const Tensor x = iota_float({2, 3, 4});
  const Tensor y = run_single_node("Transpose", {}, {x}, 13)[0];
  ASSERT_EQ(y.shape(), (Shape{4, 3, 2}));
  const Tensor z = run_single_node("Transpose", attr_ints("perm", {1, 2, 0}), {x}, 13)[0];
  ASSERT_EQ(z.shape(), (Shape{3, 4, 2}));
  for (int64_t a = 0; a < 2; ++a) {
    for (int64_t b = 0; b < 3; ++b) {
      for (int64_t c = 0; c < 4; ++c) {
        const float v = static_cast<float>(a * 12 + b * 4 + c);
        EXPECT_EQ(y.data<float>()[c * 6 + b * 2 + a], v) << a << "," << b << "," << c;
        EXPECT_EQ(z.data<float>()[b * 8 + c * 2 + a], v) << a << "," << b << "," << c;
      }
    }
  }
  EXPECT_THROW(run_single_node("Transpose", attr_ints("perm", {0, 0, 1}), {x}, 13), InvalidModel);
}

TEST(RefConcat, AlongMiddleAndNegativeAxis) {
  const Tensor a = make_tensor<int64_t>({2, 1}, {1, 2});
  const Tensor b = make_tensor<int64_t>({2, 2}, {3, 4, 5, 6});
  expect_tensor_eq(run_single_node("Concat", attr_int("axis", -1), {a, b}, 13)[0],
                   make_tensor<int64_t>({2, 3}, {1, 3, 4, 2, 5, 6}));
  expect_tensor_eq(run_single_node("Concat", attr_int("axis", 0), {b, b}, 13)[0],
                   make_tensor<int64_t>({4, 2}, {3, 4, 5, 6, 3, 4, 5, 6}));
  EXPECT_THROW(run_single_node("Concat", attr_int("axis", 0), {a, b}, 13), InvalidModel);
}

TEST(RefSplit, EqualExplicitAndNumOutputs) {
  const Tensor x = make_tensor<float>({5}, {1, 2, 3, 4, 5});
  auto outs = run_const("Split", {}, {x, ints({2, 3})}, 13, 1, 2);
  expect_tensor_eq(outs[0], make_tensor<float>({2}, {1, 2}));
  expect_tensor_eq(outs[1], make_tensor<float>({3}, {3, 4, 5}));
  outs = run_const("Split", attr_ints("split", {4, 1}), {x}, 11, 1, 2);
  expect_tensor_eq(outs[1], make_tensor<float>({1}, {5}));
  // Opset 18 num_outputs: ceil(5/3) = 2 per chunk, the last one smaller.
  outs = run_const("Split", attr_int("num_outputs", 3), {x}, 18, 1, 3);
  expect_tensor_eq(outs[0], make_tensor<float>({2}, {1, 2}));
  expect_tensor_eq(outs[2], make_tensor<float>({1}, {5}));
  const Tensor m = iota_float({2, 4});
  outs = run_single_node("Split", attr_int("axis", 1), {m}, 13, kernels::reference_kernel_registry(), 2);
  expect_tensor_eq(outs[0], make_tensor<float>({2, 2}, {0, 1, 4, 5}));
  expect_tensor_eq(outs[1], make_tensor<float>({2, 2}, {2, 3, 6, 7}));
  EXPECT_THROW(run_single_node("Split", {}, {x}, 13, kernels::reference_kernel_registry(), 2), InvalidModel);
}

TEST(RefSlice, ClampingNegativeIndicesAndSteps) {
  const Tensor x = iota_float({2, 5});
  // starts/ends beyond the dims are clamped; negative indices count from the end.
  expect_tensor_eq(run_const("Slice", {}, {x, ints({0, -3}), ints({INT64_MAX, 1000}), ints({0, 1})}, 13)[0],
                   make_tensor<float>({2, 3}, {2, 3, 4, 7, 8, 9}));
  // Negative step from the end to the beginning (ends = INT64_MIN means "through index 0").
  expect_tensor_eq(run_const("Slice", {}, {x, ints({-1}), ints({INT64_MIN}), ints({1}), ints({-2})}, 13)[0],
                   make_tensor<float>({2, 3}, {4, 2, 0, 9, 7, 5}));
  expect_tensor_eq(run_const("Slice", {}, {x, ints({1, 4}), ints({0, 1}), ints({0, 1}), ints({-1, -2})}, 13)[0],
                   make_tensor<float>({1, 2}, {9, 7}));
  // Empty result when start >= end for a positive step.
  EXPECT_EQ(run_const("Slice", {}, {x, ints({3}), ints({1}), ints({1})}, 13)[0].shape(), (Shape{2, 0}));
  // Opset 9: attributes.
  Attributes a;
  a.set("starts", std::vector<int64_t>{1});
  a.set("ends", std::vector<int64_t>{-1});
  a.set("axes", std::vector<int64_t>{1});
  expect_tensor_eq(run_single_node("Slice", a, {x}, 9)[0], make_tensor<float>({2, 3}, {1, 2, 3, 6, 7, 8}));
  EXPECT_THROW(run_const("Slice", {}, {x, ints({0}), ints({1}), ints({0}), ints({0})}, 13), InvalidModel);
}

TEST(RefGather, NegativeIndicesAndAxes) {
  const Tensor x = iota_float({3, 2});
  expect_tensor_eq(run_single_node("Gather", {}, {x, make_tensor<int64_t>({2}, {-1, 0})}, 13)[0],
                   make_tensor<float>({2, 2}, {4, 5, 0, 1}));
  expect_tensor_eq(run_single_node("Gather", attr_int("axis", 1), {x, make_tensor<int32_t>({1, 2}, {1, -2})}, 13)[0],
                   make_tensor<float>({3, 1, 2}, {1, 0, 3, 2, 5, 4}));
  // A scalar index removes the axis.
  expect_tensor_eq(run_single_node("Gather", {}, {x, make_scalar<int64_t>(2)}, 13)[0], make_tensor<float>({2}, {4, 5}));
  EXPECT_THROW(run_single_node("Gather", {}, {x, make_tensor<int64_t>({1}, {3})}, 13), InvalidModel);
  EXPECT_THROW(run_single_node("Gather", {}, {x, make_tensor<int64_t>({1}, {-4})}, 13), InvalidModel);
}

TEST(RefGatherElements, SpecExamples) {
  const Tensor data = make_tensor<float>({2, 2}, {1, 2, 3, 4});
  expect_tensor_eq(
      run_single_node("GatherElements", attr_int("axis", 1), {data, make_tensor<int64_t>({2, 2}, {0, 0, 1, 0})}, 13)[0],
      make_tensor<float>({2, 2}, {1, 1, 4, 3}));
  const Tensor d3 = iota_float({3, 3});
  expect_tensor_eq(
      run_single_node("GatherElements", {}, {d3, make_tensor<int32_t>({2, 3}, {1, 2, 0, 2, 0, -3})}, 13)[0],
      make_tensor<float>({2, 3}, {3, 7, 2, 6, 1, 2}));
}

TEST(RefShapeSize, StartEndAndCount) {
  const Tensor x(DType::kFloat32, {2, 3, 4, 5});
  expect_tensor_eq(run_single_node("Shape", {}, {x}, 13)[0], make_tensor<int64_t>({4}, {2, 3, 4, 5}));
  Attributes a;
  a.set("start", int64_t{1});
  a.set("end", int64_t{-1});
  expect_tensor_eq(run_single_node("Shape", a, {x}, 15)[0], make_tensor<int64_t>({2}, {3, 4}));
  a.set("start", int64_t{-10});
  a.set("end", int64_t{10});
  expect_tensor_eq(run_single_node("Shape", a, {x}, 15)[0], make_tensor<int64_t>({4}, {2, 3, 4, 5}));
  expect_tensor_eq(run_single_node("Size", {}, {x}, 13)[0], make_scalar<int64_t>(120));
}

TEST(RefExpandTile, Broadcasting) {
  const Tensor x = make_tensor<int32_t>({3, 1}, {1, 2, 3});
  expect_tensor_eq(run_const("Expand", {}, {x, ints({2, 1, 2})}, 13)[0],
                   make_tensor<int32_t>({2, 3, 2}, {1, 1, 2, 2, 3, 3, 1, 1, 2, 2, 3, 3}));
  // The target shape may be smaller than the input's dims (1 broadcasts to the input's size).
  EXPECT_EQ(run_const("Expand", {}, {x, ints({1})}, 13)[0].shape(), (Shape{3, 1}));
  EXPECT_THROW(run_const("Expand", {}, {x, ints({2, 2})}, 13), InvalidModel);
  const Tensor t = make_tensor<float>({2, 2}, {1, 2, 3, 4});
  expect_tensor_eq(run_const("Tile", {}, {t, ints({2, 3})}, 13)[0],
                   make_tensor<float>({4, 6}, {1, 2, 1, 2, 1, 2, 3, 4, 3, 4, 3, 4,  //
                                               1, 2, 1, 2, 1, 2, 3, 4, 3, 4, 3, 4}));
}

TEST(RefPad, ConstantReflectEdgeAndNegative) {
  const Tensor x = make_tensor<float>({3, 2}, {1.0f, 1.2f, 2.3f, 3.4f, 4.5f, 5.7f});
  // ONNX spec examples.
  expect_tensor_eq(run_const("Pad", {}, {x, ints({0, 2, 0, 0}), make_scalar(0.f)}, 13)[0],
                   make_tensor<float>({3, 4}, {0, 0, 1.0f, 1.2f, 0, 0, 2.3f, 3.4f, 0, 0, 4.5f, 5.7f}));
  Attributes reflect;
  reflect.set("mode", std::string("reflect"));
  expect_tensor_eq(
      run_const("Pad", reflect, {x, ints({0, 2, 0, 0})}, 13)[0],
      make_tensor<float>({3, 4}, {1.0f, 1.2f, 1.0f, 1.2f, 2.3f, 3.4f, 2.3f, 3.4f, 4.5f, 5.7f, 4.5f, 5.7f}));
  Attributes edge;
  edge.set("mode", std::string("edge"));
  expect_tensor_eq(
      run_const("Pad", edge, {x, ints({0, 2, 0, 0})}, 13)[0],
      make_tensor<float>({3, 4}, {1.0f, 1.0f, 1.0f, 1.2f, 2.3f, 2.3f, 2.3f, 3.4f, 4.5f, 4.5f, 4.5f, 5.7f}));
  // Negative pads crop: drop the first row, add one column of 9 at the end.
  expect_tensor_eq(run_const("Pad", {}, {x, ints({-1, 0, 0, 1}), make_scalar(9.f)}, 13)[0],
                   make_tensor<float>({2, 3}, {2.3f, 3.4f, 9.f, 4.5f, 5.7f, 9.f}));
  // Reflect on a 1-D tensor of 4 with 3 before: [4,3,2 | 1,2,3,4].
  expect_tensor_eq(run_const("Pad", reflect, {make_tensor<int64_t>({4}, {1, 2, 3, 4}), ints({3, 1})}, 13)[0],
                   make_tensor<int64_t>({8}, {4, 3, 2, 1, 2, 3, 4, 3}));
}

TEST(RefPad, OpsetVersions) {
  const Tensor x = make_tensor<float>({2, 2}, {1, 2, 3, 4});
  // Opset 2: pads and value attributes.
  Attributes a;
  a.set("pads", std::vector<int64_t>{1, 0, 0, 0});
  a.set("value", 7.f);
  expect_tensor_eq(run_single_node("Pad", a, {x}, 7)[0], make_tensor<float>({3, 2}, {7, 7, 1, 2, 3, 4}));
  // Opset 18: axes input selects which dims the pads refer to.
  expect_tensor_eq(run_const("Pad", {}, {x, ints({1, 1}), make_scalar(5.f), ints({-1})}, 18)[0],
                   make_tensor<float>({2, 4}, {5, 1, 2, 5, 5, 3, 4, 5}));
  EXPECT_THROW(run_const("Pad", {}, {x, ints({1, 1})}, 13), InvalidModel);
}

TEST(RefConstant, AttributeForms) {
  Attributes v;
  v.set("value", make_tensor<int32_t>({2}, {7, 8}));
  expect_tensor_eq(run_single_node("Constant", v, {}, 13)[0], make_tensor<int32_t>({2}, {7, 8}));
  Attributes f;
  f.set("value_float", 2.5f);
  expect_tensor_eq(run_single_node("Constant", f, {}, 13)[0], make_scalar(2.5f));
  Attributes fs;
  fs.set("value_floats", std::vector<float>{1.f, 2.f});
  expect_tensor_eq(run_single_node("Constant", fs, {}, 13)[0], make_tensor<float>({2}, {1.f, 2.f}));
  Attributes i;
  i.set("value_int", int64_t{-3});
  expect_tensor_eq(run_single_node("Constant", i, {}, 13)[0], make_scalar<int64_t>(-3));
  Attributes is;
  is.set("value_ints", std::vector<int64_t>{4, 5, 6});
  expect_tensor_eq(run_single_node("Constant", is, {}, 13)[0], ints({4, 5, 6}));
  Attributes s;
  s.set("value_string", std::string("x"));
  EXPECT_THROW(run_single_node("Constant", s, {}, 13), UnsupportedOp);
  EXPECT_THROW(run_single_node("Constant", {}, {}, 13), InvalidModel);
}

TEST(RefConstantOfShape, DefaultAndTypedValue) {
  expect_tensor_eq(run_const("ConstantOfShape", {}, {ints({2, 2})}, 13, 0)[0], Tensor(DType::kFloat32, {2, 2}));
  Attributes v;
  v.set("value", make_tensor<int64_t>({1}, {9}));
  expect_tensor_eq(run_const("ConstantOfShape", v, {ints({3})}, 13, 0)[0], ints({9, 9, 9}));
  expect_tensor_eq(run_const("ConstantOfShape", v, {make_tensor<int64_t>({0}, std::vector<int64_t>{})}, 13, 0)[0],
                   make_scalar<int64_t>(9));
}

TEST(RefRange, IntegerAndFloat) {
  expect_tensor_eq(
      run_const("Range", {}, {make_scalar<int32_t>(10), make_scalar<int32_t>(4), make_scalar<int32_t>(-3)}, 13, 0)[0],
      make_tensor<int32_t>({2}, {10, 7}));
  expect_tensor_eq(run_const("Range", {}, {make_scalar(1.f), make_scalar(2.f), make_scalar(0.25f)}, 13, 0)[0],
                   make_tensor<float>({4}, {1.f, 1.25f, 1.5f, 1.75f}));
  EXPECT_EQ(
      run_const("Range", {}, {make_scalar<int64_t>(5), make_scalar<int64_t>(1), make_scalar<int64_t>(1)}, 13, 0)[0]
          .numel(),
      0);
}

// Data movement is dtype-agnostic: float16 (no C++ compute type) moves as 2-byte elements.
TEST(RefDataMovement, Float16MovesAsBytes) {
  Tensor x(DType::kFloat16, {2, 3});
  auto* bits = static_cast<uint16_t*>(x.raw());
  for (int i = 0; i < 6; ++i) bits[i] = static_cast<uint16_t>(0x3c00 + i);  // distinct half-precision values
  const Tensor t = run_single_node("Transpose", {}, {x}, 13)[0];
  ASSERT_EQ(t.dtype(), DType::kFloat16);
  ASSERT_EQ(t.shape(), (Shape{3, 2}));
  const auto* tb = static_cast<const uint16_t*>(t.raw());
  const uint16_t expected[] = {0x3c00, 0x3c03, 0x3c01, 0x3c04, 0x3c02, 0x3c05};
  for (int i = 0; i < 6; ++i) EXPECT_EQ(tb[i], expected[i]) << "element " << i;
  Attributes axis;
  axis.set("axis", int64_t{1});
  const Tensor g = run_single_node("Gather", axis, {x, make_tensor<int64_t>({1}, {-1})}, 13)[0];
  ASSERT_EQ(g.shape(), (Shape{2, 1}));
  EXPECT_EQ(static_cast<const uint16_t*>(g.raw())[1], 0x3c05);
}

}  // namespace
}  // namespace qwac::testing
