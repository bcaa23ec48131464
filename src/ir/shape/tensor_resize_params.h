// Resize (opsets 10, 11, 13, 18, 19) and Upsample (7, 9) parameters: interpolation mode, coordinate transform,
// per-dim scales and the output shape.
//
// Numerics follow ONNX Runtime (float arithmetic for coordinates, "simple" nearest rounding and asymmetric
// coordinates for Resize-10 and Upsample), since a QDQ model must evaluate the same in qwac and in ONNX Runtime.
#pragma once

#include <cstdint>
#include <vector>

#include "core/shape.h"
#include "ir/op_schema.h"

namespace qwac::ir {

enum class ResizeMode : uint8_t { kNearest, kLinear, kCubic };

enum class ResizeCoordMode : uint8_t {
  kHalfPixel,
  kHalfPixelSymmetric,
  kPytorchHalfPixel,
  kAlignCorners,
  kAsymmetric,
  kTfHalfPixelForNn,
  kTfCropAndResize,
};

enum class ResizeNearestMode : uint8_t {
  kRoundPreferFloor,
  kRoundPreferCeil,
  kFloor,
  kCeil,
  kSimple,  // Resize-10 / Upsample in ONNX Runtime: ceil when downsampling, truncate otherwise
};

struct ResizeParams {
  ResizeMode mode = ResizeMode::kNearest;
  ResizeCoordMode coord = ResizeCoordMode::kHalfPixel;
  ResizeNearestMode nearest = ResizeNearestMode::kRoundPreferFloor;
  float cubic_coeff_a = -0.75f;
  bool exclude_outside = false;
  float extrapolation_value = 0.f;
  std::vector<float> scales;  // per input dim
  // Per input dim, the resized length align_corners divides by: input * scale when scales are given (not the
  // floored output length: the ONNX reference and test data do this), the output length when sizes are given.
  std::vector<float> resized_length;
  std::vector<float> roi_start;  // per input dim, normalized [0, 1] (tf_crop_and_resize only)
  std::vector<float> roi_end;
  Shape out_shape;
};

// For both Resize and Upsample (by the node's op type).
ResizeParams resize_params(const InferContext& ctx);

// The input coordinate that output coordinate `x_resized` of dim `d` maps to (before rounding/clamping).
float resize_original_coordinate(const ResizeParams& p, size_t d, float x_resized, int64_t length_original);

}  // namespace qwac::ir
