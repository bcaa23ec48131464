// Reference kernels of the NN family, part 2: MaxPool, AveragePool, GlobalAveragePool, GlobalMaxPool.
#include <gtest/gtest.h>

#include "ref_nn_test_util.h"

namespace qwac::testing {
namespace {

using nn::attrs;
using nn::f32;
using nn::Floats;
using nn::Ints;
using nn::iota_f32;
using nn::run_ref;

constexpr int64_t kOpset = 12;

Tensor i64(const Shape& shape, const std::vector<int64_t>& v) { return make_tensor<int64_t>(shape, v); }

TEST(RefNnMaxPool, DefaultWithIndicesBothStorageOrders) {
  const Tensor x = iota_f32({1, 1, 4, 4});
  const ir::Attributes a = attrs({{"kernel_shape", Ints{2, 2}}, {"strides", Ints{2, 2}}});
  auto y = run_ref("MaxPool", a, {x}, kOpset, 2);
  expect_tensor_eq(y[0], f32({1, 1, 2, 2}, {5, 7, 13, 15}));
  expect_tensor_eq(y[1], i64({1, 1, 2, 2}, {5, 7, 13, 15}));
  ir::Attributes col = a;
  col.set("storage_order", int64_t{1});
  y = run_ref("MaxPool", col, {x}, kOpset, 2);
  // Column-major: h + w * H within the plane.
  expect_tensor_eq(y[1], i64({1, 1, 2, 2}, {5, 13, 7, 15}));
  // Only Y requested.
  y = run_ref("MaxPool", a, {x}, kOpset, 1);
  expect_tensor_eq(y[0], f32({1, 1, 2, 2}, {5, 7, 13, 15}));
}

TEST(RefNnMaxPool, IndicesIncludeBatchAndChannelOffset) {
  const Tensor x = f32({2, 2, 2}, {1, 3, 4, 2, 0, -1, 7, 8});
  auto y = run_ref("MaxPool", attrs({{"kernel_shape", Ints{2}}}), {x}, kOpset, 2);
  expect_tensor_eq(y[0], f32({2, 2, 1}, {3, 4, 0, 8}));
  expect_tensor_eq(y[1], i64({2, 2, 1}, {1, 2, 4, 7}));
}

TEST(RefNnMaxPool, CeilModeAndDroppedWindow) {
  const Tensor x = iota_f32({1, 1, 4, 4});
  ir::Attributes a = attrs({{"kernel_shape", Ints{3, 3}}, {"strides", Ints{2, 2}}});
  expect_tensor_eq(run_ref("MaxPool", a, {x}, kOpset)[0], f32({1, 1, 1, 1}, {10}));
  a.set("ceil_mode", int64_t{1});
  expect_tensor_eq(run_ref("MaxPool", a, {x}, kOpset)[0], f32({1, 1, 2, 2}, {10, 11, 14, 15}));
  // 1-D, in 5, kernel 2, stride 2: floor 2 outputs, ceil 3 (the last window holds one element).
  const Tensor x5 = f32({1, 1, 5}, {1, 2, 3, 4, 5});
  const ir::Attributes k2 = attrs({{"kernel_shape", Ints{2}}, {"strides", Ints{2}}});
  expect_tensor_eq(run_ref("MaxPool", k2, {x5}, kOpset)[0], f32({1, 1, 2}, {2, 4}));
  ir::Attributes k2c = k2;
  k2c.set("ceil_mode", int64_t{1});
  expect_tensor_eq(run_ref("MaxPool", k2c, {x5}, kOpset)[0], f32({1, 1, 3}, {2, 4, 5}));
  // in 4 with end pad 1: ceil((4 + 1 - 2) / 2) + 1 = 3, but the third window would start in the end padding and
  // is dropped.
  ir::Attributes k2p = k2c;
  k2p.set("pads", Ints{0, 1});
  expect_tensor_eq(run_ref("MaxPool", k2p, {f32({1, 1, 4}, {1, 2, 3, 4})}, kOpset)[0], f32({1, 1, 2}, {2, 4}));
}

TEST(RefNnMaxPool, DilationsPadsAndAutoPad) {
  expect_tensor_eq(run_ref("MaxPool", attrs({{"kernel_shape", Ints{2, 2}}, {"dilations", Ints{2, 2}}}),
                           {iota_f32({1, 1, 4, 4})}, kOpset)[0],
                   f32({1, 1, 2, 2}, {10, 11, 14, 15}));
  const Tensor x = f32({1, 1, 4}, {1, 5, 2, 4});
  const ir::Attributes k2 = attrs({{"kernel_shape", Ints{2}}});
  ir::Attributes upper = k2, lower = k2, pads = k2;
  upper.set("auto_pad", std::string("SAME_UPPER"));
  lower.set("auto_pad", std::string("SAME_LOWER"));
  pads.set("pads", Ints{1, 1});
  expect_tensor_eq(run_ref("MaxPool", upper, {x}, kOpset)[0], f32({1, 1, 4}, {5, 5, 4, 4}));
  expect_tensor_eq(run_ref("MaxPool", lower, {x}, kOpset)[0], f32({1, 1, 4}, {1, 5, 5, 4}));
  // Padding never wins, even against negative values.
  expect_tensor_eq(run_ref("MaxPool", pads, {f32({1, 1, 2}, {-3, -2})}, kOpset)[0], f32({1, 1, 3}, {-3, -2, -2}));
}

TEST(RefNnMaxPool, Int8AndUInt8) {
  auto y = run_ref("MaxPool", attrs({{"kernel_shape", Ints{2}}, {"strides", Ints{2}}}),
                   {make_tensor<int8_t>({1, 1, 4}, {-3, 7, -1, -8})}, kOpset);
  expect_tensor_eq(y[0], make_tensor<int8_t>({1, 1, 2}, {7, -1}));
  y = run_ref("MaxPool", attrs({{"kernel_shape", Ints{2}}, {"pads", Ints{1, 0}}}),
              {make_tensor<uint8_t>({1, 1, 3}, {9, 200, 3})}, kOpset);
  expect_tensor_eq(y[0], make_tensor<uint8_t>({1, 1, 3}, {9, 200, 200}));
}

TEST(RefNnMaxPool, InvalidModels) {
  const Tensor x = iota_f32({1, 1, 4, 4});
  EXPECT_THROW(run_ref("MaxPool", {}, {x}, kOpset), InvalidModel);  // kernel_shape missing
  EXPECT_THROW(run_ref("MaxPool", attrs({{"kernel_shape", Ints{2}}}), {x}, kOpset), InvalidModel);
  EXPECT_THROW(run_ref("MaxPool", attrs({{"kernel_shape", Ints{5, 5}}}), {x}, kOpset), InvalidModel);
  EXPECT_THROW(run_ref("MaxPool", attrs({{"kernel_shape", Ints{2, 2}}, {"strides", Ints{0, 1}}}), {x}, kOpset),
               InvalidModel);
  EXPECT_THROW(run_ref("MaxPool", attrs({{"kernel_shape", Ints{2}}}), {f32({1, 4}, Floats(4, 0.f))}, kOpset),
               InvalidModel);
}

TEST(RefNnAveragePool, CountIncludePad) {
  const Tensor x = f32({1, 1, 4}, {1, 2, 3, 4});
  ir::Attributes a = attrs({{"kernel_shape", Ints{3}}, {"pads", Ints{1, 1}}});
  expect_tensor_near(run_ref("AveragePool", a, {x}, kOpset)[0], f32({1, 1, 4}, {1.5f, 2, 3, 3.5f}));
  a.set("count_include_pad", int64_t{1});
  expect_tensor_near(run_ref("AveragePool", a, {x}, kOpset)[0], f32({1, 1, 4}, {1, 2, 3, 7.f / 3}));
}

TEST(RefNnAveragePool, CeilModeCountsOnlyExplicitPadding) {
  ir::Attributes a = attrs({{"kernel_shape", Ints{2}}, {"strides", Ints{2}}, {"ceil_mode", int64_t{1}}});
  const Tensor x5 = f32({1, 1, 5}, {1, 2, 3, 4, 5});
  expect_tensor_near(run_ref("AveragePool", a, {x5}, kOpset)[0], f32({1, 1, 3}, {1.5f, 3.5f, 5}));
  a.set("count_include_pad", int64_t{1});
  // The ceil_mode overhang past the input is not padding: the last window still averages one element.
  expect_tensor_near(run_ref("AveragePool", a, {x5}, kOpset)[0], f32({1, 1, 3}, {1.5f, 3.5f, 5}));
  // Begin pad 1: windows [pad,1], [2,3], [4,overhang].
  a.set("pads", Ints{1, 0});
  const Tensor x4 = f32({1, 1, 4}, {1, 2, 3, 4});
  expect_tensor_near(run_ref("AveragePool", a, {x4}, kOpset)[0], f32({1, 1, 3}, {0.5f, 2.5f, 4}));
  a.set("count_include_pad", int64_t{0});
  expect_tensor_near(run_ref("AveragePool", a, {x4}, kOpset)[0], f32({1, 1, 3}, {1, 2.5f, 4}));
}

TEST(RefNnAveragePool, DilationsOpset19) {
  expect_tensor_near(run_ref("AveragePool", attrs({{"kernel_shape", Ints{2}}, {"dilations", Ints{2}}}),
                             {f32({1, 1, 6}, {1, 2, 3, 4, 5, 6})}, 19)[0],
                     f32({1, 1, 4}, {2, 3, 4, 5}));
}

TEST(RefNnAveragePool, AutoPad) {
  const Tensor x = f32({1, 1, 4}, {1, 2, 3, 4});
  auto run = [&](const std::string& mode, int64_t k, int64_t s) {
    return run_ref("AveragePool", attrs({{"kernel_shape", Ints{k}}, {"strides", Ints{s}}, {"auto_pad", mode}}), {x},
                   kOpset)[0];
  };
  expect_tensor_near(run("SAME_UPPER", 2, 2), f32({1, 1, 2}, {1.5f, 3.5f}));
  expect_tensor_near(run("SAME_UPPER", 3, 1), f32({1, 1, 4}, {1.5f, 2, 3, 3.5f}));
  expect_tensor_near(run("SAME_UPPER", 2, 1), f32({1, 1, 4}, {1.5f, 2.5f, 3.5f, 4}));
  expect_tensor_near(run("SAME_LOWER", 2, 1), f32({1, 1, 4}, {1, 1.5f, 2.5f, 3.5f}));
  expect_tensor_near(run("VALID", 3, 1), f32({1, 1, 2}, {2, 3}));
}

TEST(RefNnAveragePool, TwoDAsymmetricPadsAndStrides) {
  // 3x3 input 0..8, kernel 2x2, stride 2, pads top 1 / left 0 / bottom 0 / right 1 -> output 2x2.
  ir::Attributes a = attrs({{"kernel_shape", Ints{2, 2}}, {"strides", Ints{2, 2}}, {"pads", Ints{1, 0, 0, 1}}});
  const Tensor x = iota_f32({1, 1, 3, 3});
  // Windows: rows {-1,0} x cols {0,1} -> {0,1}; rows {-1,0} x cols {2,3} -> {2}; rows {1,2} x cols {0,1};
  // rows {1,2} x cols {2,3} -> {5,8}.
  expect_tensor_near(run_ref("AveragePool", a, {x}, kOpset)[0], f32({1, 1, 2, 2}, {0.5f, 2, 5, 6.5f}));
  a.set("count_include_pad", int64_t{1});
  expect_tensor_near(run_ref("AveragePool", a, {x}, kOpset)[0], f32({1, 1, 2, 2}, {0.25f, 0.5f, 5, 3.25f}));
}

TEST(RefNnGlobalPool, AverageAndMax) {
  const Tensor x = f32({1, 2, 2, 2}, {1, 2, 3, 4, -1, -5, 0, 2});
  expect_tensor_near(run_ref("GlobalAveragePool", {}, {x}, kOpset)[0], f32({1, 2, 1, 1}, {2.5f, -1}));
  expect_tensor_eq(run_ref("GlobalMaxPool", {}, {x}, kOpset)[0], f32({1, 2, 1, 1}, {4, 2}));
  expect_tensor_eq(run_ref("GlobalMaxPool", {}, {f32({1, 1, 3}, {-7, -3, -9})}, kOpset)[0], f32({1, 1, 1}, {-3}));
  EXPECT_THROW(run_ref("GlobalAveragePool", {}, {f32({2, 2}, Floats(4, 0.f))}, kOpset), InvalidModel);
}

}  // namespace
}  // namespace qwac::testing
