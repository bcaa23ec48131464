// The vectorized QuantizeLinear (kernels/vec) is bit-exact with the reference kernel: per-tensor and per-axis (the
// channel innermost or not), uint8 and int8, with and without a zero point, on seeded random values that include
// exact ties (k + 0.5) * scale, saturating values, infinities and NaN.
#include <gtest/gtest.h>

#include <cmath>
#include <limits>
#include <random>

#include "kernels/dnnl_test_util.h"
#include "kernels/kernel_test_util.h"
#include "kernels/vec/vec_families.h"

namespace qwac::testing {
namespace {

constexpr int64_t kOpset = 13;

const kernels::KernelRegistry& vec_only_registry() {
  static const kernels::KernelRegistry r = [] {
    kernels::KernelRegistry reg;
    kernels::register_vectorized_kernels(reg);
    return reg;
  }();
  return r;
}

// Random values, a quarter of them exact ties of `scale` (per channel when `scales` has several), and a few
// specials.
Tensor inputs_with_ties(const Shape& shape, int64_t axis, const std::vector<float>& scales, std::mt19937& rng) {
  Tensor x(DType::kFloat32, shape);
  int64_t inner = 1;
  for (size_t d = static_cast<size_t>(axis) + 1; d < shape.size() && axis >= 0; ++d) inner *= shape[d];
  std::uniform_real_distribution<float> wide(-300.f, 300.f);
  std::uniform_int_distribution<int> k(-140, 140), pick(0, 3);
  float* p = x.data<float>();
  for (int64_t i = 0; i < x.numel(); ++i) {
    const float s = scales.size() == 1 ? scales[0] : scales[static_cast<size_t>((i / inner) % shape[axis])];
    p[i] = pick(rng) == 0 ? (static_cast<float>(k(rng)) + 0.5f) * s : wide(rng) * s / 2.f;
  }
  p[0] = std::numeric_limits<float>::quiet_NaN();
  p[1] = std::numeric_limits<float>::infinity();
  p[2] = -std::numeric_limits<float>::infinity();
  p[3] = 0.f;
  return x;
}

template <typename Q>
Tensor zero_points(int64_t n, std::mt19937& rng) {
  Tensor zp(std::is_signed_v<Q> ? DType::kInt8 : DType::kUInt8, n == 0 ? Shape{} : Shape{n});
  std::uniform_int_distribution<int> v(std::numeric_limits<Q>::min(), std::numeric_limits<Q>::max());
  for (int64_t i = 0; i < zp.numel(); ++i) zp.data<Q>()[i] = static_cast<Q>(v(rng));
  return zp;
}

template <typename Q>
void check_case(const Shape& shape, int64_t axis, bool with_zp, std::mt19937& rng) {
  if (!with_zp && std::is_signed_v<Q>) return;  // without a zero point the output is uint8
  const int64_t channels = axis < 0 ? 0 : shape[static_cast<size_t>(axis)];
  std::uniform_real_distribution<float> scale(1e-3f, 0.2f);
  std::vector<float> scales(static_cast<size_t>(std::max<int64_t>(channels, 1)));
  for (float& s : scales) s = scale(rng);
  Tensor s_t(DType::kFloat32, channels == 0 ? Shape{} : Shape{channels});
  std::copy(scales.begin(), scales.end(), s_t.data<float>());
  std::vector<Blob> in = {Blob::plain(inputs_with_ties(shape, axis, scales, rng)), Blob::plain(s_t, true)};
  if (with_zp) in.push_back(Blob::plain(zero_points<Q>(channels, rng), true));
  ir::Attributes attrs;
  if (axis >= 0) attrs.set("axis", axis);
  const std::string what = std::string(std::is_signed_v<Q> ? "int8" : "uint8") + " axis " + std::to_string(axis) +
                           (with_zp ? " with zp" : " no zp") + " rank " + std::to_string(shape.size());
  NodeRun run = run_node("QuantizeLinear", attrs, in, kOpset, vec_only_registry());
  ASSERT_EQ(run.impl, "vec") << what << (run.declines.empty() ? "" : run.declines[0]);
  const Tensor expected = run_plain("QuantizeLinear", attrs, in, kOpset, kernels::reference_kernel_registry());
  EXPECT_EQ(compare_tensors_exact(run.outputs[0].to_plain(), expected), "") << what;
}

TEST(VecQuantize, BitExactWithReference) {
  std::mt19937 rng(17);
  // [batch, tokens, channels] as transformers quantize, 4-D as attention does; sizes off the chunk and vector widths.
  for (const Shape& shape : {Shape{3, 50, 193}, Shape{2, 3, 17, 64}, Shape{1, 7}}) {
    const auto rank = static_cast<int64_t>(shape.size());
    for (int64_t axis : {int64_t{-1}, rank - 1, int64_t{1}}) {
      for (bool with_zp : {false, true}) {
        check_case<uint8_t>(shape, axis, with_zp, rng);
        check_case<int8_t>(shape, axis, with_zp, rng);
      }
    }
  }
}

TEST(VecQuantize, LargeTensorRunsInParallelChunks) {
  std::mt19937 rng(5);
  check_case<uint8_t>(Shape{64, 50, 576}, -1, true, rng);
  check_case<int8_t>(Shape{64, 50, 576}, -1, true, rng);
}

TEST(VecQuantize, DeclinesInt32Input) {
  Tensor x(DType::kInt32, {4});
  std::vector<Blob> in = {Blob::plain(x), Blob::plain(make_scalar(0.5f), true)};
  NodeRun run = run_node("QuantizeLinear", {}, in, kOpset, kernels::default_kernel_registry());
  EXPECT_EQ(run.impl, "ref");
  ASSERT_FALSE(run.declines.empty());
  EXPECT_NE(run.declines.back().find("only float"), std::string::npos) << run.declines.back();
}

}  // namespace
}  // namespace qwac::testing
