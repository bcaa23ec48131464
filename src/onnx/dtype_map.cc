#include "onnx/dtype_map.h"

#include <array>
#include <string_view>

#include "qwac/error.h"

namespace qwac::onnxio {

namespace {

// The DType enum promises "values equal the ONNX codes"; these asserts keep that promise checked.
static_assert(static_cast<int>(DType::kFloat32) == onnx::TensorProto_DataType_FLOAT);
static_assert(static_cast<int>(DType::kUInt8) == onnx::TensorProto_DataType_UINT8);
static_assert(static_cast<int>(DType::kInt8) == onnx::TensorProto_DataType_INT8);
static_assert(static_cast<int>(DType::kUInt16) == onnx::TensorProto_DataType_UINT16);
static_assert(static_cast<int>(DType::kInt16) == onnx::TensorProto_DataType_INT16);
static_assert(static_cast<int>(DType::kInt32) == onnx::TensorProto_DataType_INT32);
static_assert(static_cast<int>(DType::kInt64) == onnx::TensorProto_DataType_INT64);
static_assert(static_cast<int>(DType::kString) == onnx::TensorProto_DataType_STRING);
static_assert(static_cast<int>(DType::kBool) == onnx::TensorProto_DataType_BOOL);
static_assert(static_cast<int>(DType::kFloat16) == onnx::TensorProto_DataType_FLOAT16);
static_assert(static_cast<int>(DType::kFloat64) == onnx::TensorProto_DataType_DOUBLE);
static_assert(static_cast<int>(DType::kUInt32) == onnx::TensorProto_DataType_UINT32);
static_assert(static_cast<int>(DType::kUInt64) == onnx::TensorProto_DataType_UINT64);
static_assert(kDTypeCount == onnx::TensorProto_DataType_UINT64 + 1, "every DType has an ONNX code");

// ONNX codes past our table, by name (newer ONNX versions than the linked one define some of them).
struct UnsupportedCode {
  int32_t code;
  std::string_view name;
};
constexpr std::array<UnsupportedCode, 10> kUnsupportedCodes = {{
    {14, "complex64"},
    {15, "complex128"},
    {16, "bfloat16"},
    {17, "float8e4m3fn"},
    {18, "float8e4m3fnuz"},
    {19, "float8e5m2"},
    {20, "float8e5m2fnuz"},
    {21, "uint4"},
    {22, "int4"},
    {23, "float4e2m1"},
}};

}  // namespace

DType dtype_from_onnx(int32_t code, const std::string& what) {
  if (is_valid_dtype_code(code)) return static_cast<DType>(code);
  for (const auto& u : kUnsupportedCodes) {
    if (u.code == code) {
      throw UnsupportedOp(what + " has element type " + std::string(u.name) + " (ONNX code " + std::to_string(code) +
                          "), which qwac does not support; expected float, float16, double or an integer/bool type");
    }
  }
  throw InvalidModel(what + " has element type code " + std::to_string(code) +
                     ", which is not an ONNX TensorProto.DataType");
}

onnx::TensorProto_DataType dtype_to_onnx(DType dtype) {
  const int code = static_cast<int>(dtype);
  if (!is_valid_dtype_code(code) || !onnx::TensorProto_DataType_IsValid(code)) {
    throw InternalError("DType code " + std::to_string(code) + " has no ONNX equivalent");
  }
  return static_cast<onnx::TensorProto_DataType>(code);
}

}  // namespace qwac::onnxio
