// The `compression` section: algorithm names, DefaultQuantization and AccuracyAwareQuantization params (defaults,
// every key, POT/NNCF aliases, conflicts, bad values named by JSON path), and every config in examples/.
#include "config/compression_config.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <limits>
#include <optional>
#include <string>
#include <vector>

#include "config/config.h"
#include "quant/model_type.h"
#include "qwac/error.h"

namespace qwac {
namespace {

namespace fs = std::filesystem;
using nlohmann::json;

const char* kWhere = "compression.algorithms[0].params";

config::AlgorithmSection section(const std::string& name, json params) {
  return {name, std::move(params), kWhere};
}

AccuracyControlConfig parse_aaq(json params, const std::string& target_device = "ANY") {
  return config::parse_accuracy_aware_params(section("AccuracyAwareQuantization", std::move(params)), target_device);
}

QuantizationConfig parse_dq(json params, const std::string& target_device = "ANY") {
  return config::parse_default_quantization_params(section("DefaultQuantization", std::move(params)), target_device);
}

// Expects InvalidConfig whose message contains every string in `needles`; `what` names the case on failure.
template <typename F>
void expect_invalid_config(const std::string& what, F&& f, const std::vector<std::string>& needles) {
  try {
    f();
    ADD_FAILURE() << what << ": expected InvalidConfig mentioning '" << needles.front() << "'";
  } catch (const InvalidConfig& e) {
    for (const auto& n : needles) {
      EXPECT_NE(std::string(e.what()).find(n), std::string::npos) << what << ": '" << n << "' not in: " << e.what();
    }
  }
}

std::string path(const std::string& key) { return std::string(kWhere) + "." + key; }

// Every field of QuantizationConfig, so that two parses can be compared with a readable failure.
json dump(const QuantizationConfig& p) {
  auto q = [](const QuantizerConfig& x) {
    return json{{"bits", x.bits ? json(*x.bits) : json()},
                {"mode", x.mode ? json(*x.mode) : json()},
                {"granularity", x.granularity ? json(*x.granularity) : json()},
                {"range_estimator", x.range_estimator}};
  };
  return {{"target_device", p.target_device},
          {"preset", p.preset},
          {"model_type", p.model_type},
          {"stat_subset_size", p.stat_subset_size},
          {"shuffle_data", p.shuffle_data},
          {"seed", p.seed},
          {"weights", q(p.weights)},
          {"activations", q(p.activations)},
          {"bias_correction", p.bias_correction},
          {"bias_correction_subset_size", p.bias_correction_subset_size},
          {"ignored_scope", p.ignored_scope},
          {"compress_weights", p.compress_weights},
          {"quantize_bias", p.quantize_bias}};
}

// Non-default values for every DefaultQuantization key.
json all_default_quantization_keys() {
  return {{"target_device", "CPU"},
          {"preset", "mixed"},
          {"model_type", "transformer"},
          {"stat_subset_size", 123},
          {"shuffle_data", true},
          {"seed", 7},
          {"weights", {{"bits", 8}, {"mode", "asymmetric"}, {"granularity", "pertensor"}}},
          {"activations", {{"mode", "symmetric"}, {"range_estimator", "quantile"}}},
          {"bias_correction", "none"},
          {"bias_correction_subset_size", 11},
          {"ignored_scope", {{"names", {"conv1"}}}},
          {"compress_weights", false},
          {"quantize_bias", false}};
}

// ---------------------------------------------------------------------------------------------- algorithm names

TEST(CompressionSection, KnownAlgorithmsAreAccepted) {
  const config::CompressionSection c = config::parse_compression(
      {{"target_device", "CPU"},
       {"algorithms", {{{"name", "DefaultQuantization"}}, {{"name", "AccuracyAwareQuantization"}, {"params", {}}}}}});
  EXPECT_EQ(c.target_device, "CPU");
  ASSERT_EQ(c.algorithms.size(), 2u);
  EXPECT_EQ(c.algorithms[0].name, "DefaultQuantization");
  EXPECT_EQ(c.algorithms[1].name, "AccuracyAwareQuantization");
  EXPECT_EQ(c.algorithms[1].where, "compression.algorithms[1].params");
  EXPECT_EQ(config::known_algorithms(), (std::vector<std::string>{"DefaultQuantization", "AccuracyAwareQuantization"}));
}

TEST(CompressionSection, UnknownAlgorithmNameIsNamedWithTheChoices) {
  expect_invalid_config(
      "unknown algorithm",
      [] {
        config::parse_compression({{"algorithms", {{{"name", "DefaultQuantization"}}, {{"name", "QuantileQuant"}}}}});
      },
      {"compression.algorithms[1].name", "QuantileQuant", "\"DefaultQuantization\"", "\"AccuracyAwareQuantization\""});
  expect_invalid_config(
      "misspelt algorithm", [] { config::parse_compression({{"algorithms", {{{"name", "AccuracyAware"}}}}}); },
      {"compression.algorithms[0].name", "AccuracyAware"});
}

TEST(CompressionSection, ModelTypeIsTheAlgorithmsDefault) {
  // POT's compression.model_type reaches every algorithm; NNCF's params.model_type may repeat it, not contradict it.
  const config::CompressionSection c = config::parse_compression(
      {{"model_type", "transformer"},
       {"algorithms", {{{"name", "DefaultQuantization"}}, {{"name", "AccuracyAwareQuantization"}}}}});
  EXPECT_EQ(c.model_type, "transformer");
  EXPECT_EQ(config::parse_default_quantization_params(c.algorithms[0], "ANY").model_type, "transformer");
  EXPECT_EQ(config::parse_accuracy_aware_params(c.algorithms[1], "ANY").base.model_type, "transformer");
  config::AlgorithmSection same = c.algorithms[0];
  same.params = {{"model_type", "transformer"}};
  EXPECT_EQ(config::parse_default_quantization_params(same, "ANY").model_type, "transformer");
  config::AlgorithmSection other = c.algorithms[0];
  other.params = {{"model_type", ""}};
  expect_invalid_config("conflicting model types", [&] { config::parse_default_quantization_params(other, "ANY"); },
                        {"compression.algorithms[0].params.model_type", "differs from compression.model_type"});
  // Without the section's key, params.model_type alone; an unknown name lists the known ones, in either place.
  EXPECT_EQ(parse_dq({{"model_type", "transformer"}}).model_type, "transformer");
  EXPECT_EQ(parse_dq(json::object()).model_type, "");
  expect_invalid_config("unknown in params", [] { parse_dq({{"model_type", "bert"}}); },
                        {path("model_type"), "unknown model type \"bert\"", "known: \"transformer\""});
  expect_invalid_config(
      "unknown in the section",
      [] {
        config::parse_compression({{"model_type", "cnn"}, {"algorithms", {{{"name", "DefaultQuantization"}}}}});
      },
      {"compression.model_type: unknown model type \"cnn\""});
}

TEST(CompressionSection, ParserOfTheOtherAlgorithmIsACallerBug) {
  EXPECT_THROW(config::parse_accuracy_aware_params(section("DefaultQuantization", json::object()), "ANY"),
               InternalError);
  EXPECT_THROW(config::parse_default_quantization_params(section("AccuracyAwareQuantization", json::object()), "ANY"),
               InternalError);
}

// ---------------------------------------------------------------------------------------------- AccuracyAware

TEST(AccuracyAwareParams, DefaultsAreThePublicStructsDefaults) {
  for (const json& params : {json(), json::object()}) {
    const AccuracyControlConfig a = parse_aaq(params, "GNA");
    const AccuracyControlConfig d;
    SCOPED_TRACE(params.dump());
    EXPECT_EQ(a.max_drop, 0.01);
    EXPECT_EQ(a.max_drop, d.max_drop);
    EXPECT_EQ(a.drop_type, "absolute");
    EXPECT_EQ(a.ranking_subset_size, 300);
    EXPECT_EQ(a.max_iter_num, std::numeric_limits<int64_t>::max());
    EXPECT_TRUE(a.use_prev_if_drop_increase);
    EXPECT_FALSE(a.convert_to_mixed_preset);
    EXPECT_TRUE(a.metrics.empty());
    EXPECT_EQ(a.metric_subset_ratio, 0.5);
    EXPECT_FALSE(a.tune_hyperparams);
    EXPECT_FALSE(a.annotation_free);
    EXPECT_EQ(a.search, "bisection");
    EXPECT_EQ(a.restore_mode, "weights_and_activations");
    EXPECT_EQ(a.max_time_seconds, 0);
    EXPECT_EQ(a.max_evaluations, 0);
    // The base algorithm gets the section's target device and DefaultQuantization's defaults.
    QuantizationConfig expected_base;
    expected_base.target_device = "GNA";
    EXPECT_EQ(dump(a.base), dump(expected_base));
  }
}

TEST(AccuracyAwareParams, EveryKeyIsRead) {
  const AccuracyControlConfig a = parse_aaq({{"maximal_drop", 0.25},
                                             {"drop_type", "relative"},
                                             {"ranking_subset_size", 40},
                                             {"max_iter_num", 5},
                                             {"use_prev_if_drop_increase", false},
                                             {"base_algorithm", "DefaultQuantization"},
                                             {"convert_to_mixed_preset", true},
                                             {"metrics",
                                              {{{"name", "accuracy@top1"}, {"baseline_value", 0.75}},
                                               {{"name", "accuracy@top5"}}}},
                                             {"metric_subset_ratio", 0.3},
                                             {"tune_hyperparams", true},
                                             {"annotation_free", true},
                                             {"search", "greedy"},
                                             {"restore_mode", "activations"},
                                             {"max_time", 90.5},
                                             {"max_evaluations", 12},
                                             {"precision_ladder", {{{"name", "INT16"}, {"activations_bits", 16}}}}});
  EXPECT_EQ(a.max_drop, 0.25);
  EXPECT_EQ(a.drop_type, "relative");
  EXPECT_EQ(a.ranking_subset_size, 40);
  EXPECT_EQ(a.max_iter_num, 5);
  EXPECT_FALSE(a.use_prev_if_drop_increase);
  EXPECT_TRUE(a.convert_to_mixed_preset);
  ASSERT_EQ(a.metrics.size(), 2u);
  EXPECT_EQ(a.metrics[0].name, "accuracy@top1");
  ASSERT_TRUE(a.metrics[0].baseline_value.has_value());
  EXPECT_EQ(*a.metrics[0].baseline_value, 0.75);
  EXPECT_EQ(a.metrics[1].name, "accuracy@top5");
  EXPECT_FALSE(a.metrics[1].baseline_value.has_value());
  EXPECT_EQ(a.metric_subset_ratio, 0.3);
  EXPECT_TRUE(a.tune_hyperparams);
  EXPECT_TRUE(a.annotation_free);
  EXPECT_EQ(a.search, "greedy");
  EXPECT_EQ(a.restore_mode, "activations");
  EXPECT_EQ(a.max_time_seconds, 90.5);
  EXPECT_EQ(a.max_evaluations, 12);
  ASSERT_TRUE(a.precision_ladder.has_value());
  EXPECT_EQ(*a.precision_ladder, (std::vector<PrecisionRung>{{"INT16", 0, 16}}));
  EXPECT_FALSE(parse_aaq({}).precision_ladder.has_value()) << "absent = the target device's ladder";
}

TEST(AccuracyAwareParams, NncfAliases) {
  EXPECT_EQ(parse_aaq({{"max_drop", 0.002}}).max_drop, 0.002);
  EXPECT_EQ(parse_aaq({{"max_drop", 0}}).max_drop, 0.0);  // an integer is a number too
  EXPECT_EQ(parse_aaq({{"restore_mode", "ACTIVATIONS_AND_WEIGHTS"}}).restore_mode, "weights_and_activations");
  EXPECT_EQ(parse_aaq({{"restore_mode", "ONLY_ACTIVATIONS"}}).restore_mode, "activations");
  EXPECT_EQ(parse_aaq({{"restore_mode", "weights_and_activations"}}).restore_mode, "weights_and_activations");
  EXPECT_EQ(parse_aaq({{"search", "bisection"}}).search, "bisection");
  EXPECT_EQ(parse_aaq({{"drop_type", "absolute"}}).drop_type, "absolute");
}

TEST(AccuracyAwareParams, BoundaryValuesAreAccepted) {
  EXPECT_EQ(parse_aaq({{"maximal_drop", 0.0}}).max_drop, 0.0);
  EXPECT_EQ(parse_aaq({{"maximal_drop", 0.999}, {"drop_type", "relative"}}).max_drop, 0.999);
  // An absolute drop is in the metric's unit, which need not be a share (e.g. a distance).
  EXPECT_EQ(parse_aaq({{"maximal_drop", 2.5}}).max_drop, 2.5);
  EXPECT_EQ(parse_aaq({{"metric_subset_ratio", 1}}).metric_subset_ratio, 1.0);
  EXPECT_EQ(parse_aaq({{"ranking_subset_size", 1}}).ranking_subset_size, 1);
  EXPECT_EQ(parse_aaq({{"max_iter_num", 1}}).max_iter_num, 1);
  EXPECT_EQ(parse_aaq({{"max_time", 0}}).max_time_seconds, 0.0);
  EXPECT_EQ(parse_aaq({{"max_evaluations", 0}}).max_evaluations, 0);
  EXPECT_TRUE(parse_aaq({{"metrics", json::array()}}).metrics.empty());
}

TEST(AccuracyAwareParams, ConflictingSpellingsAreRejected) {
  expect_invalid_config(
      "maximal_drop + max_drop", [] { parse_aaq({{"maximal_drop", 0.01}, {"max_drop", 0.01}}); },
      {kWhere, "maximal_drop", "max_drop", "not both"});
  // DefaultQuantization's own conflicts hold inside AccuracyAwareQuantization params.
  expect_invalid_config(
      "ignored + ignored_scope", [] { parse_aaq({{"ignored", json::object()}, {"ignored_scope", json::object()}}); },
      {kWhere, "ignored", "ignored_scope"});
  expect_invalid_config(
      "use_fast_bias + bias_correction", [] { parse_aaq({{"use_fast_bias", true}, {"bias_correction", "full"}}); },
      {kWhere, "use_fast_bias", "bias_correction"});
}

struct BadValue {
  json params;
  std::string key;                   // the path must name it: <where>.<key>
  std::vector<std::string> needles;  // and say what was wrong
};

TEST(AccuracyAwareParams, BadValuesNameTheirPath) {
  const std::vector<BadValue> cases = {
      {{{"maximal_drop", -0.1}}, "maximal_drop", {">= 0", "-0.1"}},
      {{{"max_drop", -1}}, "max_drop", {">= 0"}},
      {{{"maximal_drop", 1.0}, {"drop_type", "relative"}}, "maximal_drop", {"< 1", "1.0"}},
      {{{"max_drop", 3}, {"drop_type", "relative"}}, "max_drop", {"< 1"}},
      {{{"maximal_drop", "0.01"}}, "maximal_drop", {"a number", "string"}},
      {{{"drop_type", "percent"}}, "drop_type", {"percent", "\"absolute\"", "\"relative\""}},
      {{{"drop_type", 1}}, "drop_type", {"\"absolute\""}},
      {{{"ranking_subset_size", 0}}, "ranking_subset_size", {">= 1", "0"}},
      {{{"ranking_subset_size", 1.5}}, "ranking_subset_size", {"an integer"}},
      {{{"max_iter_num", 0}}, "max_iter_num", {">= 1"}},
      {{{"max_iter_num", -3}}, "max_iter_num", {">= 1", "-3"}},
      {{{"use_prev_if_drop_increase", "yes"}}, "use_prev_if_drop_increase", {"boolean"}},
      {{{"base_algorithm", "MinMaxQuantization"}}, "base_algorithm", {"MinMaxQuantization", "\"DefaultQuantization\""}},
      {{{"base_algorithm", "AccuracyAwareQuantization"}}, "base_algorithm", {"AccuracyAwareQuantization"}},
      {{{"convert_to_mixed_preset", 1}}, "convert_to_mixed_preset", {"boolean"}},
      {{{"metric_subset_ratio", 0}}, "metric_subset_ratio", {"(0, 1]"}},
      {{{"metric_subset_ratio", 1.5}}, "metric_subset_ratio", {"(0, 1]", "1.5"}},
      {{{"tune_hyperparams", "no"}}, "tune_hyperparams", {"boolean"}},
      {{{"annotation_free", 0}}, "annotation_free", {"boolean"}},
      {{{"search", "random"}}, "search", {"random", "\"bisection\"", "\"greedy\""}},
      {{{"restore_mode", "weights"}},
       "restore_mode",
       {"weights", "\"weights_and_activations\"", "\"activations\"", "\"ONLY_ACTIVATIONS\""}},
      {{{"max_time", -1}}, "max_time", {">= 0", "-1"}},
      {{{"max_time", "1h"}}, "max_time", {"a number"}},
      {{{"max_evaluations", -1}}, "max_evaluations", {">= 0", "-1"}},
      {{{"max_evaluations", 2.5}}, "max_evaluations", {"an integer"}},
      {{{"precision_ladder", {{{"name", "x"}, {"weights_bits", 12}}}}}, "precision_ladder[0].weights_bits", {"12 bits"}},
      {{{"metrics", {{"name", "a"}}}}, "metrics", {"an array"}},
      {{{"metrics", {1}}}, "metrics[0]", {"expected an object", "1"}},
      {{{"metrics", {{{"baseline_value", 0.5}}}}}, "metrics[0].name", {"required"}},
      {{{"metrics", {{{"name", ""}}}}}, "metrics[0].name", {"empty"}},
      {{{"metrics", {{{"name", 5}}}}}, "metrics[0].name", {"a string"}},
      {{{"metrics", {{{"name", "a"}, {"baseline_value", "high"}}}}}, "metrics[0].baseline_value", {"a number"}},
      {{{"metrics", {{{"name", "a"}, {"baseline", 0.5}}}}}, "metrics[0].baseline", {"unknown key", "baseline_value"}},
      {{{"metrics", {{{"name", "a"}}, {{"name", "a"}}}}}, "metrics[1].name", {"'a'", "twice"}},
      // DefaultQuantization keys keep their checks inside AccuracyAwareQuantization params.
      {{{"stat_subset_size", 0}}, "stat_subset_size", {">= 1"}},
      {{{"seed", -2}}, "seed", {">= 0"}},
      {{{"weights", {{"bits", "8"}}}}, "weights.bits", {"an integer"}},
      {{{"bias_correction", "partial"}}, "bias_correction", {"partial", "\"fast\""}},
  };
  for (const BadValue& c : cases) {
    std::vector<std::string> needles = {path(c.key) + ":"};
    needles.insert(needles.end(), c.needles.begin(), c.needles.end());
    expect_invalid_config(c.params.dump(), [&] { parse_aaq(c.params); }, needles);
  }
}

TEST(AccuracyAwareParams, UnknownKeyListsBothAlgorithmsKeys) {
  expect_invalid_config("unknown key", [] { parse_aaq({{"maximal_dorp", 0.01}}); },
                        {path("maximal_dorp"), "unknown key",
                         // its own keys ...
                         "maximal_drop", "max_drop", "drop_type", "ranking_subset_size", "max_iter_num",
                         "use_prev_if_drop_increase", "base_algorithm", "convert_to_mixed_preset", "metrics",
                         "metric_subset_ratio", "tune_hyperparams", "annotation_free", "search", "restore_mode",
                         "max_time", "max_evaluations", "precision_ladder",
                         // ... and DefaultQuantization's, aliases included
                         "preset", "stat_subset_size", "shuffle_data", "seed", "weights", "activations",
                         "use_fast_bias", "fast_bias_correction", "bias_correction_subset_size", "ignored",
                         "ignored_scope", "compress_weights", "quantize_bias", "target_device", "model_type"});
}

// The seeds: DefaultQuantization "is used as an initialization, all its parameters are also valid".
TEST(AccuracyAwareParams, DefaultQuantizationParamsFillTheBase) {
  const json dq = all_default_quantization_keys();
  json aaq = dq;
  aaq["maximal_drop"] = 0.002;
  const AccuracyControlConfig a = parse_aaq(aaq);
  const QuantizationConfig d = parse_dq(dq);
  EXPECT_EQ(dump(a.base), dump(d));
  EXPECT_EQ(a.max_drop, 0.002);
  // Spot checks, so that the comparison above cannot pass by both parsers ignoring the keys.
  EXPECT_EQ(a.base.target_device, "CPU");
  EXPECT_EQ(a.base.preset, "mixed");
  EXPECT_EQ(a.base.model_type, "transformer");
  EXPECT_EQ(a.base.stat_subset_size, 123);
  EXPECT_TRUE(a.base.shuffle_data);
  EXPECT_EQ(a.base.seed, 7u);
  EXPECT_EQ(a.base.weights.mode, std::optional<std::string>("asymmetric"));
  EXPECT_EQ(a.base.weights.granularity, std::optional<std::string>("pertensor"));
  EXPECT_EQ(a.base.activations.range_estimator, json("quantile"));
  EXPECT_EQ(a.base.bias_correction, "none");
  EXPECT_EQ(a.base.bias_correction_subset_size, 11);
  EXPECT_EQ(a.base.ignored_scope, json({{"names", {"conv1"}}}));
  EXPECT_FALSE(a.base.compress_weights);
  EXPECT_FALSE(a.base.quantize_bias);
}

TEST(AccuracyAwareParams, DefaultQuantizationAliasesFillTheBase) {
  EXPECT_EQ(parse_aaq({{"use_fast_bias", false}}).base.bias_correction, "full");
  EXPECT_EQ(parse_aaq({{"fast_bias_correction", true}}).base.bias_correction, "fast");
  const json pot_ignored = {{"scope", {"fc"}}};
  EXPECT_EQ(parse_aaq({{"ignored", pot_ignored}}).base.ignored_scope, pot_ignored);
  // The section's target device unless the params override it.
  EXPECT_EQ(parse_aaq(json::object(), "NPU").base.target_device, "NPU");
  EXPECT_EQ(parse_aaq({{"target_device", "GNA"}}, "NPU").base.target_device, "GNA");
}

// ---------------------------------------------------------------------------------------------- DefaultQuantization

TEST(DefaultQuantizationParams, DefaultsAndEveryKey) {
  QuantizationConfig expected;
  expected.target_device = "GPU";
  EXPECT_EQ(dump(parse_dq(json(), "GPU")), dump(expected));
  const QuantizationConfig p = parse_dq(all_default_quantization_keys());
  EXPECT_EQ(p.preset, "mixed");
  EXPECT_EQ(p.stat_subset_size, 123);
  EXPECT_EQ(p.bias_correction, "none");
  EXPECT_EQ(p.weights.bits, std::optional<int>(8));
  EXPECT_FALSE(p.compress_weights);
}

TEST(DefaultQuantizationParams, AccuracyAwareKeysAreUnknownHere) {
  for (const char* key : {"maximal_drop", "max_drop", "ranking_subset_size", "search", "metrics"}) {
    expect_invalid_config(key, [&] { parse_dq({{key, 1}}); },
                          {path(key), "unknown key", "stat_subset_size", "use_fast_bias", "ignored_scope"});
  }
}

// ---------------------------------------------------------------------------------------------- examples/

std::vector<fs::path> example_configs() {
  std::vector<fs::path> files;
  for (const auto& e : fs::directory_iterator(fs::path(QWAC_SOURCE_DIR) / "examples")) {
    if (e.is_regular_file() && e.path().extension() == ".json") files.push_back(e.path());
  }
  std::sort(files.begin(), files.end());
  return files;
}

// Every example parses with the parser of its algorithm (through load_config when the shared assets it points
// at are present, since load_config checks that the model exists).
TEST(ExampleConfigs, EveryCompressionSectionParses) {
  const std::vector<fs::path> files = example_configs();
  ASSERT_FALSE(files.empty());
  const bool assets = fs::is_directory(fs::path(QWAC_SHARED_DIR) / "assets" / "models");
  int accuracy_aware = 0;
  for (const fs::path& f : files) {
    SCOPED_TRACE(f.string());
    json compression;
    if (assets) {
      compression = config::load_config(f.string()).compression;
    } else {
      std::ifstream in(f);
      compression = json::parse(in).at("compression");
    }
    const config::CompressionSection c = config::parse_compression(compression);
    ASSERT_EQ(c.algorithms.size(), 1u);
    const config::AlgorithmSection& a = c.algorithms[0];
    if (a.name == "AccuracyAwareQuantization") {
      ++accuracy_aware;
      const AccuracyControlConfig p = config::parse_accuracy_aware_params(a, c.target_device);
      // The shared-model twins (below) all use the same settings; other examples (GNA, tuned) choose their own.
      const std::string name = f.filename().string();
      const bool tight = name.find("-aaq-0.002.json") != std::string::npos;
      const bool twin = name.find("-aaq.json") != std::string::npos && name.find("-gna-") == std::string::npos;
      if (tight || twin) {
        // The defaults: performance, or the model type's preset (transformer: mixed).
        EXPECT_EQ(quant::resolved_preset(p.base), p.base.model_type == "transformer" ? "mixed" : "performance");
        EXPECT_EQ(p.base.stat_subset_size, 300);
        EXPECT_EQ(p.drop_type, "absolute");
        EXPECT_EQ(p.max_drop, tight ? 0.002 : 0.01);
      }
    } else {
      EXPECT_EQ(a.name, "DefaultQuantization");
      config::parse_default_quantization_params(a, c.target_device);
    }
  }
  EXPECT_GE(accuracy_aware, 2);
}

// Each DefaultQuantization example of a shared model (../shared/assets) <name>.json has an accuracy-aware twin
// <name>-aaq.json with the same model and engine sections; squeezenet1.1 on imagenet-val-1300 also has the tight
// bound that needs reverting.
TEST(ExampleConfigs, EveryDefaultExampleHasAnAccuracyAwareTwin) {
  const fs::path dir = fs::path(QWAC_SOURCE_DIR) / "examples";
  int twins = 0;
  for (const fs::path& f : example_configs()) {
    std::ifstream in(f);
    const json dq = json::parse(in);
    if (dq.at("compression").at("algorithms").at(0).at("name") != "DefaultQuantization") continue;
    if (dq.at("model").at("model").get<std::string>().find("shared/assets/") == std::string::npos) continue;
    const fs::path twin = dir / (f.stem().string() + "-aaq.json");
    ASSERT_TRUE(fs::exists(twin)) << twin;
    std::ifstream tin(twin);
    const json aaq = json::parse(tin);
    EXPECT_EQ(aaq.at("model"), dq.at("model")) << twin;
    EXPECT_EQ(aaq.at("engine"), dq.at("engine")) << twin;
    ++twins;
  }
  EXPECT_GE(twins, 7);  // the six shared models, squeezenet1.1 on two data sets
  EXPECT_TRUE(fs::exists(dir / "squeezenet1.1-imagenet-val-1300-aaq-0.002.json"));
}

}  // namespace
}  // namespace qwac
