#include "quant/hw_config.h"

#include <gtest/gtest.h>

#include <algorithm>

#include "qwac/error.h"

namespace qwac::quant {
namespace {

// Expects InvalidConfig whose message contains `needle`.
template <typename F>
void expect_invalid(F f, const std::string& needle) {
  try {
    f();
    ADD_FAILURE() << "expected InvalidConfig mentioning '" << needle << "'";
  } catch (const InvalidConfig& e) {
    EXPECT_NE(std::string(e.what()).find(needle), std::string::npos) << "message: " << e.what();
  }
}

nlohmann::json minimal_config() {
  return nlohmann::json::parse(R"({
    "target_device": "TEST",
    "presets": ["performance"],
    "weights": {"granularities": ["perchannel", "pertensor"],
                "performance": {"bits": 8, "mode": "symmetric", "narrow_range": true}},
    "activations": {"granularities": ["pertensor"],
                    "performance": {"bits": 8, "mode": "symmetric", "signedness_from_range": true}},
    "quantizable": [{"type": "Conv", "activation_inputs": [0], "weight_inputs": [1]}],
    "agnostic": ["MaxPool"]
  })");
}

TEST(HwConfig, KnownDevicesAreTheEmbeddedFiles) {
  EXPECT_EQ(known_target_devices(), (std::vector<std::string>{"ANY", "CPU", "GNA", "GPU", "NPU"}));
}

TEST(HwConfig, LookupIsCaseInsensitiveAndCached) {
  const HwConfig& a = hw_config_for("cpu");
  const HwConfig& b = hw_config_for("CpU");
  EXPECT_EQ(&a, &b);
  EXPECT_EQ(a.target_device, "CPU");
  expect_invalid([] { hw_config_for("TPU"); }, "known devices: ANY, CPU, GNA, GPU, NPU");
}

TEST(HwConfig, CpuContent) {
  const HwConfig& cpu = hw_config_for("CPU");
  ASSERT_EQ(cpu.quantizable.count("Conv"), 1u);
  const QuantizableOp& conv = cpu.quantizable.at("Conv");
  EXPECT_EQ(conv.activation_inputs, std::vector<int>{0});
  EXPECT_EQ(conv.weight_inputs, std::vector<int>{1});
  EXPECT_EQ(conv.weight_channel_axis, 0);
  EXPECT_EQ(cpu.quantizable.at("ConvTranspose").weight_channel_axis, 1);
  EXPECT_EQ(cpu.quantizable.at("Add").min_non_constant_inputs, 2);
  EXPECT_EQ(cpu.quantizable.at("MatMul").activation_inputs, (std::vector<int>{0, 1}));
  EXPECT_EQ(conv.min_non_constant_inputs, 1);
  EXPECT_EQ(cpu.quantizable.count("Relu"), 0u);
  for (const char* t : {"MaxPool", "Concat", "Reshape", "Flatten", "Gather"}) {
    EXPECT_NE(std::find(cpu.agnostic.begin(), cpu.agnostic.end(), t), cpu.agnostic.end()) << t;
  }
  EXPECT_EQ(cpu.presets, (std::vector<Preset>{Preset::kPerformance, Preset::kMixed}));

  const QuantizerSpec& w = cpu.weights.at(Preset::kPerformance);
  EXPECT_EQ(w.bits, 8);
  EXPECT_EQ(w.mode, QuantMode::kSymmetric);
  EXPECT_TRUE(w.narrow_range);
  EXPECT_TRUE(w.is_signed);
  EXPECT_EQ(w.granularity, Granularity::kPerChannel);  // the preferred one
  EXPECT_EQ(cpu.weights.at(Preset::kMixed), w);

  const QuantizerSpec& a = cpu.activations.at(Preset::kPerformance);
  EXPECT_EQ(a.mode, QuantMode::kSymmetric);
  EXPECT_TRUE(a.signedness_from_range);
  EXPECT_FALSE(a.narrow_range);
  EXPECT_EQ(a.granularity, Granularity::kPerTensor);
  const QuantizerSpec& m = cpu.activations.at(Preset::kMixed);
  EXPECT_EQ(m.mode, QuantMode::kAsymmetric);
  EXPECT_FALSE(m.is_signed);
  EXPECT_FALSE(m.signedness_from_range);
}

TEST(HwConfig, DevicesDiffer) {
  const HwConfig& cpu = hw_config_for("CPU");
  const HwConfig& npu = hw_config_for("NPU");
  EXPECT_EQ(npu.activation_granularities, std::vector<Granularity>{Granularity::kPerTensor});
  EXPECT_EQ(cpu.activation_granularities.size(), 2u);
  EXPECT_EQ(hw_config_for("ANY").quantizable.size(), cpu.quantizable.size());
  EXPECT_EQ(hw_config_for("GPU").weights.at(Preset::kPerformance), cpu.weights.at(Preset::kPerformance));

  const HwConfig& gna = hw_config_for("gna");
  EXPECT_EQ(gna.presets, (std::vector<Preset>{Preset::kPerformance, Preset::kAccuracy}));
  EXPECT_EQ(gna.weights.at(Preset::kPerformance).bits, 8);
  EXPECT_EQ(gna.activations.at(Preset::kPerformance).bits, 16);
  EXPECT_FALSE(gna.activations.at(Preset::kPerformance).signedness_from_range);
  EXPECT_EQ(gna.weights.at(Preset::kAccuracy).bits, 16);
  EXPECT_EQ(gna.activations.at(Preset::kAccuracy).bits, 16);
  EXPECT_EQ(gna.quantizable.count("Conv"), 1u);
  EXPECT_EQ(gna.quantizable.count("Resize"), 0u);
  EXPECT_EQ(gna.quantizable.count("Div"), 0u);
  EXPECT_LT(gna.quantizable.size(), cpu.quantizable.size());
}

TEST(HwConfig, ParsesMinimalConfigWithDefaults) {
  const HwConfig cfg = parse_hw_config(minimal_config(), "test.json");
  EXPECT_EQ(cfg.target_device, "TEST");
  const QuantizableOp& conv = cfg.quantizable.at("Conv");
  EXPECT_EQ(conv.weight_channel_axis, 0);
  EXPECT_EQ(conv.min_non_constant_inputs, 1);
  EXPECT_EQ(cfg.weight_granularities, (std::vector<Granularity>{Granularity::kPerChannel, Granularity::kPerTensor}));
  EXPECT_TRUE(cfg.weights.at(Preset::kPerformance).is_signed);  // "signed" defaults to true
}

TEST(HwConfig, StrictParsingNamesTheJsonPath) {
  {
    auto j = minimal_config();
    j["colour"] = "red";
    expect_invalid([&] { parse_hw_config(j, "test.json"); }, "test.json.colour: unknown key");
  }
  {
    auto j = minimal_config();
    j["quantizable"][0]["weight_input"] = {1};
    expect_invalid([&] { parse_hw_config(j, "test.json"); }, "test.json.quantizable[0].weight_input: unknown key");
  }
  {
    auto j = minimal_config();
    j["weights"]["performance"]["bits"] = 4;
    expect_invalid([&] { parse_hw_config(j, "t"); }, "t.weights.performance.bits: 4 bits is not supported");
  }
  {
    auto j = minimal_config();
    j["activations"]["performance"]["mode"] = "sym";
    expect_invalid([&] { parse_hw_config(j, "t"); }, "t.activations.performance.mode: unknown value \"sym\"");
  }
  {
    auto j = minimal_config();
    j["weights"]["granularities"] = {"perchannel", "per_tensor"};
    expect_invalid([&] { parse_hw_config(j, "t"); }, "t.weights.granularities[1]: unknown value \"per_tensor\"");
  }
  {
    auto j = minimal_config();
    j["presets"] = {"performance", "mixed"};  // mixed listed but no spec
    expect_invalid([&] { parse_hw_config(j, "t"); }, "t.weights.mixed: required key is missing");
  }
  {
    auto j = minimal_config();
    j["weights"]["mixed"] = j["weights"]["performance"];  // spec for a preset not listed
    expect_invalid([&] { parse_hw_config(j, "t"); }, "t.weights.mixed: preset \"mixed\" is not listed");
  }
  {
    auto j = minimal_config();
    j["agnostic"] = {"MaxPool", "Conv"};
    expect_invalid([&] { parse_hw_config(j, "t"); }, "t.agnostic[1]: Conv is also listed as quantizable");
  }
  {
    auto j = minimal_config();
    j["quantizable"].push_back(j["quantizable"][0]);
    expect_invalid([&] { parse_hw_config(j, "t"); }, "t.quantizable[1]: op type Conv is listed twice");
  }
  {
    auto j = minimal_config();
    j["quantizable"][0]["activation_inputs"] = {-1};
    expect_invalid([&] { parse_hw_config(j, "t"); }, "t.quantizable[0].activation_inputs[0]: input index -1");
  }
  {
    auto j = minimal_config();
    j["activations"]["performance"] = {{"bits", 8}, {"mode", "asymmetric"}, {"narrow_range", true}};
    expect_invalid([&] { parse_hw_config(j, "t"); }, "apply to symmetric quantizers only");
  }
  {
    auto j = minimal_config();
    j.erase("weights");
    expect_invalid([&] { parse_hw_config(j, "t"); }, "t.weights: required key is missing");
  }
}

TEST(HwConfig, Presets) {
  EXPECT_EQ(parse_preset("performance", "p"), Preset::kPerformance);
  EXPECT_EQ(parse_preset("mixed", "p"), Preset::kMixed);
  EXPECT_EQ(parse_preset("accuracy", "p"), Preset::kAccuracy);
  expect_invalid([] { parse_preset("Performance", "algo.preset"); }, "algo.preset: unknown preset \"Performance\"");
  for (Preset p : {Preset::kPerformance, Preset::kMixed, Preset::kAccuracy}) {
    EXPECT_EQ(parse_preset(preset_name(p), "p"), p);
  }
}

TEST(HwConfig, ExportProfiles) {
  EXPECT_EQ(known_export_profiles(), (std::vector<std::string>{"onnxruntime", "qwac"}));
  for (const char* d : {"ANY", "CPU", "GPU", "NPU"}) EXPECT_EQ(hw_config_for(d).export_profile, "onnxruntime") << d;
  EXPECT_EQ(hw_config_for("GNA").export_profile, "qwac");
  const ExportProfile& ort = export_profile_for("onnxruntime");
  EXPECT_TRUE(ort.output_quantizers);
  EXPECT_TRUE(ort.unsigned_activations);
  EXPECT_TRUE(ort.float_unfused_weights);
  EXPECT_TRUE(ort.honours("relu"));
  EXPECT_FALSE(ort.honours("hard_swish_decomposed"));
  EXPECT_EQ(ort.quantizable.at("Conv").output, OutputQuantizer::kRequired);
  EXPECT_EQ(ort.quantizable.at("Gemm").output, OutputQuantizer::kOptional);
  EXPECT_EQ(ort.quantizable.count("Div"), 0u) << "ONNX Runtime has no int8 Div";
  EXPECT_EQ(ort.quantizable.count("HardSigmoid"), 1u) << "lowered to QLinearAdd at export";
  const ExportProfile& qwac = export_profile_for("qwac");
  EXPECT_TRUE(qwac.honours("hard_swish_decomposed"));
  EXPECT_FALSE(qwac.output_quantizers);
  EXPECT_TRUE(qwac.quantizable.empty());
  EXPECT_EQ(&quantizable_ops(hw_config_for("CPU"), &qwac), &hw_config_for("CPU").quantizable);
  EXPECT_EQ(honoured_fusions(hw_config_for("CPU"), &ort).size(), 2u);
  EXPECT_EQ(honoured_fusions(hw_config_for("CPU"), &qwac).size(), hw_config_for("CPU").fusions.size());
  expect_invalid([] { export_profile_for("tensorrt"); }, "unknown profile \"tensorrt\"; known profiles: \"onnxruntime\", \"qwac\"");
}

TEST(HwConfig, ExportProfileAndFusionParsingIsStrict) {
  expect_invalid([] { parse_export_profile(nlohmann::json::parse(R"({"export_profile": "x", "ouput_quantizers": true})"), "p.json"); },
                 "p.json.ouput_quantizers: unknown key");
  expect_invalid([] { parse_export_profile(nlohmann::json::parse(R"({"export_profile": "ORT"})"), "p.json"); },
                 "p.json.export_profile: \"ORT\" must be a non-empty lower-case name");
  expect_invalid(
      [] {
        parse_export_profile(nlohmann::json::parse(R"({"export_profile": "x", "quantizable": [
            {"type": "Conv", "activation_inputs": [0], "output": "always"}]})"), "p.json");
      },
      "p.json.quantizable[0].output: unknown value \"always\"");
  nlohmann::json device = minimal_config();
  device["quantizable"][0]["output"] = "required";
  expect_invalid([&] { parse_hw_config(device, "d.json"); }, "\"output\" belongs in an export profile, not a device");
  device = minimal_config();
  device["fusions"] = nlohmann::json::parse(R"([{"name": "a", "output": "y", "nodes": [{"id": "y", "op": ["Relu"], "inputs": ["x"]}]},
                                               {"name": "a", "output": "y", "nodes": [{"id": "y", "op": ["Clip"], "inputs": ["x"]}]}])");
  expect_invalid([&] { parse_hw_config(device, "d.json"); }, "d.json.fusions[1]: fusion \"a\" is listed twice");
}

}  // namespace
}  // namespace qwac::quant
