// Sliding-window geometry of Conv, ConvTranspose and the pooling ops: the attributes (kernel_shape, strides,
// dilations, pads, auto_pad, ceil_mode, output_shape, output_padding) resolved against concrete input shapes.
//
// Shape inference and the reference kernels both call these functions, so the output size a kernel computes into
// is by construction the one inference announced. Every formula follows the ONNX operator spec; where runtimes
// disagree with the spec the comment at the function says which behaviour is implemented.
#pragma once

#include <cstdint>
#include <string>

#include "core/shape.h"
#include "ir/graph.h"

namespace qwac::ir::nn {

enum class AutoPad : uint8_t { kNotSet, kSameUpper, kSameLower, kValid };

// Reads the `auto_pad` attribute (default NOTSET); an unknown value is InvalidModel naming the node.
AutoPad parse_auto_pad(const Node& node);

// All vectors have one entry per spatial axis (D1..Dk of an N x C x D1 x ... x Dk tensor).
struct WindowGeometry {
  Shape in;         // input spatial sizes
  Shape kernel;     // kernel spatial sizes (undilated)
  Shape strides;
  Shape dilations;
  Shape pad_begin;  // may be negative only for ConvTranspose with output_shape (crop becomes zero-extension)
  Shape pad_end;
  Shape out;        // output spatial sizes

  size_t rank() const { return in.size(); }
  int64_t effective_kernel(size_t i) const { return (kernel[i] - 1) * dilations[i] + 1; }
};

// Conv: x = [N, C, D1..Dk], w = [M, C/group, k1..kk]. Checks ranks and that a kernel_shape attribute, when present,
// equals W's spatial dims. Channel/group consistency is checked by the caller (it knows `group`).
WindowGeometry conv_geometry(const Node& node, const Shape& x, const Shape& w);

// MaxPool / AveragePool: kernel_shape is required; ceil_mode and dilations are honoured when present.
// With ceil_mode, a window that would start in the end padding is dropped (ONNX spec, same as PyTorch/ORT).
WindowGeometry pool_geometry(const Node& node, const Shape& x);

// ConvTranspose: x = [N, C, D1..Dk], w = [C, M/group, k1..kk]. `out` is the output spatial size; output_padding
// is folded into it (the extra elements sit past pad_end's crop at the high end).
WindowGeometry conv_transpose_geometry(const Node& node, const Shape& x, const Shape& w);

}  // namespace qwac::ir::nn
