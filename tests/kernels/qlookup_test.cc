// QLookup (com.qwac): the reference on a hand-checked table, and on seeded random problems the oneDNN-side kernel
// against the reference, exactly, for every table type, on plain tensors and on the channels-last layout of a
// QConv output (which it keeps); a layout with padding is declined with a reason.
#include <gtest/gtest.h>

#include <random>

#include "ir/fused_ops.h"
#include "kernels/dnnl_registry_util.h"
#include "kernels/dnnl_test_util.h"
#include "kernels/kernel_test_util.h"

namespace qwac::testing {
namespace {

using In = ir::QLookupInputs;
constexpr int64_t kOpset = 13;

const kernels::KernelRegistry& ref() {
  return kernels::reference_kernel_registry();
}

std::string qdomain() {
  return std::string(ir::kQwacDomain);
}

Tensor random_bytes(DType t, const Shape& shape, std::mt19937& rng) {
  Tensor out(t, shape);
  std::uniform_int_distribution<int> d(0, 255);
  for (int64_t i = 0; i < out.numel(); ++i) static_cast<uint8_t*>(out.raw())[i] = static_cast<uint8_t>(d(rng));
  return out;
}

Tensor random_table(DType t, std::mt19937& rng) {
  if (t != DType::kFloat32) return random_bytes(t, {256}, rng);
  Tensor out(t, {256});
  std::uniform_real_distribution<float> d(-3.f, 3.f);
  for (int64_t i = 0; i < 256; ++i) out.data<float>()[i] = d(rng);
  return out;
}

// int8 codes index the table by their byte: -1 -> 255, -128 -> 128.
TEST(QLookupReference, IndexesTheTableByTheCodesByte) {
  Tensor table(DType::kFloat32, {256});
  for (int i = 0; i < 256; ++i) table.data<float>()[i] = static_cast<float>(i) * 0.5f;
  for (const kernels::KernelRegistry* registry : {&ref(), &dnnl_only_registry()}) {
    const std::string which = registry == &ref() ? "ref" : "dnnl";
    std::string impl;
    const Tensor y = run_plain(std::string(ir::kQLookupOp), {},
                               {Blob::plain(make_tensor<int8_t>({4}, {0, 1, -1, -128})), Blob::plain(table, true)},
                               kOpset, *registry, &impl, qdomain());
    EXPECT_EQ(impl, which);
    EXPECT_EQ(tensor_values<float>(y), (std::vector<float>{0.f, 0.5f, 127.5f, 64.f})) << which;
    const Tensor yu = run_plain(std::string(ir::kQLookupOp), {},
                                {Blob::plain(make_tensor<uint8_t>({3}, {0, 200, 255})), Blob::plain(table, true)},
                                kOpset, *registry, nullptr, qdomain());
    EXPECT_EQ(tensor_values<float>(yu), (std::vector<float>{0.f, 100.f, 127.5f})) << which;
  }
}

TEST(QLookupDnnl, MatchesReferenceOnRandomProblems) {
  std::mt19937 rng(1616);
  for (int i = 0; i < 60; ++i) {
    const DType x_type = i % 2 ? DType::kUInt8 : DType::kInt8;
    const DType y_type = i % 3 == 0 ? DType::kUInt8 : i % 3 == 1 ? DType::kInt8 : DType::kFloat32;
    Shape shape;
    const int64_t rank = 1 + i % 4;
    for (int64_t d = 0; d < rank; ++d) shape.push_back(std::uniform_int_distribution<int64_t>(1, d == 0 ? 70000 / (1 + 6 * i) + 1 : 9)(rng));
    const std::vector<Blob> in = {Blob::plain(random_bytes(x_type, shape, rng)), Blob::plain(random_table(y_type, rng), true)};
    const std::string what = "case " + std::to_string(i) + " " + shape_to_string(shape);
    std::string impl;
    const Tensor got = run_plain(std::string(ir::kQLookupOp), {}, in, kOpset, kernels::default_kernel_registry(), &impl,
                                 qdomain());
    EXPECT_EQ(impl, "dnnl") << what;
    const Tensor expected = run_plain(std::string(ir::kQLookupOp), {}, in, kOpset, ref(), nullptr, qdomain());
    EXPECT_EQ(compare_tensors_exact(got, expected), "") << what;
  }
}

// A QConv's u8 output in oneDNN's layout goes through the lookup without a conversion to plain when the layout is
// dense (channels-last); a padded blocked one (not produced here) is the reference's.
TEST(QLookupDnnl, KeepsTheLayoutOfAQConvOutput) {
  std::mt19937 rng(17);
  for (int64_t channels : {int64_t{16}, int64_t{24}, int64_t{72}}) {
    const Shape x_shape = {2, channels, 5, 5};
    std::vector<Blob> conv(ir::QConvInputs::kCount);
    conv[ir::QConvInputs::kX] = Blob::plain(random_bytes(DType::kUInt8, x_shape, rng));
    conv[ir::QConvInputs::kXScale] = Blob::plain(make_scalar(0.02f), true);
    conv[ir::QConvInputs::kXZeroPoint] = Blob::plain(make_scalar<uint8_t>(0), true);
    Tensor w = random_bytes(DType::kInt8, {channels, channels, 1, 1}, rng);
    for (int64_t i = 0; i < w.numel(); ++i) {
      if (w.data<int8_t>()[i] == -128) w.data<int8_t>()[i] = -127;
    }
    conv[ir::QConvInputs::kW] = Blob::plain(w, true);
    conv[ir::QConvInputs::kWScale] = Blob::plain(make_scalar(0.002f), true);
    conv[ir::QConvInputs::kBias] = Blob::absent();
    conv[ir::QConvInputs::kYScale] = Blob::plain(make_scalar(0.05f), true);
    conv[ir::QConvInputs::kYZeroPoint] = Blob::plain(make_scalar<uint8_t>(90), true);
    const Blob x = run_node(std::string(ir::kQConvOp), {}, conv, kOpset, dnnl_only_registry(), qdomain()).outputs.at(0);
    ASSERT_TRUE(x.blocked()) << "QConv int8 outputs are expected in a oneDNN layout";
    for (DType y_type : {DType::kUInt8, DType::kFloat32}) {
      const std::string what = std::to_string(channels) + " channels, " + std::string(dtype_name(y_type));
      const Blob table = Blob::plain(random_table(y_type, rng), true);
      NodeRun r = run_node(std::string(ir::kQLookupOp), {}, {x, table}, kOpset, kernels::default_kernel_registry(),
                           qdomain());
      const Tensor expected =
          run_plain(std::string(ir::kQLookupOp), {}, {Blob::plain(x.to_plain()), table}, kOpset, ref(), nullptr, qdomain());
      EXPECT_EQ(compare_tensors_exact(r.outputs[0].to_plain(), expected), "") << what;
      if (r.impl == "dnnl") {
        EXPECT_TRUE(r.outputs[0].blocked()) << what << ": the output keeps X's layout";
      } else {
        ASSERT_FALSE(r.declines.empty()) << what;
        EXPECT_NE(r.declines[0].find("padding"), std::string::npos) << what << ": " << r.declines[0];
      }
    }
  }
}

}  // namespace
}  // namespace qwac::testing
