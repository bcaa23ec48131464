// Reduce* and ArgMax/ArgMin reference kernels: hand-computed values, keepdims, axes as attribute or input,
// noop_with_empty_axes, tie breaking.
#include <gtest/gtest.h>

#include <cmath>
#include <random>

#include "kernels/kernel_test_util.h"

namespace qwac::testing {
namespace {

using ir::Attributes;

const Tensor k2x3 = make_tensor<float>({2, 3}, {1, 2, 3, 4, 5, 6});

Tensor reduce(const std::string& op, const Tensor& x, int64_t opset, Attributes attrs = {}, const Tensor& axes = {}) {
  SingleNodeOptions opts;
  opts.input_kinds = {InputKind::kRuntime, InputKind::kConstant};
  std::vector<Tensor> inputs = {x};
  if (!axes.empty()) inputs.push_back(axes);
  return run_single_node(op, attrs, inputs, opset, kernels::reference_kernel_registry(), 1, opts)[0];
}

Attributes keep(int64_t k) {
  Attributes a;
  a.set("keepdims", k);
  return a;
}

Tensor axes(std::initializer_list<int64_t> v) {
  return make_tensor<int64_t>({static_cast<int64_t>(v.size())}, v);
}

TEST(RefReduce, SumWithAxesInputAndAttribute) {
  expect_tensor_eq(reduce("ReduceSum", k2x3, 13, {}, axes({1})), make_tensor<float>({2, 1}, {6, 15}));
  Attributes a = keep(0);
  a.set("axes", std::vector<int64_t>{0});
  expect_tensor_eq(reduce("ReduceSum", k2x3, 11, a), make_tensor<float>({3}, {5, 7, 9}));
  // No axes: reduce everything.
  expect_tensor_eq(reduce("ReduceSum", k2x3, 13), make_tensor<float>({1, 1}, {21}));
  // No axes and noop_with_empty_axes: identity.
  Attributes noop;
  noop.set("noop_with_empty_axes", int64_t{1});
  expect_tensor_eq(reduce("ReduceSum", k2x3, 13, noop), k2x3);
  expect_tensor_eq(reduce("ReduceSum", k2x3, 13, noop, make_tensor<int64_t>({0}, std::vector<int64_t>{})), k2x3);
}

TEST(RefReduce, MeanMaxMinProdAcrossOpsets) {
  Attributes a = keep(0);
  a.set("axes", std::vector<int64_t>{-1});
  expect_tensor_eq(reduce("ReduceMean", k2x3, 13, a), make_tensor<float>({2}, {2, 5}));
  expect_tensor_eq(reduce("ReduceMean", k2x3, 18, keep(0), axes({0})), make_tensor<float>({3}, {2.5f, 3.5f, 4.5f}));
  expect_tensor_eq(reduce("ReduceMax", k2x3, 18, keep(1), axes({1})), make_tensor<float>({2, 1}, {3, 6}));
  expect_tensor_eq(reduce("ReduceMin", k2x3, 13, keep(0)), make_scalar(1.f));
  expect_tensor_eq(reduce("ReduceProd", k2x3, 18, keep(0), axes({0})), make_tensor<float>({3}, {4, 10, 18}));
  // Integer types compute in their own type.
  expect_tensor_eq(reduce("ReduceMax", make_tensor<int8_t>({3}, {-5, 7, -128}), 18, keep(0)), make_scalar<int8_t>(7));
  expect_tensor_eq(reduce("ReduceMean", make_tensor<int32_t>({2}, {3, 4}), 18, keep(0)), make_scalar<int32_t>(3));
}

TEST(RefReduce, NormsAndLogReductions) {
  const Tensor x = make_tensor<float>({2, 2}, {3, -4, -1, 0});
  expect_tensor_eq(reduce("ReduceL1", x, 18, keep(0), axes({1})), make_tensor<float>({2}, {7, 1}));
  expect_tensor_eq(reduce("ReduceL2", x, 18, keep(0), axes({1})), make_tensor<float>({2}, {5, 1}));
  expect_tensor_eq(reduce("ReduceSumSquare", x, 18, keep(0), axes({1})), make_tensor<float>({2}, {25, 1}));
  expect_tensor_near(reduce("ReduceLogSum", make_tensor<float>({2}, {1, 2}), 18, keep(0)), make_scalar(std::log(3.f)));
  // Large inputs must not overflow: log(e^1000 + e^1000) = 1000 + log 2.
  expect_tensor_near(reduce("ReduceLogSumExp", make_tensor<float>({2}, {1000, 1000}), 18, keep(0)),
                     make_scalar(1000.f + std::log(2.f)));
  expect_tensor_near(reduce("ReduceLogSumExp", make_tensor<float>({3}, {0, 0, 0}), 13, keep(0)),
                     make_scalar(std::log(3.f)));
}

TEST(RefReduce, NonContiguousAxesMatchNaiveSum) {
  std::mt19937 rng(7);
  const Tensor x = random_tensor({3, 4, 5, 2}, rng);
  const Tensor y = reduce("ReduceSum", x, 13, keep(1), axes({0, 2}));
  ASSERT_EQ(y.shape(), (Shape{1, 4, 1, 2}));
  for (int64_t b = 0; b < 4; ++b) {
    for (int64_t d = 0; d < 2; ++d) {
      double s = 0;
      for (int64_t a = 0; a < 3; ++a) {
        for (int64_t c = 0; c < 5; ++c) s += x.data<float>()[((a * 4 + b) * 5 + c) * 2 + d];
      }
      EXPECT_NEAR(y.data<float>()[b * 2 + d], s, 1e-5) << "b=" << b << " d=" << d;
    }
  }
}

TEST(RefReduce, AxisOutOfRangeIsInvalid) {
  EXPECT_THROW(reduce("ReduceSum", k2x3, 13, {}, axes({2})), InvalidModel);
}

TEST(RefArgMaxMin, KeepdimsAxisAndTieBreaking) {
  const Tensor x = make_tensor<float>({2, 3}, {1, 5, 5, 7, 0, 0});
  Attributes a;
  a.set("axis", int64_t{1});
  expect_tensor_eq(run_single_node("ArgMax", a, {x}, 13)[0], make_tensor<int64_t>({2, 1}, {1, 0}));
  expect_tensor_eq(run_single_node("ArgMin", a, {x}, 13)[0], make_tensor<int64_t>({2, 1}, {0, 1}));
  a.set("select_last_index", int64_t{1});
  a.set("keepdims", int64_t{0});
  expect_tensor_eq(run_single_node("ArgMax", a, {x}, 13)[0], make_tensor<int64_t>({2}, {2, 0}));
  expect_tensor_eq(run_single_node("ArgMin", a, {x}, 13)[0], make_tensor<int64_t>({2}, {0, 2}));
  Attributes b;
  b.set("axis", int64_t{-2});
  expect_tensor_eq(run_single_node("ArgMax", b, {make_tensor<int32_t>({2, 2}, {1, 9, 3, 2})}, 11)[0],
                   make_tensor<int64_t>({1, 2}, {1, 0}));
}

}  // namespace
}  // namespace qwac::testing
