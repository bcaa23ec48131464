// TensorProto <-> Tensor: raw and typed data fields, external data files, float16 widening.
#include <algorithm>
#include <bit>
#include <cerrno>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <limits>
#include <string_view>
#include <system_error>

#include <onnx/onnx_pb.h>

#include "core/resource_limits.h"
#include "onnx/dtype_map.h"
#include "onnx/model_io.h"
#include "qwac/error.h"

namespace qwac::onnxio {

// ONNX stores raw_data and external data little-endian; we copy bytes straight into tensors.
static_assert(std::endian::native == std::endian::little, "qwac's ONNX reader assumes a little-endian host");

namespace {

// Exact IEEE binary16 -> binary32 conversion (subnormals, infinities and NaN payloads included).
float half_bits_to_float(uint16_t h) {
  const uint32_t sign = static_cast<uint32_t>(h & 0x8000u) << 16;
  const uint32_t exponent = (h >> 10) & 0x1fu;
  uint32_t mantissa = h & 0x3ffu;
  uint32_t bits = 0;
  if (exponent == 0) {
    if (mantissa == 0) {
      bits = sign;
    } else {  // subnormal half: normalize it, float32 has the range to represent it as a normal number
      int shift = 0;
      while ((mantissa & 0x400u) == 0) {
        mantissa <<= 1;
        ++shift;
      }
      bits = sign | (static_cast<uint32_t>(127 - 15 + 1 - shift) << 23) | ((mantissa & 0x3ffu) << 13);
    }
  } else if (exponent == 0x1f) {
    bits = sign | 0x7f800000u | (mantissa << 13);
  } else {
    bits = sign | ((exponent + 127 - 15) << 23) | (mantissa << 13);
  }
  return std::bit_cast<float>(bits);
}

std::string tensor_what(const onnx::TensorProto& proto) { return "tensor '" + proto.name() + "'"; }

// Copies `bytes` (little-endian elements of `stored` type) into `dst` (of type import_dtype(stored)).
void copy_bytes(const char* bytes, size_t size, DType stored, Tensor& dst, const std::string& what,
                const char* source) {
  const size_t expected = static_cast<size_t>(dst.numel()) * dtype_size(stored);
  if (size != expected) {
    throw InvalidModel(what + " " + source + " holds " + std::to_string(size) + " bytes, expected " +
                       std::to_string(expected) + " (" + std::to_string(dst.numel()) + " elements of " +
                       std::string(dtype_name(stored)) + ")");
  }
  if (stored == DType::kFloat16) {
    float* out = dst.data<float>();
    for (int64_t i = 0, n = dst.numel(); i < n; ++i) {
      uint16_t h;
      std::memcpy(&h, bytes + 2 * i, 2);
      out[i] = half_bits_to_float(h);
    }
  } else if (stored == DType::kBool) {
    // Any non-zero byte means true; normalize so kernels can rely on 0/1.
    auto* out = static_cast<uint8_t*>(dst.raw());
    for (size_t i = 0; i < size; ++i) out[i] = bytes[i] != 0 ? 1 : 0;
  } else if (size > 0) {
    std::memcpy(dst.raw(), bytes, size);
  }
}

template <typename Src>
void check_count(const google::protobuf::RepeatedField<Src>& field, const Tensor& dst, const std::string& what,
                 const char* field_name) {
  if (field.size() != dst.numel()) {
    throw InvalidModel(what + " has " + std::to_string(dst.numel()) + " elements but " + field_name + " holds " +
                       std::to_string(field.size()) + " values");
  }
}

// Typed fields: which repeated field carries which element type is fixed by onnx.proto.
void copy_typed(const onnx::TensorProto& proto, DType stored, Tensor& dst, const std::string& what) {
  const int64_t n = dst.numel();
  auto widen = [&](const auto& field, const char* field_name, auto tag) {
    using T = decltype(tag);
    check_count(field, dst, what, field_name);
    T* out = static_cast<T*>(dst.raw());
    for (int64_t i = 0; i < n; ++i) out[i] = static_cast<T>(field.Get(static_cast<int>(i)));
  };
  switch (stored) {
    case DType::kFloat32: widen(proto.float_data(), "float_data", float{}); return;
    case DType::kFloat64: widen(proto.double_data(), "double_data", double{}); return;
    case DType::kInt64: widen(proto.int64_data(), "int64_data", int64_t{}); return;
    case DType::kInt32: widen(proto.int32_data(), "int32_data", int32_t{}); return;
    case DType::kInt16: widen(proto.int32_data(), "int32_data", int16_t{}); return;
    case DType::kUInt16: widen(proto.int32_data(), "int32_data", uint16_t{}); return;
    case DType::kInt8: widen(proto.int32_data(), "int32_data", int8_t{}); return;
    case DType::kUInt8: widen(proto.int32_data(), "int32_data", uint8_t{}); return;
    case DType::kUInt32: widen(proto.uint64_data(), "uint64_data", uint32_t{}); return;
    case DType::kUInt64: widen(proto.uint64_data(), "uint64_data", uint64_t{}); return;
    case DType::kBool: {
      check_count(proto.int32_data(), dst, what, "int32_data");
      auto* out = static_cast<uint8_t*>(dst.raw());
      for (int64_t i = 0; i < n; ++i) out[i] = proto.int32_data(static_cast<int>(i)) != 0 ? 1 : 0;
      return;
    }
    case DType::kFloat16: {  // int32_data carries the 16 bits of each half in its low bits
      check_count(proto.int32_data(), dst, what, "int32_data");
      float* out = dst.data<float>();
      for (int64_t i = 0; i < n; ++i) {
        out[i] = half_bits_to_float(static_cast<uint16_t>(proto.int32_data(static_cast<int>(i)) & 0xffff));
      }
      return;
    }
    default: break;
  }
  throw InternalError(what + ": no typed-field reader for element type " + std::string(dtype_name(stored)));
}

// How many values the typed field that carries `stored` holds (onnx.proto fixes the field per element type).
int64_t typed_field_size(const onnx::TensorProto& proto, DType stored) {
  switch (stored) {
    case DType::kFloat32: return proto.float_data_size();
    case DType::kFloat64: return proto.double_data_size();
    case DType::kInt64: return proto.int64_data_size();
    case DType::kUInt32:
    case DType::kUInt64: return proto.uint64_data_size();
    default: return proto.int32_data_size();
  }
}

int64_t parse_external_int(const std::string& text, const std::string& key, const std::string& what) {
  try {
    size_t used = 0;
    const long long v = std::stoll(text, &used);
    if (used == text.size() && v >= 0) return v;
  } catch (const std::exception&) {
  }
  throw InvalidModel(what + " has external_data " + key + " '" + text + "', expected a non-negative integer");
}

Tensor read_external(const onnx::TensorProto& proto, const std::string& base_dir, DType stored, const Shape& shape,
                     const std::string& what) {
  const int64_t numel = shape_numel(shape);
  std::string location;
  int64_t offset = 0;
  int64_t length = -1;
  for (const auto& kv : proto.external_data()) {
    if (kv.key() == "location") location = kv.value();
    else if (kv.key() == "offset") offset = parse_external_int(kv.value(), "offset", what);
    else if (kv.key() == "length") length = parse_external_int(kv.value(), "length", what);
    // "checksum" and unknown keys carry nothing we need.
  }
  if (location.empty()) throw InvalidModel(what + " has data_location EXTERNAL but no external_data 'location'");
  const std::filesystem::path rel(location);
  // Like onnx's own loader: external files live beside the model, never elsewhere on disk.
  if (rel.is_absolute() || std::any_of(rel.begin(), rel.end(), [](const auto& part) { return part == ".."; })) {
    throw InvalidModel(what + " has external data location '" + location +
                       "', expected a relative path inside the model's folder");
  }
  const std::filesystem::path file = base_dir.empty() ? rel : std::filesystem::path(base_dir) / rel;
  const size_t expected = static_cast<size_t>(numel) * dtype_size(stored);
  if (length >= 0 && static_cast<size_t>(length) != expected) {
    throw InvalidModel(what + " has external data length " + std::to_string(length) + " bytes, expected " +
                       std::to_string(expected) + " (" + std::to_string(numel) + " elements of " +
                       std::string(dtype_name(stored)) + ")");
  }
  std::ifstream in(file, std::ios::binary);
  if (!in) {
    throw IoError("cannot open external data file '" + file.string() + "' of " + what + ": " +
                  std::strerror(errno));
  }
  std::error_code ec;
  const uintmax_t file_size = std::filesystem::file_size(file, ec);
  if (ec) throw IoError("cannot read external data file '" + file.string() + "' of " + what + ": " + ec.message());
  if (static_cast<uintmax_t>(offset) > file_size || expected > file_size - static_cast<uintmax_t>(offset)) {
    throw InvalidModel("external data file '" + file.string() + "' is too short for " + what + ": needs bytes [" +
                       std::to_string(offset) + ", " + std::to_string(offset + static_cast<int64_t>(expected)) +
                       ") but has " + std::to_string(file_size) + " bytes");
  }
  std::string bytes(expected, '\0');
  in.seekg(offset);
  in.read(bytes.data(), static_cast<std::streamsize>(expected));
  if (!in) throw IoError("cannot read external data file '" + file.string() + "' of " + what);
  Tensor dst(import_dtype(stored), shape);
  copy_bytes(bytes.data(), bytes.size(), stored, dst, what, "external data");
  return dst;
}

}  // namespace

Tensor tensor_from_proto(const onnx::TensorProto& proto, const std::string& base_dir) {
  const std::string what = tensor_what(proto);
  const DType stored = dtype_from_onnx(proto.data_type(), what);
  if (stored == DType::kUndefined) throw InvalidModel(what + " has no data_type");
  if (stored == DType::kString) {
    throw UnsupportedOp(what + " is a string tensor; qwac supports numeric and bool tensors only");
  }
  if (proto.has_segment()) throw UnsupportedOp(what + " is segmented (TensorProto.segment); not supported");
  Shape shape;
  int64_t numel = 1;
  for (int64_t d : proto.dims()) {
    if (d < 0) throw InvalidModel(what + " has negative dimension " + std::to_string(d));
    if (d > 0 && numel > std::numeric_limits<int64_t>::max() / 16 / d) {
      throw InvalidModel(what + " has an element count that overflows");
    }
    numel *= d;
    shape.push_back(d);
  }
  // Everything the declared shape implies is checked against what the file holds before allocating, so a header
  // declaring 2^40 elements over a few bytes is an InvalidModel, not an attempt to allocate terabytes.
  const auto stored_bytes = static_cast<uint64_t>(numel) * dtype_size(stored);
  const std::string shape_text = shape_to_string(shape) + " (" + std::to_string(numel) + " elements of " +
                                 std::string(dtype_name(stored)) + ")";
  const bool external = proto.data_location() == onnx::TensorProto_DataLocation_EXTERNAL;
  if (!external && proto.has_raw_data() && proto.raw_data().size() != stored_bytes) {
    throw InvalidModel(what + " declares shape " + shape_text + " = " + std::to_string(stored_bytes) +
                       " bytes, but its raw_data holds " + std::to_string(proto.raw_data().size()) + " bytes");
  }
  if (!external && !proto.has_raw_data() && typed_field_size(proto, stored) != numel) {
    throw InvalidModel(what + " declares shape " + shape_text + " but its typed data field holds " +
                       std::to_string(typed_field_size(proto, stored)) + " values");
  }
  const uint64_t import_bytes = static_cast<uint64_t>(numel) * dtype_size(import_dtype(stored));
  if (!fits_memory_budget(import_bytes)) {
    throw InvalidModel(what + " declares shape " + shape_text + ", " + describe_bytes(import_bytes) +
                       " in memory" + memory_budget_hint());
  }
  if (external) return read_external(proto, base_dir, stored, shape, what);
  Tensor dst(import_dtype(stored), shape);
  if (proto.has_raw_data()) {
    copy_bytes(proto.raw_data().data(), proto.raw_data().size(), stored, dst, what, "raw_data");
  } else {
    copy_typed(proto, stored, dst, what);
  }
  return dst;
}

onnx::TensorProto tensor_to_proto(const Tensor& tensor, const std::string& name) {
  if (tensor.empty()) throw InternalError("cannot export tensor '" + name + "': it holds no data");
  if (tensor.dtype() == DType::kString) {
    throw UnsupportedOp("cannot export tensor '" + name + "': string tensors are not supported");
  }
  onnx::TensorProto proto;
  proto.set_name(name);
  proto.set_data_type(dtype_to_onnx(tensor.dtype()));
  for (int64_t d : tensor.shape()) proto.add_dims(d);
  // Always raw_data: compact, bit-exact and the same bytes for the same tensor (deterministic export).
  proto.set_raw_data(static_cast<const char*>(tensor.raw()), tensor.nbytes());
  return proto;
}

}  // namespace qwac::onnxio
