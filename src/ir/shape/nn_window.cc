#include "ir/shape/nn_window.h"

#include <algorithm>

#include "ir/shape/nn_attrs.h"
#include "qwac/error.h"

namespace qwac::ir::nn {
namespace {

[[noreturn]] void fail(const Node& node, const std::string& message) {
  throw InvalidModel(node.describe() + ": " + message);
}

// Floor division for a positive divisor (C++ `/` truncates toward zero).
int64_t floor_div(int64_t a, int64_t b) { return a >= 0 ? a / b : -((-a + b - 1) / b); }
int64_t ceil_div(int64_t a, int64_t b) { return -floor_div(-a, b); }

void check_data_rank(const Node& node, const Shape& x, const char* what) {
  if (x.size() < 3) {
    fail(node, std::string(what) + " must have rank >= 3 (N x C x D1 x ... x Dk), got shape " + shape_to_string(x));
  }
}

// A per-spatial-axis attribute: absent -> `fallback` on every axis; present -> exactly `rank` values >= min_value.
Shape spatial_attr(const Node& node, const std::string& name, size_t rank, int64_t fallback, int64_t min_value) {
  Shape v = attr_ints(node, name, Shape(rank, fallback));
  if (v.size() != rank) {
    fail(node, "attribute '" + name + "' = " + shape_to_string(v) + " has " + std::to_string(v.size()) +
                   " values, expected " + std::to_string(rank) + " (one per spatial axis)");
  }
  for (int64_t e : v) {
    if (e < min_value) {
      fail(node, "attribute '" + name + "' = " + shape_to_string(v) + " has a value below " +
                     std::to_string(min_value));
    }
  }
  return v;
}

// Explicit `pads` = [x1_begin, x2_begin, ..., x1_end, x2_end, ...], all >= 0.
void read_explicit_pads(const Node& node, WindowGeometry& g) {
  const size_t k = g.rank();
  const Shape pads = attr_ints(node, "pads", Shape(2 * k, 0));
  if (pads.size() != 2 * k) {
    fail(node, "attribute 'pads' = " + shape_to_string(pads) + " has " + std::to_string(pads.size()) +
                   " values, expected " + std::to_string(2 * k) + " (begin and end per spatial axis)");
  }
  for (int64_t p : pads) {
    if (p < 0) fail(node, "attribute 'pads' = " + shape_to_string(pads) + " has a negative value");
  }
  g.pad_begin.assign(pads.begin(), pads.begin() + static_cast<int64_t>(k));
  g.pad_end.assign(pads.begin() + static_cast<int64_t>(k), pads.end());
}

// Resolves pads and output sizes of a forward sliding window (Conv, pools) once in/kernel/strides/dilations are set.
void resolve_forward_window(const Node& node, WindowGeometry& g, bool ceil_mode) {
  const size_t k = g.rank();
  const AutoPad auto_pad = parse_auto_pad(node);
  g.pad_begin.assign(k, 0);
  g.pad_end.assign(k, 0);
  g.out.assign(k, 0);
  if (auto_pad == AutoPad::kNotSet) read_explicit_pads(node, g);
  for (size_t i = 0; i < k; ++i) {
    const int64_t ek = g.effective_kernel(i);
    const int64_t s = g.strides[i];
    switch (auto_pad) {
      case AutoPad::kNotSet: {
        const int64_t span = g.in[i] + g.pad_begin[i] + g.pad_end[i] - ek;
        if (span < 0) {
          fail(node, "padded input size " + std::to_string(g.in[i] + g.pad_begin[i] + g.pad_end[i]) +
                         " on spatial axis " + std::to_string(i) + " (input " + shape_to_string(g.in) + ", pads " +
                         shape_to_string(g.pad_begin) + "/" + shape_to_string(g.pad_end) +
                         ") is smaller than the dilated kernel " + std::to_string(ek));
        }
        if (ceil_mode) {
          int64_t out = ceil_div(span, s) + 1;
          // The last window must start inside the input or the begin padding, not in the end padding.
          if ((out - 1) * s >= g.in[i] + g.pad_begin[i]) --out;
          g.out[i] = out;
        } else {
          g.out[i] = span / s + 1;
        }
        break;
      }
      case AutoPad::kValid:
        if (g.in[i] < ek) {
          fail(node, "input spatial size " + std::to_string(g.in[i]) + " on axis " + std::to_string(i) +
                         " is smaller than the dilated kernel " + std::to_string(ek) + " with auto_pad=VALID");
        }
        g.out[i] = (g.in[i] - ek) / s + 1;  // == ceil((in - ek + 1) / s), so ceil_mode changes nothing
        break;
      case AutoPad::kSameUpper:
      case AutoPad::kSameLower: {
        g.out[i] = ceil_div(g.in[i], s);
        const int64_t total = std::max<int64_t>(0, (g.out[i] - 1) * s + ek - g.in[i]);
        const int64_t small = total / 2;
        // Odd padding: the extra element goes at the end for SAME_UPPER, at the beginning for SAME_LOWER.
        g.pad_begin[i] = auto_pad == AutoPad::kSameUpper ? small : total - small;
        g.pad_end[i] = total - g.pad_begin[i];
        break;
      }
    }
  }
}

}  // namespace

AutoPad parse_auto_pad(const Node& node) {
  const std::string s = attr_string(node, "auto_pad", "NOTSET");
  if (s == "NOTSET" || s.empty()) return AutoPad::kNotSet;
  if (s == "SAME_UPPER") return AutoPad::kSameUpper;
  if (s == "SAME_LOWER") return AutoPad::kSameLower;
  if (s == "VALID") return AutoPad::kValid;
  fail(node, "attribute 'auto_pad' = '" + s + "', expected NOTSET, SAME_UPPER, SAME_LOWER or VALID");
}

namespace {

// The part Conv and ConvTranspose share: ranks, kernel from W (checked against kernel_shape), strides, dilations.
WindowGeometry weighted_window(const Node& node, const Shape& x, const Shape& w) {
  check_data_rank(node, x, "input X");
  if (w.size() != x.size()) {
    fail(node, "weight W " + shape_to_string(w) + " must have the rank of input X " + shape_to_string(x));
  }
  const size_t k = x.size() - 2;
  WindowGeometry g;
  g.in.assign(x.begin() + 2, x.end());
  g.kernel.assign(w.begin() + 2, w.end());
  const Shape ks = spatial_attr(node, "kernel_shape", k, 1, 1);
  if (node.attrs.has("kernel_shape") && ks != g.kernel) {
    fail(node, "attribute 'kernel_shape' = " + shape_to_string(ks) + " does not match weight W " +
                   shape_to_string(w));
  }
  for (int64_t e : g.kernel) {
    if (e < 1) fail(node, "weight W " + shape_to_string(w) + " has an empty kernel");
  }
  g.strides = spatial_attr(node, "strides", k, 1, 1);
  g.dilations = spatial_attr(node, "dilations", k, 1, 1);
  return g;
}

}  // namespace

WindowGeometry conv_geometry(const Node& node, const Shape& x, const Shape& w) {
  WindowGeometry g = weighted_window(node, x, w);
  resolve_forward_window(node, g, /*ceil_mode=*/false);
  return g;
}

WindowGeometry pool_geometry(const Node& node, const Shape& x) {
  check_data_rank(node, x, "input X");
  const size_t k = x.size() - 2;
  if (!node.attrs.has("kernel_shape")) fail(node, "required attribute 'kernel_shape' is missing");
  WindowGeometry g;
  g.in.assign(x.begin() + 2, x.end());
  g.kernel = spatial_attr(node, "kernel_shape", k, 1, 1);
  g.strides = spatial_attr(node, "strides", k, 1, 1);
  g.dilations = spatial_attr(node, "dilations", k, 1, 1);
  const int64_t ceil_mode = attr_int(node, "ceil_mode", 0);
  resolve_forward_window(node, g, ceil_mode != 0);
  return g;
}

// Output size / pads follow the ONNX spec:
//   natural = stride * (in - 1) + output_padding + (kernel - 1) * dilation + 1
//   explicit pads:  out = natural - pad_begin - pad_end
//   output_shape:   total = natural - out; SAME_UPPER: begin = total / 2, otherwise begin = total - total / 2
//   SAME_*:         out = in * stride, total = natural - out; the odd element at the end for SAME_UPPER
//                   (matches the backend test data test_convtranspose_autopad_same)
// A negative total (the requested output is larger than the natural one) is treated as zero padding with the
// extra outputs at the high end, receiving only the bias, as ONNX Runtime does.
WindowGeometry conv_transpose_geometry(const Node& node, const Shape& x, const Shape& w) {
  WindowGeometry g = weighted_window(node, x, w);
  const size_t k = x.size() - 2;
  const Shape output_padding = spatial_attr(node, "output_padding", k, 0, 0);
  const AutoPad auto_pad = parse_auto_pad(node);

  Shape requested;  // spatial output_shape, empty when absent
  if (node.attrs.has("output_shape")) {
    const Shape os = attr_ints(node, "output_shape", {});
    // The spec lists spatial sizes only; some exporters write the full N x C x ... shape.
    if (os.size() == k) {
      requested = os;
    } else if (os.size() == x.size()) {
      requested.assign(os.begin() + 2, os.end());
    } else {
      fail(node, "attribute 'output_shape' = " + shape_to_string(os) + " must have " + std::to_string(k) +
                     " spatial values");
    }
    for (int64_t e : requested) {
      if (e < 1) fail(node, "attribute 'output_shape' = " + shape_to_string(os) + " has a non-positive size");
    }
  }

  g.pad_begin.assign(k, 0);
  g.pad_end.assign(k, 0);
  g.out.assign(k, 0);
  if (requested.empty() && auto_pad == AutoPad::kNotSet) read_explicit_pads(node, g);
  for (size_t i = 0; i < k; ++i) {
    const int64_t natural = g.strides[i] * (g.in[i] - 1) + output_padding[i] + g.effective_kernel(i);
    if (!requested.empty() || auto_pad == AutoPad::kSameUpper || auto_pad == AutoPad::kSameLower) {
      g.out[i] = requested.empty() ? g.in[i] * g.strides[i] : requested[i];
      const int64_t total = std::max<int64_t>(0, natural - g.out[i]);
      g.pad_begin[i] = auto_pad == AutoPad::kSameUpper ? total / 2 : total - total / 2;
      g.pad_end[i] = total - g.pad_begin[i];
    } else {
      g.out[i] = natural - g.pad_begin[i] - g.pad_end[i];  // VALID: pads stay 0
    }
    if (g.out[i] < 1) {
      fail(node, "output spatial size " + std::to_string(g.out[i]) + " on axis " + std::to_string(i) +
                     " is not positive (input " + shape_to_string(g.in) + ", kernel " + shape_to_string(g.kernel) +
                     ", pads " + shape_to_string(g.pad_begin) + "/" + shape_to_string(g.pad_end) + ")");
    }
  }
  return g;
}

}  // namespace qwac::ir::nn
