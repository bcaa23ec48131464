// QAdd, QMul and QGemm (com.qwac): the reference kernels on hand-computed cases, and on seeded random problems the fast
// kernels against the reference and both against the float simulation (reference DequantizeLinear -> Add / Gemm
// -> Relu/Clip -> QuantizeLinear, as the engine runs the unfused QDQ pattern). Integer outputs may differ by at
// most one quantization step on at most 0.1 % of the elements (issue 6); QAdd's fast loop is exact. QAdd also runs
// on two operands in the oneDNN layout of QConv outputs and keeps it; QMul / QAdd with a per-channel operand run in
// the channels-last layout of a QConv output.
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <random>
#include <sstream>

#include "ir/fused_ops.h"
#include "kernels/activation_cases.h"
#include "kernels/ref/activation.h"
#include "kernels/dnnl_registry_util.h"
#include "kernels/dnnl_test_util.h"
#include "kernels/kernel_test_util.h"

namespace qwac::testing {
namespace {

using AddIn = ir::QAddInputs;
using GemmIn = ir::QGemmInputs;
constexpr int64_t kOpset = 13;
constexpr double kMaxMismatchFraction = 1e-3;

const kernels::KernelRegistry& ref() {
  return kernels::reference_kernel_registry();
}

std::string qdomain() {
  return std::string(ir::kQwacDomain);
}

int64_t pick(std::mt19937& rng, int64_t lo, int64_t hi) {
  return std::uniform_int_distribution<int64_t>(lo, hi)(rng);
}

Tensor random_ints(DType t, const Shape& shape, std::mt19937& rng) {
  Tensor out(t, shape);
  std::uniform_int_distribution<int> d(t == DType::kUInt8 ? 0 : -128, t == DType::kUInt8 ? 255 : 127);
  for (int64_t i = 0; i < out.numel(); ++i) {
    if (t == DType::kUInt8) {
      out.data<uint8_t>()[i] = static_cast<uint8_t>(d(rng));
    } else {
      out.data<int8_t>()[i] = static_cast<int8_t>(d(rng));
    }
  }
  return out;
}

Tensor zero_point_tensor(DType t, int64_t v) {
  return t == DType::kUInt8 ? make_scalar<uint8_t>(static_cast<uint8_t>(v))
                            : make_scalar<int8_t>(static_cast<int8_t>(v));
}

int64_t random_zero_point(DType t, std::mt19937& rng) {
  if (pick(rng, 0, 2) == 0) return 0;
  return t == DType::kUInt8 ? pick(rng, 1, 200) : pick(rng, -30, 30);
}

DType random_8bit(std::mt19937& rng) {
  return pick(rng, 0, 1) ? DType::kUInt8 : DType::kInt8;
}

// The activation attributes (any kind of ir/activation.h, or none) and, for the simulation, the oracle.
ir::Attributes random_activation_attrs(std::mt19937& rng) {
  ir::Attributes a;
  random_activation(rng).to_attributes(a);
  return a;
}

Tensor apply_activation(const Tensor& x, const ir::Attributes& attrs) {
  const ir::Activation act = ir::Activation::from_attributes(attrs, "test");
  Tensor y = x.clone();
  kernels::ref::apply_activation(act, y.data<float>(), y.numel());
  return y;
}

Tensor dequantize(const Blob& x, const Blob& scale, const Blob& zp) {
  return run_plain("DequantizeLinear", {}, {Blob::plain(x.to_plain()), scale, zp}, kOpset, ref());
}

// Float simulation tail: the activation, then QuantizeLinear when y_scale is given.
Tensor simulate_tail(const Tensor& y, const ir::Attributes& attrs, const std::vector<Blob>& in, size_t y_scale) {
  const Tensor a = apply_activation(y, attrs);
  if (in.size() <= y_scale) return a;
  return run_plain("QuantizeLinear", {}, {Blob::plain(a), in[y_scale], in[y_scale + 1]}, kOpset, ref());
}

// Counts integer elements one step apart; fails on anything larger.
int64_t count_step_differences(const Tensor& got, const Tensor& expected, const std::string& what) {
  EXPECT_EQ(got.dtype(), expected.dtype()) << what;
  int64_t differ = 0;
  for (int64_t i = 0; i < got.numel(); ++i) {
    const int g = got.dtype() == DType::kUInt8 ? got.data<uint8_t>()[i] : got.data<int8_t>()[i];
    const int e = expected.dtype() == DType::kUInt8 ? expected.data<uint8_t>()[i] : expected.data<int8_t>()[i];
    if (std::abs(g - e) > 1) {
      ADD_FAILURE() << what << ": element " << i << " is " << g << ", expected " << e;
      return got.numel();
    }
    differ += std::abs(g - e);
  }
  return differ;
}

float max_abs(const Tensor& t) {
  float m = 0.f;
  for (int64_t i = 0; i < t.numel(); ++i) m = std::max(m, std::fabs(t.data<float>()[i]));
  return m;
}

// ---------------------------------------------------------------------------------------------------------------
// QAdd

// A = [10, 20, 0, 13] (uint8, zp 5, scale 0.5 -> 2.5, 7.5, -2.5, 4), B = [2, -4, -6, 1] (int8, scale 0.25 -> 0.5,
// -1, -1.5, 0.25): sum 3, 6.5, -4, 4.25; with y_scale 2, y_zp 1: 1.5 -> 2, 3.25 -> 3, -2 -> -2 (saturates at 0
// after + 1), 2.125 -> 2; + 1.
std::vector<Blob> qadd_hand_inputs(bool quantized_output) {
  std::vector<Blob> in(quantized_output ? AddIn::kCount : AddIn::kYScale);
  in[AddIn::kA] = Blob::plain(make_tensor<uint8_t>({1, 4}, {10, 20, 0, 13}));
  in[AddIn::kAScale] = Blob::plain(make_scalar(0.5f), true);
  in[AddIn::kAZeroPoint] = Blob::plain(make_scalar<uint8_t>(5), true);
  in[AddIn::kB] = Blob::plain(make_tensor<int8_t>({1, 4}, {2, -4, -6, 1}));
  in[AddIn::kBScale] = Blob::plain(make_scalar(0.25f), true);
  in[AddIn::kBZeroPoint] = Blob::plain(make_scalar<int8_t>(0), true);
  if (quantized_output) {
    in[AddIn::kYScale] = Blob::plain(make_scalar(2.f), true);
    in[AddIn::kYZeroPoint] = Blob::plain(make_scalar<uint8_t>(1), true);
  }
  return in;
}

TEST(QAddReference, HandComputed) {
  const std::string op(ir::kQAddOp);
  for (const kernels::KernelRegistry* registry : {&ref(), &dnnl_only_registry()}) {
    const std::string which = registry == &ref() ? "ref" : "dnnl";
    std::string impl;
    const Tensor y = run_plain(op, {}, qadd_hand_inputs(true), kOpset, *registry, &impl, qdomain());
    EXPECT_EQ(impl, which);
    EXPECT_EQ(tensor_values<uint8_t>(y), (std::vector<uint8_t>{3, 4, 0, 3})) << which;
    ir::Attributes relu;
    relu.set("activation", std::string("Relu"));
    const Tensor yr = run_plain(op, relu, qadd_hand_inputs(true), kOpset, *registry, nullptr, qdomain());
    EXPECT_EQ(tensor_values<uint8_t>(yr), (std::vector<uint8_t>{3, 4, 1, 3})) << which;
    const Tensor yf = run_plain(op, {}, qadd_hand_inputs(false), kOpset, *registry, nullptr, qdomain());
    EXPECT_EQ(tensor_values<float>(yf), (std::vector<float>{3.f, 6.5f, -4.f, 4.25f})) << which;
    // B broadcast from a scalar: 2.5 + 0.5, 7.5 + 0.5, ... = 3, 8, -2, 4.5 -> 1.5, 4, -1, 2.25 -> 2, 4, -1, 2; + 1.
    std::vector<Blob> scalar_b = qadd_hand_inputs(true);
    scalar_b[AddIn::kB] = Blob::plain(make_tensor<int8_t>({1}, {2}));
    const Tensor yb = run_plain(op, {}, scalar_b, kOpset, *registry, nullptr, qdomain());
    EXPECT_EQ(tensor_values<uint8_t>(yb), (std::vector<uint8_t>{3, 5, 0, 3})) << which;
  }
}

struct QAddCase {
  Shape a, b;
  DType a_type = DType::kUInt8, b_type = DType::kUInt8, y_type = DType::kUInt8;
  int64_t a_zp = 0, b_zp = 0, y_zp = 0;
  ir::Attributes attrs;
  std::string describe() const {
    std::ostringstream os;
    os << "a" << shape_to_string(a) << " " << dtype_name(a_type) << " zp " << a_zp << " + b" << shape_to_string(b)
       << " " << dtype_name(b_type) << " zp " << b_zp << " -> " << dtype_name(y_type) << " zp " << y_zp << " "
       << describe_attrs(attrs);
    return os.str();
  }
};

QAddCase random_qadd_case(std::mt19937& rng) {
  QAddCase c;
  const size_t rank = static_cast<size_t>(pick(rng, 1, 4));
  for (size_t i = 0; i < rank; ++i) c.a.push_back(pick(rng, 1, i + 1 == rank ? 300 : 7));
  c.b = c.a;
  switch (pick(rng, 0, 3)) {
    case 0:  // B broadcast along some dims
      for (int64_t& d : c.b) d = pick(rng, 0, 1) ? d : 1;
      break;
    case 1:  // B of lower rank (the trailing dims)
      c.b.erase(c.b.begin(), c.b.begin() + static_cast<int64_t>(pick(rng, 0, static_cast<int64_t>(rank) - 1)));
      break;
    case 2:  // A broadcast instead
      std::swap(c.a, c.b);
      for (int64_t& d : c.a) d = pick(rng, 0, 1) ? d : 1;
      break;
    default:
      break;
  }
  c.a_type = random_8bit(rng);
  c.b_type = random_8bit(rng);
  c.a_zp = random_zero_point(c.a_type, rng);
  c.b_zp = random_zero_point(c.b_type, rng);
  const int64_t out = pick(rng, 0, 2);
  c.y_type = out == 0 ? DType::kUInt8 : out == 1 ? DType::kInt8 : DType::kFloat32;
  c.y_zp = c.y_type == DType::kFloat32 ? 0 : random_zero_point(c.y_type, rng);
  c.attrs = random_activation_attrs(rng);
  return c;
}

std::vector<Blob> qadd_inputs(const QAddCase& c, std::mt19937& rng) {
  std::uniform_real_distribution<float> scale(0.005f, 0.05f);
  std::vector<Blob> in(c.y_type == DType::kFloat32 ? AddIn::kYScale : AddIn::kCount);
  in[AddIn::kA] = Blob::plain(random_ints(c.a_type, c.a, rng));
  in[AddIn::kAScale] = Blob::plain(make_scalar(scale(rng)), true);
  in[AddIn::kAZeroPoint] = Blob::plain(zero_point_tensor(c.a_type, c.a_zp), true);
  in[AddIn::kB] = Blob::plain(random_ints(c.b_type, c.b, rng));
  in[AddIn::kBScale] = Blob::plain(make_scalar(scale(rng)), true);
  in[AddIn::kBZeroPoint] = Blob::plain(zero_point_tensor(c.b_type, c.b_zp), true);
  if (c.y_type != DType::kFloat32) {
    in[AddIn::kYScale] = Blob::plain(make_scalar(scale(rng) * 1.5f), true);
    in[AddIn::kYZeroPoint] = Blob::plain(zero_point_tensor(c.y_type, c.y_zp), true);
  }
  return in;
}

// DQ(A) `float_op` DQ(B) -> activation -> Q with the reference kernels (float_op: Add for QAdd, Mul for QMul).
Tensor simulate_qbinary(const std::vector<Blob>& in, const ir::Attributes& attrs, const std::string& float_op) {
  const Tensor a = dequantize(in[AddIn::kA], in[AddIn::kAScale], in[AddIn::kAZeroPoint]);
  const Tensor b = dequantize(in[AddIn::kB], in[AddIn::kBScale], in[AddIn::kBZeroPoint]);
  const Tensor sum = run_plain(float_op, {}, {Blob::plain(a), Blob::plain(b)}, kOpset, ref());
  return simulate_tail(sum, attrs, in, AddIn::kYScale);
}

// The fast QAdd / QMul on random broadcast problems: exactly the reference; the reference against the simulation.
void check_qbinary_on_random_problems(const std::string& op, const std::string& float_op, unsigned seed) {
  std::mt19937 rng(seed);
  constexpr int kCases = 200;
  int64_t elements = 0, differ_sim = 0;
  for (int i = 0; i < kCases; ++i) {
    const QAddCase c = random_qadd_case(rng);
    const std::vector<Blob> in = qadd_inputs(c, rng);
    const std::string what = "case " + std::to_string(i) + ": " + c.describe();
    std::string impl;
    const Tensor got = run_plain(op, c.attrs, in, kOpset, kernels::default_kernel_registry(), &impl, qdomain());
    EXPECT_EQ(impl, "dnnl") << what;
    const Tensor expected = run_plain(op, c.attrs, in, kOpset, ref(), nullptr, qdomain());
    const Tensor simulated = simulate_qbinary(in, c.attrs, float_op);
    EXPECT_EQ(compare_tensors_exact(got, expected), "") << what << ": the fast loop is the reference's arithmetic";
    if (c.y_type == DType::kFloat32) {
      EXPECT_EQ(compare_tensors(expected, simulated, 0.0, 1e-6 * max_abs(simulated) + 1e-7), "") << what;
      continue;
    }
    elements += got.numel();
    differ_sim += count_step_differences(expected, simulated, what + " (reference vs simulation)");
  }
  ASSERT_GT(elements, 0);
  EXPECT_LE(static_cast<double>(differ_sim), kMaxMismatchFraction * static_cast<double>(elements))
      << differ_sim << " of " << elements;
  std::cout << op << ": fast == reference; reference vs simulation: " << differ_sim << " of " << elements
            << " integer outputs differ by one step\n";
}

TEST(QAddDnnl, MatchesReferenceAndFloatSimulationOnRandomProblems) {
  check_qbinary_on_random_problems(std::string(ir::kQAddOp), "Add", 606);
}

TEST(QMulDnnl, MatchesReferenceAndFloatSimulationOnRandomProblems) {
  check_qbinary_on_random_problems(std::string(ir::kQMulOp), "Mul", 607);
}

// A = [10, 20, 0, 13] (uint8, zp 5, scale 0.5 -> 2.5, 7.5, -2.5, 4), B = [2, -4, -6, 1] (int8, scale 0.25 -> 0.5,
// -1, -1.5, 0.25): product 1.25, -7.5, 3.75, 1; y_scale 0.5, y_zp 10: 2.5 -> 2 (half to even), -15, 7.5 -> 8, 2;
// + 10 = 12, -5 -> 0 (saturated), 18, 12.
TEST(QMulReference, HandComputed) {
  const std::string op(ir::kQMulOp);
  for (const kernels::KernelRegistry* registry : {&ref(), &dnnl_only_registry()}) {
    const std::string which = registry == &ref() ? "ref" : "dnnl";
    std::vector<Blob> in = qadd_hand_inputs(true);
    in[AddIn::kYScale] = Blob::plain(make_scalar(0.5f), true);
    in[AddIn::kYZeroPoint] = Blob::plain(make_scalar<uint8_t>(10), true);
    std::string impl;
    const Tensor y = run_plain(op, {}, in, kOpset, *registry, &impl, qdomain());
    EXPECT_EQ(impl, which);
    EXPECT_EQ(tensor_values<uint8_t>(y), (std::vector<uint8_t>{12, 0, 18, 12})) << which;
    const Tensor yf = run_plain(op, {}, qadd_hand_inputs(false), kOpset, *registry, nullptr, qdomain());
    EXPECT_EQ(tensor_values<float>(yf), (std::vector<float>{1.25f, -7.5f, 3.75f, 1.f})) << which;
  }
}

// Two int8 QConvs give u8 tensors in oneDNN's layout; QAdd reads both (and a blocked + plain pair) in place and
// writes its output in the same layout.
TEST(QAddDnnl, ComputesOnTheBlockedLayoutOfQConvOutputs) {
  std::mt19937 rng(11);
  const Shape x_shape = {2, 16, 6, 6};
  auto qconv_output = [&](uint8_t y_zp) {
    std::vector<Blob> in(ir::QConvInputs::kCount);
    in[ir::QConvInputs::kX] = Blob::plain(random_ints(DType::kUInt8, x_shape, rng));
    in[ir::QConvInputs::kXScale] = Blob::plain(make_scalar(0.02f), true);
    in[ir::QConvInputs::kXZeroPoint] = Blob::plain(make_scalar<uint8_t>(0), true);
    in[ir::QConvInputs::kW] = Blob::plain(random_ints(DType::kInt8, {16, 16, 1, 1}, rng), true);
    in[ir::QConvInputs::kWScale] = Blob::plain(make_scalar(0.002f), true);
    in[ir::QConvInputs::kBias] = Blob::absent();
    in[ir::QConvInputs::kYScale] = Blob::plain(make_scalar(0.05f), true);
    in[ir::QConvInputs::kYZeroPoint] = Blob::plain(make_scalar<uint8_t>(y_zp), true);
    NodeRun r = run_node(std::string(ir::kQConvOp), {}, in, kOpset, dnnl_only_registry(), qdomain());
    return r.outputs.at(0);
  };
  const Blob a = qconv_output(100), b = qconv_output(90);
  ASSERT_TRUE(a.blocked()) << "QConv int8 outputs are expected in a oneDNN layout (nhwc)";
  ir::Attributes relu;
  relu.set("activation", std::string("Relu"));
  for (bool plain_b : {false, true}) {
    std::vector<Blob> in(AddIn::kCount);
    in[AddIn::kA] = a;
    in[AddIn::kAScale] = Blob::plain(make_scalar(0.05f), true);
    in[AddIn::kAZeroPoint] = Blob::plain(make_scalar<uint8_t>(100), true);
    in[AddIn::kB] = plain_b ? Blob::plain(b.to_plain()) : b;
    in[AddIn::kBScale] = Blob::plain(make_scalar(0.05f), true);
    in[AddIn::kBZeroPoint] = Blob::plain(make_scalar<uint8_t>(90), true);
    in[AddIn::kYScale] = Blob::plain(make_scalar(0.07f), true);
    in[AddIn::kYZeroPoint] = Blob::plain(make_scalar<uint8_t>(0), true);
    NodeRun r = run_node(std::string(ir::kQAddOp), relu, in, kOpset, dnnl_only_registry(), qdomain());
    ASSERT_EQ(r.impl, "dnnl");
    ASSERT_TRUE(r.outputs[0].blocked()) << "the output keeps the operands' layout";
    EXPECT_EQ(r.outputs[0].format->describe(), a.format->describe());
    std::vector<Blob> plain_in = in;
    plain_in[AddIn::kA] = Blob::plain(a.to_plain());
    plain_in[AddIn::kB] = Blob::plain(b.to_plain());
    const Tensor expected = run_plain(std::string(ir::kQAddOp), relu, plain_in, kOpset, ref(), nullptr, qdomain());
    EXPECT_EQ(compare_tensors_exact(r.outputs[0].to_plain(), expected), "") << (plain_b ? "blocked + plain" : "");
  }
}

// The squeeze-and-excitation scale: a QConv's channels-last u8 output times a per-channel [N or 1, C, 1, 1] tensor
// (plain, or itself a QConv output), by QMul and QAdd, either operand order: computed in the channels-last layout,
// exactly the reference on plain tensors.
TEST(QMulDnnl, PerChannelOperandAgainstTheChannelsLastLayoutOfAQConvOutput) {
  std::mt19937 rng(12);
  const Shape x_shape = {2, 24, 5, 5};
  auto qconv_output = [&](const Shape& shape, uint8_t y_zp) {
    std::vector<Blob> in(ir::QConvInputs::kCount);
    in[ir::QConvInputs::kX] = Blob::plain(random_ints(DType::kUInt8, shape, rng));
    in[ir::QConvInputs::kXScale] = Blob::plain(make_scalar(0.02f), true);
    in[ir::QConvInputs::kXZeroPoint] = Blob::plain(make_scalar<uint8_t>(0), true);
    in[ir::QConvInputs::kW] = Blob::plain(random_ints(DType::kInt8, {shape[1], shape[1], 1, 1}, rng), true);
    in[ir::QConvInputs::kWScale] = Blob::plain(make_scalar(0.002f), true);
    in[ir::QConvInputs::kBias] = Blob::absent();
    in[ir::QConvInputs::kYScale] = Blob::plain(make_scalar(0.05f), true);
    in[ir::QConvInputs::kYZeroPoint] = Blob::plain(make_scalar<uint8_t>(y_zp), true);
    return run_node(std::string(ir::kQConvOp), {}, in, kOpset, dnnl_only_registry(), qdomain()).outputs.at(0);
  };
  const Blob x = qconv_output(x_shape, 100);
  ASSERT_TRUE(x.blocked()) << "QConv int8 outputs are expected in a oneDNN layout (nhwc)";
  int checked = 0;
  for (const std::string op : {std::string(ir::kQMulOp), std::string(ir::kQAddOp)}) {
    for (int64_t batch : {int64_t{2}, int64_t{1}}) {
      for (bool blocked_scale : {false, true}) {
        for (bool scale_first : {false, true}) {
          const Shape s_shape = {batch, x_shape[1], 1, 1};
          const Blob s = blocked_scale ? qconv_output(s_shape, 3) : Blob::plain(random_ints(DType::kInt8, s_shape, rng));
          const DType s_type = blocked_scale ? DType::kUInt8 : DType::kInt8;
          std::vector<Blob> in(AddIn::kCount);
          const size_t xi = scale_first ? AddIn::kB : AddIn::kA, si = scale_first ? AddIn::kA : AddIn::kB;
          in[xi] = x;
          in[xi + 1] = Blob::plain(make_scalar(0.05f), true);
          in[xi + 2] = Blob::plain(make_scalar<uint8_t>(100), true);
          in[si] = s;
          in[si + 1] = Blob::plain(make_scalar(0.01f), true);
          in[si + 2] = Blob::plain(zero_point_tensor(s_type, blocked_scale ? 3 : -4), true);
          in[AddIn::kYScale] = Blob::plain(make_scalar(0.04f), true);
          in[AddIn::kYZeroPoint] = Blob::plain(make_scalar<int8_t>(-7), true);
          const std::string what = op + " batch " + std::to_string(batch) + (blocked_scale ? " blocked" : " plain") +
                                   " scale" + (scale_first ? " first" : " second");
          NodeRun r = run_node(op, {}, in, kOpset, dnnl_only_registry(), qdomain());
          ASSERT_EQ(r.impl, "dnnl") << what;
          ASSERT_TRUE(r.outputs[0].blocked()) << what << ": the output keeps the channels-last layout";
          std::vector<Blob> plain_in = in;
          plain_in[xi] = Blob::plain(x.to_plain());
          plain_in[si] = Blob::plain(s.to_plain());
          const Tensor expected = run_plain(op, {}, plain_in, kOpset, ref(), nullptr, qdomain());
          EXPECT_EQ(compare_tensors_exact(r.outputs[0].to_plain(), expected), "") << what;
          ++checked;
        }
      }
    }
  }
  EXPECT_EQ(checked, 16);
}

// The per-channel path's tiles on seeded random problems: few channels (the first SE block of MobileNetV3 has 16,
// and a row-by-row loop over them was slow), channel counts that do not divide the tile, an image large enough for
// the parallel path, a per-image or a shared scale, a clamping and a non-clamping activation: exactly the reference.
TEST(QMulDnnl, PerChannelTilesMatchTheReferenceOnRandomProblems) {
  std::mt19937 rng(16);
  struct Case {
    Shape x;
    int64_t scale_batch;
    const char* act;
  };
  const std::vector<Case> cases = {{{1, 16, 56, 56}, 1, ""},     {{2, 3, 7, 9}, 2, "Relu"},
                                   {{1, 40, 4, 4}, 1, "Sigmoid"}, {{3, 72, 5, 5}, 3, ""},
                                   {{2, 1000, 2, 1}, 1, "Relu"},  {{1, 24, 64, 33}, 1, "HardSigmoid"}};
  int checked = 0;
  for (const Case& c : cases) {
    std::vector<Blob> conv(ir::QConvInputs::kCount);
    conv[ir::QConvInputs::kX] = Blob::plain(random_ints(DType::kUInt8, c.x, rng));
    conv[ir::QConvInputs::kXScale] = Blob::plain(make_scalar(0.02f), true);
    conv[ir::QConvInputs::kXZeroPoint] = Blob::plain(make_scalar<uint8_t>(0), true);
    conv[ir::QConvInputs::kW] = Blob::plain(random_ints(DType::kInt8, {c.x[1], 1, 1, 1}, rng), true);
    conv[ir::QConvInputs::kWScale] = Blob::plain(make_scalar(0.05f), true);
    conv[ir::QConvInputs::kBias] = Blob::absent();
    conv[ir::QConvInputs::kYScale] = Blob::plain(make_scalar(0.05f), true);
    conv[ir::QConvInputs::kYZeroPoint] = Blob::plain(make_scalar<uint8_t>(120), true);
    ir::Attributes depthwise;
    depthwise.set("group", c.x[1]);
    const Blob x =
        run_node(std::string(ir::kQConvOp), depthwise, conv, kOpset, dnnl_only_registry(), qdomain()).outputs.at(0);
    ASSERT_TRUE(x.blocked()) << "QConv int8 outputs are expected in a oneDNN layout";
    ir::Attributes attrs;
    if (*c.act != 0) attrs.set("activation", std::string(c.act));
    for (const std::string op : {std::string(ir::kQMulOp), std::string(ir::kQAddOp)}) {
      for (bool scale_first : {false, true}) {
        const Shape s_shape = {c.scale_batch, c.x[1], 1, 1};
        std::vector<Blob> in(AddIn::kCount);
        const size_t xi = scale_first ? AddIn::kB : AddIn::kA, si = scale_first ? AddIn::kA : AddIn::kB;
        in[xi] = x;
        in[xi + 1] = Blob::plain(make_scalar(0.03f), true);
        in[xi + 2] = Blob::plain(make_scalar<uint8_t>(120), true);
        in[si] = Blob::plain(random_ints(DType::kUInt8, s_shape, rng));
        in[si + 1] = Blob::plain(make_scalar(1.f / 255.f), true);
        in[si + 2] = Blob::plain(make_scalar<uint8_t>(7), true);
        in[AddIn::kYScale] = Blob::plain(make_scalar(0.025f), true);
        in[AddIn::kYZeroPoint] = Blob::plain(make_scalar<uint8_t>(110), true);
        const std::string what = op + " " + shape_to_string(c.x) + " act '" + c.act + "'" +
                                 (scale_first ? " scale first" : " scale second");
        NodeRun r = run_node(op, attrs, in, kOpset, dnnl_only_registry(), qdomain());
        ASSERT_EQ(r.impl, "dnnl") << what;
        ASSERT_TRUE(r.outputs[0].blocked()) << what;
        std::vector<Blob> plain_in = in;
        plain_in[xi] = Blob::plain(x.to_plain());
        const Tensor expected = run_plain(op, attrs, plain_in, kOpset, ref(), nullptr, qdomain());
        EXPECT_EQ(compare_tensors_exact(r.outputs[0].to_plain(), expected), "") << what;
        ++checked;
      }
    }
  }
  EXPECT_EQ(checked, 24);
}

// ---------------------------------------------------------------------------------------------------------------
// QGemm

// X = [10, 20] (uint8, zp 5, scale 0.5 -> 2.5, 7.5), W = [[2, -1], [1, 3]] with column scales 0.5, 0.25 ->
// [[1, -0.25], [0.5, 0.75]]: X W = [6.25, 5], + B [0.25, -1] = [6.5, 4]; y_scale 0.5 -> 13, 8.
std::vector<Blob> qgemm_hand_inputs(bool trans_b, bool quantized_output) {
  std::vector<Blob> in(quantized_output ? GemmIn::kCount : GemmIn::kYScale);
  in[GemmIn::kX] = Blob::plain(make_tensor<uint8_t>({1, 2}, {10, 20}));
  in[GemmIn::kXScale] = Blob::plain(make_scalar(0.5f), true);
  in[GemmIn::kXZeroPoint] = Blob::plain(make_scalar<uint8_t>(5), true);
  in[GemmIn::kW] = Blob::plain(trans_b ? make_tensor<int8_t>({2, 2}, {2, 1, -1, 3})
                                       : make_tensor<int8_t>({2, 2}, {2, -1, 1, 3}), true);
  in[GemmIn::kWScale] = Blob::plain(make_tensor<float>({2}, {0.5f, 0.25f}), true);
  in[GemmIn::kBias] = Blob::plain(make_tensor<float>({2}, {0.25f, -1.f}), true);
  if (quantized_output) {
    in[GemmIn::kYScale] = Blob::plain(make_scalar(0.5f), true);
    in[GemmIn::kYZeroPoint] = Blob::plain(make_scalar<int8_t>(0), true);
  }
  return in;
}

TEST(QGemmReference, HandComputed) {
  const std::string op(ir::kQGemmOp);
  for (const kernels::KernelRegistry* registry : {&ref(), &dnnl_only_registry()}) {
    const std::string which = registry == &ref() ? "ref" : "dnnl";
    for (bool trans_b : {false, true}) {
      ir::Attributes attrs;
      if (trans_b) attrs.set("transB", int64_t{1});
      std::string impl;
      const Tensor y = run_plain(op, attrs, qgemm_hand_inputs(trans_b, true), kOpset, *registry, &impl, qdomain());
      EXPECT_EQ(impl, which);
      EXPECT_EQ(tensor_values<int8_t>(y), (std::vector<int8_t>{13, 8})) << which << " transB " << trans_b;
      const Tensor yf = run_plain(op, attrs, qgemm_hand_inputs(trans_b, false), kOpset, *registry, nullptr, qdomain());
      EXPECT_EQ(tensor_values<float>(yf), (std::vector<float>{6.5f, 4.f})) << which << " transB " << trans_b;
    }
  }
}

struct QGemmCase {
  int64_t m = 1, k = 1, n = 1;
  bool trans_b = false, float_x = false, per_column = true, bias = false;
  DType x_type = DType::kUInt8, y_type = DType::kUInt8;
  int64_t x_zp = 0, y_zp = 0;
  ir::Attributes attrs;
  std::string describe() const {
    std::ostringstream os;
    os << "m " << m << " k " << k << " n " << n << (trans_b ? " transB" : "") << (float_x ? " float ->" : "") << " "
       << dtype_name(x_type) << " zp " << x_zp << (per_column ? " per-column" : " per-tensor") << (bias ? " bias" : "")
       << " -> " << dtype_name(y_type) << " zp " << y_zp << " " << describe_attrs(attrs);
    return os.str();
  }
};

QGemmCase random_qgemm_case(std::mt19937& rng) {
  QGemmCase c;
  c.m = pick(rng, 1, 70);
  c.k = pick(rng, 1, 400);
  c.n = pick(rng, 1, 80);
  c.trans_b = pick(rng, 0, 1) == 1;
  c.float_x = pick(rng, 0, 2) == 0;
  c.per_column = pick(rng, 0, 3) != 0;
  c.bias = pick(rng, 0, 1) == 1;
  c.x_type = random_8bit(rng);
  c.x_zp = random_zero_point(c.x_type, rng);
  const int64_t out = pick(rng, 0, 2);
  c.y_type = out == 0 ? DType::kUInt8 : out == 1 ? DType::kInt8 : DType::kFloat32;
  c.y_zp = c.y_type == DType::kFloat32 ? 0 : random_zero_point(c.y_type, rng);
  c.attrs = random_activation_attrs(rng);
  if (c.trans_b) c.attrs.set("transB", int64_t{1});
  return c;
}

std::vector<Blob> qgemm_inputs(const QGemmCase& c, std::mt19937& rng) {
  std::uniform_real_distribution<float> scale(0.005f, 0.05f);
  std::vector<Blob> in(GemmIn::kYScale);
  const float x_scale = scale(rng);
  in[GemmIn::kX] = Blob::plain(c.float_x ? random_tensor({c.m, c.k}, rng, -140.f * x_scale, 140.f * x_scale)
                                         : random_ints(c.x_type, {c.m, c.k}, rng));
  in[GemmIn::kXScale] = Blob::plain(make_scalar(x_scale), true);
  in[GemmIn::kXZeroPoint] = Blob::plain(zero_point_tensor(c.x_type, c.x_zp), true);
  Tensor w = random_ints(DType::kInt8, c.trans_b ? Shape{c.n, c.k} : Shape{c.k, c.n}, rng);
  for (int64_t i = 0; i < w.numel(); ++i) w.data<int8_t>()[i] = std::max<int8_t>(w.data<int8_t>()[i], -127);
  in[GemmIn::kW] = Blob::plain(w, true);
  Tensor w_scale(DType::kFloat32, {c.per_column ? c.n : 1});
  for (int64_t j = 0; j < w_scale.numel(); ++j) w_scale.data<float>()[j] = scale(rng) * 0.1f;
  in[GemmIn::kWScale] = Blob::plain(w_scale, true);
  in[GemmIn::kBias] = c.bias ? Blob::plain(random_tensor({c.n}, rng, -2.f, 2.f), true) : Blob::absent();
  if (c.y_type == DType::kFloat32) return in;
  const Tensor y = run_plain(std::string(ir::kQGemmOp), c.attrs, in, kOpset, ref(), nullptr, qdomain());
  in.push_back(Blob::plain(make_scalar(std::max(max_abs(y), 1e-3f) / 100.f), true));
  in.push_back(Blob::plain(zero_point_tensor(c.y_type, c.y_zp), true));
  return in;
}

// DQ(X) (after QuantizeLinear for a float X), DQ(W), Gemm(transB) with C, the activation, QuantizeLinear.
Tensor simulate_qgemm(const QGemmCase& c, const std::vector<Blob>& in) {
  Blob x = in[GemmIn::kX];
  if (c.float_x) {
    x = Blob::plain(run_plain("QuantizeLinear", {}, {x, in[GemmIn::kXScale], in[GemmIn::kXZeroPoint]}, kOpset, ref()));
  }
  const Tensor xf = dequantize(x, in[GemmIn::kXScale], in[GemmIn::kXZeroPoint]);
  ir::Attributes dq_attrs;
  dq_attrs.set("axis", int64_t{c.trans_b ? 0 : 1});
  const Tensor& ws = in[GemmIn::kWScale].view;
  const Tensor w_scale = ws.numel() == 1 ? make_scalar(ws.data<float>()[0]) : ws;  // per-tensor: a scalar scale
  const Tensor wf =
      run_plain("DequantizeLinear", dq_attrs, {Blob::plain(in[GemmIn::kW].view), Blob::plain(w_scale)}, kOpset, ref());
  ir::Attributes gemm;
  if (c.trans_b) gemm.set("transB", int64_t{1});
  std::vector<Blob> gemm_in = {Blob::plain(xf), Blob::plain(wf)};
  if (c.bias) gemm_in.push_back(in[GemmIn::kBias]);
  const Tensor y = run_plain("Gemm", gemm, gemm_in, kOpset, ref());
  return simulate_tail(y, c.attrs, in, GemmIn::kYScale);
}

TEST(QGemmDnnl, MatchesReferenceAndFloatSimulationOnRandomProblems) {
  std::mt19937 rng(2027);
  constexpr int kCases = 120;
  int64_t elements = 0, differ_ref = 0, differ_sim = 0, ran_dnnl = 0;
  for (int i = 0; i < kCases; ++i) {
    const QGemmCase c = random_qgemm_case(rng);
    const std::vector<Blob> in = qgemm_inputs(c, rng);
    const std::string what = "case " + std::to_string(i) + ": " + c.describe();
    NodeRun run =
        run_node(std::string(ir::kQGemmOp), c.attrs, in, kOpset, kernels::default_kernel_registry(), qdomain());
    if (run.impl == "dnnl") {
      ++ran_dnnl;
    } else {
      std::string why;
      for (const std::string& d : run.declines) why += d + "; ";
      ADD_FAILURE() << what << ": the oneDNN kernel declined: " << why;
    }
    const Tensor got = run.outputs.at(0).to_plain();
    const Tensor expected = run_plain(std::string(ir::kQGemmOp), c.attrs, in, kOpset, ref(), nullptr, qdomain());
    const Tensor simulated = simulate_qgemm(c, in);
    ASSERT_EQ(got.dtype(), expected.dtype()) << what;
    if (c.y_type == DType::kFloat32) {
      const double tol = 1e-5 * max_abs(simulated) + 1e-5;
      EXPECT_EQ(compare_tensors(got, expected, 0.0, tol), "") << what;
      EXPECT_EQ(compare_tensors(expected, simulated, 0.0, tol), "") << what;
      continue;
    }
    elements += got.numel();
    differ_ref += count_step_differences(got, expected, what + " (dnnl vs reference)");
    differ_sim += count_step_differences(got, simulated, what + " (dnnl vs simulation)");
  }
  EXPECT_EQ(ran_dnnl, kCases);
  ASSERT_GT(elements, 0);
  for (int64_t differ : {differ_ref, differ_sim}) {
    EXPECT_LE(static_cast<double>(differ), kMaxMismatchFraction * static_cast<double>(elements))
        << differ << " of " << elements << " integer outputs differ by one step";
  }
  std::cout << "QGemm dnnl: " << differ_ref << " (vs reference), " << differ_sim << " (vs simulation) of " << elements
            << " integer outputs differ by one step\n";
}

}  // namespace
}  // namespace qwac::testing
