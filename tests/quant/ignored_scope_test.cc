#include "quant/ignored_scope.h"

#include <gtest/gtest.h>

#include "qwac/error.h"

namespace qwac::quant {
namespace {

template <typename F>
std::string invalid_config_message(F f) {
  try {
    f();
  } catch (const InvalidConfig& e) {
    return e.what();
  }
  ADD_FAILURE() << "expected InvalidConfig";
  return "";
}

// x -> Conv conv1 -> Relu relu1 -> Conv conv2 -> Add add_out (with x2 from Conv conv_skip)
std::unique_ptr<ir::Graph> small_graph() {
  auto g = std::make_unique<ir::Graph>();
  ir::Value* x = g->add_value("x");
  g->add_input(x);
  auto node = [&](const std::string& type, std::vector<ir::Value*> in, const std::string& name) {
    ir::Value* out = g->add_value(name + "_out");
    g->add_node(type, in, {out}, name);
    return out;
  };
  ir::Value* w = g->add_constant("w", Tensor(DType::kFloat32, {4, 4, 1, 1}));
  ir::Value* c1 = node("Conv", {x, w}, "conv1");
  ir::Value* r1 = node("Relu", {c1}, "relu1");
  ir::Value* c2 = node("Conv", {r1, w}, "conv2");
  ir::Value* skip = node("Conv", {x, w}, "conv_skip");
  g->add_output(node("Add", {c2, skip}, "add"));
  return g;
}

TEST(IgnoredScope, ParsesAllForms) {
  const IgnoredScope s = parse_ignored_scope(
      nlohmann::json::parse(R"({"names": ["a"], "patterns": "conv.*", "types": ["Add"],
                               "scope": ["b"], "operations": [{"type": "Mul"}]})"),
      "ignored_scope");
  EXPECT_EQ(s.names, (std::vector<std::string>{"a", "b"}));
  EXPECT_EQ(s.patterns, std::vector<std::string>{"conv.*"});
  EXPECT_EQ(s.types, (std::vector<std::string>{"Add", "Mul"}));
  EXPECT_FALSE(s.empty());
  EXPECT_TRUE(parse_ignored_scope(nlohmann::json(), "x").empty());
}

TEST(IgnoredScope, ParseErrorsNameThePath) {
  EXPECT_NE(invalid_config_message([] { parse_ignored_scope(nlohmann::json::parse(R"({"name": ["a"]})"), "cfg.ignored"); })
                .find("cfg.ignored.name: unknown key"),
            std::string::npos);
  EXPECT_NE(invalid_config_message([] {
              parse_ignored_scope(nlohmann::json::parse(R"({"operations": [{"type": "Add", "attributes": {}}]})"), "ig");
            }).find("ig.operations[0].attributes: unknown key"),
            std::string::npos);
  EXPECT_NE(invalid_config_message([] { parse_ignored_scope(nlohmann::json::parse(R"({"patterns": ["conv(("]})"), "ig"); })
                .find("ig.patterns[0]: invalid regular expression 'conv(('"),
            std::string::npos);
  EXPECT_NE(invalid_config_message([] { parse_ignored_scope(nlohmann::json::parse(R"({"types": [3]})"), "ig"); })
                .find("ig.types"),
            std::string::npos);
}

TEST(IgnoredScope, MatchesNamesPatternsAndTypes) {
  auto g = small_graph();
  IgnoredScope s;
  s.names = {"relu1"};
  s.patterns = {"conv[0-9]"};
  s.types = {"Add"};
  IgnoredScopeMatcher m(s, *g);
  EXPECT_EQ(m.match(*g->find_node("relu1")), "name 'relu1'");
  EXPECT_EQ(m.match(*g->find_node("conv1")), "pattern 'conv[0-9]'");
  EXPECT_EQ(m.match(*g->find_node("conv2")), "pattern 'conv[0-9]'");
  EXPECT_EQ(m.match(*g->find_node("conv_skip")), std::nullopt);  // the pattern must match the whole name
  EXPECT_EQ(m.match(*g->find_node("add")), "type 'Add'");
}

TEST(IgnoredScope, EntriesMatchingNothingListNearestNames) {
  auto g = small_graph();
  {
    IgnoredScope s;
    s.names = {"Conv1"};
    const std::string msg = invalid_config_message([&] { IgnoredScopeMatcher(s, *g); });
    EXPECT_NE(msg.find("ignored_scope.names[0]: no node named 'Conv1'"), std::string::npos) << msg;
    // Case-insensitive distance: conv1 (0), conv2 (1), then relu1 (4); conv_skip and add are 5 away.
    EXPECT_NE(msg.find("nearest node names: 'conv1', 'conv2', 'relu1'"), std::string::npos) << msg;
  }
  {
    IgnoredScope s;
    s.patterns = {"conv"};
    const std::string msg = invalid_config_message([&] { IgnoredScopeMatcher(s, *g); });
    EXPECT_NE(msg.find("ignored_scope.patterns[0]: pattern 'conv' matches no node name"), std::string::npos) << msg;
    EXPECT_NE(msg.find("'conv1', 'conv2'"), std::string::npos) << msg;
  }
  {
    IgnoredScope s;
    s.types = {"Conv2d"};
    const std::string msg = invalid_config_message([&] { IgnoredScopeMatcher(s, *g); });
    EXPECT_NE(msg.find("ignored_scope.types[0]: no op of type 'Conv2d' in the model; nearest: 'Conv'"),
              std::string::npos)
        << msg;
    EXPECT_NE(msg.find("the model's op types: Add, Conv, Relu"), std::string::npos) << msg;
  }
}

}  // namespace
}  // namespace qwac::quant
