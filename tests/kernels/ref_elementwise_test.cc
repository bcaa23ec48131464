// Reference elementwise kernels: hand-computed cases per op (through shape inference + kernel selection), broadcast
// plans against a naive oracle on seeded random shapes, and the error paths.
#include <gtest/gtest.h>

#include <cmath>
#include <limits>
#include <random>
#include <string>
#include <vector>

#include "kernels/kernel_test_util.h"
#include "kernels/ref/elementwise_broadcast.h"
#include "kernels/ref/elementwise_cast.h"

namespace qwac {
namespace {

using testing::expect_tensor_eq;
using testing::expect_tensor_near;
using testing::make_scalar;
using testing::make_tensor;
using testing::run_single_node;

const kernels::KernelRegistry& ref_registry() { return kernels::reference_kernel_registry(); }

Tensor run1(const std::string& op, const ir::Attributes& attrs, const std::vector<Tensor>& inputs,
            int64_t opset = 17) {
  return run_single_node(op, attrs, inputs, opset).at(0);
}

ir::Attributes attr_f(const std::string& name, float v) {
  ir::Attributes a;
  a.set(name, v);
  return a;
}
ir::Attributes attr_i(const std::string& name, int64_t v) {
  ir::Attributes a;
  a.set(name, v);
  return a;
}

constexpr float kInf = std::numeric_limits<float>::infinity();

// ---------------------------------------------------------------------------------------------------------------
// Unary float ops: one table of hand-computed cases.

struct UnaryCase {
  std::string op;
  ir::Attributes attrs;
  std::vector<float> x;
  std::vector<float> expected;
  int64_t opset = 17;
};

TEST(RefElementwise, UnaryFloatOps) {
  ir::Attributes gelu_tanh;
  gelu_tanh.set("approximate", std::string("tanh"));
  ir::Attributes hard_sigmoid;
  hard_sigmoid.set("alpha", 0.5f);
  hard_sigmoid.set("beta", 0.25f);
  ir::Attributes shrink;
  shrink.set("lambd", 1.5f);
  shrink.set("bias", 0.5f);
  const std::vector<UnaryCase> cases = {
      {"Relu", {}, {-1.f, 0.f, 2.5f}, {0.f, 0.f, 2.5f}},
      {"LeakyRelu", {}, {-1.f, 2.f}, {-0.01f, 2.f}},
      {"LeakyRelu", attr_f("alpha", 0.1f), {-2.f, 3.f}, {-0.2f, 3.f}},
      {"Sigmoid", {}, {0.f, 2.f, -2.f, -100.f}, {0.5f, 0.88079708f, 0.11920292f, 0.f}},
      {"Tanh", {}, {0.f, 100.f}, {0.f, 1.f}},
      {"HardSigmoid", {}, {-3.f, 0.f, 1.f, 3.f}, {0.f, 0.5f, 0.7f, 1.f}},
      {"HardSigmoid", hard_sigmoid, {-1.f, 1.f}, {0.f, 0.75f}},
      {"HardSwish", {}, {-4.f, 0.f, 1.f, 3.f}, {0.f, 0.f, 0.6666667f, 3.f}},
      {"Elu", attr_f("alpha", 2.f), {-1.f, 1.f}, {-1.2642411f, 1.f}},
      {"Selu", {}, {-1.f, 0.f, 2.f}, {-1.1113307f, 0.f, 2.1014020f}},
      {"Softplus", {}, {0.f, -1.f, 100.f}, {0.69314718f, 0.31326169f, 100.f}},
      {"Softsign", {}, {1.f, -3.f}, {0.5f, -0.75f}},
      {"Gelu", {}, {1.f, -1.f, 0.f}, {0.84134475f, -0.15865525f, 0.f}, 20},
      {"Gelu", gelu_tanh, {1.f}, {0.84119199f}, 20},
      {"Erf", {}, {0.5f, 0.f}, {0.52049988f, 0.f}},
      {"Sqrt", {}, {4.f, 2.f}, {2.f, 1.41421356f}},
      {"Exp", {}, {0.f, 1.f}, {1.f, 2.71828183f}},
      {"Log", {}, {1.f, 0.f}, {0.f, -kInf}},
      {"Abs", {}, {-1.5f, 2.f}, {1.5f, 2.f}},
      {"Neg", {}, {-1.5f, 2.f}, {1.5f, -2.f}},
      {"Reciprocal", {}, {4.f, -0.5f}, {0.25f, -2.f}},
      {"Floor", {}, {1.5f, -1.5f}, {1.f, -2.f}},
      {"Ceil", {}, {1.5f, -1.5f}, {2.f, -1.f}},
      {"Sign", {}, {-3.f, 0.f, 2.f}, {-1.f, 0.f, 1.f}},
      // Round: half to even.
      {"Round", {}, {0.5f, 1.5f, 2.5f, -0.5f, -1.5f, 2.4f, 2.6f, -2.6f}, {0.f, 2.f, 2.f, -0.f, -2.f, 2.f, 3.f, -3.f}},
      {"Sin", {}, {0.f, 1.5707963f}, {0.f, 1.f}},
      {"Cos", {}, {0.f, 3.14159265f}, {1.f, -1.f}},
      {"ThresholdedRelu", {}, {0.5f, 1.f, 1.5f}, {0.f, 0.f, 1.5f}},
      {"ThresholdedRelu", attr_f("alpha", 0.2f), {0.5f, -1.f}, {0.5f, 0.f}},
      {"Celu", attr_f("alpha", 2.f), {-1.f, 3.f}, {-0.78693868f, 3.f}},
      {"Mish", {}, {1.f, -1.f}, {0.86509839f, -0.30340146f}, 18},
      {"Shrink", shrink, {-2.f, -1.f, 1.f, 2.f}, {-1.5f, 0.f, 0.f, 1.5f}},
  };
  for (const UnaryCase& c : cases) {
    const Shape shape{static_cast<int64_t>(c.x.size())};
    const Tensor out = run1(c.op, c.attrs, {make_tensor<float>(shape, c.x)}, c.opset);
    expect_tensor_near(out, make_tensor<float>(shape, c.expected), 1e-6, 1e-7, c.op);
  }
}

TEST(RefElementwise, UnaryDoubleUsesDoubleMath) {
  const Tensor out = run1("Sqrt", {}, {make_tensor<double>({1}, {2.0})});
  EXPECT_EQ(out.dtype(), DType::kFloat64);
  EXPECT_EQ(out.data<double>()[0], std::sqrt(2.0));
}

TEST(RefElementwise, UnaryIntegerOps) {
  expect_tensor_eq(run1("Relu", {}, {make_tensor<int8_t>({3}, {-5, 0, 7})}), make_tensor<int8_t>({3}, {0, 0, 7}));
  expect_tensor_eq(run1("Abs", {}, {make_tensor<int32_t>({3}, {-5, 0, 7})}), make_tensor<int32_t>({3}, {5, 0, 7}));
  expect_tensor_eq(run1("Neg", {}, {make_tensor<int64_t>({2}, {-5, 7})}), make_tensor<int64_t>({2}, {5, -7}));
  expect_tensor_eq(run1("Sign", {}, {make_tensor<int32_t>({3}, {-5, 0, 7})}), make_tensor<int32_t>({3}, {-1, 0, 1}));
  expect_tensor_eq(run1("Sign", {}, {make_tensor<uint8_t>({2}, {0, 7})}), make_tensor<uint8_t>({2}, {0, 1}));
  expect_tensor_eq(run1("Not", {}, {make_tensor<bool>({2}, {true, false})}), make_tensor<bool>({2}, {false, true}));
}

TEST(RefElementwise, IsNaNAndIsInf) {
  const float nan = std::numeric_limits<float>::quiet_NaN();
  const Tensor x = make_tensor<float>({4}, {1.f, nan, kInf, -kInf});
  expect_tensor_eq(run1("IsNaN", {}, {x}), make_tensor<bool>({4}, {false, true, false, false}));
  expect_tensor_eq(run1("IsInf", {}, {x}), make_tensor<bool>({4}, {false, false, true, true}));
  expect_tensor_eq(run1("IsInf", attr_i("detect_positive", 0), {x}), make_tensor<bool>({4}, {false, false, false, true}));
}

TEST(RefElementwise, FloatOnlyOpDeclinesIntegers) {
  EXPECT_THROW(run1("Sqrt", {}, {make_tensor<int32_t>({1}, {4})}), UnsupportedOp);
  EXPECT_THROW(run1("Not", {}, {make_tensor<float>({1}, {1.f})}), UnsupportedOp);
}

TEST(RefElementwise, GeluNeedsOpset20AndValidMode) {
  EXPECT_THROW(run1("Gelu", {}, {make_tensor<float>({1}, {1.f})}, 17), UnsupportedOp);
  ir::Attributes bad;
  bad.set("approximate", std::string("erf"));
  EXPECT_THROW(run1("Gelu", bad, {make_tensor<float>({1}, {1.f})}, 20), InvalidModel);
}

// ---------------------------------------------------------------------------------------------------------------
// Clip: attributes before opset 11, optional inputs after.

TEST(RefElementwise, ClipOldFormAttributes) {
  ir::Attributes a;
  a.set("min", -1.f);
  a.set("max", 2.f);
  const Tensor x = make_tensor<float>({4}, {-3.f, 0.5f, 2.f, 5.f});
  expect_tensor_eq(run1("Clip", a, {x}, 6), make_tensor<float>({4}, {-1.f, 0.5f, 2.f, 2.f}));
  // Only max given: no lower bound.
  expect_tensor_eq(run1("Clip", attr_f("max", 1.f), {x}, 6), make_tensor<float>({4}, {-3.f, 0.5f, 1.f, 1.f}));
}

TEST(RefElementwise, ClipNewFormInputs) {
  const Tensor x = make_tensor<float>({4}, {-3.f, 0.5f, 2.f, 5.f});
  expect_tensor_eq(run1("Clip", {}, {x, make_scalar(-1.f), make_scalar(2.f)}, 13),
                   make_tensor<float>({4}, {-1.f, 0.5f, 2.f, 2.f}));
  expect_tensor_eq(run1("Clip", {}, {x, Tensor(), make_scalar(1.f)}, 13), make_tensor<float>({4}, {-3.f, 0.5f, 1.f, 1.f}));
  expect_tensor_eq(run1("Clip", {}, {x, make_scalar(0.f)}, 11), make_tensor<float>({4}, {0.f, 0.5f, 2.f, 5.f}));
  expect_tensor_eq(run1("Clip", {}, {x}, 13), x);
  // min > max: every output is max.
  expect_tensor_eq(run1("Clip", {}, {x, make_scalar(3.f), make_scalar(1.f)}, 13),
                   make_tensor<float>({4}, {1.f, 1.f, 1.f, 1.f}));
  // Integer clip (opset 12+).
  expect_tensor_eq(run1("Clip", {}, {make_tensor<int32_t>({3}, {-9, 4, 9}), make_scalar<int32_t>(-2), make_scalar<int32_t>(5)}, 12),
                   make_tensor<int32_t>({3}, {-2, 4, 5}));
  // The attributes of the old form are ignored from opset 11 on.
  expect_tensor_eq(run1("Clip", attr_f("max", 0.f), {x}, 11), x);
}

TEST(RefElementwise, ClipRejectsNonScalarBounds) {
  const Tensor x = make_tensor<float>({2}, {1.f, 2.f});
  EXPECT_THROW(run1("Clip", {}, {x, make_tensor<float>({2}, {0.f, 0.f})}, 13), InvalidModel);
}

// ---------------------------------------------------------------------------------------------------------------
// Binary broadcasting ops.

TEST(RefElementwise, AddBroadcastCases) {
  // Trailing vector.
  expect_tensor_eq(run1("Add", {}, {make_tensor<float>({2, 3}, {1, 2, 3, 4, 5, 6}), make_tensor<float>({3}, {10, 20, 30})}),
                   make_tensor<float>({2, 3}, {11, 22, 33, 14, 25, 36}));
  // Scalar on the left.
  expect_tensor_eq(run1("Sub", {}, {make_scalar(10.f), make_tensor<float>({3}, {1, 2, 3})}),
                   make_tensor<float>({3}, {9, 8, 7}));
  // Both sides broadcast: [2,1] + [1,3].
  expect_tensor_eq(run1("Add", {}, {make_tensor<float>({2, 1}, {1, 2}), make_tensor<float>({1, 3}, {10, 20, 30})}),
                   make_tensor<float>({2, 3}, {11, 21, 31, 12, 22, 32}));
  // Per-channel bias [1,2,1,1] into [2,2,1,2].
  expect_tensor_eq(run1("Add", {}, {make_tensor<float>({2, 2, 1, 2}, {0, 1, 2, 3, 4, 5, 6, 7}),
                                    make_tensor<float>({1, 2, 1, 1}, {100, 200})}),
                   make_tensor<float>({2, 2, 1, 2}, {100, 101, 202, 203, 104, 105, 206, 207}));
  // Rank-0 both.
  expect_tensor_eq(run1("Mul", {}, {make_scalar(3.f), make_scalar(4.f)}), make_scalar(12.f));
  // Empty tensor.
  expect_tensor_eq(run1("Add", {}, {Tensor(DType::kFloat32, {0, 3}), make_tensor<float>({3}, {1, 2, 3})}),
                   Tensor(DType::kFloat32, {0, 3}));
}

TEST(RefElementwise, IntegerArithmetic) {
  const Tensor a = make_tensor<int32_t>({4}, {7, -7, 7, -7});
  const Tensor b = make_tensor<int32_t>({4}, {2, 2, -2, -2});
  // Division truncates toward zero.
  expect_tensor_eq(run1("Div", {}, {a, b}), make_tensor<int32_t>({4}, {3, -3, -3, 3}));
  expect_tensor_eq(run1("Mul", {}, {a, b}), make_tensor<int32_t>({4}, {14, -14, -14, 14}));
  expect_tensor_eq(run1("Add", {}, {make_tensor<int64_t>({2}, {1, 2}), make_scalar<int64_t>(5)}),
                   make_tensor<int64_t>({2}, {6, 7}));
  expect_tensor_eq(run1("Sub", {}, {make_tensor<uint8_t>({2}, {5, 9}), make_tensor<uint8_t>({2}, {3, 9})}, 14),
                   make_tensor<uint8_t>({2}, {2, 0}));
  expect_tensor_eq(run1("Div", {}, {make_tensor<float>({2}, {7, -7}), make_scalar(2.f)}),
                   make_tensor<float>({2}, {3.5f, -3.5f}));
  // Undefined in the spec, but must not trap: INT_MIN / -1 wraps, integer division by zero gives 0.
  const int32_t int_min = std::numeric_limits<int32_t>::min();
  expect_tensor_eq(run1("Div", {}, {make_tensor<int32_t>({2}, {int_min, 5}), make_tensor<int32_t>({2}, {-1, 0})}),
                   make_tensor<int32_t>({2}, {int_min, 0}));
  expect_tensor_eq(run1("Neg", {}, {make_tensor<int32_t>({1}, {int_min})}), make_tensor<int32_t>({1}, {int_min}));
}

TEST(RefElementwise, ModBothConventions) {
  const Tensor a = make_tensor<int32_t>({4}, {5, -5, 5, -5});
  const Tensor b = make_tensor<int32_t>({4}, {3, 3, -3, -3});
  expect_tensor_eq(run1("Mod", {}, {a, b}), make_tensor<int32_t>({4}, {2, 1, -1, -2}));                 // sign of divisor
  expect_tensor_eq(run1("Mod", attr_i("fmod", 1), {a, b}), make_tensor<int32_t>({4}, {2, -2, 2, -2}));  // of dividend
  expect_tensor_eq(run1("Mod", attr_i("fmod", 1), {make_tensor<float>({2}, {5.5f, -5.5f}), make_scalar(2.f)}),
                   make_tensor<float>({2}, {1.5f, -1.5f}));
}

TEST(RefElementwise, PowMixedTypes) {
  expect_tensor_near(run1("Pow", {}, {make_tensor<float>({3}, {2, 4, 9}), make_tensor<float>({3}, {3, 0.5f, -1})}),
                     make_tensor<float>({3}, {8, 2, 1.f / 9}));
  expect_tensor_eq(run1("Pow", {}, {make_tensor<float>({2}, {2, 3}), make_scalar<int64_t>(2)}, 15),
                   make_tensor<float>({2}, {4, 9}));
  expect_tensor_eq(run1("Pow", {}, {make_tensor<int32_t>({3}, {2, -3, 5}), make_tensor<int32_t>({3}, {10, 3, 0})}, 15),
                   make_tensor<int32_t>({3}, {1024, -27, 1}));
  expect_tensor_eq(run1("Pow", {}, {make_tensor<int64_t>({1}, {3}), make_scalar(2.f)}, 15), make_tensor<int64_t>({1}, {9}));
}

TEST(RefElementwise, ComparisonsGiveBool) {
  const Tensor a = make_tensor<float>({3}, {1, 2, 3});
  const Tensor b = make_scalar(2.f);
  expect_tensor_eq(run1("Equal", {}, {a, b}), make_tensor<bool>({3}, {false, true, false}));
  expect_tensor_eq(run1("Less", {}, {a, b}), make_tensor<bool>({3}, {true, false, false}));
  expect_tensor_eq(run1("Greater", {}, {a, b}), make_tensor<bool>({3}, {false, false, true}));
  expect_tensor_eq(run1("LessOrEqual", {}, {a, b}), make_tensor<bool>({3}, {true, true, false}));
  expect_tensor_eq(run1("GreaterOrEqual", {}, {a, b}), make_tensor<bool>({3}, {false, true, true}));
  expect_tensor_eq(run1("Equal", {}, {make_tensor<int64_t>({2, 1}, {1, 2}), make_tensor<int64_t>({2}, {2, 1})}),
                   make_tensor<bool>({2, 2}, {false, true, true, false}));
}

TEST(RefElementwise, LogicOps) {
  const Tensor a = make_tensor<bool>({4}, {false, false, true, true});
  const Tensor b = make_tensor<bool>({4}, {false, true, false, true});
  expect_tensor_eq(run1("And", {}, {a, b}), make_tensor<bool>({4}, {false, false, false, true}));
  expect_tensor_eq(run1("Or", {}, {a, b}), make_tensor<bool>({4}, {false, true, true, true}));
  expect_tensor_eq(run1("Xor", {}, {a, b}), make_tensor<bool>({4}, {false, true, true, false}));
  EXPECT_THROW(run1("And", {}, {make_tensor<float>({1}, {1}), make_tensor<float>({1}, {1})}), UnsupportedOp);
}

TEST(RefElementwise, BitShift) {
  ir::Attributes left;
  left.set("direction", std::string("LEFT"));
  ir::Attributes right;
  right.set("direction", std::string("RIGHT"));
  const Tensor x = make_tensor<uint8_t>({3}, {16, 4, 1});
  const Tensor s = make_tensor<uint8_t>({3}, {1, 2, 3});
  expect_tensor_eq(run1("BitShift", right, {x, s}), make_tensor<uint8_t>({3}, {8, 1, 0}));
  expect_tensor_eq(run1("BitShift", left, {x, s}), make_tensor<uint8_t>({3}, {32, 16, 8}));
}

TEST(RefElementwise, VariadicOps) {
  const Tensor a = make_tensor<float>({2, 2}, {1, 5, 3, -1});
  const Tensor b = make_tensor<float>({2}, {2, 2});
  const Tensor c = make_scalar(4.f);
  expect_tensor_eq(run1("Max", {}, {a, b, c}), make_tensor<float>({2, 2}, {4, 5, 4, 4}));
  expect_tensor_eq(run1("Min", {}, {a, b}), make_tensor<float>({2, 2}, {1, 2, 2, -1}));
  expect_tensor_eq(run1("Sum", {}, {a, b, c}), make_tensor<float>({2, 2}, {7, 11, 9, 5}));
  expect_tensor_eq(run1("Mean", {}, {a, b, c}), make_tensor<float>({2, 2}, {7.f / 3, 11.f / 3, 3, 5.f / 3}));
  // One input: a copy; the first input may be the one that is broadcast.
  expect_tensor_eq(run1("Sum", {}, {a}), a);
  expect_tensor_eq(run1("Max", {}, {b, a}), make_tensor<float>({2, 2}, {2, 5, 3, 2}));
  expect_tensor_eq(run1("Max", {}, {make_tensor<int32_t>({2}, {1, 9}), make_tensor<int32_t>({2}, {3, 4})}, 13),
                   make_tensor<int32_t>({2}, {3, 9}));
  const float nan = std::numeric_limits<float>::quiet_NaN();
  const Tensor with_nan = run1("Max", {}, {make_tensor<float>({1}, {nan}), make_tensor<float>({1}, {1})});
  EXPECT_TRUE(std::isnan(with_nan.data<float>()[0]));
}

TEST(RefElementwise, PReluSlopeBroadcast) {
  // Per-channel slope [2,1,1] into [1,2,2,2].
  const Tensor x = make_tensor<float>({1, 2, 2, 2}, {-1, 2, -3, 4, -1, 2, -3, 4});
  const Tensor slope = make_tensor<float>({2, 1, 1}, {0.5f, 2.f});
  expect_tensor_eq(run1("PRelu", {}, {x, slope}), make_tensor<float>({1, 2, 2, 2}, {-0.5f, 2, -1.5f, 4, -2, 2, -6, 4}));
  // Slope bigger than X is not unidirectional.
  EXPECT_THROW(run1("PRelu", {}, {make_tensor<float>({2}, {1, 2}), make_tensor<float>({2, 2}, {1, 2, 3, 4})}),
               InvalidModel);
}

TEST(RefElementwise, WhereThreeWayBroadcast) {
  const Tensor cond = make_tensor<bool>({2, 1}, {true, false});
  const Tensor x = make_tensor<float>({1, 3}, {1, 2, 3});
  const Tensor y = make_scalar(-1.f);
  expect_tensor_eq(run1("Where", {}, {cond, x, y}), make_tensor<float>({2, 3}, {1, 2, 3, -1, -1, -1}));
  expect_tensor_eq(run1("Where", {}, {make_tensor<bool>({3}, {true, false, true}), make_tensor<int64_t>({3}, {1, 2, 3}),
                                      make_tensor<int64_t>({3}, {7, 8, 9})}),
                   make_tensor<int64_t>({3}, {1, 8, 3}));
}

TEST(RefElementwise, BroadcastErrorNamesNodeAndShapes) {
  try {
    run1("Add", {}, {make_tensor<float>({2, 3}, {1, 2, 3, 4, 5, 6}), make_tensor<float>({4}, {1, 2, 3, 4})});
    FAIL() << "expected InvalidModel";
  } catch (const InvalidModel& e) {
    const std::string msg = e.what();
    EXPECT_NE(msg.find("Add 'node'"), std::string::npos) << msg;
    EXPECT_NE(msg.find("[2,3]"), std::string::npos) << msg;
    EXPECT_NE(msg.find("[4]"), std::string::npos) << msg;
  }
  EXPECT_THROW(run1("Add", {}, {make_tensor<float>({1}, {1}), make_tensor<int32_t>({1}, {1})}), InvalidModel);
}

// ---------------------------------------------------------------------------------------------------------------
// Cast, CastLike, Identity, Dropout.

Tensor cast(const Tensor& x, DType to, int64_t opset = 13) {
  return run1("Cast", attr_i("to", static_cast<int64_t>(to)), {x}, opset);
}

TEST(RefElementwise, CastNumericAndBool) {
  const Tensor f = make_tensor<float>({5}, {1.9f, -1.9f, 2.5f, 0.f, -0.4f});
  expect_tensor_eq(cast(f, DType::kInt32), make_tensor<int32_t>({5}, {1, -1, 2, 0, 0}));
  expect_tensor_eq(cast(f, DType::kInt64), make_tensor<int64_t>({5}, {1, -1, 2, 0, 0}));
  expect_tensor_eq(cast(f, DType::kBool), make_tensor<bool>({5}, {true, true, true, false, true}));
  expect_tensor_eq(cast(make_tensor<bool>({2}, {true, false}), DType::kFloat32), make_tensor<float>({2}, {1, 0}));
  expect_tensor_eq(cast(make_tensor<int64_t>({2}, {-3, 300}), DType::kFloat32), make_tensor<float>({2}, {-3, 300}));
  expect_tensor_eq(cast(make_tensor<int32_t>({2}, {0, 7}), DType::kBool), make_tensor<bool>({2}, {false, true}));
  expect_tensor_eq(cast(make_tensor<float>({1}, {0.1f}), DType::kFloat64), make_tensor<double>({1}, {double(0.1f)}));
  expect_tensor_eq(cast(make_tensor<uint8_t>({2}, {200, 3}), DType::kInt8, 9), make_tensor<int8_t>({2}, {-56, 3}));
}

TEST(RefElementwise, CastToFloat16RoundsAndStoresFloat32) {
  const Tensor x = make_tensor<float>({8}, {0.1f, 65519.f, 65520.f, 3e-8f, 1.f + 3.f / 2048, 1.f + 1.f / 2048, -2.5e-8f,
                                            -1e-4f});
  const Tensor out = cast(x, DType::kFloat16);
  EXPECT_EQ(out.dtype(), DType::kFloat32);
  // Expected values: the float16 nearest to each input (round half to even), as computed by Python's struct 'e'.
  expect_tensor_eq(out, make_tensor<float>({8}, {0.0999755859375f, 65504.f, kInf, 5.960464477539063e-08f,
                                                 1.001953125f, 1.f, -0.f, -0.00010001659393310547f}));
  EXPECT_EQ(kernels::ref::round_to_float16(-kInf), -kInf);
  EXPECT_TRUE(std::isnan(kernels::ref::round_to_float16(std::numeric_limits<float>::quiet_NaN())));
}

TEST(RefElementwise, CastRejectsUnsupportedTargets) {
  EXPECT_THROW(cast(make_tensor<float>({1}, {1.f}), static_cast<DType>(8)), UnsupportedOp);  // string
  EXPECT_THROW(run1("Cast", attr_i("to", 16), {make_tensor<float>({1}, {1.f})}), UnsupportedOp);  // bfloat16
}

TEST(RefElementwise, CastLikeTakesTargetFromSecondInput) {
  expect_tensor_eq(run1("CastLike", {}, {make_tensor<float>({2}, {2.7f, -2.7f}), make_tensor<int64_t>({1}, {0})}, 15),
                   make_tensor<int64_t>({2}, {2, -2}));
}

TEST(RefElementwise, IdentityCopies) {
  const Tensor x = make_tensor<int64_t>({2, 2}, {1, 2, 3, 4});
  expect_tensor_eq(run1("Identity", {}, {x}), x);
}

TEST(RefElementwise, DropoutInference) {
  const Tensor x = make_tensor<float>({3}, {1, -2, 3});
  // Opset 7: mask has the input's type.
  std::vector<Tensor> out = run_single_node("Dropout", attr_f("ratio", 0.3f), {x}, 7, ref_registry(), 2);
  expect_tensor_eq(out[0], x);
  expect_tensor_eq(out[1], make_tensor<float>({3}, {1, 1, 1}));
  // Opset 13: bool mask, ratio and training_mode inputs.
  out = run_single_node("Dropout", {}, {x, make_scalar(0.5f), make_scalar(false)}, 13, ref_registry(), 2);
  expect_tensor_eq(out[0], x);
  expect_tensor_eq(out[1], make_tensor<bool>({3}, {true, true, true}));
  // Training with ratio 0 is an identity as well.
  out = run_single_node("Dropout", {}, {x, make_scalar(0.f), make_scalar(true)}, 13, ref_registry(), 1);
  expect_tensor_eq(out[0], x);
  // Training with a non-zero ratio: unsupported, both when known at compile time and when only known at run time.
  EXPECT_THROW(run_single_node("Dropout", {}, {x, make_scalar(0.5f), make_scalar(true)}, 13, ref_registry(), 1,
                               testing::SingleNodeOptions::all_constant()),
               UnsupportedOp);
  // training_mode known false at compile time, ratio only at run time: inference.
  out = run_single_node("Dropout", {}, {x, make_scalar(0.5f), make_scalar(false)}, 13, ref_registry(), 1,
                        testing::SingleNodeOptions::constants({2}));
  expect_tensor_eq(out[0], x);
  EXPECT_THROW(run_single_node("Dropout", {}, {x, make_scalar(0.5f), make_scalar(true)}, 13, ref_registry(), 1),
               UnsupportedOp);
}

// ---------------------------------------------------------------------------------------------------------------
// Broadcast plan against a naive oracle, on seeded random shapes, including large ones that run in parallel.

// out[idx] = a[idx mapped] + 10 * b[idx mapped], computed index by index.
Tensor naive_add10(const Tensor& a, const Tensor& b, const Shape& out_shape) {
  Tensor out(DType::kFloat32, out_shape);
  const size_t rank = out_shape.size();
  auto offset = [&](const Shape& s, const std::vector<int64_t>& idx) {
    int64_t off = 0;
    const size_t lead = rank - s.size();
    for (size_t d = lead; d < rank; ++d) off = off * s[d - lead] + (s[d - lead] == 1 ? 0 : idx[d]);
    return off;
  };
  std::vector<int64_t> idx(rank, 0);
  for (int64_t i = 0; i < out.numel(); ++i) {
    int64_t rest = i;
    for (size_t d = rank; d-- > 0;) {
      idx[d] = rest % out_shape[d];
      rest /= out_shape[d];
    }
    out.data<float>()[i] = a.data<float>()[offset(a.shape(), idx)] + 10.f * b.data<float>()[offset(b.shape(), idx)];
  }
  return out;
}

TEST(RefElementwise, BroadcastMatchesNaiveOracle) {
  std::mt19937 rng(1234);
  std::uniform_int_distribution<int> rank_dist(0, 4);
  std::uniform_int_distribution<int> dim_dist(1, 5);
  std::bernoulli_distribution keep(0.5);
  std::vector<std::pair<Shape, Shape>> cases = {
      {{3, 70000}, {70000}},         // long runs, chunked and parallel
      {{2, 3, 100, 120}, {1, 3, 1, 1}},  // per-channel
      {{40000}, {}},                  // scalar
      {{200, 1, 300}, {1, 200, 1}},   // both broadcast
  };
  for (int k = 0; k < 60; ++k) {
    Shape out(rank_dist(rng));
    for (int64_t& d : out) d = dim_dist(rng);
    Shape a = out, b = out;
    for (int64_t& d : a) d = keep(rng) ? d : 1;
    for (int64_t& d : b) d = keep(rng) ? d : 1;
    if (!b.empty() && keep(rng)) b.erase(b.begin());  // lower rank
    cases.emplace_back(a, b);
  }
  testing::SingleNodeOptions opts;
  opts.num_threads = 2;
  ir::Attributes none;
  for (const auto& [sa, sb] : cases) {
    const Tensor a = testing::random_tensor(sa, rng);
    const Tensor b = testing::random_tensor(sb, rng);
    const Tensor b10 = run_single_node("Mul", none, {b, make_scalar(10.f)}, 17, ref_registry(), 1, opts)[0];
    const Tensor got = run_single_node("Add", none, {a, b10}, 17, ref_registry(), 1, opts)[0];
    const Shape out_shape = broadcast_shapes(sa, sb, "test");
    expect_tensor_near(got, naive_add10(a, b, out_shape), 1e-6, 1e-6,
                       "a " + shape_to_string(sa) + " b " + shape_to_string(sb));
  }
}

TEST(RefElementwise, BroadcastPlanCollapsesCommonCases) {
  using kernels::ref::BroadcastPlan;
  // Same shapes: one run covering everything, both inputs contiguous.
  const BroadcastPlan same({2, 3, 4}, {{2, 3, 4}, {2, 3, 4}});
  int runs = 0;
  same.for_each_chunk<2>(1, [&](int64_t o, const std::array<int64_t, 2>&, int64_t n) {
    ++runs;
    EXPECT_EQ(o, 0);
    EXPECT_EQ(n, 24);
  });
  EXPECT_EQ(runs, 1);
  // Per-channel bias: N*C runs of H*W, bias constant in a run.
  const BroadcastPlan bias({2, 3, 4, 5}, {{2, 3, 4, 5}, {1, 3, 1, 1}});
  EXPECT_EQ(bias.inner_stride(0), 1);
  EXPECT_EQ(bias.inner_stride(1), 0);
  std::vector<int64_t> bias_offsets;
  bias.for_each_chunk<2>(1, [&](int64_t, const std::array<int64_t, 2>& off, int64_t n) {
    EXPECT_EQ(n, 20);
    bias_offsets.push_back(off[1]);
  });
  EXPECT_EQ(bias_offsets, (std::vector<int64_t>{0, 1, 2, 0, 1, 2}));
}

}  // namespace
}  // namespace qwac
