// com.qwac QLayerNorm (passes/qdq/qdq_rules.cc, the transformer's residual stream normalized into the next int8
// matmul's input): the reference kernel is exactly the float simulation DequantizeLinear -> LayerNormalization ->
// QuantizeLinear on the reference kernels; the one-pass vectorized kernel (kernels/vec/vec_qlayer_norm.cc) is within
// one quantization step of it (it multiplies by Scale / y_scale instead of dividing by y_scale), rarely, on seeded
// random shapes (rows shorter and longer than its 16384-element exact integer block), types, scales and zero points.
#include <gtest/gtest.h>

#include <cmath>
#include <random>

#include "ir/fused_ops.h"
#include "kernels/kernel_test_util.h"
#include "kernels/vec/vec_families.h"

namespace qwac::testing {
namespace {

using In = ir::QLayerNormInputs;

const kernels::KernelRegistry& vec_only_registry() {
  static const kernels::KernelRegistry r = [] {
    kernels::KernelRegistry reg;
    kernels::register_vectorized_kernels(reg);
    return reg;
  }();
  return r;
}

Tensor random_8bit(DType type, const Shape& shape, int lo, int hi, std::mt19937& rng) {
  Tensor t(type, shape);
  std::uniform_int_distribution<int> d(lo, hi);
  for (int64_t i = 0; i < t.numel(); ++i) {
    if (type == DType::kUInt8) {
      t.data<uint8_t>()[i] = static_cast<uint8_t>(d(rng));
    } else {
      t.data<int8_t>()[i] = static_cast<int8_t>(d(rng) - 128);
    }
  }
  return t;
}

int64_t value_at(const Tensor& t, int64_t i) {
  return t.dtype() == DType::kUInt8 ? t.data<uint8_t>()[i] : t.data<int8_t>()[i];
}

Tensor zero_point(DType t, int v) {
  return t == DType::kUInt8 ? make_scalar<uint8_t>(static_cast<uint8_t>(v)) : make_scalar<int8_t>(static_cast<int8_t>(v - 128));
}

TEST(QLayerNorm, VectorizedWithinOneStepOfReferenceWhichIsTheSimulation) {
  std::mt19937 rng(1717);
  auto pick = [&](int64_t lo, int64_t hi) { return std::uniform_int_distribution<int64_t>(lo, hi)(rng); };
  std::uniform_real_distribution<float> unit(-1.f, 1.f);
  int64_t off_by_one = 0, total = 0;
  const std::string domain(ir::kQwacDomain), op(ir::kQLayerNormOp);
  for (int i = 0; i < 40; ++i) {
    static const int64_t kInner[] = {1, 7, 16, 64, 192, 255, 300, 768, 17000};
    const int64_t inner = kInner[pick(0, 8)];
    Shape shape = {pick(1, 3), pick(1, 20)};
    const bool split = inner % 4 == 0 && pick(0, 2) == 0;  // normalized over two axes: axis = rank - 2
    if (split) {
      shape.push_back(4);
      shape.push_back(inner / 4);
    } else {
      shape.push_back(inner);
    }
    const DType x_type = pick(0, 1) ? DType::kUInt8 : DType::kInt8;
    const DType y_type = pick(0, 1) ? DType::kUInt8 : DType::kInt8;
    // Codes spread over a sub-range, as a calibrated residual stream, or over all 256 (saturating outputs).
    const int lo = static_cast<int>(pick(0, 120)), hi = static_cast<int>(pick(136, 255));
    const Tensor x = random_8bit(x_type, shape, lo, hi, rng);
    const Tensor xs = make_scalar(std::uniform_real_distribution<float>(0.005f, 0.2f)(rng));
    const Tensor xz = zero_point(x_type, static_cast<int>(pick(0, 255)));
    const Tensor ys = make_scalar(std::uniform_real_distribution<float>(0.01f, 0.1f)(rng));
    const Tensor yz = zero_point(y_type, static_cast<int>(pick(0, 255)));
    const Shape normalized = split ? Shape{4, inner / 4} : Shape{inner};
    Tensor scale(DType::kFloat32, normalized), bias(DType::kFloat32, normalized);
    for (int64_t k = 0; k < inner; ++k) {
      scale.data<float>()[k] = 1.f + 0.5f * unit(rng);
      bias.data<float>()[k] = 0.5f * unit(rng);
    }
    const bool with_bias = pick(0, 3) != 0;
    ir::Attributes attrs;
    attrs.set("axis", static_cast<int64_t>(split ? -2 : -1));
    attrs.set("epsilon", pick(0, 1) ? 1e-5f : 1e-6f);
    const std::string what = "case " + std::to_string(i) + " shape " + shape_to_string(shape) + " x " +
                             std::string(dtype_name(x_type)) + " y " + std::string(dtype_name(y_type));

    const Tensor deq = run_single_node("DequantizeLinear", {}, {x, xs, xz}, 13)[0];
    const Tensor normed =
        run_single_node("LayerNormalization", attrs, {deq, scale, with_bias ? bias : Tensor()}, 17)[0];
    const Tensor simulated = run_single_node("QuantizeLinear", {}, {normed, ys, yz}, 13)[0];

    SingleNodeOptions opts = SingleNodeOptions::constants({In::kXScale, In::kXZeroPoint, In::kScale, In::kBias,
                                                           In::kYScale, In::kYZeroPoint});
    opts.domain = domain;
    const std::vector<Tensor> in = {x, xs, xz, scale, with_bias ? bias : Tensor(), ys, yz};
    const Tensor got_ref = run_single_node(op, attrs, in, 1, kernels::reference_kernel_registry(), 1, opts)[0];
    ASSERT_EQ(got_ref.dtype(), y_type) << what;
    ASSERT_EQ(got_ref.shape(), shape) << what;
    for (int64_t k = 0; k < got_ref.numel(); ++k) {
      ASSERT_EQ(value_at(got_ref, k), value_at(simulated, k)) << what << " reference kernel, element " << k;
    }
    for (int threads : {1, 2}) {
      opts.num_threads = threads;
      std::string impl;
      opts.chosen_impl = &impl;
      const Tensor got = run_single_node(op, attrs, in, 1, vec_only_registry(), 1, opts)[0];
      EXPECT_EQ(impl, "vec");
      for (int64_t k = 0; k < got.numel(); ++k) {
        const int64_t d = std::abs(value_at(got, k) - value_at(simulated, k));
        ASSERT_LE(d, 1) << what << " vectorized, element " << k;
        off_by_one += d;
      }
      total += got.numel();
    }
  }
  std::cout << "vectorized QLayerNorm: " << off_by_one << " of " << total << " elements one step from the simulation\n";
  EXPECT_LE(off_by_one * 100, total) << "one-step differences must be rare (near ties only)";
}

// A constant row (zero variance) normalizes to B: the statistics from the integer codes are exact there.
TEST(QLayerNorm, ConstantRowGivesBias) {
  const Tensor x = make_tensor<uint8_t>({2, 4}, {9, 9, 9, 9, 200, 200, 200, 200});
  const Tensor scale = make_tensor<float>({4}, {1.f, 2.f, 3.f, 4.f});
  const Tensor bias = make_tensor<float>({4}, {-0.5f, 0.f, 0.25f, 1.f});
  SingleNodeOptions opts = SingleNodeOptions::constants({1, 2, 3, 4, 5, 6});
  opts.domain = std::string(ir::kQwacDomain);
  const std::vector<Tensor> in = {x, make_scalar(0.1f), make_scalar<uint8_t>(128), scale, bias, make_scalar(0.25f),
                                  make_scalar<int8_t>(0)};
  for (const kernels::KernelRegistry* reg : {&kernels::reference_kernel_registry(), &vec_only_registry()}) {
    const Tensor y = run_single_node(std::string(ir::kQLayerNormOp), {}, in, 1, *reg, 1, opts)[0];
    expect_tensor_eq(y, make_tensor<int8_t>({2, 4}, {-2, 0, 1, 4, -2, 0, 1, 4}));
  }
}

}  // namespace
}  // namespace qwac::testing
