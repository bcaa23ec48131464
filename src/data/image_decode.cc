#include "data/image_decode.h"

#include <jpeglib.h>
#include <png.h>

#include <csetjmp>
#include <cstring>

#include "core/resource_limits.h"
#include "data/file_util.h"
#include "qwac/error.h"

namespace qwac::data {
namespace {

constexpr uint8_t kPngMagic[8] = {0x89, 'P', 'N', 'G', '\r', '\n', 0x1a, '\n'};

bool is_png(const uint8_t* data, size_t size) {
  return size >= 8 && std::memcmp(data, kPngMagic, 8) == 0;
}
bool is_jpeg(const uint8_t* data, size_t size) {
  return size >= 3 && data[0] == 0xFF && data[1] == 0xD8;
}

// The most pixels an image may declare: PIL's decompression-bomb limit (2 x Image.MAX_IMAGE_PIXELS), far above
// any photograph a model reads (a 12000 x 12000 scan is 144 M) and far below what a hostile header asks for.
constexpr uint64_t kMaxImagePixels = 178'956'970;
// zlib's deflate expands at most 1032:1 (RFC 1951: a 258-byte match costs at least 2 bits), so a PNG whose pixel
// rows exceed that many times its file size cannot be complete.
constexpr uint64_t kMaxDeflateRatio = 1032;
// Bytes the preprocessing holds per decoded byte: the pixels and their float copy.
constexpr uint64_t kWorkingBytesPerByte = 1 + 4;

// Checks what a header declares before anything is allocated or decoded: a 875 KB PNG declaring 30000 x 30000
// pixels is refused here, not after minutes of inflating and gigabytes of rows.
// `inflated_bytes`: what the file's deflate stream must expand to (PNG: the filtered rows), 0 when not deflated.
void check_declared_size(const std::string& name, const char* format, uint64_t width, uint64_t height,
                         uint64_t channels, size_t file_bytes, uint64_t inflated_bytes) {
  const std::string dims = std::to_string(width) + "x" + std::to_string(height);
  if (width == 0 || height == 0) throw DataError("image '" + name + "' is a " + format + " of size " + dims);
  const uint64_t pixels = width * height;  // both < 2^32: no overflow
  if (pixels > kMaxImagePixels) {
    throw DataError("image '" + name + "' is a " + format + " declaring " + dims + " pixels (" +
                    std::to_string(pixels / 1'000'000) + " M), more than the " +
                    std::to_string(kMaxImagePixels / 1'000'000) +
                    " M qwac decodes (a decompression bomb or a damaged header); resize it first");
  }
  const uint64_t row_bytes = pixels * channels;
  if (inflated_bytes > kMaxDeflateRatio * static_cast<uint64_t>(file_bytes) + (1u << 16)) {
    throw DataError("image '" + name + "' is a " + format + " declaring " + dims + " pixels (" +
                    describe_bytes(inflated_bytes) + " of compressed rows) in a " + describe_bytes(file_bytes) +
                    " file, which cannot hold them: the file is truncated or its header damaged");
  }
  if (!fits_memory_budget(row_bytes * kWorkingBytesPerByte)) {
    throw DataError("image '" + name + "' is a " + format + " of " + dims + " pixels needing " +
                    describe_bytes(row_bytes * kWorkingBytesPerByte) + " to decode and preprocess" +
                    memory_budget_hint());
  }
}

// ---------------------------------------------------------------------------------------------------------------
// JPEG. libjpeg's default error handler calls exit(); ours longjmps back instead. Every libjpeg call is made from
// the small functions below whose frames hold only trivially destructible objects, so the longjmp skips no C++
// destructor; the C++ caller turns the `false` they return into a DataError.

struct JpegErrorManager {
  jpeg_error_mgr pub;
  jmp_buf jump;
  char message[JMSG_LENGTH_MAX];
  char first_warning[JMSG_LENGTH_MAX];
  int warnings;
};

void jpeg_error_exit(j_common_ptr cinfo) {
  auto* err = reinterpret_cast<JpegErrorManager*>(cinfo->err);
  (*cinfo->err->format_message)(cinfo, err->message);
  std::longjmp(err->jump, 1);
}

void jpeg_emit_message(j_common_ptr cinfo, int msg_level) {
  auto* err = reinterpret_cast<JpegErrorManager*>(cinfo->err);
  if (msg_level >= 0) return;  // trace messages
  if (err->warnings++ == 0) (*cinfo->err->format_message)(cinfo, err->first_warning);
}

bool jpeg_open(jpeg_decompress_struct* cinfo, const uint8_t* data, size_t size) {
  auto* err = reinterpret_cast<JpegErrorManager*>(cinfo->err);
  if (setjmp(err->jump)) return false;
  jpeg_create_decompress(cinfo);
  jpeg_mem_src(cinfo, const_cast<unsigned char*>(data), static_cast<unsigned long>(size));
  jpeg_read_header(cinfo, TRUE);
  return true;
}

// Everything else stays at libjpeg's defaults (dct_method JDCT_ISLOW, do_fancy_upsampling TRUE): see the header.
bool jpeg_decode_rows(jpeg_decompress_struct* cinfo, J_COLOR_SPACE out_space, uint8_t* dst, size_t row_bytes) {
  auto* err = reinterpret_cast<JpegErrorManager*>(cinfo->err);
  if (setjmp(err->jump)) return false;
  cinfo->out_color_space = out_space;
  jpeg_start_decompress(cinfo);
  while (cinfo->output_scanline < cinfo->output_height) {
    JSAMPROW row = dst + static_cast<size_t>(cinfo->output_scanline) * row_bytes;
    jpeg_read_scanlines(cinfo, &row, 1);
  }
  jpeg_finish_decompress(cinfo);
  return true;
}

// Owns the decompress struct so every exit path (including the throws below) destroys it.
struct JpegDecoder {
  jpeg_decompress_struct cinfo{};
  JpegErrorManager err{};
  JpegDecoder() {
    cinfo.err = jpeg_std_error(&err.pub);
    err.pub.error_exit = jpeg_error_exit;
    err.pub.emit_message = jpeg_emit_message;
  }
  ~JpegDecoder() { jpeg_destroy_decompress(&cinfo); }  // safe on a struct that was never fully created
  JpegDecoder(const JpegDecoder&) = delete;
  JpegDecoder& operator=(const JpegDecoder&) = delete;
};

J_COLOR_SPACE jpeg_output_space(const jpeg_decompress_struct& cinfo, const std::string& name) {
  switch (cinfo.jpeg_color_space) {
    case JCS_GRAYSCALE:
      return JCS_GRAYSCALE;
    case JCS_YCbCr:
    case JCS_RGB:
      return JCS_RGB;
    case JCS_CMYK:
    case JCS_YCCK:
      throw DataError("image '" + name + "' is a CMYK/YCCK JPEG; only grayscale and RGB/YCbCr JPEGs are supported");
    default:
      throw DataError("image '" + name + "' is a JPEG with an unsupported color space (" +
                      std::to_string(static_cast<int>(cinfo.jpeg_color_space)) + ")");
  }
}

Image jpeg_header(JpegDecoder& dec, const uint8_t* data, size_t size, const std::string& name) {
  if (!jpeg_open(&dec.cinfo, data, size)) {
    throw DataError("image '" + name + "' is not a readable JPEG: " + dec.err.message);
  }
  Image img;
  img.width = dec.cinfo.image_width;
  img.height = dec.cinfo.image_height;
  img.channels = jpeg_output_space(dec.cinfo, name) == JCS_GRAYSCALE ? 1 : 3;
  check_declared_size(name, "JPEG", static_cast<uint64_t>(img.width), static_cast<uint64_t>(img.height),
                      static_cast<uint64_t>(img.channels), size, /*inflated_bytes=*/0);
  return img;
}

// ---------------------------------------------------------------------------------------------------------------
// PNG, with the same longjmp discipline (libpng's default error handler longjmps to png_jmpbuf).

struct PngReader {
  png_structp png = nullptr;
  png_infop info = nullptr;
  const uint8_t* data;
  size_t size;
  size_t pos = 0;
  char message[256] = {0};
  PngReader(const uint8_t* d, size_t n) : data(d), size(n) {}
  ~PngReader() { png_destroy_read_struct(&png, info ? &info : nullptr, nullptr); }
  PngReader(const PngReader&) = delete;
  PngReader& operator=(const PngReader&) = delete;
};

void png_read_mem(png_structp png, png_bytep out, png_size_t count) {
  auto* r = static_cast<PngReader*>(png_get_io_ptr(png));
  if (count > r->size - r->pos) png_error(png, "unexpected end of file");
  std::memcpy(out, r->data + r->pos, count);
  r->pos += count;
}

void png_on_error(png_structp png, png_const_charp msg) {
  auto* r = static_cast<PngReader*>(png_get_error_ptr(png));
  std::snprintf(r->message, sizeof(r->message), "%s", msg);
  png_longjmp(png, 1);
}

void png_on_warning(png_structp, png_const_charp) {}

// Reads the header and installs the transformations; returns false on a libpng error.
bool png_setup(PngReader* r, png_uint_32* width, png_uint_32* height, int* channels, uint64_t* stored_row_bytes) {
  if (setjmp(png_jmpbuf(r->png))) return false;
  png_set_read_fn(r->png, r, png_read_mem);
  png_read_info(r->png, r->info);
  *stored_row_bytes = png_get_rowbytes(r->png, r->info);  // as stored, before the transformations below
  const int color = png_get_color_type(r->png, r->info);
  const int depth = png_get_bit_depth(r->png, r->info);
  if (color == PNG_COLOR_TYPE_PALETTE) png_set_palette_to_rgb(r->png);
  if (color == PNG_COLOR_TYPE_GRAY && depth < 8) png_set_expand_gray_1_2_4_to_8(r->png);
  if (png_get_valid(r->png, r->info, PNG_INFO_tRNS)) png_set_tRNS_to_alpha(r->png);
  if (depth == 16) png_set_scale_16(r->png);
  png_set_interlace_handling(r->png);
  png_read_update_info(r->png, r->info);
  *width = png_get_image_width(r->png, r->info);
  *height = png_get_image_height(r->png, r->info);
  *channels = png_get_channels(r->png, r->info);
  return true;
}

bool png_read_pixels(PngReader* r, png_bytepp rows) {
  if (setjmp(png_jmpbuf(r->png))) return false;
  png_read_image(r->png, rows);
  png_read_end(r->png, nullptr);
  return true;
}

Image png_decode(const uint8_t* data, size_t size, const std::string& name, bool pixels) {
  PngReader r(data, size);
  r.png = png_create_read_struct(PNG_LIBPNG_VER_STRING, &r, png_on_error, png_on_warning);
  if (!r.png) throw DataError("image '" + name + "': libpng could not allocate a reader");
  r.info = png_create_info_struct(r.png);
  if (!r.info) throw DataError("image '" + name + "': libpng could not allocate an info struct");
  png_uint_32 w = 0, h = 0;
  int c = 0;
  uint64_t stored_row_bytes = 0;
  if (!png_setup(&r, &w, &h, &c, &stored_row_bytes)) throw DataError("image '" + name + "' is not a readable PNG: " + r.message);
  Image img;
  img.width = w;
  img.height = h;
  img.channels = c;
  // Each stored row is preceded by its filter byte.
  check_declared_size(name, "PNG", w, h, static_cast<uint64_t>(c), size, (stored_row_bytes + 1) * h);
  if (!pixels) return img;
  img.pixels.resize(static_cast<size_t>(w) * h * static_cast<size_t>(c));
  std::vector<png_bytep> rows(h);
  for (png_uint_32 y = 0; y < h; ++y) rows[y] = img.pixels.data() + static_cast<size_t>(y) * w * c;
  if (!png_read_pixels(&r, rows.data())) throw DataError("image '" + name + "' is a corrupt PNG: " + r.message);
  return img;
}

}  // namespace

Image decode_jpeg(const uint8_t* data, size_t size, const std::string& name, const DecodeOptions& options) {
  JpegDecoder dec;
  Image img = jpeg_header(dec, data, size, name);
  const J_COLOR_SPACE space = img.channels == 1 ? JCS_GRAYSCALE : JCS_RGB;
  img.pixels.resize(static_cast<size_t>(img.width * img.height * img.channels));
  if (!jpeg_decode_rows(&dec.cinfo, space, img.pixels.data(), static_cast<size_t>(img.width * img.channels))) {
    throw DataError("image '" + name + "' is a corrupt JPEG: " + dec.err.message);
  }
  if (options.strict && dec.err.warnings > 0) {
    throw DataError("image '" + name + "' is a damaged JPEG (" + dec.err.first_warning +
                    "); decoding strictly like djpeg, which fails on it");
  }
  return img;
}

Image decode_png(const uint8_t* data, size_t size, const std::string& name) {
  return png_decode(data, size, name, true);
}

Image decode_image(const uint8_t* data, size_t size, const std::string& name, const DecodeOptions& options) {
  if (is_jpeg(data, size)) return decode_jpeg(data, size, name, options);
  if (is_png(data, size)) return decode_png(data, size, name);
  throw DataError("image '" + name + "' is neither a JPEG nor a PNG file (unrecognized magic bytes, " +
                  std::to_string(size) + " bytes)");
}

Image decode_image_file(const std::string& path, const DecodeOptions& options) {
  const std::string bytes = read_file(path, "image");
  return decode_image(reinterpret_cast<const uint8_t*>(bytes.data()), bytes.size(), path, options);
}

Image read_image_header(const std::string& path) {
  const std::string bytes = read_file(path, "image");
  const auto* data = reinterpret_cast<const uint8_t*>(bytes.data());
  if (is_jpeg(data, bytes.size())) {
    JpegDecoder dec;
    return jpeg_header(dec, data, bytes.size(), path);
  }
  if (is_png(data, bytes.size())) return png_decode(data, bytes.size(), path, false);
  throw DataError("image '" + path + "' is neither a JPEG nor a PNG file (unrecognized magic bytes)");
}

Image to_rgb(const Image& image) {
  if (image.channels == 3) return image;
  Image out;
  out.width = image.width;
  out.height = image.height;
  out.channels = 3;
  const size_t n = static_cast<size_t>(image.width * image.height);
  out.pixels.resize(n * 3);
  const auto c = static_cast<size_t>(image.channels);
  for (size_t i = 0; i < n; ++i) {
    const uint8_t* src = image.pixels.data() + i * c;
    uint8_t* dst = out.pixels.data() + i * 3;
    if (c <= 2) {
      dst[0] = dst[1] = dst[2] = src[0];
    } else {
      dst[0] = src[0];
      dst[1] = src[1];
      dst[2] = src[2];
    }
  }
  return out;
}

}  // namespace qwac::data
