// qwac public API: element types and their facts, kept in one table indexed by the enum (no switches scattered
// around).
#pragma once

#include <array>
#include <cstddef>
#include <cstdint>
#include <string_view>

namespace qwac {

// Values equal the ONNX TensorProto.DataType codes, so conversion to/from ONNX is a cast after a range check.
enum class DType : uint8_t {
  kUndefined = 0,
  kFloat32 = 1,
  kUInt8 = 2,
  kInt8 = 3,
  kUInt16 = 4,
  kInt16 = 5,
  kInt32 = 6,
  kInt64 = 7,
  kString = 8,  // listed for completeness; no kernel computes on strings
  kBool = 9,
  kFloat16 = 10,
  kFloat64 = 11,
  kUInt32 = 12,
  kUInt64 = 13,
};

inline constexpr int kDTypeCount = 14;

struct DTypeTraits {
  std::string_view name;  // ONNX spelling: "float", "uint8", ...
  size_t size;            // bytes per element (0 = not a fixed-size numeric type)
  bool is_float;
  bool is_signed;
};

inline constexpr std::array<DTypeTraits, kDTypeCount> kDTypeTraits = {{
    {"undefined", 0, false, false},
    {"float", 4, true, true},
    {"uint8", 1, false, false},
    {"int8", 1, false, true},
    {"uint16", 2, false, false},
    {"int16", 2, false, true},
    {"int32", 4, false, true},
    {"int64", 8, false, true},
    {"string", 0, false, false},
    {"bool", 1, false, false},
    {"float16", 2, true, true},
    {"double", 8, true, true},
    {"uint32", 4, false, false},
    {"uint64", 8, false, false},
}};
static_assert(kDTypeTraits.size() == kDTypeCount, "one traits row per DType");

constexpr const DTypeTraits& dtype_traits(DType t) { return kDTypeTraits[static_cast<size_t>(t)]; }
constexpr std::string_view dtype_name(DType t) {
  return static_cast<int>(t) < kDTypeCount ? dtype_traits(t).name : std::string_view("invalid");
}
constexpr size_t dtype_size(DType t) { return dtype_traits(t).size; }
constexpr bool is_valid_dtype_code(int code) { return code >= 0 && code < kDTypeCount; }

// Compile-time mapping C++ type -> DType.
template <typename T>
struct DTypeOf;
#define QWAC_DTYPE_OF(CppType, Enum) \
  template <>                        \
  struct DTypeOf<CppType> {          \
    static constexpr DType value = DType::Enum; \
  };
QWAC_DTYPE_OF(float, kFloat32)
QWAC_DTYPE_OF(double, kFloat64)
QWAC_DTYPE_OF(uint8_t, kUInt8)
QWAC_DTYPE_OF(int8_t, kInt8)
QWAC_DTYPE_OF(uint16_t, kUInt16)
QWAC_DTYPE_OF(int16_t, kInt16)
QWAC_DTYPE_OF(int32_t, kInt32)
QWAC_DTYPE_OF(int64_t, kInt64)
QWAC_DTYPE_OF(bool, kBool)
QWAC_DTYPE_OF(uint32_t, kUInt32)
QWAC_DTYPE_OF(uint64_t, kUInt64)
#undef QWAC_DTYPE_OF

template <typename T>
inline constexpr DType kDTypeOf = DTypeOf<T>::value;

}  // namespace qwac
