// Model types as data: the built-in transformer file, strict parsing (every bad value names its JSON path), and the
// preset a run resolves to.
#include "quant/model_type.h"

#include <gtest/gtest.h>

#include "quant/hw_config.h"
#include "qwac/error.h"

namespace qwac::quant {
namespace {

template <typename F>
void expect_invalid(F f, const std::string& needle) {
  try {
    f();
    ADD_FAILURE() << "expected InvalidConfig mentioning '" << needle << "'";
  } catch (const InvalidConfig& e) {
    EXPECT_NE(std::string(e.what()).find(needle), std::string::npos) << "message: " << e.what();
  }
}

TEST(ModelType, TransformerIsBuiltIn) {
  EXPECT_EQ(known_model_types(), std::vector<std::string>{"transformer"});
  EXPECT_EQ(model_type_for("", "model_type"), nullptr);
  const ModelTypeConfig* t = model_type_for("transformer", "model_type");
  ASSERT_NE(t, nullptr);
  EXPECT_EQ(t, model_type_for("transformer", "elsewhere")) << "one parsed copy";
  EXPECT_EQ(t->name, "transformer");
  EXPECT_EQ(t->preset, "mixed");
  EXPECT_TRUE(t->symmetric_activation_matmul);
  for (const char* op : {"Mul", "Div", "Sub", "Pow", "Sqrt", "ReduceMean"}) {
    EXPECT_EQ(t->float_op_types.count(op), 1u) << op;
  }
  EXPECT_EQ(t->float_op_types.count("Add"), 0u) << "residual Adds stay int8 (the mask's Add is a pattern)";
  EXPECT_EQ(t->float_op_types.count("MatMul"), 0u);
  EXPECT_EQ(t->float_op_types.count("Gemm"), 0u);
  EXPECT_EQ(t->float_op_types.count("Conv"), 0u);  // ViT's patch embedding stays int8
  ASSERT_EQ(t->ignored_patterns.size(), 2u);
  EXPECT_EQ(t->ignored_patterns[0].name, "softmax_matmul");
  EXPECT_EQ(t->ignored_patterns[0].output, "m");
  EXPECT_EQ(t->ignored_patterns[1].name, "attention_mask_add");
}

TEST(ModelType, ItIsNotATargetDevice) {
  // The file sits among the device configs; the device registry must not take it for one.
  EXPECT_EQ(known_target_devices(), (std::vector<std::string>{"ANY", "CPU", "GNA", "GPU", "NPU"}));
}

TEST(ModelType, UnknownNameListsTheKnownOnes) {
  expect_invalid([] { model_type_for("transfomer", "compression.model_type"); },
                 "compression.model_type: unknown model type \"transfomer\"; known: \"transformer\"");
}

TEST(ModelType, ParsingIsStrict) {
  auto doc = [] {
    return nlohmann::json::parse(R"({"model_type": "t", "preset": "mixed", "float_op_types": ["Add"],
      "ignored_patterns": [{"name": "p", "output": "m", "nodes": [{"id": "m", "op": ["MatMul"], "inputs": ["a", "b"]}]}],
      "symmetric_activation_matmul": true})");
  };
  const ModelTypeConfig t = parse_model_type(doc(), "t.json");
  EXPECT_EQ(t.name, "t");
  EXPECT_EQ(t.float_op_types, std::set<std::string>{"Add"});
  ASSERT_EQ(t.ignored_patterns.size(), 1u);
  EXPECT_EQ(t.ignored_patterns[0].nodes.size(), 1u);

  nlohmann::json j = doc();
  j["preset"] = "accuracy";
  expect_invalid([&] { parse_model_type(j, "t.json"); }, "t.json.preset: \"accuracy\", expected \"performance\" or");
  j = doc();
  j.erase("model_type");
  expect_invalid([&] { parse_model_type(j, "t.json"); }, "t.json.model_type");
  j = doc();
  j["smooth_quant"] = {{"alpha", 0.5}};
  expect_invalid([&] { parse_model_type(j, "t.json"); }, "t.json.smooth_quant: unknown key");
  j = doc();
  j["ignored_patterns"] = "softmax";
  expect_invalid([&] { parse_model_type(j, "t.json"); }, "t.json.ignored_patterns: expected an array");
  j = doc();
  j["ignored_patterns"][0]["output"] = "nowhere";
  expect_invalid([&] { parse_model_type(j, "t.json"); }, "t.json.ignored_patterns[0]");
}

TEST(ModelType, ResolvedPreset) {
  QuantizationConfig p;
  EXPECT_EQ(resolved_preset(p), "performance");
  p.model_type = "transformer";
  EXPECT_EQ(resolved_preset(p), "mixed");
  p.preset = "performance";
  EXPECT_EQ(resolved_preset(p), "performance") << "an explicit preset wins over the model type's";
  p.model_type = "cnn";
  p.preset.clear();
  expect_invalid([&] { resolved_preset(p); }, "unknown model type \"cnn\"");
}

}  // namespace
}  // namespace qwac::quant
