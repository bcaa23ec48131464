// Sizes declared by file headers are checked against the file's bytes, a pixel cap and the memory budget before
// anything is allocated or decoded.
#include <gtest/gtest.h>
#include <zlib.h>

#include <chrono>
#include <string>

#include "core/resource_limits.h"
#include "data/image_decode.h"
#include "data/npy.h"
#include "qwac/error.h"

namespace qwac::data {
namespace {

std::string be32(uint32_t v) {
  return {static_cast<char>(v >> 24), static_cast<char>(v >> 16), static_cast<char>(v >> 8), static_cast<char>(v)};
}

std::string png_chunk(const std::string& kind, const std::string& data) {
  const std::string body = kind + data;
  const uLong crc = crc32(0L, reinterpret_cast<const Bytef*>(body.data()), static_cast<uInt>(body.size()));
  return be32(static_cast<uint32_t>(data.size())) + body + be32(static_cast<uint32_t>(crc));
}

// An 8-bit gray PNG whose IHDR declares `width` x `height` over the compressed rows of a 8 x 8 image.
std::string png_declaring(uint32_t width, uint32_t height) {
  std::string rows;
  for (int y = 0; y < 8; ++y) rows += std::string(1, '\0') + std::string(8, '\x80');
  std::string packed(compressBound(static_cast<uLong>(rows.size())), '\0');
  uLongf packed_size = static_cast<uLongf>(packed.size());
  compress(reinterpret_cast<Bytef*>(packed.data()), &packed_size, reinterpret_cast<const Bytef*>(rows.data()),
           static_cast<uLong>(rows.size()));
  packed.resize(packed_size);
  const std::string ihdr = be32(width) + be32(height) + std::string("\x08\x00\x00\x00\x00", 5);
  return std::string("\x89PNG\r\n\x1a\n", 8) + png_chunk("IHDR", ihdr) + png_chunk("IDAT", packed) +
         png_chunk("IEND", "");
}

std::string data_error(const std::function<void()>& f) {
  try {
    f();
  } catch (const DataError& e) {
    return e.what();
  }
  ADD_FAILURE() << "no DataError";
  return "";
}

Image decode(const std::string& bytes) {
  return decode_image(reinterpret_cast<const uint8_t*>(bytes.data()), bytes.size(), "x.png");
}

TEST(DecodeLimits, PngHeadersDeclaringMoreThanTheFileCanHoldAreRefusedAtOnce) {
  EXPECT_EQ(decode(png_declaring(8, 8)).pixels.size(), 64u);
  const auto t0 = std::chrono::steady_clock::now();
  // The bomb: 30000 x 30000 declared (900 M pixels, past the cap).
  EXPECT_NE(data_error([&] { decode(png_declaring(30000, 30000)); }).find("declaring 30000x30000 pixels (900 M)"),
            std::string::npos);
  // Under the cap but far more rows than ~40 bytes of deflate data can expand to.
  EXPECT_NE(data_error([&] { decode(png_declaring(10000, 10000)); }).find("cannot hold them"), std::string::npos);
  EXPECT_LT(std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count(), 1.0);
}

TEST(DecodeLimits, ImagesBeyondTheMemoryBudgetAreRefusedFromTheHeader) {
  set_memory_budget(100);  // the 8 x 8 image needs 64 bytes and their float copy
  const std::string msg = data_error([&] { decode(png_declaring(8, 8)); });
  set_memory_budget(0);
  EXPECT_NE(msg.find("memory budget"), std::string::npos) << msg;
}

std::string npy_with_shape(const std::string& shape, size_t payload) {
  std::string header = "{'descr': '<f4', 'fortran_order': False, 'shape': " + shape + ", }";
  while ((10 + header.size() + 1) % 64 != 0) header += ' ';
  header += '\n';
  std::string out("\x93NUMPY\x01\x00", 8);
  out += static_cast<char>(header.size() & 0xff);
  out += static_cast<char>(header.size() >> 8);
  return out + header + std::string(payload, '\0');
}

TEST(DecodeLimits, NpyShapesAreCheckedAgainstTheBytesBeforeAllocating) {
  EXPECT_EQ(parse_npy(npy_with_shape("(2, 3)", 24), "a.npy").numel(), 6);
  EXPECT_NE(data_error([&] { parse_npy(npy_with_shape("(100000000000, 1, 8, 8)", 64), "a.npy"); })
                .find("needs 25600000000000 data bytes, the file holds 64"),
            std::string::npos);
  EXPECT_NE(data_error([&] { parse_npy(npy_with_shape("(4611686018427387904, 4)", 64), "a.npy"); }).find("overflows"),
            std::string::npos);
  EXPECT_NE(data_error([&] { parse_npy(npy_with_shape("(99999999999999999999999, 1)", 64), "a.npy"); })
                .find("dimension too large"),
            std::string::npos);
}

}  // namespace
}  // namespace qwac::data
