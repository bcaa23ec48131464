// Image preprocessing: decoded 8-bit pixels -> one model input tensor with a leading batch dimension of 1.
//
// The order of steps and the arithmetic reproduce the reference evaluator shared/tools/ort-eval/eval.js exactly
// (its `preprocess` and `resizeBilinear`), so qwac's FP32 accuracy matches the ORT reference sample for sample:
//   1. pixels as float (invert: 255 - x first),
//   2. resize (bilinear, see ResizeMode), values rounded to float32 as eval.js stores them in a Float32Array,
//   3. center crop, offset floor((W - w) / 2), floor((H - h) / 2),
//   4. channel order: RGB as decoded, BGR swapped, or gray = 0.299 R + 0.587 G + 0.114 B (double, rounded to
//      float32) when the image has 3 channels; a 1-channel image stays 1 channel for every order,
//   5. per channel y = (x * scale - mean[c]) / std[c], evaluated in double and rounded once to float32
//      (eval.js computes in JS doubles and stores into a Float32Array),
//   6. layout NCHW or NHWC.
// A plain struct describes it so the config layer can fill it field by field.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "core/tensor.h"
#include "data/image_decode.h"

namespace qwac::data {

enum class ResizeMode {
  kNone,
  kShorterSide,  // scale so that min(H, W) == resize_shorter, keep aspect; sizes rounded half up (JS Math.round)
  kExact,        // resize to resize_width x resize_height, ignore aspect
};

enum class ColorOrder { kRgb, kBgr, kGray };
enum class Layout { kNchw, kNhwc };

struct PreprocessOptions {
  ResizeMode resize = ResizeMode::kNone;
  int64_t resize_shorter = 0;  // kShorterSide
  int64_t resize_width = 0;    // kExact
  int64_t resize_height = 0;   // kExact
  int64_t crop_width = 0;      // 0 = no crop; crop_height 0 with crop_width > 0 means a square crop
  int64_t crop_height = 0;
  ColorOrder color = ColorOrder::kRgb;
  bool invert = false;       // 255 - x before everything (MNIST-style white background)
  double scale = 1.0;        // multiplies the 0..255 values first
  std::vector<double> mean;  // empty = 0; one value = every channel; else one per output channel
  std::vector<double> std;   // empty = 1; same broadcasting; must be non-zero
  Layout layout = Layout::kNchw;
  // kFloat32, or kUInt8 for models taking raw pixels: values are rounded half to even and must lie in [0, 255]
  // (DataError otherwise: a uint8 input cannot carry the result of a mean/std normalization).
  DType dtype = DType::kFloat32;
};

// Checks the option values themselves (positive sizes, std non-zero, dtype supported); throws InvalidArgument
// naming the field. Called by preprocess_image, and by dataset constructors so errors surface before any sample.
void validate_preprocess_options(const PreprocessOptions& options);

// The output shape for an image of the given size and channel count ([1,C,H,W] or [1,H,W,C]).
Shape preprocessed_shape(const PreprocessOptions& options, int64_t width, int64_t height, int64_t channels);

// Runs the pipeline on an image with 1 or 3 channels (use to_rgb() first for others). `name` names the sample in
// errors (crop larger than the image, wrong mean/std count).
Tensor preprocess_image(const Image& image, const PreprocessOptions& options, const std::string& name);

// The bilinear resize used by step 2, on float HWC planes: half-pixel centres, source coordinate clamped at 0 and
// neighbours clamped at the border, no antialiasing (like OpenCV INTER_LINEAR and eval.js's resizeBilinear, of
// which this is a line-by-line transcription, including the evaluation order of the interpolation).
std::vector<float> resize_bilinear(const std::vector<float>& src, int64_t height, int64_t width, int64_t channels,
                                   int64_t new_height, int64_t new_width);

}  // namespace qwac::data
