// The public API (include/qwac) used as a program outside the repository would: only qwac/ headers, on the bundled
// demo (mnist-cntk and 1000 MNIST test images in examples/data).
#include <gtest/gtest.h>

#include <algorithm>
#include <filesystem>
#include <fstream>

#include "qwac/qwac.h"

namespace qwac {
namespace {

const std::string kDemo = std::string(QWAC_SOURCE_DIR) + "/examples/data/";
const std::string kModel = kDemo + "mnist-cntk/model.onnx";

std::string idx_section(int64_t limit_hint = 0) {
  (void)limit_hint;
  return R"({"type": "idx", "images": ")" + kDemo + R"(mnist-test-1000/t10k-images-idx3-ubyte.gz", "labels": ")" +
         kDemo + R"(mnist-test-1000/t10k-labels-idx1-ubyte.gz", "preprocessing": {}})";
}

DatasetPtr first(const DatasetPtr& data, int64_t n) {
  std::vector<int64_t> idx(static_cast<size_t>(n));
  for (int64_t i = 0; i < n; ++i) idx[static_cast<size_t>(i)] = i;
  return make_subset(data, idx);
}

ExecutionOptions batch1() {
  ExecutionOptions o;
  o.batch_size = 1;  // mnist-cntk's Reshape fixes batch 1
  return o;
}

// Records which samples it saw (SampleInfo) and scores top-1 against the annotation.
class RecordingMetric final : public Metric {
 public:
  std::string name() const override { return "recording_top1"; }
  void update(const ModelOutputs& outputs, const std::vector<Annotation>& annotations,
              const std::vector<SampleInfo>& samples) override {
    const Tensor& logits = outputs.tensors.at(0);
    const int64_t classes = logits.shape().at(1);
    for (size_t i = 0; i < samples.size(); ++i) {
      seen.push_back(samples[i].index);
      const float* row = logits.data<float>() + static_cast<int64_t>(i) * classes;
      const int64_t best = std::max_element(row, row + classes) - row;
      hits.push_back(best == annotations[i].label ? 1.0 : 0.0);
    }
  }
  double value() const override { return hits.empty() ? 0 : hits.back(); }
  double avg_value() const override {
    double s = 0;
    for (double h : hits) s += h;
    return hits.empty() ? 0 : s / static_cast<double>(hits.size());
  }
  void reset() override { seen.clear(), hits.clear(); }
  std::vector<double> per_sample_values() const override { return hits; }
  std::vector<int64_t> seen;
  std::vector<double> hits;
};

TEST(PublicModel, LoadDescribeBytesAndSave) {
  const Model m = Model::load(kModel);
  const ModelInfo info = m.describe();
  ASSERT_EQ(info.inputs.size(), 1u);
  EXPECT_EQ(info.inputs[0].name, "Input3");
  EXPECT_EQ(info.inputs[0].describe(), "float[1,1,28,28]");
  EXPECT_EQ(info.op_counts.at("Conv"), 2);
  EXPECT_GT(info.parameters, 5000);
  EXPECT_TRUE(info.unsupported_ops.empty());
  const std::string bytes = m.to_bytes();
  EXPECT_EQ(Model::from_bytes(bytes).to_bytes(), bytes);
  const std::string out = ::testing::TempDir() + "/public_model_saved.onnx";
  m.save(out);
  EXPECT_EQ(Model::load(out).to_bytes(), bytes);
  EXPECT_THROW(Model().describe(), InvalidArgument);
  EXPECT_THROW(Model::load(kDemo + "nonexistent.onnx"), IoError);
  EXPECT_THROW(Model::from_bytes("not a model"), InvalidModel);
}

TEST(PublicModel, WithBatchNamesTheNodeThatBakesTheBatchIn) {
  const Model m = Model::load(kModel);
  try {
    m.with_batch(4);
    FAIL() << "mnist-cntk reshapes to a constant batch-1 shape";
  } catch (const InvalidModel& e) {
    EXPECT_NE(std::string(e.what()).find("batch"), std::string::npos) << e.what();
  }
  EXPECT_EQ(m.input_shapes().at("Input3"), (Shape{1, 1, 28, 28}));
  EXPECT_THROW(m.input_shapes(0, {{"nosuch", {1}}}), InvalidArgument);
}

TEST(PublicSession, RunsAndShowsItsPlan) {
  const Model m = Model::load(kModel);
  const DatasetPtr data = load_dataset(idx_section(), m).dataset;
  ASSERT_EQ(data->size(), 1000);
  InferenceSession s(m, batch1(), m.input_shapes());
  const Sample sample = data->get(0);
  const std::vector<Tensor> y = s.run(sample.inputs);
  ASSERT_EQ(y.size(), 1u);
  EXPECT_EQ(y[0].shape(), (Shape{1, 10}));
  EXPECT_EQ(s.outputs().at(0).name, "Plus214_Output_0");
  const std::vector<PlannedNode> plan = s.plan();
  ASSERT_FALSE(plan.empty());
  int64_t macs = 0;
  for (const PlannedNode& p : plan) macs += p.macs;
  EXPECT_GT(macs, 0);
  EXPECT_THROW(s.run({}), Error);
}

TEST(PublicMetric, SeesTheIndexOfTheSampleInTheDatasetItWasGiven) {
  const Model m = Model::load(kModel);
  const DatasetPtr data = load_dataset(idx_section(), m).dataset;
  auto metric = std::make_shared<RecordingMetric>();
  const EvaluationResult r = evaluate(m, *make_subset(data, {5, 7, 900}), {metric}, batch1());
  EXPECT_EQ(r.samples, 3);
  EXPECT_EQ(metric->seen, (std::vector<int64_t>{5, 7, 900}));
  EvaluateOptions limited;
  limited.limit = 4;
  evaluate(m, *data, {metric}, batch1(), limited);
  EXPECT_EQ(metric->seen, (std::vector<int64_t>{0, 1, 2, 3}));
}

TEST(PublicMetric, OneUpdateOverloadMustBeImplemented) {
  struct NoUpdate final : Metric {
    std::string name() const override { return "no_update"; }
    double value() const override { return 0; }
    double avg_value() const override { return 0; }
    void reset() override {}
  };
  NoUpdate metric;
  try {
    metric.update(ModelOutputs{}, {}, {});
    FAIL();
  } catch (const InternalError& e) {
    EXPECT_NE(std::string(e.what()).find("no_update"), std::string::npos) << e.what();
  }
}

TEST(PublicParams, EnumNamesAreTheConfigSpellings) {
  EXPECT_EQ(to_string(Preset::kMixed), "mixed");
  EXPECT_EQ(preset_from_string("performance"), Preset::kPerformance);
  EXPECT_EQ(to_string(Granularity::kPerTensor), "pertensor");
  EXPECT_EQ(to_string(DropType::kRelative), "relative");
  EXPECT_EQ(restore_mode_from_string("ONLY_ACTIVATIONS"), RestoreMode::kActivations);  // NNCF's name
  EXPECT_EQ(to_string(RestoreMode::kActivations), "activations");
  EXPECT_EQ(search_strategy_from_string("greedy"), SearchStrategy::kGreedy);
  EXPECT_EQ(range_aggregator_from_string("median_no_outliers"), RangeAggregator::kMedianNoOutliers);
  try {
    preset_from_string("fastest");
    FAIL();
  } catch (const InvalidArgument& e) {
    EXPECT_NE(std::string(e.what()).find("\"performance\" | \"mixed\" | \"accuracy\""), std::string::npos)
        << e.what();
  }
}

TEST(PublicConfig, CompressionSectionInTypedForm) {
  const std::string text = R"({"model": {"model": ")" + kModel + R"("},
    "engine": {"batch_size": 1, "dataset": )" + idx_section() + R"(, "metrics": [{"type": "accuracy"}]},
    "compression": {"target_device": "CPU", "algorithms": [{"name": "AccuracyAwareQuantization", "params": {
      "preset": "mixed", "maximal_drop": 0.02, "drop_type": "relative", "search": "greedy",
      "restore_mode": "ONLY_ACTIVATIONS", "ignored_scope": {"names": ["Convolution28"]},
      "activations": {"range_estimator": {"preset": "quantile", "max": {"aggregator": "max"}}},
      "metrics": [{"name": "accuracy@top1", "baseline_value": 0.987}]}}]}})";
  const Config cfg = Config::parse(text, ::testing::TempDir() + "/c.json");
  EXPECT_EQ(cfg.execution().batch_size, 1);
  const CompressionSettings c = cfg.compression();
  ASSERT_EQ(c.algorithm, CompressionAlgorithm::kAccuracyAwareQuantization);
  const AccuracyControlParams& a = c.accuracy_control;
  EXPECT_EQ(a.base.target_device, "CPU");
  EXPECT_EQ(a.base.preset, Preset::kMixed);
  EXPECT_DOUBLE_EQ(a.max_drop, 0.02);
  EXPECT_EQ(a.drop_type, DropType::kRelative);
  EXPECT_EQ(a.search, SearchStrategy::kGreedy);
  EXPECT_EQ(a.restore_mode, RestoreMode::kActivations);
  EXPECT_EQ(a.base.ignored_scope.names, std::vector<std::string>{"Convolution28"});
  ASSERT_TRUE(a.base.activations.range_estimator.has_value());
  EXPECT_EQ(a.base.activations.range_estimator->preset, RangePreset::kQuantile);
  ASSERT_TRUE(a.base.activations.range_estimator->max.has_value());
  EXPECT_EQ(a.base.activations.range_estimator->max->aggregator, RangeAggregator::kMax);
  EXPECT_FALSE(a.base.activations.range_estimator->max->type.has_value());
  ASSERT_EQ(a.metrics.size(), 1u);
  EXPECT_DOUBLE_EQ(a.metrics[0].baseline_value.value_or(0), 0.987);

  EXPECT_THROW(parse_compression(R"({"algorithms": [{"name": "DefaultQuantization", "params": {"preset": "x"}}]})"),
               InvalidConfig);
  EXPECT_THROW(parse_compression(R"({"algorithms": [{"name": "DefaultQuantization",
                                     "params": {"activations": {"range_estimator": {"max": {"type": "maxx"}}}}}]})"),
               InvalidConfig);
  EXPECT_THROW(make_metrics(R"([{"type": "accuracyy"}])"), InvalidConfig);
}

TEST(PublicQuantize, TypedParamsToAQdqModelAndAReport) {
  const Model m = Model::load(kModel);
  const DatasetPtr data = first(load_dataset(idx_section(), m).dataset, 100);
  QuantizationParams p;
  p.stat_subset_size = 100;
  p.activations.range_estimator = RangeEstimatorParams{RangePreset::kQuantile, std::nullopt, std::nullopt};
  p.ignored_scope.types = {"MatMul"};
  const QuantizeResult r = quantize(m, *data, p, batch1());
  EXPECT_EQ(r.report.algorithm, ReportAlgorithm::kDefaultQuantization);
  EXPECT_EQ(r.report.quantization.calibration.samples, 100);
  bool matmul_float = false;
  for (const FloatOpReport& f : r.report.quantization.set.float_ops) matmul_float |= f.op_type == "MatMul";
  EXPECT_TRUE(matmul_float);
  EXPECT_GT(r.model.describe().op_counts.at("QuantizeLinear"), 0);

  auto metric = std::make_shared<RecordingMetric>();
  const EvaluationResult fp32 = evaluate(m, *data, {metric}, batch1());
  const EvaluationResult int8 = evaluate(r.model, *data, {metric}, batch1());
  EXPECT_NEAR(fp32.metrics.at("recording_top1"), int8.metrics.at("recording_top1"), 0.03);

  EXPECT_EQ(r.report.quantization.params.model_type, "none");
  EXPECT_EQ(r.report.quantization.params.export_profile, "onnxruntime");  // the device ANY's default

  QuantizationParams unknown_type;
  unknown_type.model_type = "bert";
  EXPECT_THROW(quantize(m, *data, unknown_type, batch1()), InvalidConfig);
  QuantizationParams unknown_profile;
  unknown_profile.export_profile = "tensorrt";
  EXPECT_THROW(quantize(m, *data, unknown_profile, batch1()), InvalidConfig);
}

TEST(PublicAccuracyControl, ValidationFunctionAndReport) {
  const Model m = Model::load(kModel);
  const DatasetPtr data = first(load_dataset(idx_section(), m).dataset, 200);
  AccuracyControlParams p;
  p.max_drop = 0.0;
  p.ranking_subset_size = 50;
  p.base.stat_subset_size = 100;
  ValidationFunction fn{"true_class_logit", true, [](CompiledModel& model, const Dataset& d) {
                          EXPECT_EQ(model.inputs().at(0).name, "Input3");
                          ValidationOutput out;
                          for (int64_t i = 0; i < d.size(); ++i) {
                            const Sample s = d.get(i);
                            const double v = model.infer(s.inputs).tensors.at(0).data<float>()[s.annotation.label];
                            out.per_sample.push_back(v);
                            out.value += v / static_cast<double>(d.size());
                          }
                          return out;
                        }};
  const AccuracyControlResult r = quantize_with_accuracy_control(m, *data, *data, fn, p, batch1());
  ASSERT_TRUE(r.report.accuracy_control.has_value());
  const AccuracyControlReport& a = *r.report.accuracy_control;
  EXPECT_EQ(a.reached, r.reached);
  EXPECT_FALSE(a.reverted_ops.empty()) << a.summary;
  EXPECT_GE(a.full_validations, 2);
  EXPECT_EQ(a.params.drop_type, "absolute");
  const std::string json = report_to_json(r.report);
  EXPECT_NE(json.find("\"schema_version\": 1"), std::string::npos);
}

}  // namespace
}  // namespace qwac
