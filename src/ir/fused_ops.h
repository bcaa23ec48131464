// Facts about qwac's fused ops (domain "com.qwac"), shared by the pass that creates them, their shape inference
// and their kernels. Same convention as ONNX Runtime's com.microsoft FusedConv:
//   FusedConv(X, W, [B], [Z]) with every Conv attribute plus
//     activation: string, one of kFusedActivations (absent = none)
//     activation_params: floats, as many as the activation takes (defaults of the ONNX op otherwise)
//   Y = activation(Conv(X, W, B) + Z)   (Z, the residual, broadcasts unidirectionally to the Conv output)
//   FakeQuantize(X, scale, [zero_point]) with attribute axis (as QuantizeLinear's, default 1, used when scale is
//     1-D): Y = DequantizeLinear(QuantizeLinear(X, scale, zero_point), scale, zero_point) computed in float, with
//     the integer range of zero_point's type (uint8 when absent). What a Q -> DQ pair computes, in one pass.
#pragma once

#include <array>
#include <string_view>

namespace qwac::ir {

inline constexpr std::string_view kQwacDomain = "com.qwac";
inline constexpr std::string_view kFusedConvOp = "FusedConv";
inline constexpr std::string_view kFakeQuantizeOp = "FakeQuantize";

struct FusedActivationFacts {
  std::string_view name;  // the ONNX op it stands for
  size_t num_params;      // activation_params: Clip{min,max}, LeakyRelu{alpha}, Elu{alpha}, HardSigmoid{alpha,beta}
};

inline constexpr std::array<FusedActivationFacts, 8> kFusedActivations = {{
    {"Relu", 0},
    {"LeakyRelu", 1},
    {"Clip", 2},
    {"Sigmoid", 0},
    {"HardSigmoid", 2},
    {"HardSwish", 0},
    {"Tanh", 0},
    {"Elu", 1},
}};

// nullptr when `name` is not a fusable activation.
inline const FusedActivationFacts* find_fused_activation(std::string_view name) {
  for (const FusedActivationFacts& f : kFusedActivations) {
    if (f.name == name) return &f;
  }
  return nullptr;
}

}  // namespace qwac::ir
