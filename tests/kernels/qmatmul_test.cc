// QMatMul (com.qwac): the oneDNN int8 matmul agrees bit for bit with the reference kernel (the int32 sum times one
// multiplier), batched and broadcast, for the zero points oneDNN takes (A: any; B: int8 0 or uint8 128), declines
// the others; and the reference is the float simulation DQ -> MatMul -> Mul up to float rounding of the sum.
#include <gtest/gtest.h>

#include <cmath>
#include <random>

#include "ir/fused_ops.h"
#include "kernels/dnnl_registry_util.h"
#include "kernels/dnnl_test_util.h"
#include "kernels/kernel_test_util.h"

namespace qwac::testing {
namespace {

constexpr int64_t kOpset = 13;
const std::string kDomain(ir::kQwacDomain);

template <typename Q>
Tensor random_8bit(const Shape& shape, std::mt19937& rng) {
  Tensor t(std::is_signed_v<Q> ? DType::kInt8 : DType::kUInt8, shape);
  std::uniform_int_distribution<int> v(std::numeric_limits<Q>::min(), std::numeric_limits<Q>::max());
  for (int64_t i = 0; i < t.numel(); ++i) t.data<Q>()[i] = static_cast<Q>(v(rng));
  return t;
}

template <typename Q>
Tensor zero_point(int zp) {
  return make_scalar<Q>(static_cast<Q>(zp));
}

struct Case {
  std::string what;
  Shape a, b;
  bool a_signed, b_signed;
  int a_zp, b_zp;
  float alpha;
};

std::vector<Blob> inputs_of(const Case& c, std::mt19937& rng) {
  return {Blob::plain(c.a_signed ? random_8bit<int8_t>(c.a, rng) : random_8bit<uint8_t>(c.a, rng)),
          Blob::plain(make_scalar(0.0421f), true),
          Blob::plain(c.a_signed ? zero_point<int8_t>(c.a_zp) : zero_point<uint8_t>(c.a_zp), true),
          Blob::plain(c.b_signed ? random_8bit<int8_t>(c.b, rng) : random_8bit<uint8_t>(c.b, rng)),
          Blob::plain(make_scalar(0.0173f), true),
          Blob::plain(c.b_signed ? zero_point<int8_t>(c.b_zp) : zero_point<uint8_t>(c.b_zp), true)};
}

ir::Attributes alpha_attr(float alpha) {
  ir::Attributes attrs;
  attrs.set("alpha", alpha);
  return attrs;
}

TEST(QMatMul, DnnlBitExactWithReference) {
  std::mt19937 rng(23);
  const std::vector<Case> cases = {
      {"attention u8/128 x u8/128", {2, 3, 17, 16}, {2, 3, 16, 17}, false, false, 128, 128, 0.25f},
      {"u8/37 x s8/0", {5, 24}, {24, 9}, false, true, 37, 0, 1.f},
      {"s8/-3 x s8/0, B broadcast", {2, 3, 5, 8}, {1, 3, 8, 7}, true, true, -3, 0, 0.125f},
      {"rank 3 x rank 2", {4, 6, 10}, {10, 3}, false, false, 128, 128, 1.f},
  };
  for (const Case& c : cases) {
    const std::vector<Blob> in = inputs_of(c, rng);
    NodeRun run = run_node(std::string(ir::kQMatMulOp), alpha_attr(c.alpha), in, kOpset, dnnl_only_registry(), kDomain);
    ASSERT_EQ(run.impl, "dnnl") << c.what << (run.declines.empty() ? "" : ": " + run.declines[0]);
    const Tensor expected = run_plain(std::string(ir::kQMatMulOp), alpha_attr(c.alpha), in, kOpset,
                                      kernels::reference_kernel_registry(), nullptr, kDomain);
    EXPECT_EQ(compare_tensors_exact(run.outputs[0].to_plain(), expected), "") << c.what;
  }
}

TEST(QMatMul, DnnlDeclinesOtherWeightZeroPoints) {
  std::mt19937 rng(2);
  const Case c{"u8/3", {4, 8}, {8, 4}, false, false, 128, 3, 1.f};
  const std::vector<Blob> in = inputs_of(c, rng);
  NodeRun run = run_node(std::string(ir::kQMatMulOp), {}, in, kOpset, kernels::default_kernel_registry(), kDomain);
  EXPECT_EQ(run.impl, "ref");
  ASSERT_FALSE(run.declines.empty());
  EXPECT_NE(run.declines[0].find("zero point 3"), std::string::npos) << run.declines[0];
}

// The reference against the definition, alpha * DQ(A) @ DQ(B), summed in double.
TEST(QMatMul, ReferenceIsTheDequantizedProduct) {
  std::mt19937 rng(4);
  const Case c{"broadcast", {2, 1, 3, 5}, {3, 5, 4}, false, true, 120, 0, 0.5f};
  const std::vector<Blob> in = inputs_of(c, rng);
  const Tensor y = run_plain(std::string(ir::kQMatMulOp), alpha_attr(c.alpha), in, kOpset,
                             kernels::reference_kernel_registry(), nullptr, kDomain);
  ASSERT_EQ(y.shape(), (Shape{2, 3, 3, 4}));
  const Tensor& a = in[0].view;
  const Tensor& b = in[3].view;
  for (int64_t i0 = 0; i0 < 2; ++i0) {
    for (int64_t i1 = 0; i1 < 3; ++i1) {
      for (int64_t m = 0; m < 3; ++m) {
        for (int64_t n = 0; n < 4; ++n) {
          double s = 0;
          for (int64_t k = 0; k < 5; ++k) {
            const double fa = (a.data<uint8_t>()[(i0 * 3 + m) * 5 + k] - 120) * static_cast<double>(0.0421f);
            const double fb = b.data<int8_t>()[(i1 * 5 + k) * 4 + n] * static_cast<double>(0.0173f);
            s += fa * fb;
          }
          const float got = y.data<float>()[((i0 * 3 + i1) * 3 + m) * 4 + n];
          EXPECT_NEAR(got, 0.5 * s, 1e-5 * (1 + std::fabs(s))) << i0 << " " << i1 << " " << m << " " << n;
        }
      }
    }
  }
}

}  // namespace
}  // namespace qwac::testing
