#include "data/preprocess.h"

#include <algorithm>
#include <cmath>

#include "qwac/error.h"

namespace qwac::data {
namespace {

// Channel values for mean/std after broadcasting a single value.
std::vector<double> per_channel(const std::vector<double>& v, int64_t channels, double fallback,
                                const std::string& field, const std::string& name) {
  if (v.empty()) return std::vector<double>(static_cast<size_t>(channels), fallback);
  if (v.size() == 1) return std::vector<double>(static_cast<size_t>(channels), v[0]);
  if (static_cast<int64_t>(v.size()) != channels) {
    throw DataError("sample " + name + ": preprocessing " + field + " has " + std::to_string(v.size()) +
                    " values but the image has " + std::to_string(channels) + " channels after color conversion");
  }
  return v;
}

void resized_size(const PreprocessOptions& o, int64_t w, int64_t h, int64_t* nw, int64_t* nh) {
  *nw = w;
  *nh = h;
  if (o.resize == ResizeMode::kExact) {
    *nw = o.resize_width;
    *nh = o.resize_height;
  } else if (o.resize == ResizeMode::kShorterSide) {
    const double r = static_cast<double>(o.resize_shorter) / static_cast<double>(std::min(h, w));
    *nh = static_cast<int64_t>(std::floor(static_cast<double>(h) * r + 0.5));  // JS Math.round: ties go up
    *nw = static_cast<int64_t>(std::floor(static_cast<double>(w) * r + 0.5));
  }
}

int64_t crop_h(const PreprocessOptions& o) {
  return o.crop_height > 0 ? o.crop_height : o.crop_width;
}

}  // namespace

void validate_preprocess_options(const PreprocessOptions& o) {
  if (o.resize == ResizeMode::kShorterSide && o.resize_shorter <= 0) {
    throw InvalidArgument("preprocessing: resize to shorter side needs a positive size, got " +
                          std::to_string(o.resize_shorter));
  }
  if (o.resize == ResizeMode::kExact && (o.resize_width <= 0 || o.resize_height <= 0)) {
    throw InvalidArgument("preprocessing: exact resize needs a positive width and height, got " +
                          std::to_string(o.resize_width) + "x" + std::to_string(o.resize_height));
  }
  if (o.crop_width < 0 || o.crop_height < 0 || (o.crop_width == 0 && o.crop_height > 0)) {
    throw InvalidArgument("preprocessing: bad crop " + std::to_string(o.crop_width) + "x" +
                          std::to_string(o.crop_height) + " (expected positive width, height 0 = square)");
  }
  for (double s : o.std) {
    if (s == 0 || !std::isfinite(s)) throw InvalidArgument("preprocessing: std values must be finite and non-zero");
  }
  for (double m : o.mean) {
    if (!std::isfinite(m)) throw InvalidArgument("preprocessing: mean values must be finite");
  }
  if (!std::isfinite(o.scale)) throw InvalidArgument("preprocessing: scale must be finite");
  if (o.dtype != DType::kFloat32 && o.dtype != DType::kUInt8) {
    throw InvalidArgument("preprocessing: output dtype must be float or uint8, got " +
                          std::string(dtype_name(o.dtype)));
  }
}

Shape preprocessed_shape(const PreprocessOptions& o, int64_t width, int64_t height, int64_t channels) {
  int64_t w = 0, h = 0;
  resized_size(o, width, height, &w, &h);
  if (o.crop_width > 0) {
    w = o.crop_width;
    h = crop_h(o);
  }
  const int64_t c = (o.color == ColorOrder::kGray) ? 1 : channels;
  return o.layout == Layout::kNchw ? Shape{1, c, h, w} : Shape{1, h, w, c};
}

std::vector<float> resize_bilinear(const std::vector<float>& src, int64_t h, int64_t w, int64_t c, int64_t nh,
                                   int64_t nw) {
  std::vector<float> dst(static_cast<size_t>(nh * nw * c));
  const double sy = static_cast<double>(h) / static_cast<double>(nh);
  const double sx = static_cast<double>(w) / static_cast<double>(nw);
  for (int64_t y = 0; y < nh; ++y) {
    double fy = (static_cast<double>(y) + 0.5) * sy - 0.5;
    if (fy < 0) fy = 0;
    const int64_t y0 = std::min(static_cast<int64_t>(std::floor(fy)), h - 1);
    const int64_t y1 = std::min(y0 + 1, h - 1);
    const double wy = fy - static_cast<double>(y0);
    for (int64_t x = 0; x < nw; ++x) {
      double fx = (static_cast<double>(x) + 0.5) * sx - 0.5;
      if (fx < 0) fx = 0;
      const int64_t x0 = std::min(static_cast<int64_t>(std::floor(fx)), w - 1);
      const int64_t x1 = std::min(x0 + 1, w - 1);
      const double wx = fx - static_cast<double>(x0);
      for (int64_t k = 0; k < c; ++k) {
        const double a = src[static_cast<size_t>((y0 * w + x0) * c + k)];
        const double b = src[static_cast<size_t>((y0 * w + x1) * c + k)];
        const double d = src[static_cast<size_t>((y1 * w + x0) * c + k)];
        const double e = src[static_cast<size_t>((y1 * w + x1) * c + k)];
        // Separate roundings of each product, as in JS; do not let the compiler contract these into FMAs
        // (x86-64 without -mfma has none; a -march=native build would need -ffp-contract=off for this file).
        const double top = a * (1 - wx) + b * wx;
        const double bottom = d * (1 - wx) + e * wx;
        dst[static_cast<size_t>((y * nw + x) * c + k)] = static_cast<float>(top * (1 - wy) + bottom * wy);
      }
    }
  }
  return dst;
}

Tensor preprocess_image(const Image& image, const PreprocessOptions& o, const std::string& name) {
  validate_preprocess_options(o);
  if (image.channels != 1 && image.channels != 3) {
    throw DataError("sample " + name + ": preprocessing needs a 1- or 3-channel image, got " +
                    std::to_string(image.channels) + " channels");
  }
  int64_t h = image.height, w = image.width;
  const int64_t c = image.channels;
  if (h <= 0 || w <= 0 || static_cast<int64_t>(image.pixels.size()) != h * w * c) {
    throw DataError("sample " + name + ": image buffer does not match its size " + std::to_string(w) + "x" +
                    std::to_string(h) + "x" + std::to_string(c));
  }
  // 1. float pixels
  std::vector<float> img(image.pixels.size());
  for (size_t i = 0; i < img.size(); ++i) {
    img[i] = o.invert ? static_cast<float>(255 - image.pixels[i]) : static_cast<float>(image.pixels[i]);
  }
  // 2. resize (eval.js skips a shorter-side resize that would not change the size)
  int64_t nw = 0, nh = 0;
  resized_size(o, w, h, &nw, &nh);
  if (o.resize == ResizeMode::kExact || (o.resize == ResizeMode::kShorterSide && (nh != h || nw != w))) {
    img = resize_bilinear(img, h, w, c, nh, nw);
    h = nh;
    w = nw;
  }
  // 3. center crop
  if (o.crop_width > 0) {
    const int64_t cw = o.crop_width, ch = crop_h(o);
    if (cw > w || ch > h) {
      throw DataError("sample " + name + ": crop " + std::to_string(cw) + "x" + std::to_string(ch) +
                      " is larger than the image " + std::to_string(w) + "x" + std::to_string(h));
    }
    const int64_t y0 = (h - ch) / 2, x0 = (w - cw) / 2;  // floor: both non-negative
    std::vector<float> out(static_cast<size_t>(cw * ch * c));
    for (int64_t y = 0; y < ch; ++y) {
      const float* src = img.data() + ((y0 + y) * w + x0) * c;
      std::copy(src, src + cw * c, out.data() + y * cw * c);
    }
    img = std::move(out);
    h = ch;
    w = cw;
  }
  // 4. channel order
  int64_t oc = c;
  const int64_t hw = h * w;
  if (o.color == ColorOrder::kGray && c == 3) {
    std::vector<float> g(static_cast<size_t>(hw));
    for (int64_t i = 0; i < hw; ++i) {
      const float* p = img.data() + i * 3;
      g[static_cast<size_t>(i)] = static_cast<float>(0.299 * p[0] + 0.587 * p[1] + 0.114 * p[2]);
    }
    img = std::move(g);
    oc = 1;
  } else if (o.color == ColorOrder::kBgr && c == 3) {
    for (int64_t i = 0; i < hw; ++i) std::swap(img[static_cast<size_t>(i * 3)], img[static_cast<size_t>(i * 3 + 2)]);
  }
  // 5. + 6. normalize and lay out
  const std::vector<double> mean = per_channel(o.mean, oc, 0.0, "mean", name);
  const std::vector<double> stdv = per_channel(o.std, oc, 1.0, "std", name);
  const Shape shape = o.layout == Layout::kNchw ? Shape{1, oc, h, w} : Shape{1, h, w, oc};
  Tensor dst(o.dtype, shape);
  auto out_index = [&](int64_t i, int64_t k) { return o.layout == Layout::kNhwc ? i * oc + k : k * hw + i; };
  if (o.dtype == DType::kFloat32) {
    float* p = dst.data<float>();
    for (int64_t i = 0; i < hw; ++i) {
      for (int64_t k = 0; k < oc; ++k) {
        const double x = img[static_cast<size_t>(i * oc + k)];
        const auto kk = static_cast<size_t>(k);
        p[out_index(i, k)] = static_cast<float>((x * o.scale - mean[kk]) / stdv[kk]);
      }
    }
  } else {
    uint8_t* p = dst.data<uint8_t>();
    for (int64_t i = 0; i < hw; ++i) {
      for (int64_t k = 0; k < oc; ++k) {
        const double x = img[static_cast<size_t>(i * oc + k)];
        const auto kk = static_cast<size_t>(k);
        const double v = std::nearbyint((x * o.scale - mean[kk]) / stdv[kk]);
        if (!(v >= 0 && v <= 255)) {
          throw DataError("sample " + name + ": uint8 output needs values in [0, 255], got " + std::to_string(v) +
                          " (use float output with mean/std/scale)");
        }
        p[out_index(i, k)] = static_cast<uint8_t>(v);
      }
    }
  }
  return dst;
}

}  // namespace qwac::data
