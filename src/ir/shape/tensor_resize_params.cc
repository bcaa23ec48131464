#include "ir/shape/tensor_resize_params.h"

#include <algorithm>
#include <cmath>
#include <map>
#include <optional>
#include <set>
#include <string>

#include "qwac/error.h"

namespace qwac::ir {

namespace {

const std::map<std::string, ResizeMode>& mode_names() {
  static const std::map<std::string, ResizeMode> names = {
      {"nearest", ResizeMode::kNearest}, {"linear", ResizeMode::kLinear}, {"cubic", ResizeMode::kCubic}};
  return names;
}

// (name, first opset, last opset) of each coordinate transformation mode.
struct CoordModeFact {
  ResizeCoordMode mode;
  int64_t since;
  int64_t until;
};
const std::map<std::string, CoordModeFact>& coord_mode_names() {
  static const std::map<std::string, CoordModeFact> names = {
      {"half_pixel", {ResizeCoordMode::kHalfPixel, 11, 1000}},
      {"half_pixel_symmetric", {ResizeCoordMode::kHalfPixelSymmetric, 19, 1000}},
      {"pytorch_half_pixel", {ResizeCoordMode::kPytorchHalfPixel, 11, 1000}},
      {"align_corners", {ResizeCoordMode::kAlignCorners, 11, 1000}},
      {"asymmetric", {ResizeCoordMode::kAsymmetric, 11, 1000}},
      {"tf_half_pixel_for_nn", {ResizeCoordMode::kTfHalfPixelForNn, 11, 12}},
      {"tf_crop_and_resize", {ResizeCoordMode::kTfCropAndResize, 11, 1000}},
  };
  return names;
}

const std::map<std::string, ResizeNearestMode>& nearest_mode_names() {
  static const std::map<std::string, ResizeNearestMode> names = {
      {"round_prefer_floor", ResizeNearestMode::kRoundPreferFloor},
      {"round_prefer_ceil", ResizeNearestMode::kRoundPreferCeil},
      {"floor", ResizeNearestMode::kFloor},
      {"ceil", ResizeNearestMode::kCeil},
  };
  return names;
}

std::vector<float> constant_floats(const InferContext& ctx, size_t i, const std::string& what) {
  const Tensor& t = ctx.constant_input(i, what);
  if (t.dtype() != DType::kFloat32) ctx.fail(what + " must be float, got " + t.describe());
  return std::vector<float>(t.data<float>(), t.data<float>() + t.numel());
}

bool has_nonempty_input(const InferContext& ctx, size_t i) {
  return ctx.has_input(i) && shape_numel(ctx.input(i).shape) > 0;
}

std::string floats_to_string(const std::vector<float>& v) {
  std::string s = "[";
  for (size_t i = 0; i < v.size(); ++i) {
    if (i) s += ",";
    s += std::to_string(v[i]);
  }
  return s + "]";
}

}  // namespace

float resize_original_coordinate(const ResizeParams& p, size_t d, float x_resized, int64_t length_original) {
  const float scale = p.scales[d];
  const int64_t length_resized = p.out_shape[d];
  const float roi_start = p.roi_start[d], roi_end = p.roi_end[d];
  const float len_in = static_cast<float>(length_original);
  const float len_out = static_cast<float>(length_resized);
  switch (p.coord) {
    case ResizeCoordMode::kHalfPixel:
      return (x_resized + 0.5f) / scale - 0.5f;
    case ResizeCoordMode::kHalfPixelSymmetric: {
      const float adjustment = len_out / (scale * len_in);
      const float center = len_in / 2;
      const float offset = center * (1 - adjustment);
      return offset + (x_resized + 0.5f) / scale - 0.5f;
    }
    case ResizeCoordMode::kPytorchHalfPixel:
      return length_resized > 1 ? (x_resized + 0.5f) / scale - 0.5f : 0.f;
    case ResizeCoordMode::kAlignCorners:
      return p.resized_length[d] == 1.f ? 0.f : x_resized * (len_in - 1) / (p.resized_length[d] - 1);
    case ResizeCoordMode::kAsymmetric:
      return x_resized / scale;
    case ResizeCoordMode::kTfHalfPixelForNn:
      return (x_resized + 0.5f) / scale;
    case ResizeCoordMode::kTfCropAndResize:
      return length_resized > 1
                 ? roi_start * (len_in - 1) + x_resized * (roi_end - roi_start) * (len_in - 1) / (len_out - 1)
                 : 0.5f * (roi_start + roi_end) * (len_in - 1);
  }
  return 0.f;
}

ResizeParams resize_params(const InferContext& ctx) {
  const bool upsample = ctx.node().op_type() == "Upsample";
  const Shape& in = ctx.input(0).shape;
  const int64_t rank = static_cast<int64_t>(in.size());
  const Attributes& attrs = ctx.attrs();
  ResizeParams p;

  const std::string mode = attrs.get_string("mode", "nearest");
  auto m = mode_names().find(mode);
  if (m == mode_names().end() || (m->second == ResizeMode::kCubic && (upsample || ctx.opset() < 11))) {
    ctx.fail("mode '" + mode + "' is not supported (expected nearest, linear" +
             std::string(upsample || ctx.opset() < 11 ? ")" : " or cubic)"));
  }
  p.mode = m->second;

  // Resize-10 and Upsample have no coordinate attributes; ONNX Runtime evaluates them like this.
  const bool legacy = upsample || ctx.opset() < 11;
  if (legacy) {
    p.coord = ResizeCoordMode::kAsymmetric;
    p.nearest = ResizeNearestMode::kSimple;
  } else {
    const std::string coord = attrs.get_string("coordinate_transformation_mode", "half_pixel");
    auto c = coord_mode_names().find(coord);
    if (c == coord_mode_names().end() || ctx.opset() < c->second.since || ctx.opset() > c->second.until) {
      ctx.fail("coordinate_transformation_mode '" + coord + "' is not valid in opset " + std::to_string(ctx.opset()));
    }
    p.coord = c->second.mode;
    const std::string nearest = attrs.get_string("nearest_mode", "round_prefer_floor");
    auto n = nearest_mode_names().find(nearest);
    if (n == nearest_mode_names().end()) ctx.fail("nearest_mode '" + nearest + "' is not valid");
    p.nearest = n->second;
    p.cubic_coeff_a = attrs.get_float("cubic_coeff_a", -0.75f);
    p.exclude_outside = attrs.get_int("exclude_outside", 0) != 0;
    p.extrapolation_value = attrs.get_float("extrapolation_value", 0.f);
    if (ctx.opset() >= 18 && attrs.get_int("antialias", 0) != 0) {
      throw UnsupportedOp(ctx.node().describe() + ": antialias=1 is not supported");
    }
  }

  // Axes the scales/sizes/roi refer to (opset 18); all dims otherwise.
  std::vector<int64_t> axes;
  if (!legacy && ctx.opset() >= 18 && attrs.has("axes")) {
    std::set<int64_t> seen;
    for (int64_t a : attrs.get_ints("axes")) {
      const int64_t n = normalize_axis(a, rank, ctx.node().describe() + " axes");
      if (!seen.insert(n).second) ctx.fail("axes lists axis " + std::to_string(a) + " twice");
      axes.push_back(n);
    }
  } else {
    for (int64_t i = 0; i < rank; ++i) axes.push_back(i);
  }
  const size_t n_axes = axes.size();

  p.scales.assign(in.size(), 1.f);
  p.roi_start.assign(in.size(), 0.f);
  p.roi_end.assign(in.size(), 1.f);
  p.out_shape = in;
  for (int64_t d : in) p.resized_length.push_back(static_cast<float>(d));

  if (p.coord == ResizeCoordMode::kTfCropAndResize && has_nonempty_input(ctx, 1)) {
    const std::vector<float> roi = constant_floats(ctx, 1, "roi");
    if (roi.size() != 2 * n_axes) {
      ctx.fail("roi has " + std::to_string(roi.size()) + " values, expected " + std::to_string(2 * n_axes));
    }
    for (size_t k = 0; k < n_axes; ++k) {
      p.roi_start[axes[k]] = roi[k];
      p.roi_end[axes[k]] = roi[k + n_axes];
    }
  }

  std::optional<std::vector<float>> scales;
  std::optional<std::vector<int64_t>> sizes;
  if (upsample) {
    scales = ctx.opset() >= 9 ? constant_floats(ctx, 1, "scales") : attrs.get_floats("scales");
  } else if (ctx.opset() < 11) {
    scales = constant_floats(ctx, 1, "scales");
  } else {
    if (has_nonempty_input(ctx, 2)) scales = constant_floats(ctx, 2, "scales");
    if (has_nonempty_input(ctx, 3)) sizes = ctx.constant_ints(3, "sizes");
    if (scales.has_value() == sizes.has_value()) ctx.fail("exactly one of scales and sizes must be given");
  }

  if (scales) {
    if (scales->size() != n_axes) {
      ctx.fail("scales " + floats_to_string(*scales) + " has " + std::to_string(scales->size()) + " values, expected " +
               std::to_string(n_axes));
    }
    for (size_t k = 0; k < n_axes; ++k) {
      const int64_t a = axes[k];
      const float s = (*scales)[k];
      if (!(s > 0.f)) ctx.fail("scales " + floats_to_string(*scales) + " must be positive");
      p.scales[a] = s;
      const float extent = p.coord == ResizeCoordMode::kTfCropAndResize ? p.roi_end[a] - p.roi_start[a] : 1.f;
      p.out_shape[a] = static_cast<int64_t>(std::floor(static_cast<float>(in[a]) * extent * s));
      p.resized_length[a] = static_cast<float>(in[a]) * s;
    }
    return p;
  }

  if (sizes->size() != n_axes) {
    ctx.fail("sizes " + shape_to_string(*sizes) + " has " + std::to_string(sizes->size()) + " values, expected " +
             std::to_string(n_axes));
  }
  for (int64_t s : *sizes) {
    if (s <= 0) ctx.fail("sizes " + shape_to_string(*sizes) + " must be positive");
  }
  const std::string policy = ctx.opset() >= 18 ? attrs.get_string("keep_aspect_ratio_policy", "stretch") : "stretch";
  if (policy == "stretch") {
    for (size_t k = 0; k < n_axes; ++k) {
      const int64_t a = axes[k];
      p.out_shape[a] = (*sizes)[k];
      p.scales[a] = static_cast<float>((*sizes)[k]) / static_cast<float>(in[a]);
      p.resized_length[a] = static_cast<float>((*sizes)[k]);
    }
  } else if (policy == "not_larger" || policy == "not_smaller") {
    float scale = policy == "not_larger" ? INFINITY : 0.f;
    for (size_t k = 0; k < n_axes; ++k) {
      const float s = static_cast<float>((*sizes)[k]) / static_cast<float>(in[axes[k]]);
      scale = policy == "not_larger" ? std::min(scale, s) : std::max(scale, s);
    }
    for (size_t k = 0; k < n_axes; ++k) {
      const int64_t a = axes[k];
      p.scales[a] = scale;
      p.out_shape[a] = static_cast<int64_t>(std::round(scale * static_cast<float>(in[a])));
      p.resized_length[a] = scale * static_cast<float>(in[a]);
    }
  } else {
    ctx.fail("keep_aspect_ratio_policy '" + policy + "' is not valid (expected stretch, not_larger, not_smaller)");
  }
  return p;
}

}  // namespace qwac::ir
