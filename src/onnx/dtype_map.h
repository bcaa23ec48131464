// DType <-> ONNX TensorProto.DataType. DType values equal the ONNX codes, so the mapping is a cast after
// validation; codes qwac cannot represent (bfloat16, complex, float8, int4, ...) are rejected by name.
#pragma once

#include <cstdint>
#include <string>

#include <onnx/onnx_pb.h>

#include "core/dtype.h"

namespace qwac::onnxio {

// ONNX element type code -> DType. `what` names the tensor or value for messages ("tensor 'conv1.weight'").
// Throws UnsupportedOp for ONNX types qwac cannot hold (bfloat16, complex, float8, 4-bit) and InvalidModel for
// codes ONNX does not define. Returns DType::kUndefined for code 0 (no element type declared).
DType dtype_from_onnx(int32_t code, const std::string& what);

// DType -> ONNX code; InternalError for a DType outside the table (cannot happen for enum values we define).
onnx::TensorProto_DataType dtype_to_onnx(DType dtype);

// qwac computes in float32: float16 tensors and declared float16 types are widened to float32 at import (exact:
// every float16 value is representable in float32). Other types are kept.
constexpr DType import_dtype(DType stored) { return stored == DType::kFloat16 ? DType::kFloat32 : stored; }

}  // namespace qwac::onnxio
