// oneDNN LayerNormalization against the reference kernel: seeded random shapes, axes, broadcast scales, with and
// without bias, at opset 17 and below (qwac, like ONNX Runtime, accepts the op at every opset).
#include <gtest/gtest.h>

#include <random>

#include "kernels/dnnl_registry_util.h"
#include "kernels/dnnl_test_util.h"
#include "kernels/kernel_test_util.h"

namespace qwac::testing {
namespace {

TEST(DnnlLayerNorm, MatchesReference) {
  std::mt19937 rng(71);
  std::uniform_int_distribution<int64_t> dim(1, 9);
  for (int c = 0; c < 40; ++c) {
    const int64_t rank = 1 + c % 4;
    Shape shape;
    for (int64_t i = 0; i < rank; ++i) shape.push_back(dim(rng) + (i == rank - 1 ? 16 * (c % 3) : 0));
    const int64_t axis = -1 - static_cast<int64_t>(rng() % static_cast<unsigned>(rank));
    const Shape normalized(shape.end() + axis, shape.end());
    // Scale: the full normalized shape or its last dim only (broadcast); bias sometimes absent.
    const Shape scale_shape = c % 2 == 0 ? normalized : Shape{normalized.back()};
    const bool bias = c % 5 != 0;
    const int64_t opset = c % 3 == 0 ? 14 : 17;
    ir::Attributes attrs;
    attrs.set("axis", axis);
    attrs.set("epsilon", c % 4 == 0 ? 1e-12f : 1e-5f);
    std::vector<Blob> in = {Blob::plain(random_tensor(shape, rng, -4.f, 4.f)),
                            Blob::plain(random_tensor(scale_shape, rng, 0.5f, 2.f), true)};
    if (bias) in.push_back(Blob::plain(random_tensor(scale_shape, rng), true));
    const std::string what = "shape " + shape_to_string(shape) + " axis " + std::to_string(axis) + " scale " +
                             shape_to_string(scale_shape) + (bias ? " bias" : "") + " opset " + std::to_string(opset);
    const Tensor expected = run_plain("LayerNormalization", attrs, in, opset, kernels::reference_kernel_registry());
    std::string impl;
    const Tensor actual = run_plain("LayerNormalization", attrs, in, opset, dnnl_only_registry(), &impl);
    EXPECT_EQ(impl, "dnnl") << what;
    EXPECT_EQ(compare_tensors(actual, expected, 1e-4, 1e-5), "") << what;
  }
}

TEST(DnnlLayerNorm, DeclinesComputedScale) {
  std::mt19937 rng(72);
  ir::Attributes attrs;
  const std::vector<Blob> in = {Blob::plain(random_tensor({2, 8}, rng)), Blob::plain(random_tensor({8}, rng))};
  const NodeRun r = run_node("LayerNormalization", attrs, in, 17, kernels::default_kernel_registry());
  EXPECT_EQ(r.impl, "ref");
  ASSERT_FALSE(r.declines.empty());
  EXPECT_NE(r.declines.front().find("not a constant"), std::string::npos) << r.declines.front();
}

}  // namespace
}  // namespace qwac::testing
