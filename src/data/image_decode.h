// JPEG (libjpeg) and PNG (libpng) decoding to 8-bit interleaved pixels.
//
// JPEG uses libjpeg's default decompression settings (JDCT_ISLOW integer IDCT, fancy chroma upsampling): the same
// pixels as `djpeg`, PIL and OpenCV, and what the shared reference accuracies were measured with
// (shared/assets/MANIFEST.md, "JPEG decoding matters").
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <vector>

namespace qwac::data {

struct Image {
  int64_t width = 0;
  int64_t height = 0;
  int64_t channels = 0;         // 1 gray, 2 gray+alpha, 3 RGB, 4 RGBA
  std::vector<uint8_t> pixels;  // HWC, row-major, height * width * channels bytes
};

struct DecodeOptions {
  // libjpeg reports recoverable damage ("Corrupt JPEG data: premature end of data segment") as warnings and
  // fills the missing blocks with gray. djpeg then exits with status 2, which the reference evaluator treats as a
  // failure; strict mode does the same (DataError). Off: the warning is ignored and the gray-filled image kept.
  bool strict = true;
};

// Decodes a JPEG or PNG file (recognized by its magic bytes, not its extension). JPEG gives 1 (grayscale) or 3
// (RGB) channels; CMYK/YCCK JPEGs are rejected. PNG: palette and <8-bit gray are expanded, 16-bit samples are
// scaled to 8 bits with rounding (v * 255 / 65535, as pngjs does), alpha is kept (2 or 4 channels), no gamma
// correction. Any failure is a DataError naming the file.
Image decode_image_file(const std::string& path, const DecodeOptions& options = {});

// The same on an in-memory encoded image; `name` is used in messages.
Image decode_image(const uint8_t* data, size_t size, const std::string& name, const DecodeOptions& options = {});
Image decode_jpeg(const uint8_t* data, size_t size, const std::string& name, const DecodeOptions& options = {});
Image decode_png(const uint8_t* data, size_t size, const std::string& name);

// Reads only the header (cheap validity check for a dataset scan): width, height and channels as decode would
// return them, empty pixels. DataError when the header is unreadable.
Image read_image_header(const std::string& path);

// Interleaved RGB from any decoded image: gray is replicated to three channels and alpha dropped (without
// compositing), as the reference evaluator does.
Image to_rgb(const Image& image);

}  // namespace qwac::data
