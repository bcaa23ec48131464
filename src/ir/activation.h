// The fused activation: one typed descriptor, parsed once, for every op that applies an activation to its result
// (com.qwac FusedConv, FusedGemm, QConv, QGemm, QAdd, Activation; the passes that create them; their kernels).
//
// An Activation is {kind, alpha, beta}: a kind from ActivationKind and up to two float parameters whose meaning
// the kind's row of the facts table gives (Clip: min and max; LeakyRelu / Elu / Swish: alpha; HardSigmoid: alpha
// and beta). On a node it is stored as two attributes, as ONNX Runtime's com.microsoft FusedConv does:
//   activation:        string, the kind's name (absent = no activation)
//   activation_params: floats, as many as the kind takes (absent = the kind's defaults)
//
// Adding an activation = its kind and its row in kActivationFacts (this file) + its case in the scalar oracle
// (kernels/ref/activation.h) + its oneDNN mapping (kernels/dnnl/dnnl_activation.cc) + a hand-computed value in
// tests/kernels/activation_test.cc. The rest reads the table: parsing and writing the attributes, recognizing the
// ONNX op (activation_from_node), fusing it into Conv / Gemm / QConv / QGemm / QAdd, the standalone kernels of the
// ONNX op and of com.qwac Activation, and the kernel tests of every fusing op (tests/kernels/activation_cases.h).
#pragma once

#include <array>
#include <cstdint>
#include <limits>
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
  kMish,         // x * tanh(softplus(x)) = x * tanh(ln(1 + exp(x)))
  kCount
};

inline constexpr size_t kActivationKindCount = static_cast<size_t>(ActivationKind::kCount);

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

// The table: one row per kind, in enum order. Clip's defaults are the float range (no bound).
inline constexpr float kNoLowerBound = std::numeric_limits<float>::lowest();
inline constexpr float kNoUpperBound = std::numeric_limits<float>::max();
// clang-format off
inline constexpr std::array<ActivationFacts, kActivationKindCount> kActivationFacts = {{
    // kind,                      name,          ONNX op,       since, params, names,             defaults,                      homogeneous
    {ActivationKind::kNone,        "",            "",            1,     0,      {"", ""},          {0.f, 0.f},                    true},
    {ActivationKind::kRelu,        "Relu",        "Relu",        6,     0,      {"", ""},          {0.f, 0.f},                    true},
    {ActivationKind::kLeakyRelu,   "LeakyRelu",   "LeakyRelu",   6,     1,      {"alpha", ""},     {0.01f, 0.f},                  true},
    {ActivationKind::kClip,        "Clip",        "Clip",        6,     2,      {"min", "max"},    {kNoLowerBound, kNoUpperBound}, false},
    {ActivationKind::kSigmoid,     "Sigmoid",     "Sigmoid",     6,     0,      {"", ""},          {0.f, 0.f},                    false},
    {ActivationKind::kTanh,        "Tanh",        "Tanh",        6,     0,      {"", ""},          {0.f, 0.f},                    false},
    {ActivationKind::kHardSigmoid, "HardSigmoid", "HardSigmoid", 6,     2,      {"alpha", "beta"}, {0.2f, 0.5f},                  false},
    {ActivationKind::kHardSwish,   "HardSwish",   "HardSwish",   14,    0,      {"", ""},          {0.f, 0.f},                    false},
    {ActivationKind::kSwish,       "Swish",       "",            0,     1,      {"alpha", ""},     {1.f, 0.f},                    false},
    {ActivationKind::kGelu,        "Gelu",        "Gelu",        20,    0,      {"", ""},          {0.f, 0.f},                    false},
    {ActivationKind::kGeluTanh,    "GeluTanh",    "",            0,     0,      {"", ""},          {0.f, 0.f},                    false},
    {ActivationKind::kElu,         "Elu",         "Elu",         6,     1,      {"alpha", ""},     {1.f, 0.f},                    false},
    {ActivationKind::kMish,        "Mish",        "Mish",        18,    0,      {"", ""},          {0.f, 0.f},                    false},
}};
// clang-format on

constexpr bool activation_rows_in_kind_order() {
  for (size_t i = 0; i < kActivationFacts.size(); ++i) {
    if (static_cast<size_t>(kActivationFacts[i].kind) != i) return false;
  }
  return true;
}
static_assert(activation_rows_in_kind_order(), "kActivationFacts: one row per ActivationKind, in enum order");

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

const ActivationFacts& activation_facts(ActivationKind kind);
// The row whose name is `name`; nullptr when there is none.
const ActivationFacts* find_activation(std::string_view name);

// The activation an ONNX node computes, when it is one the table knows with parameters known at compile time
// (default domain, one input of data and one output; Clip's bounds are attributes before opset 11, constant
// scalar inputs after; Gelu's `approximate` picks kGelu or kGeluTanh). Also reads com.qwac Activation nodes.
// nullopt otherwise.
std::optional<Activation> activation_from_node(const Node& node, int64_t opset);

}  // namespace qwac::ir
