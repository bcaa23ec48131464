#include <gtest/gtest.h>

#include "core/tensor.h"

namespace qwac {
namespace {

TEST(Tensor, AllocatesAlignedZeroedStorage) {
  Tensor t(DType::kFloat32, {2, 3});
  EXPECT_EQ(t.numel(), 6);
  EXPECT_EQ(t.nbytes(), 24u);
  EXPECT_EQ(reinterpret_cast<uintptr_t>(t.raw()) % kTensorAlignment, 0u);
  for (int i = 0; i < 6; ++i) EXPECT_EQ(t.data<float>()[i], 0.f);
}

TEST(Tensor, TypedAccessChecksDType) {
  Tensor t(DType::kInt64, {1});
  EXPECT_THROW(t.data<float>(), InternalError);
  EXPECT_NO_THROW(t.data<int64_t>());
}

TEST(Tensor, CloneIsDeepCopyIsShallow) {
  Tensor t(DType::kFloat32, {2});
  Tensor alias = t;
  Tensor deep = t.clone();
  t.data<float>()[0] = 5.f;
  EXPECT_EQ(alias.data<float>()[0], 5.f);
  EXPECT_EQ(deep.data<float>()[0], 0.f);
}

TEST(Shape, BroadcastFollowsNumpyRules) {
  EXPECT_EQ(broadcast_shapes({2, 1, 4}, {3, 1}, "t"), (Shape{2, 3, 4}));
  EXPECT_EQ(broadcast_shapes({}, {5}, "t"), (Shape{5}));
  EXPECT_THROW(broadcast_shapes({2, 3}, {4}, "t"), InvalidModel);
}

TEST(Shape, NormalizeAxisRejectsOutOfRange) {
  EXPECT_EQ(normalize_axis(-1, 4, "t"), 3);
  EXPECT_THROW(normalize_axis(4, 4, "t"), InvalidModel);
}

}  // namespace
}  // namespace qwac
