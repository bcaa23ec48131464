// quantize_with_accuracy_control with a validation function (NNCF's validation_fn) on the bundled demo (mnist-cntk
// and 1000 MNIST test images in examples/data): the function runs the model itself, through CompiledModel, and the
// search reverts groups from its values alone.
#include <gtest/gtest.h>

#include <cmath>

#include "data/idx_dataset.h"
#include "onnx/model_io.h"
#include "accuracy/accuracy_control.h"
#include "qwac/error.h"

namespace qwac {
namespace {

const std::string kDemo = std::string(QWAC_SOURCE_DIR) + "/examples/data/";

struct Demo {
  ir::Model model = onnxio::load_model(kDemo + "mnist-cntk/model.onnx");
  DatasetPtr data;
  Demo() {
    data::IdxOptions o;
    o.images_path = kDemo + "mnist-test-1000/t10k-images-idx3-ubyte.gz";
    o.labels_path = kDemo + "mnist-test-1000/t10k-labels-idx1-ubyte.gz";
    o.input_name = model.graph->inputs().at(0)->name();
    std::vector<int64_t> first(300);
    for (size_t i = 0; i < first.size(); ++i) first[i] = static_cast<int64_t>(i);
    data = make_subset(std::make_shared<data::IdxDataset>(o), first);  // 300 samples keep the test short
  }
};

// A continuous metric that any quantization moves: the mean logit of the true class, per sample too. Runs the
// samples in dataset order, one by one (mnist-cntk's Reshape fixes batch 1), as a user's loop would.
constexpr int64_t kBatch = 1;

struct TrueClassLogit {
  bool per_sample = true;
  int calls = 0;
  ValidationOutput operator()(CompiledModel& model, const Dataset& data) {
    ++calls;
    ValidationOutput out;
    double sum = 0;
    std::vector<double> values;
    for (int64_t start = 0; start < data.size(); start += kBatch) {
      std::vector<Sample> batch;
      for (int64_t i = start; i < std::min(data.size(), start + kBatch); ++i) batch.push_back(data.get(i));
      std::map<std::string, Tensor> inputs;
      const std::string name = batch.front().inputs.begin()->first;
      const Tensor& one = batch.front().inputs.begin()->second;
      Shape shape = one.shape();
      shape[0] = static_cast<int64_t>(batch.size());
      Tensor x(DType::kFloat32, shape);
      for (size_t b = 0; b < batch.size(); ++b) {
        std::copy_n(batch[b].inputs.at(name).data<float>(), one.numel(), x.data<float>() + b * one.numel());
      }
      inputs[name] = x;
      const ModelOutputs y = model.infer(inputs);
      const Tensor& logits = y.tensors.front();
      const int64_t classes = logits.numel() / static_cast<int64_t>(batch.size());
      for (size_t b = 0; b < batch.size(); ++b) {
        const double v = logits.data<float>()[static_cast<int64_t>(b) * classes + batch[b].annotation.label];
        sum += v;
        values.push_back(v);
      }
    }
    out.value = sum / static_cast<double>(data.size());
    if (per_sample) out.per_sample = values;
    return out;
  }
};

AccuracyControlConfig params(double max_drop) {
  AccuracyControlConfig p;
  p.max_drop = max_drop;
  p.ranking_subset_size = 100;
  return p;
}

TEST(ValidationFunction, DrivesTheSearchFromItsOwnValues) {
  Demo demo;
  auto metric = std::make_shared<TrueClassLogit>();
  ValidationFunction fn{"true_class_logit", true,
                        [metric](CompiledModel& m, const Dataset& d) { return (*metric)(m, d); }};
  const AccuracyControlOutput r = quantize_with_accuracy_control(demo.model, *demo.data, *demo.data, fn, params(0.0));
  ASSERT_TRUE(r.reached) << r.report.dump(2);
  const auto& m = r.report["metrics"]["true_class_logit"];
  const double fp32 = m["fp32"].get<double>();
  EXPECT_GT(fp32 - m["default_quantization"].get<double>(), 0.0) << "quantization moves the logits";
  EXPECT_LE(fp32 - m["final"].get<double>(), 1e-12);
  EXPECT_FALSE(r.report["reverted_ops"].empty());
  EXPECT_GE(r.report["full_validations"].get<int64_t>(), 3);
  EXPECT_GT(metric->calls, r.report["full_validations"].get<int>()) << "ranking runs the function on the subset";
  // A relaxed bound (half the FP32 value): nothing to revert, two validations only (FP32 and default quantization).
  AccuracyControlConfig relative = params(0.5);
  relative.drop_type = "relative";
  const AccuracyControlOutput loose = quantize_with_accuracy_control(demo.model, *demo.data, *demo.data, fn, relative);
  EXPECT_TRUE(loose.reached);
  EXPECT_EQ(loose.report["full_validations"].get<int64_t>(), 2) << loose.report["steps"].dump(1);
  EXPECT_DOUBLE_EQ(loose.report["metrics"]["true_class_logit"]["fp32"].get<double>(), fp32);
}

TEST(ValidationFunction, WithoutPerSampleValuesRanksByOutputError) {
  Demo demo;
  auto metric = std::make_shared<TrueClassLogit>();
  metric->per_sample = false;
  ValidationFunction fn{"true_class_logit", true,
                        [metric](CompiledModel& m, const Dataset& d) { return (*metric)(m, d); }};
  const AccuracyControlOutput r = quantize_with_accuracy_control(demo.model, *demo.data, *demo.data, fn, params(0.0));
  EXPECT_TRUE(r.reached);
  EXPECT_FALSE(r.report["reverted_ops"].empty());
}

TEST(ValidationFunction, BadResultsAreClearErrors) {
  Demo demo;
  ValidationFunction wrong_count{"f", true, [](CompiledModel&, const Dataset&) {
                                   return ValidationOutput{0.5, {1.0, 2.0}};
                                 }};
  try {
    quantize_with_accuracy_control(demo.model, *demo.data, *demo.data, wrong_count, params(0.0));
    ADD_FAILURE() << "2 per-sample values for 300 samples must be rejected";
  } catch (const InvalidArgument& e) {
    EXPECT_NE(std::string(e.what()).find("2 per-sample values for 300 samples"), std::string::npos) << e.what();
  }
  ValidationFunction nan{"f", true, [](CompiledModel&, const Dataset&) { return ValidationOutput{std::nan(""), {}}; }};
  EXPECT_THROW(quantize_with_accuracy_control(demo.model, *demo.data, *demo.data, nan, params(0.0)), DataError);
  ValidationFunction ok{"f", true, [](CompiledModel&, const Dataset&) { return ValidationOutput{1.0, {}}; }};
  AccuracyControlConfig p = params(0.0);
  p.annotation_free = true;
  EXPECT_THROW(quantize_with_accuracy_control(demo.model, *demo.data, *demo.data, ok, p), InvalidConfig);
}

}  // namespace
}  // namespace qwac
