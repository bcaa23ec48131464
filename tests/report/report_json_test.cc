// The typed Report holds everything the algorithms report: their JSON (what the library produced before the typed
// Report existed, and still produces internally) read into a Report and rendered back is the same JSON, plus the
// keys schema 1 adds (schema_version, each step's kind, each controlled metric's direction). Runs the algorithms
// on the bundled demo (mnist-cntk, 300 MNIST test images) with settings that exercise every part of a report.
#include <gtest/gtest.h>

#include <set>

#include "accuracy/accuracy_control.h"
#include "data/idx_dataset.h"
#include "metrics/accuracy.h"
#include "onnx/model_io.h"
#include "quant/quantize.h"
#include "qwac/error.h"
#include "qwac/report_json.h"
#include "report/report_json.h"

namespace qwac {
namespace {

using nlohmann::json;

const std::string kDemo = std::string(QWAC_SOURCE_DIR) + "/examples/data/";

struct Demo {
  ir::Model model = onnxio::load_model(kDemo + "mnist-cntk/model.onnx");
  DatasetPtr data;
  explicit Demo(int64_t samples = 300) {
    data::IdxOptions o;
    o.images_path = kDemo + "mnist-test-1000/t10k-images-idx3-ubyte.gz";
    o.labels_path = kDemo + "mnist-test-1000/t10k-labels-idx1-ubyte.gz";
    o.input_name = model.graph->inputs().at(0)->name();
    std::vector<int64_t> first(static_cast<size_t>(samples));
    for (size_t i = 0; i < first.size(); ++i) first[i] = static_cast<int64_t>(i);
    data = make_subset(std::make_shared<data::IdxDataset>(o), first);
  }
};

RunOptions run_options() {
  RunOptions o;
  o.batch_size = 1;  // mnist-cntk's Reshape fixes batch 1
  return o;
}

// The mean logit of the true class: any quantization moves it, so max_drop 0 forces a search.
ValidationFunction true_class_logit() {
  return {"true_class_logit", true, [](CompiledModel& model, const Dataset& data) {
            ValidationOutput out;
            for (int64_t i = 0; i < data.size(); ++i) {
              const Sample s = data.get(i);
              const ModelOutputs y = model.infer(s.inputs);
              const double v = y.tensors.front().data<float>()[s.annotation.label];
              out.per_sample.push_back(v);
              out.value += v / static_cast<double>(data.size());
            }
            return out;
          }};
}

// What schema 1 adds to the algorithms' JSON.
json with_schema_keys(json j) {
  j["schema_version"] = kReportSchemaVersion;
  if (j.contains("steps")) {
    for (json& s : j["steps"]) {
      const std::string what = s["what"];
      s["kind"] = what == "ranking" || what == "estimate" ? what : "validation";
    }
  }
  if (j["algorithm"] != "DefaultQuantization" && j.contains("metrics")) {
    for (auto& [name, m] : j["metrics"].items()) {
      if (!m.contains("direction")) m["direction"] = "higher-better";
    }
  }
  return j;
}

// Renders `internal` through the typed Report and compares key by key (a failure names the first differing path).
void expect_lossless(const json& internal) {
  const Report typed = report::from_json(internal);
  const json rendered = report::to_json(typed);
  const json expected = with_schema_keys(internal);
  const json diff = json::diff(expected, rendered);
  EXPECT_TRUE(diff.empty()) << "the typed Report loses or changes: " << diff.dump(1);
  // And the public text form reads back into the same report.
  EXPECT_EQ(report::to_json(report_from_json(report_to_json(typed))), rendered);
}

TEST(ReportJson, DefaultQuantizationIsLossless) {
  Demo demo;
  QuantizationConfig p;
  p.bias_correction = "full";  // adds the bias correction sample count
  p.stat_subset_size = 50;
  const QuantizeOutput out = quantize(demo.model, *demo.data, p, run_options());
  ASSERT_EQ(out.report["algorithm"], "DefaultQuantization");
  expect_lossless(out.report);
  const Report r = report::from_json(out.report);
  EXPECT_EQ(r.algorithm, ReportAlgorithm::kDefaultQuantization);
  EXPECT_EQ(r.quantization.calibration.samples, 50);
  EXPECT_EQ(r.quantization.bias_correction.method, "full");
  EXPECT_FALSE(r.quantization.set.quantizers.empty());
  ASSERT_TRUE(r.quantization.set.quantizers.front().values.has_value());
  EXPECT_GT(r.quantization.set.quantizers.front().values->scale.min, 0.0);
  EXPECT_FALSE(r.accuracy_control.has_value());
}

TEST(ReportJson, AccuracyControlWithEveryStepKindIsLossless) {
  Demo demo(120);
  AccuracyControlConfig p;
  p.max_drop = 0.0;
  p.ranking_subset_size = 40;
  p.base.stat_subset_size = 60;
  p.tune_hyperparams = true;
  const AccuracyControlOutput out =
      quantize_with_accuracy_control(demo.model, *demo.data, *demo.data, true_class_logit(), p, run_options());
  expect_lossless(out.report);
  const Report r = report::from_json(out.report);
  ASSERT_TRUE(r.accuracy_control.has_value());
  const AccuracyControlReport& a = *r.accuracy_control;
  EXPECT_TRUE(a.tune_hyperparams.has_value());
  std::set<StepKind> kinds;
  for (const SearchStep& s : a.steps) kinds.insert(s.kind);
  EXPECT_TRUE(kinds.count(StepKind::kValidation));
  EXPECT_TRUE(kinds.count(StepKind::kRanking)) << out.report["steps"].dump(1);
  ASSERT_EQ(a.metrics.size(), 1u);
  EXPECT_EQ(a.metrics[0].name, "true_class_logit");
  EXPECT_TRUE(a.metrics[0].final_value.has_value());
  EXPECT_EQ(a.reached, out.reached);
}

// The greedy search marks each step accepted or not; a validation decided on part of the set (issue 19's early
// decisions) writes a predicted bound on the drop and the samples it stopped after instead of a measured value.
TEST(ReportJson, GreedyStepsAndEarlyDecisionsAreLossless) {
  Demo demo(120);
  AccuracyControlConfig p;
  p.max_drop = 0.0;
  p.ranking_subset_size = 40;
  p.base.stat_subset_size = 60;
  p.search = "greedy";
  AccuracyControlOutput out =
      quantize_with_accuracy_control(demo.model, *demo.data, *demo.data, true_class_logit(), p, run_options());
  json& steps = out.report["steps"];
  int64_t greedy_steps = 0;
  for (const json& s : steps) greedy_steps += s.contains("accepted") ? 1 : 0;
  EXPECT_GT(greedy_steps, 0) << steps.dump(1);
  // Two early decisions in the form SearchContext::validate writes them: one failing, one passing.
  json* validation = nullptr;
  for (json& s : steps) {
    if (s.contains("full_validation") && s.contains("metrics")) validation = &s;
  }
  ASSERT_NE(validation, nullptr);
  json failing = *validation, passing = *validation;
  failing["metrics"]["true_class_logit"] = {{"predicted_drop_at_least", 0.25}};
  failing["stopped_after_samples"] = 17;
  failing["satisfied"] = false;
  passing["metrics"]["true_class_logit"] = {{"predicted_drop_at_most", 0.0}};
  passing["stopped_after_samples"] = 60;
  steps.push_back(failing);
  steps.push_back(passing);
  expect_lossless(out.report);
  const Report r = report::from_json(out.report);
  const SearchStep& f = r.accuracy_control->steps[r.accuracy_control->steps.size() - 2];
  EXPECT_EQ(f.stopped_after_samples, 17);
  ASSERT_EQ(f.metrics.size(), 1u);
  EXPECT_EQ(f.metrics[0].measure, DropMeasure::kAtLeast);
  EXPECT_DOUBLE_EQ(f.metrics[0].drop, 0.25);
  EXPECT_EQ(r.accuracy_control->steps.back().metrics[0].measure, DropMeasure::kAtMost);
}

TEST(ReportJson, SensitivityIsLossless) {
  Demo demo;
  AccuracyControlConfig p;
  p.ranking_subset_size = 50;
  p.base.stat_subset_size = 50;
  const std::vector<MetricPtr> metrics = {std::make_shared<metrics::AccuracyMetric>(metrics::AccuracyOptions{.k = 1})};
  const json internal = quantization_sensitivity(demo.model, *demo.data, *demo.data, metrics, p, run_options());
  expect_lossless(internal);
  const Report r = report::from_json(internal);
  ASSERT_TRUE(r.sensitivity.has_value());
  EXPECT_EQ(r.sensitivity->groups.size(), r.quantization.set.groups.size());
  EXPECT_EQ(r.sensitivity->groups.front().rank, 1);
}

TEST(ReportJson, FilesAndEvaluationRender) {
  Report r;
  r.evaluation.push_back({"accuracy@top1", 0.9, 0.88, 0.02, 0.02 / 0.9});
  r.files = ReportFiles{"m", "in.onnx", "out.onnx", 1000, 250, 12.5};
  const json j = json::parse(report_to_json(r));
  EXPECT_EQ(j["schema_version"], kReportSchemaVersion);
  EXPECT_EQ(j["algorithm"], "DefaultQuantization");
  EXPECT_DOUBLE_EQ(j["sizes"]["ratio"].get<double>(), 0.25);
  EXPECT_DOUBLE_EQ(j["metrics"]["accuracy@top1"]["quantized"].get<double>(), 0.88);
  EXPECT_EQ(j["model"]["output_path"], "out.onnx");
  const Report back = report_from_json(j.dump());
  ASSERT_TRUE(back.files.has_value());
  EXPECT_EQ(back.files->quantized_bytes, 250);
  EXPECT_EQ(back.evaluation.at(0).name, "accuracy@top1");
}

TEST(ReportJson, RejectsWhatIsNotAReportOfThisSchema) {
  EXPECT_THROW(report_from_json("not json"), InvalidArgument);
  EXPECT_THROW(report_from_json("{\"x\": 1}"), InvalidArgument);
  EXPECT_THROW(report_from_json("{\"algorithm\": \"Pruning\"}"), InvalidArgument);
  try {
    report_from_json("{\"algorithm\": \"DefaultQuantization\", \"schema_version\": 99}");
    FAIL() << "a newer schema must be refused";
  } catch (const InvalidArgument& e) {
    EXPECT_NE(std::string(e.what()).find("schema_version 99"), std::string::npos) << e.what();
  }
}

}  // namespace
}  // namespace qwac
