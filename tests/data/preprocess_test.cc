// Preprocessing on small hand-computed images: crop offsets, channel orders, the (x * scale - mean) / std order,
// gray weights, layouts, bilinear resize values and option validation.
#include "data/preprocess.h"

#include <gtest/gtest.h>

#include <cmath>

#include "qwac/error.h"

namespace qwac::data {
namespace {

// W x H RGB image whose pixel (x, y) is (10 y + x, 100 + 10 y + x, 200 - 10 y - x)... kept in 0..255.
Image ramp(int64_t w, int64_t h) {
  Image img;
  img.width = w;
  img.height = h;
  img.channels = 3;
  for (int64_t y = 0; y < h; ++y) {
    for (int64_t x = 0; x < w; ++x) {
      img.pixels.push_back(static_cast<uint8_t>(10 * y + x));
      img.pixels.push_back(static_cast<uint8_t>(100 + 10 * y + x));
      img.pixels.push_back(static_cast<uint8_t>(200 - 10 * y - x));
    }
  }
  return img;
}

TEST(Preprocess, CenterCropOffsetIsFloorOfHalfTheMargin) {
  // 227 -> 224 must start at (1, 1), as MANIFEST.md states for imagenet-val-1300; 7x6 -> 4x3 starts at (1, 1).
  Image big = ramp(227, 227);
  for (auto& p : big.pixels) p = 0;
  big.pixels[(1 * 227 + 1) * 3] = 77;  // R of pixel (1, 1)
  PreprocessOptions o;
  o.crop_width = 224;
  const Tensor t = preprocess_image(big, o, "big");
  EXPECT_EQ(t.shape(), (Shape{1, 3, 224, 224}));
  EXPECT_EQ(t.data<float>()[0], 77.f);

  PreprocessOptions r;
  r.crop_width = 4;
  r.crop_height = 3;
  const Tensor c = preprocess_image(ramp(7, 6), r, "ramp");
  ASSERT_EQ(c.shape(), (Shape{1, 3, 3, 4}));
  EXPECT_EQ(c.data<float>()[0], 11.f);          // R at (x=1, y=1)
  EXPECT_EQ(c.data<float>()[2 * 4 + 3], 34.f);  // R at (x=1+3, y=1+2)
  EXPECT_EQ(c.data<float>()[12], 111.f);        // G plane starts at (1, 1)
  EXPECT_EQ(preprocessed_shape(r, 7, 6, 3), (Shape{1, 3, 3, 4}));
  r.crop_width = 8;
  EXPECT_THROW(preprocess_image(ramp(7, 6), r, "ramp"), DataError);
}

TEST(Preprocess, BgrMeanStdScaleOrderAndNhwc) {
  const Image img = ramp(2, 1);  // pixels (0,100,200), (1,101,199)
  PreprocessOptions o;
  o.color = ColorOrder::kBgr;
  o.scale = 0.5;
  o.mean = {1, 2, 3};
  o.std = {2, 4, 8};
  o.layout = Layout::kNhwc;
  const Tensor t = preprocess_image(img, o, "bgr");
  ASSERT_EQ(t.shape(), (Shape{1, 1, 2, 3}));
  const float* p = t.data<float>();
  // channel 0 = B: (200 * 0.5 - 1) / 2 = 49.5; channel 1 = G: (50 - 2) / 4 = 12; channel 2 = R: (0 - 3) / 8
  EXPECT_FLOAT_EQ(p[0], 49.5f);
  EXPECT_FLOAT_EQ(p[1], 12.f);
  EXPECT_FLOAT_EQ(p[2], -0.375f);
  EXPECT_FLOAT_EQ(p[3], (199 * 0.5 - 1) / 2);
  // Computed in double and rounded once, like eval.js: (x / 255 - 0.5) / 0.5 with scale 1/255 as written there.
  PreprocessOptions m;
  m.scale = 0.00392156862745098;
  m.mean = {0.5};
  m.std = {0.5};
  const Tensor u = preprocess_image(img, m, "pm1");
  EXPECT_EQ(u.data<float>()[1], static_cast<float>((1 * 0.00392156862745098 - 0.5) / 0.5));
  EXPECT_EQ(u.data<float>()[2], static_cast<float>((100 * 0.00392156862745098 - 0.5) / 0.5));
}

TEST(Preprocess, GrayWeightsInvertAndOneChannelImages) {
  PreprocessOptions o;
  o.color = ColorOrder::kGray;
  const Tensor g = preprocess_image(ramp(1, 1), o, "gray");
  ASSERT_EQ(g.shape(), (Shape{1, 1, 1, 1}));
  EXPECT_EQ(g.data<float>()[0], static_cast<float>(0.299 * 0 + 0.587 * 100 + 0.114 * 200));

  Image one;
  one.width = 2;
  one.height = 1;
  one.channels = 1;
  one.pixels = {0, 200};
  PreprocessOptions inv;
  inv.invert = true;
  inv.color = ColorOrder::kBgr;  // a 1-channel image stays 1 channel for every order
  const Tensor t = preprocess_image(one, inv, "inv");
  ASSERT_EQ(t.shape(), (Shape{1, 1, 1, 2}));
  EXPECT_EQ(t.data<float>()[0], 255.f);
  EXPECT_EQ(t.data<float>()[1], 55.f);
  inv.mean = {1, 2, 3};
  EXPECT_THROW(preprocess_image(one, inv, "inv"), DataError);  // 3 means for 1 channel
}

TEST(Preprocess, BilinearResizeHalfPixelCentres) {
  // 2x1 gray [0, 100] -> 4x1: source x = (x + 0.5) / 2 - 0.5 = -0.25 (clamped 0), 0.25, 0.75, 1.25 (neighbour
  // clamped): 0, 25, 75, 100.
  std::vector<float> dst = resize_bilinear({0.f, 100.f}, 1, 2, 1, 1, 4);
  EXPECT_EQ(dst, (std::vector<float>{0.f, 25.f, 75.f, 100.f}));
  // 4x4 -> 2x2 samples at source 0.5: averages of 2x2 blocks.
  std::vector<float> src(16);
  for (int i = 0; i < 16; ++i) src[static_cast<size_t>(i)] = static_cast<float>(i);
  EXPECT_EQ(resize_bilinear(src, 4, 4, 1, 2, 2), (std::vector<float>{2.5f, 4.5f, 10.5f, 12.5f}));
  // Shorter side 2 on a 4x6 (WxH) image: 2x3, rounded half up.
  PreprocessOptions o;
  o.resize = ResizeMode::kShorterSide;
  o.resize_shorter = 2;
  EXPECT_EQ(preprocessed_shape(o, 4, 6, 3), (Shape{1, 3, 3, 2}));
  o.resize_shorter = 3;  // 4x5 -> 3 x 3.75 -> 3x4
  EXPECT_EQ(preprocessed_shape(o, 4, 5, 3), (Shape{1, 3, 4, 3}));
  o.resize = ResizeMode::kExact;
  o.resize_width = 5;
  o.resize_height = 7;
  const Tensor t = preprocess_image(ramp(3, 3), o, "exact");
  EXPECT_EQ(t.shape(), (Shape{1, 3, 7, 5}));
}

TEST(Preprocess, OptionValidationAndUint8Output) {
  PreprocessOptions o;
  o.std = {0};
  EXPECT_THROW(validate_preprocess_options(o), InvalidArgument);
  o = {};
  o.resize = ResizeMode::kShorterSide;
  EXPECT_THROW(validate_preprocess_options(o), InvalidArgument);
  o = {};
  o.dtype = DType::kInt32;
  EXPECT_THROW(validate_preprocess_options(o), InvalidArgument);
  o = {};
  o.dtype = DType::kUInt8;
  const Tensor t = preprocess_image(ramp(1, 1), o, "u8");
  EXPECT_EQ(t.dtype(), DType::kUInt8);
  EXPECT_EQ(t.data<uint8_t>()[1], 100);
  o.mean = {128};
  EXPECT_THROW(preprocess_image(ramp(1, 1), o, "u8"), DataError);  // 0 - 128 < 0
}

}  // namespace
}  // namespace qwac::data
