// Names and input positions of qwac's own ops (domain "com.qwac"). What each op computes, its inputs' types and its
// attributes are defined once in ir/qwac_ops.cc; the passes that create them are listed in passes/pass_list.cc.
#pragma once

#include <array>
#include <cstddef>
#include <string_view>

namespace qwac::ir {

inline constexpr std::string_view kQwacDomain = "com.qwac";

// FusedConv(X, W, [B], [Z]): activation(Conv(X, W, B) + Z).
inline constexpr std::string_view kFusedConvOp = "FusedConv";
// FakeQuantize(X, scale, [zero_point]): a Q -> DQ pair in one float pass.
inline constexpr std::string_view kFakeQuantizeOp = "FakeQuantize";
// Activation(X): the standalone form of a fused activation (ir/activation.h).
inline constexpr std::string_view kActivationOp = "Activation";

// QConv and QGemm: integer convolution / matrix product with the requantization and activation fused.
inline constexpr std::string_view kQConvOp = "QConv";
inline constexpr std::string_view kQGemmOp = "QGemm";
struct QConvInputs {
  static constexpr size_t kX = 0, kXScale = 1, kXZeroPoint = 2, kW = 3, kWScale = 4, kBias = 5, kYScale = 6,
                          kYZeroPoint = 7, kCount = 8;
};
using QGemmInputs = QConvInputs;  // the same positions

// QAdd: integer element-wise add of two 8-bit tensors.
inline constexpr std::string_view kQAddOp = "QAdd";
struct QAddInputs {
  static constexpr size_t kA = 0, kAScale = 1, kAZeroPoint = 2, kB = 3, kBScale = 4, kBZeroPoint = 5, kYScale = 6,
                          kYZeroPoint = 7, kCount = 8;
};
// QMul: integer element-wise product of two 8-bit tensors (QAdd's inputs and semantics with * for +).
inline constexpr std::string_view kQMulOp = "QMul";
using QMulInputs = QAddInputs;

// QMatMul: alpha * DequantizeLinear(A) @ DequantizeLinear(B), float, for two computed 8-bit tensors (attention's
// Q x K^T); MatMul's numpy shapes.
inline constexpr std::string_view kQMatMulOp = "QMatMul";
struct QMatMulInputs {
  static constexpr size_t kA = 0, kAScale = 1, kAZeroPoint = 2, kB = 3, kBScale = 4, kBZeroPoint = 5, kCount = 6;
};

// QLookup: Y[i] = Table[code of X[i]] for an 8-bit X, indexed by the code's byte (uint8 x: x; int8 x: x & 0xFF).
// Any element-wise computation whose only varying input is one 8-bit tensor is a function of its 256 codes; the
// engine's int8 passes (passes/qdq/lookup_fusion.h) replace such chains by one QLookup and leave the chain, applied
// to the 256 codes, for the compile-time constant folding to turn into the table.
inline constexpr std::string_view kQLookupOp = "QLookup";
struct QLookupInputs {
  static constexpr size_t kX = 0, kTable = 1, kCount = 2;
};

// QLinearPool: pooling of an 8-bit tensor requantized with other parameters. Max pooling whose output keeps its
// input's parameters is no QLinearPool: the ONNX op runs on the 8-bit tensor (max commutes with the monotonic
// dequantization). The reference kernel is the simulation exactly (round half to even of pool / y_scale, then
// + y_zero_point); oneDNN's multiplies by x_scale / y_scale and adds y_zero_point before rounding, so it may land one
// step away at a tie.
inline constexpr std::string_view kQLinearPoolOp = "QLinearPool";
struct QLinearPoolInputs {
  static constexpr size_t kX = 0, kXScale = 1, kXZeroPoint = 2, kYScale = 3, kYZeroPoint = 4, kCount = 5;
};
// QLayerNorm: LayerNormalization of a dequantized 8-bit tensor, quantized again: the transformer's residual stream
// (an 8-bit QAdd output) normalized straight into the 8-bit input of the next QGemm, instead of a DequantizeLinear,
// a float LayerNorm and a QuantizeLinear inside the QGemm (three passes over the activations and two float copies).
inline constexpr std::string_view kQLayerNormOp = "QLayerNorm";
struct QLayerNormInputs {
  static constexpr size_t kX = 0, kXScale = 1, kXZeroPoint = 2, kScale = 3, kBias = 4, kYScale = 5, kYZeroPoint = 6,
                          kCount = 7;
};

inline constexpr std::array<std::string_view, 4> kQLinearPoolKinds = {"MaxPool", "AveragePool", "GlobalAveragePool",
                                                                      "GlobalMaxPool"};

}  // namespace qwac::ir
