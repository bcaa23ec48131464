// Fusion patterns as data: strict parsing, and matching on hand-built graphs (both hard-swish forms, swish, operand
// order, the safety checks that keep a fusion from swallowing a value someone else reads).
#include "quant/fusion_pattern.h"

#include <gtest/gtest.h>

#include "quant/hw_config.h"
#include "qwac/error.h"

namespace qwac::quant {
namespace {

using nlohmann::json;

const json kHswish = json::parse(R"({"name": "hswish", "output": "y", "after": ["Conv"],
  "nodes": [{"id": "h", "op": ["HardSigmoid"], "inputs": ["x"]},
            {"id": "y", "op": ["Mul"], "inputs": ["x", "h"], "commutative": true}]})");

struct Graph {
  ir::Model model;
  ir::Graph& g;
  Graph() : g(*(model.graph = std::make_unique<ir::Graph>())) {}
  ir::Value* input(const std::string& name) {
    ir::Value* v = g.add_value(name);
    v->type.dtype = DType::kFloat32;
    g.add_input(v);
    return v;
  }
  ir::Value* node(const std::string& op, std::vector<ir::Value*> inputs, const std::string& name) {
    ir::Value* out = g.add_value(name + "_out");
    out->type.dtype = DType::kFloat32;
    g.add_node(op, inputs, {out}, name);
    return out;
  }
  ir::Value* conv(ir::Value* x, const std::string& name) {
    return node("Conv", {x, g.add_constant(name + "_w", Tensor(DType::kFloat32, {4, 4, 1, 1}))}, name);
  }
};

TEST(FusionPattern, ParsesNodesCapturesAndOutput) {
  const FusionPattern p = parse_fusion_pattern(kHswish, "fusions[0]");
  EXPECT_EQ(p.name, "hswish");
  EXPECT_EQ(p.after, std::vector<std::string>{"Conv"});
  ASSERT_EQ(p.nodes.size(), 2u);
  EXPECT_EQ(p.nodes[1].op_types, std::vector<std::string>{"Mul"});
  EXPECT_TRUE(p.nodes[1].commutative);
  EXPECT_EQ(p.captures(), std::vector<std::string>{"x"});
}

TEST(FusionPattern, StrictParsingNamesTheJsonPath) {
  auto error = [](const std::string& text) {
    try {
      parse_fusion_pattern(json::parse(text), "fusions[3]");
    } catch (const InvalidConfig& e) {
      return std::string(e.what());
    }
    return std::string("no error");
  };
  EXPECT_NE(error(R"({"name": "a", "output": "y", "nodes": [{"id": "y", "op": ["Relu"], "inputs": ["x"]}],
                      "typo": 1})").find("fusions[3].typo: unknown key"), std::string::npos);
  EXPECT_NE(error(R"({"name": "a", "output": "z", "nodes": [{"id": "y", "op": ["Relu"], "inputs": ["x"]}]})")
                .find("fusions[3].output: \"z\" is not the id of a node"), std::string::npos);
  EXPECT_NE(error(R"({"name": "a", "output": "y", "nodes": [{"id": "y", "op": ["Mul"], "inputs": ["h", "x"]},
                      {"id": "h", "op": ["HardSigmoid"], "inputs": ["x"]}]})")
                .find("\"h\" is a node listed after \"y\""), std::string::npos);
  EXPECT_NE(error(R"({"name": "a", "output": "y", "nodes": [{"id": "y", "op": ["Sum"], "inputs": ["a", "b", "c"],
                      "commutative": true}]})").find("fusions[3].nodes[0].commutative"), std::string::npos);
  EXPECT_NE(error(R"({"name": "a", "output": "y", "nodes": [{"id": "y", "op": [], "inputs": ["x"]}]})")
                .find("fusions[3].nodes[0].op: expected at least one op type"), std::string::npos);
  EXPECT_NE(error(R"({"name": "a", "output": "y", "nodes": [{"id": "y", "op": ["Relu"], "inputs": ["x"]},
                      {"id": "y", "op": ["Relu"], "inputs": ["x"]}]})").find("used twice"), std::string::npos);
}

TEST(FusionPattern, MatchesHardSwishInEitherOperandOrder) {
  const FusionPattern p = parse_fusion_pattern(kHswish, "p");
  for (bool swapped : {false, true}) {
    Graph t;
    ir::Value* x = t.conv(t.input("in"), "conv");
    ir::Value* h = t.node("HardSigmoid", {x}, "hs");
    ir::Value* y = t.node("Mul", swapped ? std::vector<ir::Value*>{h, x} : std::vector<ir::Value*>{x, h}, "mul");
    t.g.add_output(y);
    std::optional<PatternMatch> m = match_activation(t.g, {&p}, *x);
    ASSERT_TRUE(m) << "swapped " << swapped;
    EXPECT_EQ(m->output(), y);
    EXPECT_EQ(m->captures.at("x"), x);
    EXPECT_EQ(m->nodes.at("h")->name(), "hs");
    // Anchored at the Mul directly as well; anchoring elsewhere fails.
    EXPECT_TRUE(match_pattern(t.g, p, *t.g.find_node("mul")));
    EXPECT_FALSE(match_pattern(t.g, p, *t.g.find_node("hs")));
  }
}

TEST(FusionPattern, RejectsSharedValuesAndOtherProducers) {
  const FusionPattern p = parse_fusion_pattern(kHswish, "p");
  {
    // x * HardSigmoid(x'), a different value: the captures disagree.
    Graph t;
    ir::Value* x = t.conv(t.input("in"), "conv");
    ir::Value* x2 = t.conv(t.input("in2"), "conv2");
    t.g.add_output(t.node("Mul", {x, t.node("HardSigmoid", {x2}, "hs")}, "mul"));
    EXPECT_FALSE(match_activation(t.g, {&p}, *x));
    EXPECT_FALSE(match_pattern(t.g, p, *t.g.find_node("mul")));
  }
  {
    // The HardSigmoid output is also read outside the pattern (an SE-style second use).
    Graph t;
    ir::Value* x = t.conv(t.input("in"), "conv");
    ir::Value* h = t.node("HardSigmoid", {x}, "hs");
    t.g.add_output(t.node("Mul", {x, h}, "mul"));
    t.g.add_output(t.node("Relu", {h}, "other"));
    EXPECT_FALSE(match_pattern(t.g, p, *t.g.find_node("mul")));
  }
  {
    // x has a reader outside the pattern: fusing would need the unfused x as well.
    Graph t;
    ir::Value* x = t.conv(t.input("in"), "conv");
    t.g.add_output(t.node("Mul", {x, t.node("HardSigmoid", {x}, "hs")}, "mul"));
    t.g.add_output(t.node("Relu", {x}, "other"));
    EXPECT_TRUE(match_pattern(t.g, p, *t.g.find_node("mul")));
    EXPECT_FALSE(match_activation(t.g, {&p}, *x));
  }
  {
    // `after` restricts the producer: a graph input is not a Conv.
    Graph t;
    ir::Value* x = t.input("in");
    t.g.add_output(t.node("Mul", {x, t.node("HardSigmoid", {x}, "hs")}, "mul"));
    EXPECT_FALSE(match_activation(t.g, {&p}, *x));
  }
}

TEST(FusionPattern, DeviceConfigDeclaresBothHardSwishFormsAndSwish) {
  const HwConfig& cpu = hw_config_for("CPU");
  std::vector<const FusionPattern*> all;
  for (const FusionPattern& f : cpu.fusions) all.push_back(&f);
  Graph t;
  ir::Value* a = t.conv(t.input("in"), "conv_a");
  ir::Value* ya = t.node("HardSwish", {a}, "hswish");
  ir::Value* b = t.conv(ya, "conv_b");
  ir::Value* yb = t.node("Mul", {t.node("Sigmoid", {b}, "sig"), b}, "swish");
  ir::Value* c = t.conv(yb, "conv_c");
  ir::Value* yc = t.node("Mul", {c, t.node("HardSigmoid", {c}, "hsig")}, "hswish_mul");
  t.g.add_output(yc);
  EXPECT_EQ(match_activation(t.g, all, *a)->pattern->name, "hard_swish");
  EXPECT_EQ(match_activation(t.g, all, *b)->pattern->name, "swish");
  EXPECT_EQ(match_activation(t.g, all, *c)->pattern->name, "hard_swish_decomposed");
  EXPECT_EQ(match_activation(t.g, all, *c)->output(), yc);
  EXPECT_FALSE(match_activation(t.g, all, *yc)) << "a graph output has no activation after it";
}

}  // namespace
}  // namespace qwac::quant
