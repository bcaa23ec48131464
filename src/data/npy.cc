#include "data/npy.h"

#include <zlib.h>

#include <array>
#include <cctype>
#include <climits>
#include <cstring>
#include <vector>

#include "core/resource_limits.h"
#include "data/file_util.h"
#include "qwac/error.h"

namespace qwac::data {
namespace {

struct NpyType {
  const char* code;  // descr without the byte-order character
  DType dtype;
};
constexpr std::array<NpyType, 11> kNpyTypes = {{
    {"f4", DType::kFloat32},
    {"f8", DType::kFloat64},
    {"i1", DType::kInt8},
    {"u1", DType::kUInt8},
    {"i2", DType::kInt16},
    {"u2", DType::kUInt16},
    {"i4", DType::kInt32},
    {"u4", DType::kUInt32},
    {"i8", DType::kInt64},
    {"u8", DType::kUInt64},
    {"b1", DType::kBool},
}};

// The value text of `key` in the header dict ("{'descr': '<f4', 'fortran_order': False, 'shape': (2, 3), }").
std::string header_value(const std::string& header, const std::string& key, const std::string& name) {
  const std::string quoted[2] = {"'" + key + "'", "\"" + key + "\""};
  size_t pos = std::string::npos;
  for (const auto& q : quoted) {
    pos = header.find(q);
    if (pos != std::string::npos) {
      pos += q.size();
      break;
    }
  }
  if (pos == std::string::npos) throw DataError(".npy '" + name + "': header has no '" + key + "' entry: " + header);
  pos = header.find(':', pos);
  if (pos == std::string::npos) throw DataError(".npy '" + name + "': malformed header: " + header);
  ++pos;
  while (pos < header.size() && header[pos] == ' ') ++pos;
  if (pos < header.size() && header[pos] == '(') {
    const size_t end = header.find(')', pos);
    if (end == std::string::npos) throw DataError(".npy '" + name + "': malformed shape in header: " + header);
    return header.substr(pos, end - pos + 1);
  }
  if (pos < header.size() && (header[pos] == '\'' || header[pos] == '"')) {
    const size_t end = header.find(header[pos], pos + 1);
    if (end == std::string::npos) throw DataError(".npy '" + name + "': malformed header: " + header);
    return header.substr(pos + 1, end - pos - 1);
  }
  size_t end = pos;
  while (end < header.size() && header[end] != ',' && header[end] != '}') ++end;
  std::string v = header.substr(pos, end - pos);
  while (!v.empty() && v.back() == ' ') v.pop_back();
  return v;
}

Shape parse_shape(const std::string& tuple, const std::string& name) {
  Shape shape;
  size_t i = 1;  // after '('
  while (i < tuple.size()) {
    while (i < tuple.size() && (tuple[i] == ' ' || tuple[i] == ',')) ++i;
    if (i >= tuple.size() || tuple[i] == ')') break;
    size_t end = i;
    while (end < tuple.size() && std::isdigit(static_cast<unsigned char>(tuple[end]))) ++end;
    if (end == i) throw DataError(".npy '" + name + "': bad shape " + tuple);
    int64_t d = 0;
    for (size_t k = i; k < end; ++k) {
      if (d > (INT64_MAX - 9) / 10) throw DataError(".npy '" + name + "': dimension too large in shape " + tuple);
      d = d * 10 + (tuple[k] - '0');
    }
    shape.push_back(d);
    i = end;
  }
  return shape;
}

uint16_t le16(const unsigned char* p) {
  return static_cast<uint16_t>(p[0] | (p[1] << 8));
}
uint32_t le32(const unsigned char* p) {
  return uint32_t{p[0]} | (uint32_t{p[1]} << 8) | (uint32_t{p[2]} << 16) | (uint32_t{p[3]} << 24);
}
uint64_t le64(const unsigned char* p) {
  return uint64_t{le32(p)} | (uint64_t{le32(p + 4)} << 32);
}

// zlib's deflate expands at most 1032:1 (a 258-byte match costs at least 2 bits).
constexpr uint64_t kMaxDeflateRatio = 1032;
constexpr uint32_t kEocdSig = 0x06054b50;
constexpr uint32_t kZip64LocatorSig = 0x07064b50;
constexpr uint32_t kZip64EocdSig = 0x06064b50;
constexpr uint32_t kCentralSig = 0x02014b50;
constexpr uint32_t kLocalSig = 0x04034b50;

std::string inflate_raw(const unsigned char* src, size_t size, size_t out_size, const std::string& what) {
  std::string out(out_size, '\0');
  z_stream zs{};
  if (inflateInit2(&zs, -MAX_WBITS) != Z_OK) throw DataError(what + ": zlib inflateInit2 failed");
  zs.next_in = const_cast<unsigned char*>(src);
  zs.avail_in = static_cast<uInt>(size);
  zs.next_out = reinterpret_cast<unsigned char*>(out.data());
  zs.avail_out = static_cast<uInt>(out_size);
  const int rc = inflate(&zs, Z_FINISH);
  const size_t produced = zs.total_out;
  inflateEnd(&zs);
  if (rc != Z_STREAM_END || produced != out_size) {
    throw DataError(what + ": corrupt deflate data (zlib status " + std::to_string(rc) + ", " +
                    std::to_string(produced) + " of " + std::to_string(out_size) + " bytes)");
  }
  return out;
}

}  // namespace

Tensor parse_npy(const std::string& bytes, const std::string& name) {
  const auto* p = reinterpret_cast<const unsigned char*>(bytes.data());
  if (bytes.size() < 10 || std::memcmp(p, "\x93NUMPY", 6) != 0) {
    throw DataError(".npy '" + name + "' does not start with the \\x93NUMPY magic");
  }
  const int major = p[6];
  size_t header_len = 0, header_start = 0;
  if (major == 1) {
    header_len = le16(p + 8);
    header_start = 10;
  } else if (major == 2 || major == 3) {
    if (bytes.size() < 12) throw DataError(".npy '" + name + "' is truncated");
    header_len = le32(p + 8);
    header_start = 12;
  } else {
    throw DataError(".npy '" + name + "' has unsupported format version " + std::to_string(major));
  }
  if (header_start + header_len > bytes.size()) throw DataError(".npy '" + name + "' has a truncated header");
  const std::string header = bytes.substr(header_start, header_len);
  const std::string descr = header_value(header, "descr", name);
  const std::string fortran = header_value(header, "fortran_order", name);
  const Shape shape = parse_shape(header_value(header, "shape", name), name);
  if (fortran != "False") {
    throw DataError(".npy '" + name + "' is stored in Fortran order; save it C-contiguous (numpy.ascontiguousarray)");
  }
  if (descr.size() != 3 || (descr[0] != '<' && descr[0] != '|' && descr[0] != '=')) {
    throw DataError(".npy '" + name + "' has dtype '" + descr +
                    "'; expected a little-endian f4/f8/i1/u1/i2/u2/i4/u4/i8/u8/b1");
  }
  DType dtype = DType::kUndefined;
  for (const NpyType& t : kNpyTypes) {
    if (descr.compare(1, 2, t.code) == 0) dtype = t.dtype;
  }
  if (dtype == DType::kUndefined) throw DataError(".npy '" + name + "' has unsupported dtype '" + descr + "'");
  // The header's shape is checked against the bytes that follow it before anything is allocated.
  uint64_t needed = dtype_size(dtype);
  for (int64_t d : shape) {
    const auto p = checked_product({static_cast<int64_t>(needed), d});
    if (!p) throw DataError(".npy '" + name + "': shape " + shape_to_string(shape) + " of " + descr + " overflows");
    needed = *p;
  }
  const size_t data_start = header_start + header_len;
  if (bytes.size() - data_start != needed) {
    throw DataError(".npy '" + name + "': shape " + shape_to_string(shape) + " of " + descr + " needs " +
                    std::to_string(needed) + " data bytes, the file holds " +
                    std::to_string(bytes.size() - data_start) + " (truncated file or damaged header)");
  }
  Tensor t(dtype, shape);
  if (needed > 0) std::memcpy(t.raw(), bytes.data() + data_start, needed);
  return t;
}

Tensor read_npy(const std::string& path) {
  return parse_npy(read_file(path, ".npy file"), path);
}

std::map<std::string, Tensor> read_npz(const std::string& path) {
  const std::string bytes = read_file(path, ".npz file");
  const auto* p = reinterpret_cast<const unsigned char*>(bytes.data());
  const size_t n = bytes.size();
  const std::string what = ".npz '" + path + "'";
  // End of central directory: the last 22+ bytes, possibly followed by a comment of up to 65535 bytes.
  if (n < 22) throw DataError(what + " is too small to be a zip archive");
  size_t eocd = std::string::npos;
  for (size_t i = n - 22 + 1; i-- > (n > 22 + 65535 ? n - 22 - 65535 : 0);) {
    if (le32(p + i) == kEocdSig) {
      eocd = i;
      break;
    }
  }
  if (eocd == std::string::npos) throw DataError(what + " is not a zip archive (no end-of-central-directory record)");
  uint64_t entries = le16(p + eocd + 10);
  uint64_t cd_offset = le32(p + eocd + 16);
  if ((entries == 0xFFFF || cd_offset == 0xFFFFFFFF) && eocd >= 20 && le32(p + eocd - 20) == kZip64LocatorSig) {
    const uint64_t z64 = le64(p + eocd - 20 + 8);
    if (z64 > n || n - z64 < 56 || le32(p + z64) != kZip64EocdSig) {
      throw DataError(what + ": bad zip64 end of central directory");
    }
    entries = le64(p + z64 + 32);
    cd_offset = le64(p + z64 + 48);
  }
  std::map<std::string, Tensor> arrays;
  uint64_t pos = cd_offset;
  for (uint64_t e = 0; e < entries; ++e) {
    if (pos > n || n - pos < 46 || le32(p + pos) != kCentralSig) {
      throw DataError(what + ": corrupt zip central directory");
    }
    const uint16_t method = le16(p + pos + 10);
    const uint32_t crc = le32(p + pos + 16);
    uint64_t comp_size = le32(p + pos + 20);
    uint64_t size = le32(p + pos + 24);
    const uint16_t name_len = le16(p + pos + 28), extra_len = le16(p + pos + 30), comment_len = le16(p + pos + 32);
    uint64_t local = le32(p + pos + 42);
    if (pos + 46 + name_len + extra_len > n) throw DataError(what + ": corrupt zip central directory");
    const std::string member(bytes.data() + pos + 46, name_len);
    // zip64 extended information: 8-byte values for exactly those fields that hold 0xFFFFFFFF, in this order.
    for (uint64_t x = pos + 46 + name_len; x + 4 <= pos + 46 + name_len + extra_len;) {
      const uint16_t id = le16(p + x), len = le16(p + x + 2);
      if (id == 0x0001) {
        uint64_t f = x + 4;
        for (uint64_t* field : {&size, &comp_size, &local}) {
          if (*field == 0xFFFFFFFF && f + 8 <= x + 4 + len && f + 8 <= n) {
            *field = le64(p + f);
            f += 8;
          }
        }
      }
      x += 4 + len;
    }
    pos += 46 + name_len + extra_len + comment_len;
    const std::string mwhat = what + " member '" + member + "'";
    if (local > n || n - local < 30 || le32(p + local) != kLocalSig) throw DataError(mwhat + ": bad local header");
    const uint64_t data = local + 30 + le16(p + local + 26) + le16(p + local + 28);
    if (data > n || comp_size > n - data) throw DataError(mwhat + ": data runs past the end of the file");
    // A member's declared size is checked against what its compressed bytes can hold before inflating into it.
    if (method == 8 && size > comp_size * kMaxDeflateRatio + 1024) {
      throw DataError(mwhat + ": declares " + std::to_string(size) + " bytes from " + std::to_string(comp_size) +
                      " compressed bytes, more than deflate can expand to (damaged archive)");
    }
    if (!fits_memory_budget(size)) {
      throw DataError(mwhat + ": " + describe_bytes(size) + " uncompressed" + memory_budget_hint());
    }
    std::string content;
    if (method == 0) {
      content.assign(bytes.data() + data, comp_size);
    } else if (method == 8) {
      content = inflate_raw(p + data, comp_size, size, mwhat);
    } else {
      throw DataError(mwhat + ": unsupported zip compression method " + std::to_string(method) +
                      " (expected stored or deflated)");
    }
    if (content.size() != size) throw DataError(mwhat + ": size mismatch");
    const uLong actual = crc32(0L, reinterpret_cast<const Bytef*>(content.data()), static_cast<uInt>(content.size()));
    if (actual != crc) throw DataError(mwhat + ": CRC-32 mismatch (corrupt archive)");
    std::string key = member;
    if (key.size() > 4 && key.compare(key.size() - 4, 4, ".npy") == 0) key.resize(key.size() - 4);
    arrays.emplace(key, parse_npy(content, path + ":" + member));
  }
  return arrays;
}

std::string to_npy(const Tensor& tensor) {
  const char* code = nullptr;
  for (const NpyType& t : kNpyTypes) {
    if (t.dtype == tensor.dtype()) code = t.code;
  }
  if (!code) throw InvalidArgument("to_npy: no .npy dtype for " + tensor.describe());
  const char order =
      (tensor.dtype() == DType::kInt8 || tensor.dtype() == DType::kUInt8 || tensor.dtype() == DType::kBool) ? '|' : '<';
  std::string shape = "(";
  for (int64_t d : tensor.shape()) shape += std::to_string(d) + ", ";
  if (tensor.rank() > 1)
    shape.resize(shape.size() - 2);
  else if (tensor.rank() == 1)
    shape.resize(shape.size() - 1);
  shape += ")";
  std::string header =
      std::string("{'descr': '") + order + code + "', 'fortran_order': False, 'shape': " + shape + ", }";
  // Pad with spaces so the data starts on a 64-byte boundary, ending the header with '\n' as numpy does.
  const size_t total = 10 + header.size() + 1;
  header.append((64 - total % 64) % 64, ' ');
  header += '\n';
  std::string out = "\x93NUMPY";
  out += '\x01';
  out += '\x00';
  out += static_cast<char>(header.size() & 0xFF);
  out += static_cast<char>(header.size() >> 8);
  out += header;
  out.append(static_cast<const char*>(tensor.raw()), tensor.nbytes());
  return out;
}

}  // namespace qwac::data
