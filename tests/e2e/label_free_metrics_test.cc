// Label-free metrics (nmse, cosine, psnr) end to end: they compare with the FP32 model's outputs, which qwac
// computes itself for any dataset, so `qwac evaluate`, `qwac quantize --evaluate` and AccuracyAwareQuantization all
// accept them on an unlabeled (random) dataset and agree with each other.
#include <gtest/gtest.h>

#include <cmath>
#include <memory>
#include <nlohmann/json.hpp>
#include <random>
#include <string>

#include "e2e/e2e_util.h"
#include "onnx/model_io.h"
#include "test_util.h"

namespace qwac {
namespace {

using e2e::CliRun;
using e2e::run_qwac;
using e2e::Scratch;
using nlohmann::json;

// x[N,3,8,8] -> Conv(3->8, 3x3) -> Relu -> Conv(8->4, 3x3) -> y, seeded weights, symbolic batch.
std::string write_model(const Scratch& scratch) {
  ir::Model m;
  m.ir_version = 8;
  m.opset_imports = {{"", 13}};
  m.graph = std::make_unique<ir::Graph>();
  m.graph->name = "two_convs";
  ir::Graph& g = *m.graph;
  ir::Value* x = g.add_value("x");
  x->type = {DType::kFloat32, ir::SymbolicShape{{-1, "batch"}, {3, ""}, {8, ""}, {8, ""}}};
  g.add_input(x);
  std::mt19937 rng(7);
  ir::Value* h = g.add_value("h");
  g.add_node("Conv", {x, g.add_constant("w1", testing::random_tensor({8, 3, 3, 3}, rng, -0.4f, 0.4f))}, {h}, "conv1");
  ir::Value* r = g.add_value("r");
  g.add_node("Relu", {h}, {r}, "relu");
  ir::Value* y = g.add_value("y");
  y->type = {DType::kFloat32, ir::SymbolicShape{{-1, "batch"}, {4, ""}, {4, ""}, {4, ""}}};
  g.add_node("Conv", {r, g.add_constant("w2", testing::random_tensor({4, 8, 3, 3}, rng, -0.3f, 0.3f))}, {y}, "conv2");
  g.add_output(y);
  const std::string path = scratch.path("model.onnx");
  onnxio::save_model(m, path);
  return path;
}

std::string write_config(const Scratch& scratch, const std::string& model, const std::string& algorithm,
                         const json& params) {
  json c;
  c["model"] = {{"model", model}};
  c["engine"] = {{"batch_size", 4},
                 {"dataset", {{"type", "random"}, {"count", 24}, {"seed", 3}, {"low", -1}, {"high", 1}}},
                 {"metrics", json::array({{{"type", "nmse"}}, {{"type", "cosine"}}, {{"type", "psnr"}}})}};
  c["compression"] = {{"algorithms", json::array({{{"name", algorithm}, {"params", params}}})}};
  return scratch.write(algorithm + ".json", c.dump(2));
}

json evaluate_json(const std::string& config, const std::string& model = "") {
  const CliRun r =
      run_qwac("evaluate --config " + config + (model.empty() ? "" : " --model " + model) + " --json --quiet");
  EXPECT_EQ(r.exit_code, 0) << r.err;
  return r.exit_code == 0 ? json::parse(r.out) : json::object();
}

TEST(LabelFreeMetrics, EvaluateQuantizeEvaluateAndTheAccuracySearchAgree) {
  Scratch scratch;
  const std::string model = write_model(scratch);
  const std::string config = write_config(scratch, model, "DefaultQuantization", json::object());

  // The FP32 model against its own outputs: the metrics' ideal values.
  const json fp32 = evaluate_json(config);
  ASSERT_TRUE(fp32.contains("metrics")) << fp32.dump();
  EXPECT_EQ(fp32["metrics"]["nmse"]["value"].get<double>(), 0.0);
  EXPECT_NEAR(fp32["metrics"]["cosine"]["value"].get<double>(), 1.0, 1e-6);
  EXPECT_EQ(fp32["metrics"]["psnr"]["value"].get<double>(), 100.0);

  // quantize --evaluate: FP32 and INT8 values, drops counted as losses whatever the metric's direction.
  const std::string out = scratch.path("model.int8.onnx"), report = scratch.path("report.json");
  const CliRun q =
      run_qwac("quantize --config " + config + " --output " + out + " --report " + report + " --evaluate --quiet");
  ASSERT_EQ(q.exit_code, 0) << q.err;
  const json rep = json::parse(testing::read_file_bytes(report));
  const json& metrics = rep["metrics"];
  EXPECT_EQ(metrics["nmse"]["fp32"].get<double>(), 0.0);
  const double int8_nmse = metrics["nmse"]["quantized"].get<double>();
  EXPECT_GT(int8_nmse, 0.0);
  EXPECT_LT(int8_nmse, 0.05) << "8-bit quantization of two small convolutions";
  EXPECT_GT(metrics["cosine"]["quantized"].get<double>(), 0.97);
  EXPECT_LT(metrics["psnr"]["quantized"].get<double>(), 100.0);
  for (const char* m : {"nmse", "cosine", "psnr"}) EXPECT_GT(metrics[m]["drop_absolute"].get<double>(), 0.0) << m;

  // evaluate --model on the quantized file compares with the config's FP32 model: the same values.
  const json int8 = evaluate_json(config, out);
  ASSERT_TRUE(int8.contains("metrics")) << int8.dump();
  EXPECT_NEAR(int8["metrics"]["nmse"]["value"].get<double>(), int8_nmse, 1e-9);
  EXPECT_NEAR(int8["metrics"]["cosine"]["value"].get<double>(), metrics["cosine"]["quantized"].get<double>(), 1e-9);

  // The accuracy search on nmse: a generous bound is met by the default quantization, whose nmse the search
  // measures as quantize --evaluate did (the search runs on the 24 samples, quantize --evaluate too).
  const std::string aaq =
      write_config(scratch, model, "AccuracyAwareQuantization",
                   {{"maximal_drop", 0.5}, {"stat_subset_size", 16}, {"metrics", json::array({{{"name", "nmse"}}})}});
  const std::string aaq_report = scratch.path("aaq.json");
  const CliRun a = run_qwac("quantize --config " + aaq + " --output " + scratch.path("aaq.onnx") + " --report " +
                            aaq_report + " --quiet");
  ASSERT_EQ(a.exit_code, 0) << a.err;
  const json arep = json::parse(testing::read_file_bytes(aaq_report));
  EXPECT_EQ(arep["metrics"]["nmse"]["fp32"].get<double>(), 0.0) << arep["metrics"].dump();
  EXPECT_GT(arep["metrics"]["nmse"]["final"].get<double>(), 0.0) << arep["metrics"].dump();
  EXPECT_NEAR(arep["metrics"]["nmse"]["default_quantization"].get<double>(), int8_nmse, 0.5 * int8_nmse)
      << arep["metrics"].dump();

  // A bound the default quantization misses: the search reverts groups to float until nmse is within it.
  const double bound = 0.2 * int8_nmse;
  const std::string strict =
      write_config(scratch, model, "AccuracyAwareQuantization",
                   {{"maximal_drop", bound}, {"stat_subset_size", 16}, {"metrics", json::array({{{"name", "nmse"}}})}});
  const CliRun st = run_qwac("quantize --config " + strict + " --output " + scratch.path("strict.onnx") + " --report " +
                             aaq_report + " --quiet");
  ASSERT_EQ(st.exit_code, 0) << st.err;
  const json srep = json::parse(testing::read_file_bytes(aaq_report));
  EXPECT_LE(srep["metrics"]["nmse"]["final"].get<double>(), bound) << srep["metrics"].dump();
}

}  // namespace
}  // namespace qwac
