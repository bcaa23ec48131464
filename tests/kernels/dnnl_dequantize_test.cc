// The oneDNN DequantizeLinear (one reorder with scale and zero point) is bit-exact with the reference kernel for
// every 8-bit value, plain and from an int8 QConv's layout, and writes the float blocked layout.
#include <gtest/gtest.h>

#include <random>

#include "kernels/dnnl_registry_util.h"
#include "kernels/dnnl_test_util.h"
#include "kernels/kernel_test_util.h"

namespace qwac::testing {
namespace {

constexpr int64_t kOpset = 13;

// Every value of the type, repeated over a [2, 20, 7, 7] tensor (20 channels: nChw16c pads them).
Tensor all_values(DType t) {
  Tensor x(t, {2, 20, 7, 7});
  for (int64_t i = 0; i < x.numel(); ++i) {
    if (t == DType::kUInt8) x.data<uint8_t>()[i] = static_cast<uint8_t>(i * 7);
    if (t == DType::kInt8) x.data<int8_t>()[i] = static_cast<int8_t>(static_cast<uint8_t>(i * 7));
  }
  return x;
}

TEST(DnnlDequantize, BitExactWithReference) {
  std::mt19937 rng(3);
  std::uniform_real_distribution<float> scale(1e-4f, 0.5f);
  for (DType t : {DType::kUInt8, DType::kInt8}) {
    for (int zp : {0, 1, 77, -5, 128}) {
      if (t == DType::kInt8 && zp > 127) continue;
      if (t == DType::kUInt8 && zp < 0) continue;
      const float s = scale(rng);
      std::vector<Blob> in = {Blob::plain(all_values(t)), Blob::plain(make_scalar(s), true),
                              Blob::plain(t == DType::kUInt8 ? make_scalar<uint8_t>(static_cast<uint8_t>(zp))
                                                             : make_scalar<int8_t>(static_cast<int8_t>(zp)),
                                          true)};
      const std::string what = std::string(dtype_name(t)) + " zp " + std::to_string(zp) + " scale " + std::to_string(s);
      NodeRun run = run_node("DequantizeLinear", {}, in, kOpset, dnnl_only_registry());
      ASSERT_EQ(run.impl, "dnnl") << what;
      EXPECT_NE(run.outputs[0].format, nullptr) << what << ": 4-D output in the float blocked layout";
      const Tensor expected = run_plain("DequantizeLinear", {}, in, kOpset, kernels::reference_kernel_registry());
      EXPECT_EQ(compare_tensors_exact(run.outputs[0].to_plain(), expected), "") << what;
    }
  }
}

TEST(DnnlDequantize, AttentionShapedTensorStaysPlain) {
  // [batch, heads, tokens, head size]: 3 "channels" would be padded to 16 by nChw16c.
  Tensor x(DType::kUInt8, {2, 3, 17, 8});
  for (int64_t i = 0; i < x.numel(); ++i) x.data<uint8_t>()[i] = static_cast<uint8_t>(i * 13);
  std::vector<Blob> in = {Blob::plain(x), Blob::plain(make_scalar(0.0371f), true),
                          Blob::plain(make_scalar<uint8_t>(128), true)};
  NodeRun run = run_node("DequantizeLinear", {}, in, kOpset, dnnl_only_registry());
  ASSERT_EQ(run.impl, "dnnl");
  EXPECT_EQ(run.outputs[0].format, nullptr) << "plain output";
  const Tensor expected = run_plain("DequantizeLinear", {}, in, kOpset, kernels::reference_kernel_registry());
  EXPECT_EQ(compare_tensors_exact(run.outputs[0].to_plain(), expected), "");
}

TEST(DnnlDequantize, DeclinesPerAxis) {
  std::vector<Blob> in = {Blob::plain(all_values(DType::kUInt8)), Blob::plain(Tensor(DType::kFloat32, {20}), true),
                          Blob::plain(Tensor(DType::kUInt8, {20}), true)};
  NodeRun run = run_node("DequantizeLinear", {}, in, kOpset, kernels::default_kernel_registry());
  EXPECT_EQ(run.impl, "ref");
  ASSERT_FALSE(run.declines.empty());
  EXPECT_NE(run.declines[0].find("per-axis"), std::string::npos) << run.declines[0];
}

}  // namespace
}  // namespace qwac::testing
