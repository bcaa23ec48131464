// Reference kernels of the NN family, part 1: Conv, ConvTranspose, Gemm, MatMul (hand-computed cases, a naive
// twin on seeded random problems, and the shape-inference errors).
#include <gtest/gtest.h>

#include <random>
#include <sstream>

#include "kernels/ref/nn_conv.h"
#include "ref_nn_test_util.h"

namespace qwac::testing {
namespace {

using nn::attrs;
using nn::f32;
using nn::Floats;
using nn::Ints;
using nn::iota_f32;
using nn::run_ref;

constexpr int64_t kOpset = 13;

// ---------------------------------------------------------------------------------------------------- Conv

TEST(RefNnConv, Basic2dWithBias) {
  const Tensor x = iota_f32({1, 1, 3, 3});
  const Tensor w = f32({1, 1, 2, 2}, {1, 1, 1, 1});
  auto y = run_ref("Conv", {}, {x, w}, kOpset);
  expect_tensor_eq(y[0], f32({1, 1, 2, 2}, {8, 12, 20, 24}));
  y = run_ref("Conv", {}, {x, w, f32({1}, {1})}, kOpset);
  expect_tensor_eq(y[0], f32({1, 1, 2, 2}, {9, 13, 21, 25}));
}

TEST(RefNnConv, AsymmetricPads) {
  // pads = [top 1, left 0, bottom 0, right 1] with a 3x3 box filter over 0..8.
  auto y = run_ref("Conv", attrs({{"pads", Ints{1, 0, 0, 1}}}),
                   {iota_f32({1, 1, 3, 3}), f32({1, 1, 3, 3}, Floats(9, 1.f))}, kOpset);
  expect_tensor_eq(y[0], f32({1, 1, 2, 2}, {15, 12, 36, 27}));
}

TEST(RefNnConv, Dilations) {
  auto y = run_ref("Conv", attrs({{"dilations", Ints{2, 2}}}), {iota_f32({1, 1, 4, 4}), f32({1, 1, 2, 2}, {1, 1, 1, 1})},
                   kOpset);
  expect_tensor_eq(y[0], f32({1, 1, 2, 2}, {20, 24, 36, 40}));
}

TEST(RefNnConv, GroupsAndDepthwiseMultiplier) {
  const Tensor x = f32({1, 2, 2, 2}, {1, 2, 3, 4, 5, 6, 7, 8});
  auto y = run_ref("Conv", attrs({{"group", int64_t{2}}}), {x, f32({2, 1, 1, 1}, {2, 3})}, kOpset);
  expect_tensor_eq(y[0], f32({1, 2, 2, 2}, {2, 4, 6, 8, 15, 18, 21, 24}));
  // Depthwise with channel multiplier 2: outputs 0,1 read channel 0, outputs 2,3 read channel 1.
  y = run_ref("Conv", attrs({{"group", int64_t{2}}}), {x, f32({4, 1, 1, 1}, {1, 2, 3, 4})}, kOpset);
  expect_tensor_eq(y[0], f32({1, 4, 2, 2}, {1, 2, 3, 4, 2, 4, 6, 8, 15, 18, 21, 24, 20, 24, 28, 32}));
  // Two input channels per group: y0 = x0 + 10 x1, y1 = 100 x2 + 1000 x3.
  const Tensor x4 = f32({1, 4, 1, 1}, {1, 2, 3, 4});
  y = run_ref("Conv", attrs({{"group", int64_t{2}}}), {x4, f32({2, 2, 1, 1}, {1, 10, 100, 1000})}, kOpset);
  expect_tensor_eq(y[0], f32({1, 2, 1, 1}, {21, 4300}));
}

TEST(RefNnConv, AutoPadSame1d) {
  const Tensor x = f32({1, 1, 4}, {1, 2, 3, 4});
  const Tensor w = f32({1, 1, 2}, {1, 10});
  // Output 4, total padding 1: SAME_UPPER pads the end, SAME_LOWER the beginning.
  auto y = run_ref("Conv", attrs({{"auto_pad", std::string("SAME_UPPER")}}), {x, w}, kOpset);
  expect_tensor_eq(y[0], f32({1, 1, 4}, {21, 32, 43, 4}));
  y = run_ref("Conv", attrs({{"auto_pad", std::string("SAME_LOWER")}}), {x, w}, kOpset);
  expect_tensor_eq(y[0], f32({1, 1, 4}, {10, 21, 32, 43}));
  y = run_ref("Conv", attrs({{"auto_pad", std::string("VALID")}, {"strides", Ints{2}}}), {x, w}, kOpset);
  expect_tensor_eq(y[0], f32({1, 1, 2}, {21, 43}));
  // SAME with stride 2: output ceil(4 / 2) = 2, no padding needed.
  y = run_ref("Conv", attrs({{"auto_pad", std::string("SAME_UPPER")}, {"strides", Ints{2}}}), {x, w}, kOpset);
  expect_tensor_eq(y[0], f32({1, 1, 2}, {21, 43}));
}

TEST(RefNnConv, ThreeD) {
  auto y = run_ref("Conv", {}, {iota_f32({1, 1, 2, 2, 2}), f32({1, 1, 2, 2, 2}, Floats(8, 1.f))}, kOpset);
  expect_tensor_eq(y[0], f32({1, 1, 1, 1, 1}, {28}));
}

TEST(RefNnConv, InvalidModels) {
  const Tensor x = iota_f32({1, 3, 4, 4});
  try {
    run_ref("Conv", {}, {x, f32({2, 2, 1, 1}, Floats(4, 1.f))}, kOpset);
    FAIL() << "channel mismatch accepted";
  } catch (const InvalidModel& e) {
    const std::string msg = e.what();
    EXPECT_NE(msg.find("Conv 'node'"), std::string::npos) << msg;
    EXPECT_NE(msg.find("[1,3,4,4]"), std::string::npos) << msg;
    EXPECT_NE(msg.find("[2,2,1,1]"), std::string::npos) << msg;
  }
  EXPECT_THROW(run_ref("Conv", attrs({{"kernel_shape", Ints{3, 3}}}), {x, f32({1, 3, 1, 1}, Floats(3, 1.f))}, kOpset),
               InvalidModel);
  EXPECT_THROW(run_ref("Conv", attrs({{"pads", Ints{1, 1}}}), {x, f32({1, 3, 1, 1}, Floats(3, 1.f))}, kOpset),
               InvalidModel);
  EXPECT_THROW(run_ref("Conv", {}, {x, f32({1, 3, 1, 1}, Floats(3, 1.f)), f32({2}, {0, 0})}, kOpset), InvalidModel);
  EXPECT_THROW(run_ref("Conv", {}, {x, f32({1, 3, 5, 5}, Floats(75, 1.f))}, kOpset), InvalidModel);
  EXPECT_THROW(run_ref("Conv", attrs({{"auto_pad", std::string("SAME")}}), {x, f32({1, 3, 1, 1}, Floats(3, 1.f))},
                       kOpset),
               InvalidModel);
}

// ---------------------------------------------------------------------------------------------- ConvTranspose

TEST(RefNnConvTranspose, OneD) {
  const Tensor x = f32({1, 1, 3}, {1, 2, 3});
  const Tensor w2 = f32({1, 1, 2}, {1, 1});
  expect_tensor_eq(run_ref("ConvTranspose", {}, {x, w2}, kOpset)[0], f32({1, 1, 4}, {1, 3, 5, 3}));
  expect_tensor_eq(run_ref("ConvTranspose", attrs({{"strides", Ints{2}}}), {x, w2}, kOpset)[0],
                   f32({1, 1, 6}, {1, 1, 2, 2, 3, 3}));
  expect_tensor_eq(run_ref("ConvTranspose", attrs({{"strides", Ints{2}}, {"pads", Ints{1, 1}}}), {x, w2}, kOpset)[0],
                   f32({1, 1, 4}, {1, 2, 2, 3}));
  expect_tensor_eq(
      run_ref("ConvTranspose", attrs({{"strides", Ints{2}}, {"output_padding", Ints{1}}}), {x, w2}, kOpset)[0],
      f32({1, 1, 7}, {1, 1, 2, 2, 3, 3, 0}));
  // Bias reaches every output, including the output_padding one.
  expect_tensor_eq(run_ref("ConvTranspose", attrs({{"strides", Ints{2}}, {"output_padding", Ints{1}}}),
                           {x, w2, f32({1}, {0.5f})}, kOpset)[0],
                   f32({1, 1, 7}, {1.5f, 1.5f, 2.5f, 2.5f, 3.5f, 3.5f, 0.5f}));
  expect_tensor_eq(run_ref("ConvTranspose", attrs({{"dilations", Ints{2}}}), {f32({1, 1, 2}, {1, 2}), w2}, kOpset)[0],
                   f32({1, 1, 4}, {1, 2, 1, 2}));
}

TEST(RefNnConvTranspose, OutputShapeAndAutoPad) {
  const Tensor x = f32({1, 1, 3}, {1, 2, 3});
  const Tensor w2 = f32({1, 1, 2}, {1, 1});
  // Natural size 6, requested 5: total padding 1; NOTSET puts it at the beginning, SAME_UPPER at the end.
  expect_tensor_eq(run_ref("ConvTranspose", attrs({{"strides", Ints{2}}, {"output_shape", Ints{5}}}), {x, w2},
                           kOpset)[0],
                   f32({1, 1, 5}, {1, 2, 2, 3, 3}));
  expect_tensor_eq(run_ref("ConvTranspose",
                           attrs({{"strides", Ints{2}}, {"output_shape", Ints{5}},
                                  {"auto_pad", std::string("SAME_UPPER")}}),
                           {x, w2}, kOpset)[0],
                   f32({1, 1, 5}, {1, 1, 2, 2, 3}));
  // Requested larger than natural: zero extension at the end.
  expect_tensor_eq(run_ref("ConvTranspose", attrs({{"strides", Ints{2}}, {"output_shape", Ints{1, 1, 7}}}), {x, w2},
                           kOpset)[0],
                   f32({1, 1, 7}, {1, 1, 2, 2, 3, 3, 0}));
  // Kernel 3, stride 2: natural 7 = [1,1,3,2,5,3,3], SAME wants 6.
  const Tensor w3 = f32({1, 1, 3}, {1, 1, 1});
  expect_tensor_eq(run_ref("ConvTranspose", attrs({{"strides", Ints{2}}}), {x, w3}, kOpset)[0],
                   f32({1, 1, 7}, {1, 1, 3, 2, 5, 3, 3}));
  expect_tensor_eq(
      run_ref("ConvTranspose", attrs({{"strides", Ints{2}}, {"auto_pad", std::string("SAME_UPPER")}}), {x, w3},
              kOpset)[0],
      f32({1, 1, 6}, {1, 1, 3, 2, 5, 3}));
  expect_tensor_eq(
      run_ref("ConvTranspose", attrs({{"strides", Ints{2}}, {"auto_pad", std::string("SAME_LOWER")}}), {x, w3},
              kOpset)[0],
      f32({1, 1, 6}, {1, 3, 2, 5, 3, 3}));
  expect_tensor_eq(
      run_ref("ConvTranspose", attrs({{"strides", Ints{2}}, {"auto_pad", std::string("VALID")}}), {x, w3}, kOpset)[0],
      f32({1, 1, 7}, {1, 1, 3, 2, 5, 3, 3}));
}

TEST(RefNnConvTranspose, Groups) {
  const Tensor x = f32({1, 2, 2}, {1, 2, 3, 4});
  // W is C x M/group x k: group 2 with two outputs per group.
  auto y = run_ref("ConvTranspose", attrs({{"group", int64_t{2}}}), {x, f32({2, 2, 1}, {1, 2, 3, 4})}, kOpset);
  expect_tensor_eq(y[0], f32({1, 4, 2}, {1, 2, 2, 4, 9, 12, 12, 16}));
  // Without groups every output channel sums both inputs.
  y = run_ref("ConvTranspose", {}, {x, f32({2, 1, 1}, {1, 10})}, kOpset);
  expect_tensor_eq(y[0], f32({1, 1, 2}, {31, 42}));
  EXPECT_THROW(run_ref("ConvTranspose", {}, {x, f32({3, 1, 1}, {1, 1, 1})}, kOpset), InvalidModel);
  EXPECT_THROW(run_ref("ConvTranspose", {}, {x, f32({2, 1, 1}, {1, 1}), f32({2}, {1, 1})}, kOpset), InvalidModel);
}

// ------------------------------------------------------------------------------------ naive twins (random)

struct Conv2dCase {
  int64_t n, c, m, group, h, w, kh, kw, sh, sw, dh, dw, pt, pl, pb, pr;
  bool bias;
  std::string describe() const {
    std::ostringstream os;
    os << "N" << n << " C" << c << " M" << m << " g" << group << " in " << h << "x" << w << " k " << kh << "x" << kw
       << " s " << sh << "," << sw << " d " << dh << "," << dw << " pads " << pt << "," << pl << "," << pb << "," << pr
       << (bias ? " bias" : "");
    return os.str();
  }
};

Conv2dCase random_case(std::mt19937& rng) {
  auto pick = [&](int lo, int hi) { return static_cast<int64_t>(std::uniform_int_distribution<int>(lo, hi)(rng)); };
  Conv2dCase k{};
  k.group = pick(1, 3);
  k.c = k.group * pick(1, 3);
  k.m = k.group * pick(1, 3);
  k.n = pick(1, 2);
  k.kh = pick(1, 3);
  k.kw = pick(1, 3);
  k.sh = pick(1, 3);
  k.sw = pick(1, 3);
  k.dh = pick(1, 2);
  k.dw = pick(1, 2);
  k.pt = pick(0, 2);
  k.pl = pick(0, 2);
  k.pb = pick(0, 2);
  k.pr = pick(0, 2);
  k.h = (k.kh - 1) * k.dh + 1 + pick(0, 5);
  k.w = (k.kw - 1) * k.dw + 1 + pick(0, 5);
  k.bias = pick(0, 1) == 1;
  return k;
}

ir::Attributes conv_attrs(const Conv2dCase& k) {
  return attrs({{"group", k.group},
                {"strides", Ints{k.sh, k.sw}},
                {"dilations", Ints{k.dh, k.dw}},
                {"pads", Ints{k.pt, k.pl, k.pb, k.pr}}});
}

TEST(RefNnConv, MatchesNaiveTwinOnRandomProblems) {
  std::mt19937 rng(1234);
  for (int iter = 0; iter < 60; ++iter) {
    const Conv2dCase k = random_case(rng);
    SCOPED_TRACE(k.describe());
    const Tensor x = random_tensor({k.n, k.c, k.h, k.w}, rng);
    const Tensor w = random_tensor({k.m, k.c / k.group, k.kh, k.kw}, rng);
    const Tensor b = random_tensor({k.m}, rng);
    const auto y = run_ref("Conv", conv_attrs(k), k.bias ? std::vector<Tensor>{x, w, b} : std::vector<Tensor>{x, w},
                           kOpset);
    const int64_t oh = (k.h + k.pt + k.pb - (k.kh - 1) * k.dh - 1) / k.sh + 1;
    const int64_t ow = (k.w + k.pl + k.pr - (k.kw - 1) * k.dw - 1) / k.sw + 1;
    Tensor expected(DType::kFloat32, {k.n, k.m, oh, ow});
    const float *px = x.data<float>(), *pw = w.data<float>(), *pb = b.data<float>();
    float* pe = expected.data<float>();
    const int64_t cg = k.c / k.group, mg = k.m / k.group;
    for (int64_t n = 0; n < k.n; ++n)
      for (int64_t m = 0; m < k.m; ++m)
        for (int64_t i = 0; i < oh; ++i)
          for (int64_t j = 0; j < ow; ++j) {
            double acc = k.bias ? pb[m] : 0.0;
            for (int64_t c = 0; c < cg; ++c)
              for (int64_t a = 0; a < k.kh; ++a)
                for (int64_t bb = 0; bb < k.kw; ++bb) {
                  const int64_t ih = i * k.sh - k.pt + a * k.dh, iw = j * k.sw - k.pl + bb * k.dw;
                  if (ih < 0 || ih >= k.h || iw < 0 || iw >= k.w) continue;
                  const int64_t ci = (m / mg) * cg + c;
                  acc += px[((n * k.c + ci) * k.h + ih) * k.w + iw] * pw[((m * cg + c) * k.kh + a) * k.kw + bb];
                }
            pe[((n * k.m + m) * oh + i) * ow + j] = static_cast<float>(acc);
          }
    expect_tensor_near(y[0], expected, 1e-5, 1e-5);
  }
}

TEST(RefNnConvTranspose, MatchesNaiveTwinOnRandomProblems) {
  std::mt19937 rng(4321);
  for (int iter = 0; iter < 60; ++iter) {
    Conv2dCase k = random_case(rng);
    k.h = std::uniform_int_distribution<int>(1, 4)(rng);
    k.w = std::uniform_int_distribution<int>(1, 4)(rng);
    // Keep pads small enough that the output is not empty.
    k.pt = std::min<int64_t>(k.pt, (k.kh - 1) * k.dh / 2);
    k.pb = std::min<int64_t>(k.pb, (k.kh - 1) * k.dh / 2);
    k.pl = std::min<int64_t>(k.pl, (k.kw - 1) * k.dw / 2);
    k.pr = std::min<int64_t>(k.pr, (k.kw - 1) * k.dw / 2);
    const int64_t oph = std::uniform_int_distribution<int>(0, static_cast<int>(k.sh) - 1)(rng);
    SCOPED_TRACE(k.describe() + " output_padding_h " + std::to_string(oph));
    const Tensor x = random_tensor({k.n, k.c, k.h, k.w}, rng);
    const Tensor w = random_tensor({k.c, k.m / k.group, k.kh, k.kw}, rng);
    const Tensor b = random_tensor({k.m}, rng);
    ir::Attributes a = conv_attrs(k);
    a.set("output_padding", Ints{oph, 0});
    const auto y = run_ref("ConvTranspose", a, k.bias ? std::vector<Tensor>{x, w, b} : std::vector<Tensor>{x, w},
                           kOpset);
    const int64_t oh = k.sh * (k.h - 1) + oph + (k.kh - 1) * k.dh + 1 - k.pt - k.pb;
    const int64_t ow = k.sw * (k.w - 1) + (k.kw - 1) * k.dw + 1 - k.pl - k.pr;
    std::vector<double> acc(static_cast<size_t>(k.n * k.m * oh * ow), 0.0);
    const float *px = x.data<float>(), *pw = w.data<float>(), *pb = b.data<float>();
    const int64_t cg = k.c / k.group, mg = k.m / k.group;
    for (int64_t n = 0; n < k.n; ++n)
      for (int64_t c = 0; c < k.c; ++c)
        for (int64_t ml = 0; ml < mg; ++ml)
          for (int64_t i = 0; i < k.h; ++i)
            for (int64_t j = 0; j < k.w; ++j)
              for (int64_t p = 0; p < k.kh; ++p)
                for (int64_t q = 0; q < k.kw; ++q) {
                  const int64_t o1 = i * k.sh + p * k.dh - k.pt, o2 = j * k.sw + q * k.dw - k.pl;
                  if (o1 < 0 || o1 >= oh || o2 < 0 || o2 >= ow) continue;
                  const int64_t m = (c / cg) * mg + ml;
                  acc[static_cast<size_t>(((n * k.m + m) * oh + o1) * ow + o2)] +=
                      px[((n * k.c + c) * k.h + i) * k.w + j] * pw[((c * mg + ml) * k.kh + p) * k.kw + q];
                }
    Tensor expected(DType::kFloat32, {k.n, k.m, oh, ow});
    for (size_t i = 0; i < acc.size(); ++i) {
      const int64_t m = (static_cast<int64_t>(i) / (oh * ow)) % k.m;
      expected.data<float>()[i] = static_cast<float>(acc[i] + (k.bias ? pb[m] : 0.0));
    }
    expect_tensor_near(y[0], expected, 1e-5, 1e-5);
  }
}

// ---------------------------------------------------------------------------------------------------- Gemm

TEST(RefNnGemm, AttributesAndBiasBroadcast) {
  const Tensor a = f32({2, 3}, {1, 2, 3, 4, 5, 6});
  const Tensor at = f32({3, 2}, {1, 4, 2, 5, 3, 6});
  const Tensor b = f32({3, 2}, {1, 0, 0, 1, 1, 1});
  const Tensor bt = f32({2, 3}, {1, 0, 1, 0, 1, 1});
  const ir::Attributes ab = attrs({{"alpha", 2.f}, {"beta", 0.5f}});
  const Tensor c_row = f32({2}, {1, 2});
  const Tensor expected = f32({2, 2}, {8.5f, 11, 20.5f, 23});
  expect_tensor_eq(run_ref("Gemm", ab, {a, b, c_row}, kOpset)[0], expected);
  ir::Attributes ta = ab;
  ta.set("transA", int64_t{1});
  expect_tensor_eq(run_ref("Gemm", ta, {at, b, c_row}, kOpset)[0], expected);
  ir::Attributes tb = ab;
  tb.set("transB", int64_t{1});
  expect_tensor_eq(run_ref("Gemm", tb, {a, bt, c_row}, kOpset)[0], expected);
  ir::Attributes tab = ta;
  tab.set("transB", int64_t{1});
  expect_tensor_eq(run_ref("Gemm", tab, {at, bt, c_row}, kOpset)[0], expected);
  // C as a column [M, 1], a scalar, a full matrix.
  expect_tensor_eq(run_ref("Gemm", ab, {a, b, f32({2, 1}, {1, 2})}, kOpset)[0], f32({2, 2}, {8.5f, 10.5f, 21, 23}));
  expect_tensor_eq(run_ref("Gemm", ab, {a, b, make_scalar(2.f)}, kOpset)[0], f32({2, 2}, {9, 11, 21, 23}));
  expect_tensor_eq(run_ref("Gemm", ab, {a, b, f32({2, 2}, {2, 4, 6, 8})}, kOpset)[0], f32({2, 2}, {9, 12, 23, 26}));
}

TEST(RefNnGemm, OptionalCAndErrors) {
  const Tensor a = f32({2, 3}, {1, 2, 3, 4, 5, 6});
  const Tensor b = f32({3, 2}, {1, 0, 0, 1, 1, 1});
  expect_tensor_eq(run_ref("Gemm", {}, {a, b}, 11)[0], f32({2, 2}, {4, 5, 10, 11}));
  EXPECT_THROW(run_ref("Gemm", {}, {a, b}, 9), InvalidModel);  // C is required before opset 11
  EXPECT_THROW(run_ref("Gemm", {}, {a, b, f32({3}, {1, 2, 3})}, kOpset), InvalidModel);
  EXPECT_THROW(run_ref("Gemm", {}, {a, a}, kOpset), InvalidModel);
}

// -------------------------------------------------------------------------------------------------- MatMul

TEST(RefNnMatMul, RanksAndPromotion) {
  const Tensor a = f32({2, 2}, {1, 2, 3, 4});
  const Tensor b = f32({2, 2}, {5, 6, 7, 8});
  expect_tensor_eq(run_ref("MatMul", {}, {a, b}, kOpset)[0], f32({2, 2}, {19, 22, 43, 50}));
  expect_tensor_eq(run_ref("MatMul", {}, {f32({2}, {1, 2}), b}, kOpset)[0], f32({2}, {19, 22}));
  expect_tensor_eq(run_ref("MatMul", {}, {a, f32({2}, {5, 6})}, kOpset)[0], f32({2}, {17, 39}));
  expect_tensor_eq(run_ref("MatMul", {}, {f32({2}, {1, 2}), f32({2}, {3, 4})}, kOpset)[0], make_scalar(11.f));
  // A 1-D A against a batched B: [K] x [2, K, N] -> [2, N].
  expect_tensor_eq(run_ref("MatMul", {}, {f32({2}, {1, 2}), f32({2, 2, 1}, {1, 2, 3, 4})}, kOpset)[0],
                   f32({2, 1}, {5, 11}));
  EXPECT_THROW(run_ref("MatMul", {}, {f32({2, 3}, Floats(6, 1.f)), b}, kOpset), InvalidModel);
  EXPECT_THROW(run_ref("MatMul", {}, {f32({2, 2, 2}, Floats(8, 1.f)), f32({3, 2, 2}, Floats(12, 1.f))}, kOpset),
               InvalidModel);
}

TEST(RefNnMatMul, BatchBroadcast) {
  // A [2,1,2,2] = {I, 2I}; B [3,2,2] = three matrices; out[a][b] = (a + 1) * B_b.
  const Tensor a = f32({2, 1, 2, 2}, {1, 0, 0, 1, 2, 0, 0, 2});
  const Tensor b = iota_f32({3, 2, 2});
  const auto y = run_ref("MatMul", {}, {a, b}, kOpset);
  std::vector<float> e;
  for (int s = 1; s <= 2; ++s)
    for (int i = 0; i < 12; ++i) e.push_back(static_cast<float>(s * i));
  expect_tensor_eq(y[0], f32({2, 3, 2, 2}, e));
}

// The exposed conv_forward is the same arithmetic the kernel uses; a 1-D problem sits in the last axis.
TEST(RefNnConv, ExposedProblemNormalizesTo3d) {
  ir::nn::WindowGeometry g;
  g.in = {5};
  g.kernel = {2};
  g.out = {4};
  g.strides = {1};
  g.dilations = {1};
  g.pad_begin = {0};
  g.pad_end = {0};
  kernels::ref::ConvProblem p;
  std::string reason;
  ASSERT_TRUE(kernels::ref::make_conv_problem(g, 1, 1, 1, 1, p, reason)) << reason;
  EXPECT_EQ(p.in[2], 5);
  EXPECT_EQ(p.in[0], 1);
  const float x[5] = {1, 2, 3, 4, 5}, w[2] = {1, -1};
  float y[4] = {};
  kernels::ref::conv_forward(p, x, w, nullptr, y, 1);
  for (float v : y) EXPECT_EQ(v, -1.f);
  g.in.assign(4, 1);
  EXPECT_FALSE(kernels::ref::make_conv_problem(g, 1, 1, 1, 1, p, reason));
  EXPECT_NE(reason.find("spatial"), std::string::npos);
}

}  // namespace
}  // namespace qwac::testing
