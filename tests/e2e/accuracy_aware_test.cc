// `qwac quantize` with AccuracyAwareQuantization end to end on the shared models: the SqueezeNet case
// (maximal_drop 0.002, bisection vs greedy), an unreachable bound (exit code 8, best model and report written),
// relative drop on two metrics, annotation-free mode, activations-only restore, determinism across thread counts.
#include <gtest/gtest.h>

#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <nlohmann/json.hpp>
#include <string>

#include "e2e/e2e_util.h"
#include "test_util.h"

namespace qwac {
namespace {

namespace fs = std::filesystem;
using e2e::CliRun;
using e2e::example;
using e2e::run_qwac;
using e2e::Scratch;
using nlohmann::json;

// An example config with its AccuracyAwareQuantization params replaced by `params` (merged over the example's) and
// its relative paths made absolute, written into the scratch folder.
std::string aaq_config(const Scratch& scratch, const std::string& example_name, const json& params,
                       const std::string& file = "config.json") {
  json c = json::parse(testing::read_file_bytes(example(example_name)));
  const std::string base = std::string(QWAC_SOURCE_DIR) + "/examples/";
  c["model"]["model"] = base + c["model"]["model"].get<std::string>();
  for (const char* section : {"dataset", "calibration_dataset"}) {
    if (!c["engine"].contains(section)) continue;
    for (const char* key : {"images", "labels"}) {
      c["engine"][section][key] = base + c["engine"][section][key].get<std::string>();
    }
  }
  json& algo = c["compression"]["algorithms"][0];
  algo["name"] = "AccuracyAwareQuantization";
  for (const auto& [k, v] : params.items()) algo["params"][k] = v;
  return scratch.write(file, c.dump(2));
}

struct AaqRun {
  CliRun cli;
  json report;
};

AaqRun quantize(const Scratch& scratch, const std::string& config, const std::string& tag,
                const std::string& extra = "") {
  AaqRun r;
  r.cli = run_qwac("quantize --config " + config + " --output " + scratch.path(tag + ".onnx") + " --report " +
                   scratch.path(tag + ".json") + " --quiet " + extra);
  if (fs::exists(scratch.path(tag + ".json"))) r.report = json::parse(testing::read_file_bytes(scratch.path(tag + ".json")));
  return r;
}

// top-1 of an exported model measured by `qwac evaluate` on the config's full data set.
double measured(const std::string& config, const std::string& model, const std::string& metric = "accuracy@top1") {
  const CliRun e = run_qwac("evaluate --config " + config + " --model " + model + " --json --quiet");
  EXPECT_EQ(e.exit_code, 0) << e.err;
  return json::parse(e.out)["metrics"][metric]["value"].get<double>();
}

TEST(AccuracyAware, SqueezeNetMaximalDrop0002BisectionVersusGreedy) {
  QWAC_REQUIRE_SHARED();
  Scratch scratch;
  const std::string cfg = example("squeezenet1.1-imagenet-val-1300-aaq-0.002");
  const AaqRun b = quantize(scratch, cfg, "bisection");
  ASSERT_EQ(b.cli.exit_code, 0) << b.cli.out << b.cli.err;
  const std::string greedy_cfg = aaq_config(scratch, "squeezenet1.1-imagenet-val-1300-aaq-0.002", {{"search", "greedy"}});
  const AaqRun g = quantize(scratch, greedy_cfg, "greedy");
  ASSERT_EQ(g.cli.exit_code, 0) << g.cli.out << g.cli.err;

  const double fp32 = b.report["metrics"]["accuracy@top1"]["fp32"].get<double>();
  EXPECT_NEAR(fp32, 944.0 / 1300.0, 1e-9);
  const double final_top1 = measured(cfg, scratch.path("bisection.onnx"));
  EXPECT_LE(fp32 - final_top1, 0.002 + 1e-9) << "drop measured on the exported file";
  EXPECT_NEAR(final_top1, b.report["metrics"]["accuracy@top1"]["final"].get<double>(), 1e-9);
  const size_t reverted_b = b.report["reverted_ops"].size(), reverted_g = g.report["reverted_ops"].size();
  const int64_t full_b = b.report["full_validations"], full_g = g.report["full_validations"];
  std::printf("[ aaq      ] squeezenet 0.002: bisection %zu ops reverted, %lld full validations, %.1f s; greedy %zu ops, "
              "%lld full validations, %.1f s\n",
              reverted_b, static_cast<long long>(full_b), b.report["timings_seconds"]["total"].get<double>(), reverted_g,
              static_cast<long long>(full_g), g.report["timings_seconds"]["total"].get<double>());
  EXPECT_LE(reverted_b, reverted_g);
  EXPECT_LE(full_b, full_g);
  EXPECT_NE(b.cli.out.find("of 27 quantized ops reverted"), std::string::npos) << b.cli.out;
}

// Issue 19: the search decides candidates on part of the validation set (beyond the bound, or within it for one
// the pruning may still shrink), but the model it returns was validated completely: the last step of the report
// is a complete validation within the bound, and the exported file measures what the report says. A ranking subset
// of 16 samples makes the adaptive ranking's top unit fail (with the default 300 the top unit passes on its own,
// completely validated): the search must still end with no more reverted ops than the greedy loop on the same
// config (before the singles and the later early failures: 6 ops against greedy's 2 on the default config).
TEST(AccuracyAware, MobileNetV3EarlyDecisionsAreConfirmedByACompleteValidation) {
  QWAC_REQUIRE_SHARED();
  Scratch scratch;
  const std::string name = "mobilenetv3s-cifar10-cifar10-split-eval-2000-aaq-0.002";
  const std::string cfg = aaq_config(scratch, name, {{"ranking_subset_size", 16}});
  const AaqRun r = quantize(scratch, cfg, "out");
  ASSERT_EQ(r.cli.exit_code, 0) << r.cli.out << r.cli.err;
  ASSERT_TRUE(r.report["reached"].get<bool>());
  const json& steps = r.report["steps"];
  ASSERT_FALSE(steps.empty());
  int64_t decided_early = 0;
  for (const json& s : steps) decided_early += s.contains("stopped_after_samples") ? 1 : 0;
  EXPECT_GT(decided_early, 0) << "no validation stopped early: the test no longer exercises early decisions";
  const json* top = nullptr;
  for (const json& s : steps) {
    if (s.value("prefix", 0) == 1) top = &s;
  }
  ASSERT_NE(top, nullptr) << "the top ranked unit was not validated";
  EXPECT_FALSE((*top)["satisfied"].get<bool>()) << "the top unit passed: the test no longer exercises its failure";
  const json& last = steps.back();
  EXPECT_FALSE(last.contains("stopped_after_samples")) << last.dump();
  EXPECT_TRUE(last["satisfied"].get<bool>()) << last.dump();
  ASSERT_TRUE(last["metrics"]["accuracy@top1"].contains("value")) << last.dump();
  const double fp32 = r.report["metrics"]["accuracy@top1"]["fp32"].get<double>();
  const double final_top1 = measured(cfg, scratch.path("out.onnx"));
  EXPECT_NEAR(final_top1, last["metrics"]["accuracy@top1"]["value"].get<double>(), 1e-9);
  EXPECT_NEAR(final_top1, r.report["metrics"]["accuracy@top1"]["final"].get<double>(), 1e-9);
  EXPECT_LE(fp32 - final_top1, 0.002 + 1e-9) << "drop measured on the exported file";

  const AaqRun g = quantize(scratch, aaq_config(scratch, name, {{"ranking_subset_size", 16}, {"search", "greedy"}},
                                                "greedy-config.json"),
                            "greedy");
  ASSERT_EQ(g.cli.exit_code, 0) << g.cli.out << g.cli.err;
  EXPECT_LE(r.report["reverted_ops"].size(), g.report["reverted_ops"].size())
      << "bisection " << r.report["reverted_ops"].dump() << "\ngreedy " << g.report["reverted_ops"].dump();
}

// Issue 19 on its own config: the bisection search reverts no more ops than the greedy loop, at the example's bound
// and at a tighter one, in a few full validations (before: 32 validations and 6 ops against greedy's 2 at 0.002;
// 101 validations and 35 ops at 0.001, where early failures rejected the unit that alone recovers the bound).
TEST(AccuracyAware, MobileNetV3BisectionRevertsNoMoreThanGreedy) {
  QWAC_REQUIRE_SHARED();
  Scratch scratch;
  const std::string name = "mobilenetv3s-cifar10-cifar10-split-eval-2000-aaq-0.002";
  for (double bound : {0.002, 0.001}) {
    SCOPED_TRACE("maximal_drop " + std::to_string(bound));
    const std::string tag = bound == 0.002 ? "a" : "b";
    const std::string cfg = aaq_config(scratch, name, {{"maximal_drop", bound}}, tag + "-config.json");
    const AaqRun b = quantize(scratch, cfg, tag + "-bisection");
    ASSERT_EQ(b.cli.exit_code, 0) << b.cli.out << b.cli.err;
    const AaqRun g = quantize(scratch, aaq_config(scratch, name, {{"maximal_drop", bound}, {"search", "greedy"}},
                                                  tag + "-greedy-config.json"),
                              tag + "-greedy");
    ASSERT_EQ(g.cli.exit_code, 0) << g.cli.out << g.cli.err;
    ASSERT_TRUE(b.report["reached"].get<bool>());
    EXPECT_LE(b.report["reverted_ops"].size(), g.report["reverted_ops"].size())
        << "bisection " << b.report["reverted_ops"].dump() << "\ngreedy " << g.report["reverted_ops"].dump();
    EXPECT_LE(b.report["full_validations"].get<int64_t>(), 6);
    const double fp32 = b.report["metrics"]["accuracy@top1"]["fp32"].get<double>();
    EXPECT_LE(fp32 - measured(cfg, scratch.path(tag + "-bisection.onnx")), bound + 1e-9)
        << "drop measured on the exported file";
  }
}

TEST(AccuracyAware, UnreachableBoundExitsWithCode8AndWritesTheBestModel) {
  QWAC_REQUIRE_SHARED();
  Scratch scratch;
  // Two full validations allowed: the FP32 baseline and the default quantization; nothing is left for the search.
  const std::string cfg = aaq_config(scratch, "resnet20-cifar10-cifar10-test-jpeg-aaq",
                                     {{"maximal_drop", 0.0}, {"max_evaluations", 2}});
  const AaqRun r = quantize(scratch, cfg, "out");
  EXPECT_EQ(r.cli.exit_code, 8) << r.cli.out << r.cli.err;
  EXPECT_NE(r.cli.err.find("AccuracyNotReached"), std::string::npos) << r.cli.err;
  EXPECT_TRUE(fs::exists(scratch.path("out.onnx")));
  ASSERT_FALSE(r.report.is_null());
  EXPECT_FALSE(r.report["reached"].get<bool>());
  EXPECT_EQ(r.report["full_validations"].get<int64_t>(), 2);
}

TEST(AccuracyAware, GreedyWithOneIterationCannotReachAZeroDrop) {
  QWAC_REQUIRE_SHARED();
  Scratch scratch;
  const std::string cfg = aaq_config(scratch, "resnet20-cifar10-cifar10-test-jpeg-aaq",
                                     {{"maximal_drop", 0.0}, {"max_iter_num", 1}, {"search", "greedy"}});
  const AaqRun r = quantize(scratch, cfg, "out");
  EXPECT_EQ(r.cli.exit_code, 8) << r.cli.out << r.cli.err;
  ASSERT_FALSE(r.report.is_null());
  EXPECT_LE(r.report["full_validations"].get<int64_t>(), 3);
  // The best model seen is written: its measured top-1 is the reported final one.
  EXPECT_NEAR(measured(cfg, scratch.path("out.onnx")), r.report["metrics"]["accuracy@top1"]["final"].get<double>(),
              1e-9);
}

TEST(AccuracyAware, RelativeDropOnTopOneAndTopFive) {
  QWAC_REQUIRE_SHARED();
  Scratch scratch;
  // fashion-mnist-cnn loses 0.05 % top-1 (0.055 % relative) in default quantization: a 0.03 % relative bound
  // needs reverting.
  const std::string cfg = aaq_config(
      scratch, "fashion-mnist-cnn-fashion-mnist-test-aaq",
      {{"maximal_drop", 0.0003}, {"drop_type", "relative"},
       {"metrics", json::array({{{"name", "accuracy@top1"}}, {{"name", "accuracy@top5"}}})}});
  const AaqRun r = quantize(scratch, cfg, "out");
  ASSERT_EQ(r.cli.exit_code, 0) << r.cli.out << r.cli.err;
  for (const char* m : {"accuracy@top1", "accuracy@top5"}) {
    const json& e = r.report["metrics"][m];
    EXPECT_NEAR(e["bound"].get<double>(), 0.0003 * e["fp32"].get<double>(), 1e-12) << m;
    const double value = measured(cfg, scratch.path("out.onnx"), m);
    EXPECT_LE(e["fp32"].get<double>() - value, e["bound"].get<double>() + 1e-9) << m;
  }
}

TEST(AccuracyAware, AnnotationFree) {
  QWAC_REQUIRE_SHARED();
  Scratch scratch;
  // FP32 predictions are the labels: the FP32 model scores 1 and any disagreement of the int8 model is a drop
  // (fashion-mnist-cnn's default int8 model disagrees on 0.07 % of the samples).
  const std::string cfg = aaq_config(scratch, "fashion-mnist-cnn-fashion-mnist-test-aaq",
                                     {{"maximal_drop", 0.0003}, {"annotation_free", true}});
  const AaqRun r = quantize(scratch, cfg, "out");
  ASSERT_EQ(r.cli.exit_code, 0) << r.cli.out << r.cli.err;
  const json& m = r.report["metrics"]["accuracy@top1"];
  EXPECT_DOUBLE_EQ(m["fp32"].get<double>(), 1.0);
  EXPECT_GT(m["drop"].get<double>() + 1e-12, 0.0);
  EXPECT_LE(m["drop"].get<double>(), 0.0003 + 1e-12);
  EXPECT_LT(m["default_quantization"].get<double>(), 1.0 - 0.0003);
  EXPECT_FALSE(r.report["reverted_ops"].empty());
}

TEST(AccuracyAware, ActivationsOnlyRestoreKeepsInt8Weights) {
  QWAC_REQUIRE_SHARED();
  Scratch scratch;
  const std::string cfg = aaq_config(scratch, "resnet20-cifar10-cifar10-test-jpeg-aaq",
                                     {{"maximal_drop", 0.001}, {"restore_mode", "activations"}});
  const AaqRun r = quantize(scratch, cfg, "out");
  ASSERT_EQ(r.cli.exit_code, 0) << r.cli.out << r.cli.err;
  ASSERT_FALSE(r.report["reverted_ops"].empty()) << "resnet20 loses 0.19 % top-1 in default quantization";
  for (const auto& op : r.report["reverted_ops"]) {
    if (op["type"] == "Conv" || op["type"] == "Gemm") {
      EXPECT_EQ(op["precision"], "float (int8 weights)") << op.dump();
    }
  }
  for (const auto& q : r.report["quantizers"]) {
    if (q["kind"] == "weight") {
      EXPECT_TRUE(q["enabled"].get<bool>()) << q.dump();
    }
  }
  EXPECT_LE(r.report["metrics"]["accuracy@top1"]["fp32"].get<double>() -
                measured(cfg, scratch.path("out.onnx")),
            0.001 + 1e-9);
}

TEST(AccuracyAware, GnaLadderRaisesGroupsToInt16BeforeFloat) {
  QWAC_REQUIRE_SHARED();
  Scratch scratch;
  // GNA: int16 activations, int8 weights (performance preset); its ladder raises weights to INT16 before float.
  const std::string cfg = example("fashion-mnist-cnn-fashion-mnist-test-gna-aaq");
  const AaqRun r = quantize(scratch, cfg, "out");
  ASSERT_EQ(r.cli.exit_code, 0) << r.cli.out << r.cli.err;
  EXPECT_EQ(r.report["params"]["precision_ladder"][0]["name"], "INT16");
  EXPECT_EQ(r.report["params"]["precision_ladder"].back(), "float");
  EXPECT_GT(r.report["metrics"]["accuracy@top1"]["fp32"].get<double>(),
            r.report["metrics"]["accuracy@top1"]["default_quantization"].get<double>());
  ASSERT_FALSE(r.report["raised_ops"].empty()) << "fashion-mnist-cnn on GNA loses top-1 at INT8 weights";
  for (const auto& op : r.report["raised_ops"]) EXPECT_EQ(op["precision"], "INT16") << op.dump();
  EXPECT_TRUE(r.report["reverted_ops"].empty()) << "INT16 weights suffice: nothing goes back to float";
  const double fp32 = r.report["metrics"]["accuracy@top1"]["fp32"].get<double>();
  EXPECT_LE(fp32 - measured(cfg, scratch.path("out.onnx")), 1e-9) << "drop measured on the exported file";
  // 16-bit quantizers are written as ONNX Runtime's com.microsoft Q/DQ.
  const CliRun inspect = run_qwac("inspect " + scratch.path("out.onnx"));
  EXPECT_NE(inspect.out.find("com.microsoft.DequantizeLinear"), std::string::npos) << inspect.out;
}

TEST(AccuracyAware, TuneHyperparamsBeforeReverting) {
  QWAC_REQUIRE_SHARED();
  Scratch scratch;
  // resnet20 at 0.001 on top-1: the default settings (MSE activation ranges) lose 0.19 points; tuning the
  // default-quantization settings first finds ones that need (almost) no revert.
  const std::string cfg = aaq_config(scratch, "resnet20-cifar10-cifar10-test-jpeg-aaq-0.002-tuned",
                                     {{"maximal_drop", 0.001}, {"tune_hyperparams", true}});
  const AaqRun r = quantize(scratch, cfg, "out");
  ASSERT_EQ(r.cli.exit_code, 0) << r.cli.out << r.cli.err;
  const json& t = r.report["tune_hyperparams"];
  ASSERT_TRUE(t.is_object()) << r.report.dump(1);
  EXPECT_EQ(t["tried"].size(), 9u) << t.dump(1);
  EXPECT_TRUE(t["kept"].get<bool>()) << t.dump(1);
  EXPECT_LE(r.report["reverted_ops"].size(), 4u) << r.report["summary"];
  const double fp32 = r.report["metrics"]["accuracy@top1"]["fp32"].get<double>();
  EXPECT_LE(fp32 - measured(cfg, scratch.path("out.onnx")), 0.001 + 1e-9) << "drop measured on the exported file";
  std::printf("[ aaq      ] resnet20 0.001 with tune_hyperparams: chosen %s, %s, %.1f s\n", t["chosen"].dump().c_str(),
              r.report["summary"].get<std::string>().c_str(), r.report["timings_seconds"]["total"].get<double>());
}

TEST(AccuracyAware, SameResultWhateverTheThreadCount) {
  QWAC_REQUIRE_SHARED();
  Scratch scratch;
  const std::string cfg = aaq_config(scratch, "fashion-mnist-cnn-fashion-mnist-test-aaq", {{"maximal_drop", 0.0}});
  const AaqRun one = quantize(scratch, cfg, "t1", "--threads 1");
  const AaqRun two = quantize(scratch, cfg, "t2", "--threads 2");
  ASSERT_TRUE(one.cli.exit_code == 0 || one.cli.exit_code == 8) << one.cli.err;
  ASSERT_EQ(two.cli.exit_code, one.cli.exit_code) << two.cli.err;
  EXPECT_EQ(testing::read_file_bytes(scratch.path("t1.onnx")), testing::read_file_bytes(scratch.path("t2.onnx")));
  EXPECT_EQ(one.report["reverted_ops"], two.report["reverted_ops"]);
  EXPECT_EQ(one.report["metrics"], two.report["metrics"]);
}

TEST(AccuracyAware, ResumeAfterAnInterruptedRunGivesTheSameModel) {
  QWAC_REQUIRE_SHARED();
  Scratch scratch;
  const std::string cfg = aaq_config(scratch, "fashion-mnist-cnn-fashion-mnist-test-aaq", {{"maximal_drop", 0.0}});
  const AaqRun whole = quantize(scratch, cfg, "whole");
  ASSERT_TRUE(whole.cli.exit_code == 0 || whole.cli.exit_code == 8) << whole.cli.err;
  // Kill a second run part-way (SIGKILL: no clean-up), then resume it.
  const std::string out = scratch.path("resumed.onnx");
  const std::string killed = "timeout -s KILL 15 " + std::string(QWAC_CLI) + " quantize --config " + cfg + " --output " +
                             out + " --quiet > /dev/null 2>&1";
  const int status = std::system(killed.c_str());
  (void)status;
  const CliRun resumed = run_qwac("quantize --config " + cfg + " --output " + out + " --report " +
                                  scratch.path("resumed.json") + " --resume");
  EXPECT_EQ(resumed.exit_code, whole.cli.exit_code) << resumed.err;
  EXPECT_EQ(testing::read_file_bytes(out), testing::read_file_bytes(scratch.path("whole.onnx")))
      << "the resumed run must end with the same model";
  EXPECT_FALSE(fs::exists(out + ".checkpoint.json")) << "a completed run removes its checkpoint";
  std::printf("[ resume   ] %s\n", resumed.err.find("resuming from") != std::string::npos
                                       ? "resumed from recorded validations"
                                       : "the interrupted run had recorded nothing yet (fresh run)");
}

TEST(AccuracyAware, BundledDemoRunsWithoutSharedAssets) {
  Scratch scratch;
  const CliRun r = run_qwac("quantize --config " + example("demo") + " --output " + scratch.path("demo.onnx") +
                            " --report " + scratch.path("demo.json") + " --quiet");
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_NE(r.out.find("quantized ops reverted"), std::string::npos) << r.out;
  const json rep = json::parse(testing::read_file_bytes(scratch.path("demo.json")));
  EXPECT_NEAR(rep["metrics"]["accuracy@top1"]["fp32"].get<double>(), 0.987, 1e-9);  // examples/data/README.md
  EXPECT_TRUE(rep["reached"].get<bool>());
}

TEST(AccuracyAware, SensitivityRanksEveryGroup) {
  QWAC_REQUIRE_SHARED();
  Scratch scratch;
  const std::string out = scratch.path("sensitivity.json");
  const CliRun r = run_qwac("sensitivity --config " + example("fashion-mnist-cnn-fashion-mnist-test-aaq") +
                            " --output " + out + " --quiet");
  ASSERT_EQ(r.exit_code, 0) << r.err;
  const json j = json::parse(testing::read_file_bytes(out));
  ASSERT_EQ(j["groups"].size(), 5u);  // Conv x3, Gemm x2
  double previous = 1e300;
  for (const auto& g : j["groups"]) {
    EXPECT_LE(g["score"].get<double>(), previous) << "groups must be sorted by score";
    previous = g["score"].get<double>();
    EXPECT_TRUE(g.contains("estimated")) << g.dump();
  }
  EXPECT_EQ(j["full_validations"].get<int64_t>(), 2);  // FP32 and the default quantization only
  EXPECT_NE(r.out.find("rank group"), std::string::npos) << r.out;
}

}  // namespace
}  // namespace qwac
