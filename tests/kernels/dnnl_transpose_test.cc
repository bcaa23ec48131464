// oneDNN Transpose (one reorder) against the reference transpose, on plain inputs and on the blocked layouts oneDNN
// convolutions produce (a vision transformer's patch embedding: Conv output [N,C,H,W] -> [N,H*W,C] after Reshape).
#include <gtest/gtest.h>

#include <algorithm>
#include <numeric>
#include <random>

#include "kernels/dnnl_registry_util.h"
#include "kernels/dnnl_test_util.h"

namespace qwac::testing {
namespace {

const kernels::KernelRegistry& ref() { return kernels::reference_kernel_registry(); }

std::string perm_string(const std::vector<int64_t>& perm) {
  std::string s;
  for (int64_t p : perm) s += std::to_string(p);
  return s;
}

TEST(DnnlTranspose, MatchesReferenceOnPlainInputs) {
  std::mt19937 rng(61);
  for (int i = 0; i < 24; ++i) {
    const size_t rank = 2 + static_cast<size_t>(i % 4);
    Shape shape;
    for (size_t d = 0; d < rank; ++d) shape.push_back(std::uniform_int_distribution<int64_t>(1, 9)(rng));
    std::vector<int64_t> perm(rank);
    std::iota(perm.begin(), perm.end(), 0);
    std::shuffle(perm.begin(), perm.end(), rng);
    ir::Attributes attrs;
    if (i % 5 != 0) attrs.set("perm", perm);  // every fifth case: the default, reversed dims
    const Blob x = Blob::plain(random_tensor(shape, rng));
    const std::string what = shape_to_string(shape) + " perm " + (i % 5 ? perm_string(perm) : "default");
    const Tensor expected = run_plain("Transpose", attrs, {x}, 13, ref());
    try {
      const NodeRun r = run_node("Transpose", attrs, {x}, 13, dnnl_only_registry());
      EXPECT_FALSE(r.outputs[0].blocked()) << what;
      EXPECT_EQ(compare_tensors(r.outputs[0].to_plain(), expected, 0, 0), "") << what;
    } catch (const UnsupportedOp&) {
      // Declining a plain input oneDNN has only its generic reorder for is allowed: the reference runs it.
    }
  }
}

TEST(DnnlTranspose, ReadsBlockedConvOutputs) {
  std::mt19937 rng(62);
  for (int64_t channels : {8, 16, 24, 48}) {
    const Shape shape = {2, channels, 5, 7};
    const Blob x = Blob::plain(random_tensor(shape, rng, -2.f, 2.f));
    const Blob w = Blob::plain(random_tensor({channels, channels, 1, 1}, rng), true);
    const NodeRun conv = run_node("Conv", {}, {x, w}, 13, dnnl_only_registry());
    const Tensor conv_plain = conv.outputs[0].to_plain();
    for (const std::vector<int64_t>& perm :
         std::vector<std::vector<int64_t>>{{0, 2, 3, 1}, {0, 3, 2, 1}, {1, 0, 2, 3}, {3, 2, 1, 0}}) {
      ir::Attributes attrs;
      attrs.set("perm", perm);
      const std::string what = "channels " + std::to_string(channels) + " perm " + perm_string(perm) + " from " +
                               (conv.outputs[0].blocked() ? conv.outputs[0].format->describe() : "plain");
      const Tensor expected = run_plain("Transpose", attrs, {Blob::plain(conv_plain)}, 13, ref());
      const NodeRun r = run_node("Transpose", attrs, {conv.outputs[0]}, 13, dnnl_only_registry());
      EXPECT_EQ(r.impl, "dnnl") << what;
      EXPECT_FALSE(r.outputs[0].blocked()) << what;
      EXPECT_EQ(compare_tensors(r.outputs[0].to_plain(), expected, 0, 0), "") << what;
    }
  }
}

}  // namespace
}  // namespace qwac::testing
