// oneDNN BatchNormalization, Concat, Softmax/LogSoftmax and LRN kernels against the reference kernels.
#include <gtest/gtest.h>

#include <random>

#include "kernels/dnnl_registry_util.h"
#include "kernels/kernel_test_util.h"
#include "kernels/dnnl_test_util.h"

namespace qwac::testing {
namespace {

const kernels::KernelRegistry& ref() { return kernels::reference_kernel_registry(); }

std::pair<Blob, Tensor> conv_output(const Shape& shape, std::mt19937& rng) {
  const Blob x = Blob::plain(random_tensor(shape, rng));
  const Blob w = Blob::plain(random_tensor({shape[1], shape[1], 1, 1}, rng), true);
  NodeRun r = run_node("Conv", {}, {x, w}, 13, dnnl_only_registry());
  return {r.outputs[0], r.outputs[0].to_plain()};
}

std::pair<Blob, Tensor> input(const Shape& shape, bool blocked, std::mt19937& rng) {
  if (blocked) return conv_output(shape, rng);
  Tensor t = random_tensor(shape, rng);
  return {Blob::plain(t), t};
}

TEST(DnnlBatchNorm, MatchesReference) {
  std::mt19937 rng(51);
  for (const Shape& shape : {Shape{2, 7, 5, 3}, Shape{1, 16, 6, 6}, Shape{3, 5}}) {
    for (bool blocked : {false, true}) {
      if (blocked && shape.size() != 4) continue;
      const int64_t c = shape[1];
      auto [x, x_plain] = input(shape, blocked, rng);
      std::vector<Blob> params;
      for (int i = 0; i < 4; ++i) params.push_back(Blob::plain(random_tensor({c}, rng, i == 3 ? 0.1f : -1.f, 1.f), true));
      ir::Attributes attrs;
      attrs.set("epsilon", 1e-3f);
      std::vector<Blob> in = {x}, ref_in = {Blob::plain(x_plain)};
      in.insert(in.end(), params.begin(), params.end());
      ref_in.insert(ref_in.end(), params.begin(), params.end());
      const std::string what = "BN " + shape_to_string(shape) + (blocked ? " blocked" : " plain");
      const Tensor expected = run_plain("BatchNormalization", attrs, ref_in, 15, ref());
      const NodeRun r = run_node("BatchNormalization", attrs, in, 15, dnnl_only_registry());
      EXPECT_EQ(compare_tensors(r.outputs[0].to_plain(), expected, kDnnlRtol, kDnnlAtol), "") << what;
    }
  }
}

TEST(DnnlConcat, MixedLayoutsMatchReference) {
  std::mt19937 rng(52);
  for (int64_t axis : {1, 2, -1}) {
    for (int layout_mix = 0; layout_mix < 4; ++layout_mix) {
      const Shape s1 = {2, axis == 1 ? 8 : 16, 5, 4}, s2 = {2, axis == 1 ? 13 : 16, axis == 2 ? 3 : 5, axis == -1 ? 7 : 4};
      auto [a, a_plain] = input(s1, (layout_mix & 1) != 0, rng);
      auto [b, b_plain] = input(s2, (layout_mix & 2) != 0, rng);
      ir::Attributes attrs;
      attrs.set("axis", axis);
      const std::string what = "axis " + std::to_string(axis) + " mix " + std::to_string(layout_mix);
      const Tensor expected = run_plain("Concat", attrs, {Blob::plain(a_plain), Blob::plain(b_plain)}, 13, ref());
      const NodeRun r = run_node("Concat", attrs, {a, b}, 13, dnnl_only_registry());
      EXPECT_EQ(compare_tensors_exact(r.outputs[0].to_plain(), expected), "") << what;
    }
  }
}

TEST(DnnlSoftmax, MatchesReferenceAcrossOpsets) {
  std::mt19937 rng(53);
  for (const std::string op : {"Softmax", "LogSoftmax"}) {
    for (int64_t opset : {11, 13}) {
      for (int64_t axis : {0, 1, 2, -1}) {
        const Shape shape = {3, 4, 5};
        const Tensor x = random_tensor(shape, rng, -4.f, 4.f);
        ir::Attributes attrs;
        attrs.set("axis", axis);
        const std::string what = op + " opset " + std::to_string(opset) + " axis " + std::to_string(axis);
        const Tensor expected = run_plain(op, attrs, {Blob::plain(x)}, opset, ref());
        std::string impl;
        const Tensor actual = run_plain(op, attrs, {Blob::plain(x)}, opset, dnnl_only_registry(), &impl);
        EXPECT_EQ(compare_tensors(actual, expected, kDnnlRtol, 1e-5), "") << what;
      }
    }
  }
}

TEST(DnnlLrn, MatchesReferenceForOddSizes) {
  std::mt19937 rng(54);
  for (int64_t size : {1, 3, 5}) {
    for (bool blocked : {false, true}) {
      const Shape shape = {2, 11, 4, 5};
      auto [x, x_plain] = input(shape, blocked, rng);
      ir::Attributes attrs;
      attrs.set("size", size);
      attrs.set("alpha", 0.3f);
      attrs.set("beta", 0.6f);
      attrs.set("bias", 1.5f);
      const std::string what = "LRN size " + std::to_string(size) + (blocked ? " blocked" : " plain");
      const Tensor expected = run_plain("LRN", attrs, {Blob::plain(x_plain)}, 13, ref());
      const NodeRun r = run_node("LRN", attrs, {x}, 13, dnnl_only_registry());
      EXPECT_EQ(compare_tensors(r.outputs[0].to_plain(), expected, kDnnlRtol, kDnnlAtol), "") << what;
    }
  }
  ir::Attributes even;
  even.set("size", int64_t{4});
  EXPECT_THROW(run_node("LRN", even, {Blob::plain(random_tensor({1, 6, 3, 3}, rng))}, 13, dnnl_only_registry()),
               UnsupportedOp);
}

}  // namespace
}  // namespace qwac::testing
