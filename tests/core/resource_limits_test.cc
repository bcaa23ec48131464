// The memory budget and the size helpers every pre-allocation check uses.
#include "core/resource_limits.h"

#include <gtest/gtest.h>

#include "core/tensor.h"
#include "qwac/error.h"

namespace qwac {
namespace {

TEST(ResourceLimits, ParsesByteSizes) {
  EXPECT_EQ(parse_byte_size("4G"), uint64_t{4} << 30);
  EXPECT_EQ(parse_byte_size("512M"), uint64_t{512} << 20);
  EXPECT_EQ(parse_byte_size("64KiB"), uint64_t{64} << 10);
  EXPECT_EQ(parse_byte_size("1000000"), uint64_t{1000000});
  EXPECT_EQ(parse_byte_size("100B"), uint64_t{100});
  for (const char* bad : {"", "G", "0", "-1", "4X", "1.5G", "99999999999999999999", "16777216T"}) {
    EXPECT_FALSE(parse_byte_size(bad)) << bad;
  }
}

TEST(ResourceLimits, CheckedProductRefusesOverflowAndNegatives) {
  EXPECT_EQ(checked_product({2, 3, 4}), uint64_t{24});
  EXPECT_EQ(checked_product({0, int64_t{1} << 62, int64_t{1} << 62}), uint64_t{0});
  EXPECT_FALSE(checked_product({int64_t{1} << 32, int64_t{1} << 32}));
  EXPECT_FALSE(checked_product({3, -1}));
}

TEST(ResourceLimits, TensorsBeyondTheBudgetAreRefusedBeforeAllocating) {
  set_memory_budget(uint64_t{1} << 20);
  EXPECT_NO_THROW(Tensor(DType::kFloat32, {256, 256}));  // 256 KiB
  try {
    Tensor t(DType::kFloat32, {1024, 1024});  // 4 MiB
    ADD_FAILURE() << "no exception";
  } catch (const InvalidArgument& e) {
    EXPECT_NE(std::string(e.what()).find("float[1024,1024] needs 4.0 MiB"), std::string::npos) << e.what();
  }
  // Live buffers count: two halves fit, a third does not.
  const Tensor a(DType::kUInt8, {400 << 10});
  const Tensor b(DType::kUInt8, {400 << 10});
  EXPECT_THROW(Tensor(DType::kUInt8, {400 << 10}), InvalidArgument);
  // Shapes whose byte count overflows never reach the allocator.
  EXPECT_THROW(Tensor(DType::kFloat32, {int64_t{1} << 40, int64_t{1} << 40}), InvalidArgument);
  set_memory_budget(0);
  EXPECT_GT(memory_budget(), uint64_t{1} << 20);
}

}  // namespace
}  // namespace qwac
