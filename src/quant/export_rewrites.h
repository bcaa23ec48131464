// Rewrites of a materialized QDQ graph for the runtime that will execute it (an ExportProfile), applied last by
// materialize_qdq. Each keeps every number the QDQ graph computes (up to float rounding of one op), so what qwac
// evaluates is what the runtime runs.
//
// Lowerings, by name (ExportProfile::lowerings):
//  - "hard_sigmoid_as_add": DQ(x) -> HardSigmoid(alpha, beta) -> Q(s, 0, uint8)  becomes
//    DQ(x) + beta/alpha -> Q(s/alpha, 0, uint8), the DequantizeLinear after it unchanged. For alpha > 0,
//    Q_s(clip(alpha*x + beta, 0, 1)) = clamp(round((x + beta/alpha) / (s/alpha)), 0, 255) whenever the quantizer's
//    range [0, 255 s] lies within [0, 1] (always so for a HardSigmoid output): the clip is the saturation of the
//    QuantizeLinear. ONNX Runtime has no int8 HardSigmoid and runs it in float between DequantizeLinear and
//    QuantizeLinear; the Add (with its constant as a DequantizeLinear) is a QLinearAdd, so x * HardSigmoid(x) runs as
//    QLinearAdd + QLinearMul, all in 8 bits. The input's DequantizeLinear must be uint8 (one type per QLinear op).
//  - "hard_swish_as_add_mul": DQ(x) -> HardSwish -> Q  becomes  DQ(x) * DQ(Q(DQ(x) + 3, 6/255), 1/255) -> Q, the
//    same hard-sigmoid trick with the factor on a fixed [0, 1] grid of step 1/255 (the one number that changes: at
//    most 0.2 % of x). ONNX Runtime has no HardSwish kernel (it expands the function into float HardSigmoid and Mul);
//    this runs as QLinearAdd + QLinearMul.
//  - "pad_depthwise_channels": a depthwise Conv whose channel count is not a multiple of 16 gets zero channels up to
//    the next multiple, with every op of its channel region: the Convs writing the region (zero output channels:
//    zero weights and bias), the channel-wise ops between (Q/DQ per tensor, Relu, Clip, the hard-swish/hard-sigmoid
//    forms, Sigmoid, Add/Mul, GlobalAveragePool: they map 0 to 0 or multiply by it) and the Convs reading it (zero
//    input-channel weights). Every number of the original channels is unchanged. ONNX Runtime's symmetric int8
//    depthwise kernel (MLAS) takes multiples of 16 only; other counts run a generic kernel 1.5-2.4x slower than the
//    float one (MobileNetV3-Small 224 b1: the 72-, 88- and 120-channel depthwise convolutions 0.30 -> 0.15 ms). A
//    region that reaches a graph input or output, or any other op, is left alone.
//  - "movers_on_integers": DQ(x) -> Reshape/Transpose/Gather/... whose output is read by a QuantizeLinear with the
//    DQ's parameters and by float ops (attention's qkv split: Q and K requantized, V read in float) becomes the mover
//    on the 8-bit x, a DequantizeLinear after it for the float readers, without the QuantizeLinear (exact: the op
//    moves elements, the parameters are per-tensor). ONNX Runtime drops Q/DQ around a mover only when its output has
//    one QuantizeLinear reader, and runs the Q -> DQ -> Q chain left otherwise.
//
// Float weights (ExportProfile::float_unfused_weights): a DequantizeLinear of a constant (weight, int32 bias) whose
// reader the runtime would not turn into an int8 kernel runs at every inference; it is replaced by its float result
// (computed at export: the same numbers). The reader is fused when it is a quantized op of the profile whose every
// present input comes from a DequantizeLinear and, when the profile requires an output quantizer for it, whose output
// (or the output of a Relu/Clip right after it) is read by exactly one QuantizeLinear and is not a graph output, or
// when it is the bias Add of such a MatMul (ONNX Runtime fuses MatMul + Add into a Gemm first and runs it as QGemm).
#pragma once

#include <string>
#include <vector>

#include "core/logger.h"
#include "ir/graph.h"
#include "quant/hw_config.h"

namespace qwac::quant {

// Applies every lowering the profile names; returns "name: N rewritten" notes. InvalidConfig for an unknown name.
std::vector<std::string> apply_lowerings(ir::Graph& graph, const ExportProfile& profile);

// Known lowering names, for messages and tests.
std::vector<std::string> known_lowerings();

// Replaces the DequantizeLinear of constants whose reader the profile's runtime does not fuse by float constants;
// returns how many were replaced.
size_t dequantize_unfused_constants(ir::Graph& graph, const ExportProfile& profile);

}  // namespace qwac::quant
