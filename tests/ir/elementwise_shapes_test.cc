// Shape and type inference of the elementwise family: output dtypes and broadcast shapes, opset-dependent forms,
// and the validation errors (which must name the node and the offending shapes/dtypes).
#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "ir/graph.h"
#include "ir/op_schema.h"
#include "qwac/error.h"

namespace qwac::ir {
namespace {

// Infers one node `op` (named "n") with inputs of the given dtypes/shapes (kUndefined = omitted).
std::vector<OutputInfo> infer(const std::string& op, const std::vector<TensorInfo>& inputs, int64_t opset = 17,
                              const Attributes& attrs = {}, size_t num_outputs = 1) {
  Graph g;
  std::vector<Value*> ins;
  for (size_t i = 0; i < inputs.size(); ++i) {
    ins.push_back(inputs[i].present() ? g.add_value("in" + std::to_string(i)) : nullptr);
  }
  std::vector<Value*> outs;
  for (size_t i = 0; i < num_outputs; ++i) outs.push_back(g.add_value("out" + std::to_string(i)));
  Node* n = g.add_node(op, ins, outs, "n");
  n->attrs = attrs;
  return infer_node(*n, opset, inputs);
}

TensorInfo f32(Shape s) { return TensorInfo{DType::kFloat32, std::move(s)}; }
TensorInfo of(DType t, Shape s) { return TensorInfo{t, std::move(s)}; }

TEST(ElementwiseShapes, UnaryKeepsTypeAndShape) {
  for (const char* op : {"Relu", "Sigmoid", "Abs", "Round", "Identity", "Not"}) {
    const auto out = infer(op, {of(DType::kInt8, {2, 3})});
    EXPECT_EQ(out[0].dtype, DType::kInt8) << op;
    EXPECT_EQ(out[0].shape, (Shape{2, 3})) << op;
  }
  EXPECT_EQ(infer("IsNaN", {f32({4})})[0].dtype, DType::kBool);
}

TEST(ElementwiseShapes, BinaryBroadcastAndComparisonTypes) {
  auto out = infer("Add", {f32({2, 1, 4}), f32({3, 1})});
  EXPECT_EQ(out[0].shape, (Shape{2, 3, 4}));
  EXPECT_EQ(out[0].dtype, DType::kFloat32);
  out = infer("Less", {of(DType::kInt64, {5}), of(DType::kInt64, {})});
  EXPECT_EQ(out[0].dtype, DType::kBool);
  EXPECT_EQ(out[0].shape, (Shape{5}));
  out = infer("Pow", {f32({2, 2}), of(DType::kInt64, {})});
  EXPECT_EQ(out[0].dtype, DType::kFloat32);
  out = infer("Sum", {f32({3}), f32({2, 1}), f32({})});
  EXPECT_EQ(out[0].shape, (Shape{2, 3}));
  out = infer("Where", {of(DType::kBool, {2, 1, 1}), of(DType::kInt32, {3, 1}), of(DType::kInt32, {4})});
  EXPECT_EQ(out[0].shape, (Shape{2, 3, 4}));
  EXPECT_EQ(out[0].dtype, DType::kInt32);
  EXPECT_EQ(infer("PRelu", {f32({1, 3, 4, 4}), f32({3, 1, 1})})[0].shape, (Shape{1, 3, 4, 4}));
}

TEST(ElementwiseShapes, BroadcastErrorNamesNodeAndShapes) {
  try {
    infer("Mul", {f32({2, 3}), f32({4})});
    FAIL() << "expected InvalidModel";
  } catch (const InvalidModel& e) {
    const std::string msg = e.what();
    EXPECT_NE(msg.find("Mul 'n'"), std::string::npos) << msg;
    EXPECT_NE(msg.find("[2,3]"), std::string::npos) << msg;
    EXPECT_NE(msg.find("[4]"), std::string::npos) << msg;
  }
}

TEST(ElementwiseShapes, TypeMismatchesAreInvalidModel) {
  EXPECT_THROW(infer("Add", {f32({2}), of(DType::kInt64, {2})}), InvalidModel);
  EXPECT_THROW(infer("Where", {f32({2}), f32({2}), f32({2})}), InvalidModel);  // condition not bool
  EXPECT_THROW(infer("Where", {of(DType::kBool, {2}), f32({2}), of(DType::kInt32, {2})}), InvalidModel);
  EXPECT_THROW(infer("PRelu", {f32({2}), f32({2, 2})}), InvalidModel);
  EXPECT_THROW(infer("Clip", {f32({2}), of(DType::kInt32, {})}, 13), InvalidModel);
  EXPECT_THROW(infer("Add", {f32({2})}), InvalidModel);  // too few inputs
}

TEST(ElementwiseShapes, CastTargets) {
  Attributes to_f16;
  to_f16.set("to", int64_t{10});
  // FLOAT16 is stored as float32 holding float16-rounded values.
  EXPECT_EQ(infer("Cast", {f32({3})}, 13, to_f16)[0].dtype, DType::kFloat32);
  Attributes to_i64;
  to_i64.set("to", int64_t{7});
  EXPECT_EQ(infer("Cast", {f32({3})}, 13, to_i64)[0].dtype, DType::kInt64);
  Attributes to_bf16;
  to_bf16.set("to", int64_t{16});
  EXPECT_THROW(infer("Cast", {f32({3})}, 13, to_bf16), UnsupportedOp);
  EXPECT_THROW(infer("Cast", {f32({3})}, 13), InvalidModel);  // no 'to'
  EXPECT_EQ(infer("CastLike", {f32({3}), of(DType::kUInt8, {1})}, 15)[0].dtype, DType::kUInt8);
}

TEST(ElementwiseShapes, DropoutMaskTypeDependsOnOpset) {
  auto out = infer("Dropout", {f32({2, 2})}, 7, {}, 2);
  ASSERT_EQ(out.size(), 2u);
  EXPECT_EQ(out[1].dtype, DType::kFloat32);
  out = infer("Dropout", {f32({2, 2}), f32({}), of(DType::kBool, {})}, 13, {}, 2);
  EXPECT_EQ(out[1].dtype, DType::kBool);
  EXPECT_EQ(out[1].shape, (Shape{2, 2}));
  EXPECT_EQ(infer("Dropout", {f32({2, 2})}, 13)[0].shape, (Shape{2, 2}));
}

TEST(ElementwiseShapes, ClipFormsByOpset) {
  EXPECT_THROW(infer("Clip", {f32({2}), f32({})}, 6), InvalidModel);  // bounds are attributes before opset 11
  EXPECT_EQ(infer("Clip", {f32({2}), TensorInfo{}, f32({})}, 11)[0].shape, (Shape{2}));
}

}  // namespace
}  // namespace qwac::ir
