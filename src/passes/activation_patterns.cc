#include "passes/activation_patterns.h"

#include <cmath>

namespace qwac::passes {
namespace {

using ir::ActivationKind;
using ir::OpMatcher;
using ir::Pattern;

constexpr float kSqrt2 = 1.41421356237f;
constexpr float kSqrt2OverPi = 0.79788456080f;
constexpr float kGeluCubic = 0.044715f;
constexpr float kTolerance = 1e-3f;  // relative: exporters round 1/6, 1/sqrt(2), ... to a few digits

// A node whose activation (ir::activation_from_node) satisfies `fits`.
OpMatcher activation_node(std::function<bool(const ir::Activation&)> fits) {
  return ir::with(OpMatcher{{}, ir::kAnyDomain, {}}, [fits = std::move(fits)](const ir::Node& n) {
    // The opset matters for Clip's bounds (attributes before opset 11, inputs after; a node uses one or the other)
    // and for HardSwish / Gelu ops, which are no part of a decomposition here.
    const bool clip_attributes = n.op_type() == "Clip" && (n.attrs.has("min") || n.attrs.has("max"));
    const std::optional<ir::Activation> a = ir::activation_from_node(n, clip_attributes ? 10 : 13);
    return a.has_value() && fits(*a);
  });
}

bool near(float value, float expected) {
  return std::fabs(value - expected) <= kTolerance * std::max(1.f, std::fabs(expected));
}

// relu6(x + 3): Add(x, 3) then Clip(0, 6) (bounds as attributes or constant inputs).
void add_relu6_of_x_plus_3(Pattern& p) {
  p.input("three", ir::scalar_near(3.f, kTolerance));
  p.node("shifted", ir::op("Add"), {"x", "three"}, true);
  p.node("relu6", activation_node([](const ir::Activation& a) {
           return a.kind == ActivationKind::kClip && a.alpha == 0.f && near(a.beta, 6.f);
         }),
         {"shifted"}, false, /*more_inputs=*/true);
}

Pattern x_input() {
  Pattern p;
  p.input("x");
  return p;
}

std::optional<ir::Activation> fixed(ActivationKind kind, float alpha = 0.f, float beta = 0.f) {
  return ir::Activation{kind, alpha, beta};
}

std::vector<ActivationPattern> make_patterns() {
  std::vector<ActivationPattern> rows;
  auto hard_sigmoid = [](const ir::PatternMatch&, int64_t) {
    return fixed(ActivationKind::kHardSigmoid, 1.f / 6.f, 0.5f);
  };
  auto hard_swish = [](const ir::PatternMatch&, int64_t) { return fixed(ActivationKind::kHardSwish); };

  // Hard-sigmoid: relu6(x + 3) / 6 and relu6(x + 3) * (1/6).
  {
    Pattern p = x_input();
    add_relu6_of_x_plus_3(p);
    p.input("six", ir::scalar_near(6.f, kTolerance));
    p.node("y", ir::op("Div"), {"relu6", "six"});
    rows.push_back({"relu6(x + 3) / 6", p, hard_sigmoid});
  }
  {
    Pattern p = x_input();
    add_relu6_of_x_plus_3(p);
    p.input("sixth", ir::scalar_near(1.f / 6.f, kTolerance));
    p.node("y", ir::op("Mul"), {"relu6", "sixth"}, true);
    rows.push_back({"relu6(x + 3) * (1/6)", p, hard_sigmoid});
  }
  // Hard-swish: x * HardSigmoid(x) (alpha 1/6, beta 1/2: torch's export before opset 14), x * relu6(x + 3) / 6 and
  // x * relu6(x + 3) * (1/6).
  {
    Pattern p = x_input();
    p.node("gate", activation_node([](const ir::Activation& a) {
             return a.kind == ActivationKind::kHardSigmoid && near(a.alpha, 1.f / 6.f) && near(a.beta, 0.5f);
           }),
           {"x"});
    p.node("y", ir::op("Mul"), {"x", "gate"}, true);
    rows.push_back({"x * HardSigmoid(x)", p, hard_swish});
  }
  {
    Pattern p = x_input();
    add_relu6_of_x_plus_3(p);
    p.node("gated", ir::op("Mul"), {"x", "relu6"}, true);
    p.input("six", ir::scalar_near(6.f, kTolerance));
    p.node("y", ir::op("Div"), {"gated", "six"});
    rows.push_back({"x * relu6(x + 3) / 6", p, hard_swish});
  }
  {
    Pattern p = x_input();
    add_relu6_of_x_plus_3(p);
    p.node("gated", ir::op("Mul"), {"x", "relu6"}, true);
    p.input("sixth", ir::scalar_near(1.f / 6.f, kTolerance));
    p.node("y", ir::op("Mul"), {"gated", "sixth"}, true);
    rows.push_back({"x * relu6(x + 3) * (1/6)", p, hard_swish});
  }
  // SiLU / Swish: x * Sigmoid(x).
  {
    Pattern p = x_input();
    p.node("gate", ir::op("Sigmoid"), {"x"});
    p.node("y", ir::op("Mul"), {"x", "gate"}, true);
    rows.push_back(
        {"x * Sigmoid(x)", p, [](const ir::PatternMatch&, int64_t) { return fixed(ActivationKind::kSwish, 1.f); }});
  }
  // Mish: x * Tanh(Softplus(x)) (torch's export before opset 18).
  {
    Pattern p = x_input();
    p.node("softplus", ir::op("Softplus"), {"x"});
    p.node("gate", ir::op("Tanh"), {"softplus"});
    p.node("y", ir::op("Mul"), {"x", "gate"}, true);
    rows.push_back(
        {"x * Tanh(Softplus(x))", p, [](const ir::PatternMatch&, int64_t) { return fixed(ActivationKind::kMish); }});
  }
  // GELU: x * (1 + g) * 0.5 in the three association orders exporters write, g = erf(x / sqrt(2)) (the exact form,
  // x / sqrt(2) as a Div or as a product by 1 / sqrt(2)) or g = tanh(sqrt(2 / pi) * (x + 0.044715 x^3)) (x^3 as
  // Pow(x, 3), x * (x * x) or (x * x) * x).
  using GateBuilder = std::function<void(Pattern&)>;  // adds nodes ending in "g"
  std::vector<std::pair<std::string, GateBuilder>> erf_gates = {
      {"erf(x / sqrt2)",
       [](Pattern& p) {
         p.input("sqrt2", ir::scalar_near(kSqrt2, kTolerance));
         p.node("scaled", ir::op("Div"), {"x", "sqrt2"});
         p.node("g", ir::op("Erf"), {"scaled"});
       }},
      {"erf(x * (1/sqrt2))", [](Pattern& p) {
         p.input("inv_sqrt2", ir::scalar_near(1.f / kSqrt2, kTolerance));
         p.node("scaled", ir::op("Mul"), {"x", "inv_sqrt2"}, true);
         p.node("g", ir::op("Erf"), {"scaled"});
       }}};
  std::vector<std::pair<std::string, GateBuilder>> cubes = {{"Pow(x, 3)",
                                                             [](Pattern& p) {
                                                               p.input("three", ir::scalar_near(3.f, kTolerance));
                                                               p.node("cube", ir::op("Pow"), {"x", "three"});
                                                             }},
                                                            {"x * (x * x)", [](Pattern& p) {
                                                               p.node("square", ir::op("Mul"), {"x", "x"});
                                                               p.node("cube", ir::op("Mul"), {"x", "square"}, true);
                                                             }}};
  std::vector<std::pair<std::string, GateBuilder>> tanh_gates;
  for (const auto& [cube_name, cube] : cubes) {
    tanh_gates.push_back({"tanh(sqrt(2/pi) * (x + 0.044715 " + cube_name + "))", [cube = cube](Pattern& p) {
                            cube(p);
                            p.input("c", ir::scalar_near(kGeluCubic, kTolerance));
                            p.node("cubic", ir::op("Mul"), {"cube", "c"}, true);
                            p.node("inner", ir::op("Add"), {"x", "cubic"}, true);
                            p.input("k", ir::scalar_near(kSqrt2OverPi, kTolerance));
                            p.node("scaled", ir::op("Mul"), {"inner", "k"}, true);
                            p.node("g", ir::op("Tanh"), {"scaled"});
                          }});
  }
  auto add_gelu_rows = [&](const std::vector<std::pair<std::string, GateBuilder>>& gates, ActivationKind kind) {
    for (const auto& [gate_name, gate] : gates) {
      for (int order = 0; order < 3; ++order) {
        Pattern p = x_input();
        gate(p);
        p.input("one", ir::scalar_near(1.f, kTolerance));
        p.node("one_plus", ir::op("Add"), {"g", "one"}, true);
        p.input("half", ir::scalar_near(0.5f, kTolerance));
        std::string name;
        if (order == 0) {  // (x * (1 + g)) * 0.5
          p.node("gated", ir::op("Mul"), {"x", "one_plus"}, true);
          p.node("y", ir::op("Mul"), {"gated", "half"}, true);
          name = "(x * (1 + " + gate_name + ")) * 0.5";
        } else if (order == 1) {  // (x * 0.5) * (1 + g)
          p.node("half_x", ir::op("Mul"), {"x", "half"}, true);
          p.node("y", ir::op("Mul"), {"half_x", "one_plus"}, true);
          name = "(x * 0.5) * (1 + " + gate_name + ")";
        } else {  // x * ((1 + g) * 0.5)
          p.node("halved", ir::op("Mul"), {"one_plus", "half"}, true);
          p.node("y", ir::op("Mul"), {"x", "halved"}, true);
          name = "x * ((1 + " + gate_name + ") * 0.5)";
        }
        rows.push_back({name, p, [kind](const ir::PatternMatch&, int64_t) { return fixed(kind); }});
      }
    }
  };
  add_gelu_rows(erf_gates, ActivationKind::kGelu);
  add_gelu_rows(tanh_gates, ActivationKind::kGeluTanh);
  return rows;
}

}  // namespace

const std::vector<ActivationPattern>& activation_patterns() {
  static const std::vector<ActivationPattern> rows = make_patterns();
  return rows;
}

}  // namespace qwac::passes
