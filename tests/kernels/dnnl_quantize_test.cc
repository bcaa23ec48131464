// The oneDNN-family QuantizeLinear of a float tensor in a blocked layout (a Conv's nChw16c output) is bit-exact with
// the reference kernel on seeded random data (values on rounding ties and beyond the integer range included), writes
// the channels-last integer layout, and leaves plain inputs to the other kernels.
#include <gtest/gtest.h>

#include <random>

#include "kernels/dnnl_registry_util.h"
#include "kernels/dnnl_test_util.h"
#include "kernels/kernel_test_util.h"

namespace qwac::testing {
namespace {

constexpr int64_t kOpset = 13;

// A oneDNN 1x1 Conv's output over random data (a float tensor in oneDNN's blocked layout), with some outputs on
// exact rounding ties of `scale` and beyond the quantized range (a large weight on channel 0).
Blob blocked_float(const Shape& shape, float scale, std::mt19937& rng) {
  Tensor x = random_tensor(shape, rng, -4.f, 4.f);
  std::uniform_int_distribution<int> tie(-300, 300);
  for (int64_t i = 0; i < x.numel(); i += 5) x.data<float>()[i] = (static_cast<float>(tie(rng)) + 0.5f) * scale;
  Shape w_shape = {shape[1], shape[1]};
  w_shape.resize(shape.size(), 1);
  Tensor w(DType::kFloat32, w_shape);
  for (int64_t o = 0; o < shape[1]; ++o) {
    for (int64_t i = 0; i < shape[1]; ++i) w.data<float>()[o * shape[1] + i] = o == i ? (o == 0 ? 40.f : 1.f) : 0.f;
  }
  NodeRun r = run_node("Conv", {}, {Blob::plain(x), Blob::plain(w, true)}, kOpset, dnnl_only_registry());
  return r.outputs.at(0);
}

TEST(DnnlQuantize, BlockedFloatInputBitExactWithReference) {
  std::mt19937 rng(17);
  int checked = 0;
  for (const Shape& shape : {Shape{2, 20, 7, 7}, Shape{1, 16, 112, 112}, Shape{3, 32, 5}}) {
    for (DType t : {DType::kUInt8, DType::kInt8}) {
      for (int zp : {0, 128, -3, 9}) {
        if ((t == DType::kInt8) != (zp < 0 || zp == 9)) continue;
        const float scale = 0.0173f;
        const Blob x = blocked_float(shape, scale, rng);
        ASSERT_TRUE(x.blocked()) << "the Conv output is expected in a oneDNN layout";
        std::vector<Blob> in = {x, Blob::plain(make_scalar(scale), true),
                                Blob::plain(t == DType::kUInt8 ? make_scalar<uint8_t>(static_cast<uint8_t>(zp))
                                                               : make_scalar<int8_t>(static_cast<int8_t>(zp)),
                                            true)};
        const std::string what = shape_to_string(shape) + " " + std::string(dtype_name(t)) + " zp " + std::to_string(zp);
        NodeRun run = run_node("QuantizeLinear", {}, in, kOpset, dnnl_only_registry());
        ASSERT_EQ(run.impl, "dnnl") << what;
        ASSERT_TRUE(run.outputs[0].blocked()) << what << ": the integers in the channels-last layout";
        std::vector<Blob> plain_in = in;
        plain_in[0] = Blob::plain(x.to_plain());
        const Tensor expected = run_plain("QuantizeLinear", {}, plain_in, kOpset, kernels::reference_kernel_registry());
        EXPECT_EQ(compare_tensors_exact(run.outputs[0].to_plain(), expected), "") << what;
        ++checked;
      }
    }
  }
  EXPECT_EQ(checked, 12);
}

TEST(DnnlQuantize, LeavesPlainInputsToTheVectorizedKernel) {
  std::mt19937 rng(18);
  std::vector<Blob> in = {Blob::plain(random_tensor({2, 20, 7, 7}, rng, -2.f, 2.f)),
                          Blob::plain(make_scalar(0.02f), true), Blob::plain(make_scalar<uint8_t>(128), true)};
  NodeRun run = run_node("QuantizeLinear", {}, in, kOpset, kernels::default_kernel_registry());
  EXPECT_EQ(run.impl, "vec");
  ASSERT_FALSE(run.declines.empty());
  EXPECT_NE(run.declines[0].find("plain"), std::string::npos) << run.declines[0];
}

}  // namespace
}  // namespace qwac::testing
