// Facts about qwac's fused ops (domain "com.qwac"), shared by the pass that creates them, their shape inference
// and their kernels. Same convention as ONNX Runtime's com.microsoft FusedConv:
//   FusedConv(X, W, [B], [Z]) with every Conv attribute plus
//     activation: string, an activation kind of ir/activation.h (absent = none)
//     activation_params: floats, as many as the activation takes (defaults of the ONNX op otherwise)
//   Y = activation(Conv(X, W, B) + Z)   (Z, the residual, broadcasts unidirectionally to the Conv output)
//   FakeQuantize(X, scale, [zero_point]) with attribute axis (as QuantizeLinear's, default 1, used when scale is
//     1-D): Y = DequantizeLinear(QuantizeLinear(X, scale, zero_point), scale, zero_point) computed in float, with
//     the integer range of zero_point's type (uint8 when absent). What a Q -> DQ pair computes, in one pass.
//   QConv(X, x_scale, x_zero_point, W, w_scale, [B], [y_scale], [y_zero_point]) with every Conv attribute plus
//     activation / activation_params as FusedConv, where
//     X: uint8 or int8 activations, x_scale: float scalar, x_zero_point: scalar of X's type (absent = uint8 0);
//       or float activations, quantized first: X := QuantizeLinear(X, x_scale, x_zero_point) (int8 or uint8 as
//       x_zero_point; uint8 when absent);
//     W: int8 constant weights (zero point 0), w_scale: float scalar or [M] (per output channel, axis 0);
//     B: float [M], the dequantized bias (DequantizeLinear of the int32 bias, folded at compile time);
//     y_scale, y_zero_point: float scalar and uint8/int8 scalar; both present or both absent.
//   Y = QuantizeLinear(activation(Conv(DequantizeLinear(X), DequantizeLinear(W), B)), y_scale, y_zero_point)
//     with y_zero_point's type, or the float activation(Conv(...)) when y_scale is absent. Created by
//     passes/fuse_qdq_conv.h (EngineOptions::int8); the oneDNN kernel computes it with integer arithmetic.
#pragma once

#include <array>
#include <cstddef>
#include <string_view>

namespace qwac::ir {

inline constexpr std::string_view kQwacDomain = "com.qwac";
inline constexpr std::string_view kFusedConvOp = "FusedConv";
inline constexpr std::string_view kFakeQuantizeOp = "FakeQuantize";
inline constexpr std::string_view kQConvOp = "QConv";

// Input positions of QConv.
struct QConvInputs {
  static constexpr size_t kX = 0, kXScale = 1, kXZeroPoint = 2, kW = 3, kWScale = 4, kBias = 5, kYScale = 6,
                          kYZeroPoint = 7, kCount = 8;
};

// Integer element-wise and matrix ops (passes/fuse_qdq_add.h, passes/fuse_qdq_gemm.h; EngineOptions::int8):
//   QAdd(A, a_scale, a_zero_point, B, b_scale, b_zero_point, [y_scale], [y_zero_point]) with activation /
//     activation_params as FusedConv, where
//     A, B: uint8 or int8 (each its own type), numpy-broadcast to each other as Add's inputs;
//     a_scale, b_scale: float scalars; a_zero_point, b_zero_point: scalars of A's / B's type (absent = uint8 0);
//     y_scale, y_zero_point: float scalar and uint8/int8 scalar, both present or both absent.
//   Y = QuantizeLinear(activation(DequantizeLinear(A) + DequantizeLinear(B)), y_scale, y_zero_point), or the float
//     activation(...) when y_scale is absent.
//   QGemm(X, x_scale, x_zero_point, W, w_scale, [B], [y_scale], [y_zero_point]) with attributes transB (0/1,
//     default 0) and activation / activation_params as QAdd, where
//     X: uint8 or int8 [..., K] (rank 2 for a Gemm), or float, quantized first as in QConv; x_scale and
//       x_zero_point as QConv's;
//     W: int8 constant [K, N] (transB 0) or [N, K] (transB 1), zero point 0; w_scale: float scalar or [N] (per
//       output column);
//     B: float [N] (or [1, N]), added to every row;
//     y_scale, y_zero_point as QAdd's.
//   Y = QuantizeLinear(activation(DequantizeLinear(X) @ DequantizeLinear(W)(^T) + B), y_scale, y_zero_point), or
//     the float activation(...); shape [..., N]. What Gemm (alpha = beta = 1, transA = 0) and MatMul with a 2-D
//     weight compute on dequantized operands.
inline constexpr std::string_view kQAddOp = "QAdd";
inline constexpr std::string_view kQGemmOp = "QGemm";

struct QAddInputs {
  static constexpr size_t kA = 0, kAScale = 1, kAZeroPoint = 2, kB = 3, kBScale = 4, kBZeroPoint = 5, kYScale = 6,
                          kYZeroPoint = 7, kCount = 8;
};
// QGemm takes QConv's input positions (X, x_scale, x_zero_point, W, w_scale, B, y_scale, y_zero_point).
using QGemmInputs = QConvInputs;

// Requantizing pooling (passes/fuse_qdq_int8_ops.h; EngineOptions::int8):
//   QLinearPool(X, x_scale, [x_zero_point], y_scale, y_zero_point) with every attribute of the pooling op plus
//     pool: string, the ONNX pooling op it computes, one of kQLinearPoolKinds, where
//     X: uint8 or int8; x_scale: float scalar; x_zero_point: scalar of X's type (absent = uint8 0);
//     y_scale: float scalar; y_zero_point: uint8 or int8 scalar, the output type.
//   Y = QuantizeLinear(pool(DequantizeLinear(X)), y_scale, y_zero_point): a pooling whose output is requantized with
//     other parameters than its input's (ONNX Runtime's com.microsoft QLinearAveragePool, for every pooling op).
//     Max pooling whose output keeps its input's parameters is no QLinearPool: the pass runs the plain ONNX op on the
//     8-bit tensor (max and data movement commute with the monotonic dequantization). The reference kernel is the
//     simulation exactly (round half to even of pool / y_scale, then + y_zero_point); oneDNN's multiplies by
//     x_scale / y_scale and adds y_zero_point before rounding, so it may land one step away at a tie.
inline constexpr std::string_view kQLinearPoolOp = "QLinearPool";

struct QLinearPoolInputs {
  static constexpr size_t kX = 0, kXScale = 1, kXZeroPoint = 2, kYScale = 3, kYZeroPoint = 4, kCount = 5;
};
inline constexpr std::array<std::string_view, 4> kQLinearPoolKinds = {"MaxPool", "AveragePool", "GlobalAveragePool",
                                                                      "GlobalMaxPool"};

// The standalone form of a fused activation (ir/activation.h), created by passes/recognize_activations.h for the
// decompositions ONNX has no op for at the model's opset (x * Sigmoid(x), x * HardSigmoid(x) before opset 14, GELU):
//   Activation(X) with attributes activation / activation_params: Y = activation(X), X float.
inline constexpr std::string_view kActivationOp = "Activation";

}  // namespace qwac::ir
