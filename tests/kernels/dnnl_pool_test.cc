// oneDNN pooling kernels against the reference kernels, from plain and from blocked inputs.
#include <gtest/gtest.h>

#include <random>

#include "kernels/dnnl_registry_util.h"
#include "kernels/dnnl_test_util.h"

namespace qwac::testing {
namespace {

const kernels::KernelRegistry& ref() { return kernels::reference_kernel_registry(); }

// The input as the output of a 1x1 Conv computed by oneDNN (so it arrives in oneDNN's blocked layout) and the
// same values in plain layout for the reference.
std::pair<Blob, Tensor> blocked_input(const Shape& shape, std::mt19937& rng) {
  const int64_t c = shape[1];
  const Blob x = Blob::plain(random_tensor(shape, rng));
  Shape w_shape = {c, c};
  for (size_t i = 2; i < shape.size(); ++i) w_shape.push_back(1);
  const Blob w = Blob::plain(random_tensor(w_shape, rng), true);
  NodeRun r = run_node("Conv", {}, {x, w}, 13, dnnl_only_registry());
  return {r.outputs[0], r.outputs[0].to_plain()};
}

TEST(DnnlPool, MatchesReferenceOnRandomProblems) {
  std::mt19937 rng(31);
  auto pick = [&](int64_t lo, int64_t hi) { return std::uniform_int_distribution<int64_t>(lo, hi)(rng); };
  int ran_dnnl = 0;
  for (int i = 0; i < 60; ++i) {
    const bool max = pick(0, 1) == 1;
    const int64_t k0 = pick(1, 4), k1 = pick(1, 4);
    const Shape shape = {pick(1, 2), pick(1, 20), pick(k0 + 1, 14), pick(k1 + 1, 14)};
    ir::Attributes attrs;
    attrs.set("kernel_shape", std::vector<int64_t>{k0, k1});
    attrs.set("strides", std::vector<int64_t>{pick(1, 3), pick(1, 3)});
    if (pick(0, 2) != 0) {
      attrs.set("pads", std::vector<int64_t>{pick(0, k0 - 1), pick(0, k1 - 1), pick(0, k0 - 1), pick(0, k1 - 1)});
    } else if (pick(0, 1)) {
      attrs.set("auto_pad", std::string(pick(0, 1) ? "SAME_UPPER" : "SAME_LOWER"));
    }
    if (pick(0, 2) == 0) attrs.set("ceil_mode", int64_t{1});
    if (!max && pick(0, 1)) attrs.set("count_include_pad", int64_t{1});
    const bool blocked = pick(0, 1) == 1;
    Blob x;
    Tensor x_plain;
    if (blocked) {
      std::tie(x, x_plain) = blocked_input(shape, rng);
    } else {
      x_plain = random_tensor(shape, rng);
      x = Blob::plain(x_plain);
    }
    const std::string op = max ? "MaxPool" : "AveragePool";
    const std::string what = "case " + std::to_string(i) + ": " + op + " x" + shape_to_string(shape) +
                             (blocked ? " blocked " : " plain ") + describe_attrs(attrs);
    const Tensor expected = run_plain(op, attrs, {Blob::plain(x_plain)}, 13, ref());
    NodeRun r;
    try {
      r = run_node(op, attrs, {x}, 13, dnnl_only_registry());
    } catch (const UnsupportedOp& e) {
      // The only expected decline: count_include_pad with ceil_mode's extra right padding.
      EXPECT_NE(std::string(e.what()).find("ceil_mode with count_include_pad"), std::string::npos) << what << e.what();
      continue;
    }
    ++ran_dnnl;
    EXPECT_EQ(compare_tensors(r.outputs[0].to_plain(), expected, kDnnlRtol, kDnnlAtol), "") << what;
  }
  EXPECT_GE(ran_dnnl, 50);
}

TEST(DnnlPool, GlobalPoolsMatchReference) {
  std::mt19937 rng(32);
  for (const std::string op : {"GlobalAveragePool", "GlobalMaxPool"}) {
    for (const Shape& shape : {Shape{2, 5, 7, 3}, Shape{1, 16, 13, 13}, Shape{3, 4, 9}}) {
      for (bool blocked : {false, true}) {
        auto [x, x_plain] = blocked ? blocked_input(shape, rng) : std::make_pair(Blob{}, random_tensor(shape, rng));
        if (!blocked) x = Blob::plain(x_plain);
        const std::string what = op + " x" + shape_to_string(shape) + (blocked ? " blocked" : " plain");
        std::string impl;
        const Tensor expected = run_plain(op, {}, {Blob::plain(x_plain)}, 13, ref());
        const Tensor actual = run_plain(op, {}, {x}, 13, dnnl_only_registry(), &impl);
        EXPECT_EQ(compare_tensors(actual, expected, kDnnlRtol, kDnnlAtol), "") << what;
      }
    }
  }
}

}  // namespace
}  // namespace qwac::testing
