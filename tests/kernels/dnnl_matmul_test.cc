// oneDNN Gemm / MatMul kernels against the reference kernels on seeded random problems.
#include <gtest/gtest.h>

#include <random>

#include "kernels/dnnl_registry_util.h"
#include "kernels/dnnl_test_util.h"

namespace qwac::testing {
namespace {

const kernels::KernelRegistry& ref() { return kernels::reference_kernel_registry(); }

TEST(DnnlGemm, MatchesReferenceOnRandomProblems) {
  std::mt19937 rng(21);
  auto pick = [&](int64_t lo, int64_t hi) { return std::uniform_int_distribution<int64_t>(lo, hi)(rng); };
  for (int i = 0; i < 40; ++i) {
    const int64_t m = pick(1, 9), k = pick(1, 70), n = pick(1, 40);
    const bool trans_b = pick(0, 1) == 1;
    const int c_kind = static_cast<int>(pick(0, 3));  // none, [N], [1,N], scalar
    ir::Attributes attrs;
    if (trans_b) attrs.set("transB", int64_t{1});
    if (pick(0, 1)) attrs.set("alpha", 0.5f + static_cast<float>(pick(0, 10)) / 10.f);
    if (pick(0, 1)) attrs.set("beta", 0.25f * static_cast<float>(pick(0, 8)));
    std::vector<Blob> in = {Blob::plain(random_tensor({m, k}, rng)),
                            Blob::plain(random_tensor(trans_b ? Shape{n, k} : Shape{k, n}, rng), true)};
    const Shape c_shape = c_kind == 1 ? Shape{n} : c_kind == 2 ? Shape{1, n} : Shape{};
    if (c_kind != 0) in.push_back(Blob::plain(random_tensor(c_shape, rng), true));
    const std::string what = "case " + std::to_string(i) + ": M=" + std::to_string(m) + " K=" + std::to_string(k) +
                             " N=" + std::to_string(n) + " C" + (c_kind ? shape_to_string(c_shape) : "none") + " " +
                             describe_attrs(attrs);
    std::string impl;
    const Tensor expected = run_plain("Gemm", attrs, in, 13, ref());
    const Tensor actual = run_plain("Gemm", attrs, in, 13, dnnl_only_registry(), &impl);
    EXPECT_EQ(impl, "dnnl") << what;
    EXPECT_EQ(compare_tensors(actual, expected, kDnnlRtol, kDnnlAtol), "") << what;
  }
}

TEST(DnnlGemm, DeclinesFullMatrixC) {
  std::mt19937 rng(2);
  const std::vector<Blob> in = {Blob::plain(random_tensor({3, 4}, rng)), Blob::plain(random_tensor({4, 5}, rng), true),
                                Blob::plain(random_tensor({3, 5}, rng), true)};
  EXPECT_THROW(run_node("Gemm", {}, in, 13, dnnl_only_registry()), UnsupportedOp);
}

TEST(DnnlMatMul, MatchesReferenceOnRandomProblems) {
  std::mt19937 rng(22);
  auto pick = [&](int64_t lo, int64_t hi) { return std::uniform_int_distribution<int64_t>(lo, hi)(rng); };
  for (int i = 0; i < 40; ++i) {
    const int64_t m = pick(1, 9), k = pick(1, 33), n = pick(1, 17);
    Shape a = {m, k}, b = {k, n};
    const int kind = static_cast<int>(pick(0, 3));  // 2-D; batched; broadcast batch in B; B rank 2 vs A rank 4
    if (kind == 1) {
      const int64_t batch = pick(2, 4);
      a.insert(a.begin(), batch);
      b.insert(b.begin(), batch);
    } else if (kind == 2) {
      a.insert(a.begin(), {pick(2, 3), pick(1, 3)});
      b.insert(b.begin(), {1, a[1]});
    } else if (kind == 3) {
      a.insert(a.begin(), {pick(1, 2), pick(1, 3)});
    }
    const bool const_b = pick(0, 1) == 1;
    const std::vector<Blob> in = {Blob::plain(random_tensor(a, rng)), Blob::plain(random_tensor(b, rng), const_b)};
    const std::string what = "case " + std::to_string(i) + ": A" + shape_to_string(a) + " B" + shape_to_string(b) +
                             (const_b ? " constant B" : " runtime B");
    std::string impl;
    const Tensor expected = run_plain("MatMul", {}, in, 13, ref());
    const Tensor actual = run_plain("MatMul", {}, in, 13, dnnl_only_registry(), &impl);
    EXPECT_EQ(impl, "dnnl") << what;
    EXPECT_EQ(compare_tensors(actual, expected, kDnnlRtol, kDnnlAtol), "") << what;
  }
}

}  // namespace
}  // namespace qwac::testing
