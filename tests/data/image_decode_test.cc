// JPEG/PNG decoding: byte-exact agreement with djpeg (libjpeg-turbo defaults), PNG expansion rules, and named
// errors for corrupt, truncated, CMYK and unknown files.
#include "data/image_decode.h"

#include <gtest/gtest.h>
#include <jpeglib.h>
#include <png.h>
#include <unistd.h>

#include <cstdio>
#include <filesystem>

#include "data/data_test_util.h"
#include "qwac/error.h"
#include "test_util.h"

namespace qwac::data {
namespace {

using qwac::testing::ScratchDir;

// Runs `djpeg -pnm` on `jpeg` into a temp file and parses the PPM/PGM; false when djpeg is unavailable.
bool djpeg_decode(const std::string& jpeg, const std::string& out_path, Image* out) {
  if (::access("/usr/bin/djpeg", X_OK) != 0) return false;
  const std::string cmd = "/usr/bin/djpeg -pnm -outfile '" + out_path + "' '" + jpeg + "'";
  FILE* p = ::popen(cmd.c_str(), "r");
  if (!p) return false;
  if (::pclose(p) != 0) return false;
  const std::string bytes = qwac::testing::read_file_bytes(out_path);
  char magic[3] = {0};
  int w = 0, h = 0, maxval = 0, consumed = 0;
  if (std::sscanf(bytes.c_str(), "%2s %d %d %d%n", magic, &w, &h, &maxval, &consumed) != 4) return false;
  out->width = w;
  out->height = h;
  out->channels = std::string(magic) == "P6" ? 3 : 1;
  const size_t start = static_cast<size_t>(consumed) + 1;  // one whitespace byte after maxval
  out->pixels.assign(bytes.begin() + static_cast<std::ptrdiff_t>(start), bytes.end());
  return maxval == 255;
}

void expect_same_as_djpeg(const std::string& file, const ScratchDir& tmp) {
  SCOPED_TRACE(file);
  Image ref;
  if (!djpeg_decode(file, tmp.path("ref.pnm"), &ref)) GTEST_SKIP() << "djpeg not available";
  const Image img = decode_image_file(file);
  ASSERT_EQ(img.width, ref.width);
  ASSERT_EQ(img.height, ref.height);
  ASSERT_EQ(img.channels, ref.channels);
  ASSERT_EQ(img.pixels.size(), ref.pixels.size());
  size_t diff = 0;
  for (size_t i = 0; i < img.pixels.size(); ++i) diff += img.pixels[i] != ref.pixels[i];
  EXPECT_EQ(diff, 0u) << "pixels differing from djpeg";
}

TEST(ImageDecode, JpegMatchesDjpegByteForByte) {
  QWAC_REQUIRE_SHARED();
  ScratchDir tmp;
  const std::string val = qwac::testing::shared_path("assets/data/imagenet-val-1300/images/");
  for (const char* f :
       {"ILSVRC2012_val_00000347.JPEG", "ILSVRC2012_val_00000355.JPEG", "ILSVRC2012_val_00000361.JPEG"}) {
    expect_same_as_djpeg(val + f, tmp);
  }
  expect_same_as_djpeg(qwac::testing::shared_path("assets/data/imagenet-sample-1000/images/n01440764_tench.JPEG"), tmp);
  expect_same_as_djpeg(qwac::testing::shared_path("assets/data/cifar10-test-jpeg/images/cat/0000.jpg"), tmp);
  const Image h = read_image_header(val + "ILSVRC2012_val_00000347.JPEG");
  EXPECT_EQ(h.width, 227);
  EXPECT_EQ(h.height, 227);
  EXPECT_EQ(h.channels, 3);
  EXPECT_TRUE(h.pixels.empty());
}

// Encodes `pixels` (components 1, 3 or 4 = CMYK) as a baseline JPEG with libjpeg.
std::string encode_jpeg(int w, int h, int components, const std::vector<uint8_t>& pixels) {
  jpeg_compress_struct c{};
  jpeg_error_mgr err{};
  c.err = jpeg_std_error(&err);
  jpeg_create_compress(&c);
  unsigned char* buf = nullptr;
  unsigned long size = 0;
  jpeg_mem_dest(&c, &buf, &size);
  c.image_width = static_cast<JDIMENSION>(w);
  c.image_height = static_cast<JDIMENSION>(h);
  c.input_components = components;
  c.in_color_space = components == 1 ? JCS_GRAYSCALE : components == 3 ? JCS_RGB : JCS_CMYK;
  jpeg_set_defaults(&c);
  jpeg_set_quality(&c, 95, TRUE);
  jpeg_start_compress(&c, TRUE);
  while (c.next_scanline < c.image_height) {
    JSAMPROW row = const_cast<uint8_t*>(pixels.data()) + c.next_scanline * static_cast<size_t>(w * components);
    jpeg_write_scanlines(&c, &row, 1);
  }
  jpeg_finish_compress(&c);
  jpeg_destroy_compress(&c);
  std::string out(reinterpret_cast<char*>(buf), size);
  std::free(buf);
  return out;
}

TEST(ImageDecode, GrayJpegAndMatchesDjpeg) {
  ScratchDir tmp;
  std::vector<uint8_t> px(40 * 24);
  for (size_t i = 0; i < px.size(); ++i) px[i] = static_cast<uint8_t>(i * 7);
  const std::string file = tmp.write("gray.jpg", encode_jpeg(40, 24, 1, px));
  const Image img = decode_image_file(file);
  EXPECT_EQ(img.channels, 1);
  expect_same_as_djpeg(file, tmp);
  const Image rgb = to_rgb(img);
  ASSERT_EQ(rgb.channels, 3);
  EXPECT_EQ(rgb.pixels[30], img.pixels[10]);
  EXPECT_EQ(rgb.pixels[31], img.pixels[10]);
  EXPECT_EQ(rgb.pixels[32], img.pixels[10]);
}

TEST(ImageDecode, CmykJpegIsRejected) {
  ScratchDir tmp;
  const std::string file = tmp.write("cmyk.jpg", encode_jpeg(8, 8, 4, std::vector<uint8_t>(8 * 8 * 4, 100)));
  try {
    decode_image_file(file);
    FAIL() << "expected DataError";
  } catch (const DataError& e) {
    EXPECT_NE(std::string(e.what()).find("CMYK"), std::string::npos) << e.what();
    EXPECT_NE(std::string(e.what()).find(file), std::string::npos) << e.what();
  }
}

void expect_data_error_naming(const std::string& file, const std::string& fragment, bool strict = true) {
  try {
    DecodeOptions o;
    o.strict = strict;
    decode_image_file(file, o);
    FAIL() << "expected DataError for " << file;
  } catch (const DataError& e) {
    EXPECT_NE(std::string(e.what()).find(file), std::string::npos) << e.what();
    EXPECT_NE(std::string(e.what()).find(fragment), std::string::npos) << e.what();
  }
}

TEST(ImageDecode, CorruptFilesAreNamedDataErrors) {
  ScratchDir tmp;
  // JPEG magic followed by garbage: libjpeg's fatal error must come back as an exception, not exit().
  expect_data_error_naming(tmp.write("garbage.JPEG", std::string("\xFF\xD8\xFF\xE0garbage garbage garbage", 27)),
                           "JPEG");
  expect_data_error_naming(tmp.write("text.JPEG", "this is not an image"), "neither a JPEG nor a PNG");
  expect_data_error_naming(tmp.write("empty.jpg", ""), "neither a JPEG nor a PNG");
  expect_data_error_naming(tmp.path("missing.jpg"), "cannot be opened");
  expect_data_error_naming(tmp.write("bad.png", std::string("\x89PNG\r\n\x1a\n\0\0\0\x0dIHDRxx", 18)), "PNG");
}

TEST(ImageDecode, TruncatedJpegIsAnErrorWhenStrict) {
  ScratchDir tmp;
  std::vector<uint8_t> px(64 * 64 * 3);
  for (size_t i = 0; i < px.size(); ++i) px[i] = static_cast<uint8_t>((i * 13) ^ (i >> 5));
  const std::string full = encode_jpeg(64, 64, 3, px);
  const std::string file = tmp.write("cut.jpg", full.substr(0, full.size() / 2));
  expect_data_error_naming(file, "damaged JPEG");
  DecodeOptions lenient;
  lenient.strict = false;
  const Image img = decode_image_file(file, lenient);  // libjpeg fills the missing part with gray
  EXPECT_EQ(img.width, 64);
  EXPECT_EQ(img.pixels.size(), 64u * 64u * 3u);
}

// Writes a PNG with libpng's plain write API.
std::string encode_png(const ScratchDir& tmp, const std::string& name, int w, int h, int color_type, int depth,
                       const std::vector<uint8_t>& raw, const std::vector<png_color>& palette = {}) {
  const std::string path = tmp.path(name);
  FILE* f = std::fopen(path.c_str(), "wb");
  png_structp png = png_create_write_struct(PNG_LIBPNG_VER_STRING, nullptr, nullptr, nullptr);
  png_infop info = png_create_info_struct(png);
  png_init_io(png, f);
  png_set_IHDR(png, info, static_cast<png_uint_32>(w), static_cast<png_uint_32>(h), depth, color_type,
               PNG_INTERLACE_NONE, PNG_COMPRESSION_TYPE_DEFAULT, PNG_FILTER_TYPE_DEFAULT);
  if (!palette.empty()) png_set_PLTE(png, info, palette.data(), static_cast<int>(palette.size()));
  png_write_info(png, info);
  const size_t row = raw.size() / static_cast<size_t>(h);
  for (int y = 0; y < h; ++y) png_write_row(png, raw.data() + static_cast<size_t>(y) * row);
  png_write_end(png, nullptr);
  png_destroy_write_struct(&png, &info);
  std::fclose(f);
  return path;
}

TEST(ImageDecode, PngColorTypesAndDepths) {
  ScratchDir tmp;
  // RGB 8-bit, 2x1.
  Image rgb = decode_image_file(encode_png(tmp, "rgb.png", 2, 1, PNG_COLOR_TYPE_RGB, 8, {1, 2, 3, 250, 251, 252}));
  EXPECT_EQ(rgb.channels, 3);
  EXPECT_EQ(rgb.pixels, (std::vector<uint8_t>{1, 2, 3, 250, 251, 252}));
  // RGBA keeps alpha; to_rgb drops it without compositing.
  Image rgba = decode_image_file(encode_png(tmp, "rgba.png", 1, 1, PNG_COLOR_TYPE_RGBA, 8, {10, 20, 30, 0}));
  EXPECT_EQ(rgba.channels, 4);
  EXPECT_EQ(to_rgb(rgba).pixels, (std::vector<uint8_t>{10, 20, 30}));
  // Palette expands to RGB.
  Image pal = decode_image_file(
      encode_png(tmp, "pal.png", 3, 1, PNG_COLOR_TYPE_PALETTE, 8, {1, 0, 1}, {{9, 8, 7}, {200, 100, 50}}));
  EXPECT_EQ(pal.channels, 3);
  EXPECT_EQ(pal.pixels, (std::vector<uint8_t>{200, 100, 50, 9, 8, 7, 200, 100, 50}));
  // 1-bit gray expands to 0/255.
  Image bits = decode_image_file(encode_png(tmp, "bits.png", 8, 1, PNG_COLOR_TYPE_GRAY, 1, {0xA5}));
  EXPECT_EQ(bits.channels, 1);
  EXPECT_EQ(bits.pixels, (std::vector<uint8_t>{255, 0, 255, 0, 0, 255, 0, 255}));
  // 16-bit gray scales with rounding: v * 255 / 65535 (big-endian samples in the file).
  Image deep = decode_image_file(
      encode_png(tmp, "deep.png", 3, 1, PNG_COLOR_TYPE_GRAY, 16, {0xFF, 0xFF, 0x80, 0x80, 0x01, 0x00}));
  EXPECT_EQ(deep.pixels, (std::vector<uint8_t>{255, 128, 1}));  // 65535, 32896 (=128*257), 256 -> 0.996 -> 1
  const Image header = read_image_header(tmp.path("pal.png"));
  EXPECT_EQ(header.width, 3);
  EXPECT_EQ(header.channels, 3);
}

}  // namespace
}  // namespace qwac::data
