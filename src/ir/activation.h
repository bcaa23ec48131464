// The fused activation: one typed descriptor, parsed once, for every op that applies an activation to its result
// (com.qwac FusedConv, FusedGemm, QConv, QGemm, QAdd, Activation; the passes that create them; their kernels).
//
// An Activation is {kind, alpha, beta}: a kind from ActivationKind and up to two float parameters whose meaning
// the kind's row of the facts table gives (Clip: min and max; LeakyRelu / Elu / Swish: alpha; HardSigmoid: alpha
// and beta). On a node it is stored as two attributes, as ONNX Runtime's com.microsoft FusedConv does:
//   activation:        string, the kind's name (absent = no activation)
//   activation_params: floats, as many as the kind takes (absent = the kind's defaults)
//
// Adding an activation = one row in kActivationFacts (activation.cc) + its case in the scalar oracle
// (kernels/ref/activation.h) + its oneDNN mapping (kernels/dnnl/dnnl_activation.cc) + a test.
#pragma once

#include <array>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include "ir/attribute.h"
#include "ir/graph.h"

namespace qwac::ir {

enum class ActivationKind : uint8_t {
  kNone,
  kRelu,         // max(x, 0)
  kLeakyRelu,    // x >= 0 ? x : alpha * x
  kClip,         // min(max(x, alpha), beta)       (Relu6 = Clip(0, 6))
  kSigmoid,      // 1 / (1 + exp(-x))
  kTanh,         // tanh(x)
  kHardSigmoid,  // max(0, min(1, alpha * x + beta))
  kHardSwish,    // x * max(0, min(1, x / 6 + 1/2))  (ONNX HardSwish)
  kSwish,        // x * sigmoid(alpha * x)           (SiLU: alpha = 1)
  kGelu,         // x / 2 * (1 + erf(x / sqrt(2)))
  kGeluTanh,     // x / 2 * (1 + tanh(sqrt(2 / pi) * (x + 0.044715 x^3)))
  kElu,          // x >= 0 ? x : alpha * (exp(x) - 1)
  kCount
};

struct Activation {
  ActivationKind kind = ActivationKind::kNone;
  float alpha = 0.f, beta = 0.f;  // the kind's parameters; unused ones are 0

  bool none() const { return kind == ActivationKind::kNone; }
  bool operator==(const Activation&) const = default;

  // The activation of a fused op's attributes; throws InvalidModel naming `owner` (a node description) for an
  // unknown name or a wrong number of parameters.
  static Activation from_attributes(const Attributes& attrs, const std::string& owner);
  // Writes the two attributes (removes them for kNone). Parameters equal to the defaults are still written, so the
  // value never depends on which defaults a reader assumes.
  void to_attributes(Attributes& attrs) const;
  // "HardSigmoid(alpha=0.2, beta=0.5)", "none".
  std::string describe() const;
};

// Facts about one kind: one row each, indexed by the kind.
struct ActivationFacts {
  ActivationKind kind;
  std::string_view name;  // the attribute value ("Relu", "Swish", "Gelu", ...)
  // The ONNX op this kind stands for and its first default-domain opset; an empty op when ONNX has none (Swish,
  // GeluTanh: they exist only as decompositions that passes/recognize_activations.h rewrites into one op).
  std::string_view onnx_op;
  int64_t since_opset;
  int num_params;                          // 0..2
  std::array<std::string_view, 2> params;  // the ONNX attribute names of alpha and beta ("alpha", "min", ...)
  std::array<float, 2> defaults;           // their defaults
  // f(a x) = a f(x) for every a > 0: the activation commutes with a positive output scale, so an int8 kernel may
  // apply it after the requantization scale. Others are applied in the real domain (kernels/dnnl/dnnl_activation.h).
  bool positively_homogeneous;
};

inline constexpr size_t kActivationKindCount = static_cast<size_t>(ActivationKind::kCount);
const ActivationFacts& activation_facts(ActivationKind kind);
// The row whose name is `name`; nullptr when there is none.
const ActivationFacts* find_activation(std::string_view name);

// The activation an ONNX node computes, when it is one the table knows with parameters known at compile time
// (default domain, one input of data and one output; Clip's bounds are attributes before opset 11, constant
// scalar inputs after; Gelu's `approximate` picks kGelu or kGeluTanh). Also reads com.qwac Activation nodes.
// nullopt otherwise.
std::optional<Activation> activation_from_node(const Node& node, int64_t opset);

}  // namespace qwac::ir
