// The validator over runtime::run_models, on the bundled demo (mnist-cntk, 1000 MNIST test samples): variants scored
// from a base's cut give the values of validating each variant whole; several models validated in one pass give
// what each gives alone; a validation in another sample order gives the same values, and one that stops once its
// outcome is decided evaluates fewer samples and reports no values.
#include "accuracy/validator.h"

#include <gtest/gtest.h>

#include <cmath>

#include "data/idx_dataset.h"
#include "metrics/accuracy.h"
#include "onnx/model_io.h"
#include "quant/default_quantization.h"

namespace qwac::accuracy {
namespace {

const std::string kDemo = std::string(QWAC_SOURCE_DIR) + "/examples/data/";

struct Demo {
  ir::Model model;
  DatasetPtr data;
  quant::QuantizationState state;
  RunOptions options;
  std::vector<MetricPtr> metrics;
};

Demo demo() {
  Demo d;
  d.model = onnxio::load_model(kDemo + "mnist-cntk/model.onnx");
  data::IdxOptions o;
  o.images_path = kDemo + "mnist-test-1000/t10k-images-idx3-ubyte.gz";
  o.labels_path = kDemo + "mnist-test-1000/t10k-labels-idx1-ubyte.gz";
  o.input_name = d.model.graph->inputs().at(0)->name();
  d.data = std::make_shared<data::IdxDataset>(o);
  d.options.threads = 2;
  d.options.batch_size = 16;
  QuantizationConfig params;
  params.stat_subset_size = 100;
  d.state = quant::run_default_quantization(d.model, *d.data, params, d.options);
  d.metrics = {std::make_shared<metrics::AccuracyMetric>(metrics::AccuracyOptions{})};
  return d;
}

ir::Model reverted(const Demo& d, int group) {
  quant::QuantizationState s{d.state.canonical, d.state.set, d.state.corrected_biases, d.state.materialize, {}};
  s.set.set_group_enabled(group, false);
  return quant::build_quantized_model(s);
}

TEST(Validator, VariantsFromTheBaseCutEqualValidatingEachWhole) {
  const Demo d = demo();
  ASSERT_GE(d.state.set.groups.size(), 2u);
  std::vector<ir::Model> variants;
  for (const quant::QuantizerGroup& g : d.state.set.groups) variants.push_back(reverted(d, g.id));
  std::vector<const ir::Model*> pointers;
  for (const ir::Model& v : variants) pointers.push_back(&v);
  const ir::Model base = quant::build_quantized_model(d.state);
  Validator validator(d.data, d.metrics, d.options);
  validator.set_reference(&d.model);
  std::vector<int64_t> subset;
  for (int64_t i = 999; i >= 0; i -= 7) subset.push_back(i);  // any order
  const std::vector<ValidationResult> together = validator.subsets(base, pointers, subset, true, "rank");
  ASSERT_EQ(together.size(), variants.size());
  for (size_t v = 0; v < variants.size(); ++v) {
    const ValidationResult whole = validator.subset(variants[v], subset, true);
    EXPECT_EQ(together[v].values, whole.values) << "variant " << v;
    EXPECT_EQ(together[v].per_sample, whole.per_sample) << "variant " << v;
    ASSERT_EQ(together[v].distance.size(), subset.size());
    for (size_t i = 0; i < subset.size(); ++i) {
      EXPECT_NEAR(together[v].distance[i], whole.distance[i], 1e-6) << "variant " << v << " sample " << subset[i];
    }
  }
  EXPECT_EQ(validator.full_validations(), 0);
  EXPECT_GT(validator.costs().at("rank").runs, 0);
}

TEST(Validator, ModelsValidatedTogetherGiveWhatEachGivesAlone) {
  const Demo d = demo();
  const ir::Model q = quant::build_quantized_model(d.state);
  Validator validator(d.data, d.metrics, d.options);
  validator.set_reference(&d.model);
  ValidateOptions with_distance;
  with_distance.distance = true;
  const std::vector<ValidationResult> both = validator.full_together({&d.model, &q}, {ValidateOptions{}, with_distance});
  EXPECT_EQ(validator.full_validations(), 2);
  const ValidationResult fp32 = validator.full(d.model);
  const ValidationResult int8 = validator.full(q, with_distance);
  EXPECT_EQ(both[0].values, fp32.values);
  EXPECT_EQ(both[0].per_sample, fp32.per_sample);
  EXPECT_EQ(both[1].values, int8.values);
  EXPECT_EQ(both[1].per_sample, int8.per_sample);
  ASSERT_EQ(both[1].distance.size(), 1000u);
  for (size_t i = 0; i < 1000; i += 37) EXPECT_NEAR(both[1].distance[i], int8.distance[i], 1e-6) << "sample " << i;
  EXPECT_NEAR(fp32.values[0], 0.984, 0.02);
}

TEST(Validator, AnotherOrderGivesTheSameValuesAndADecidedValidationStops) {
  const Demo d = demo();
  const ir::Model q = quant::build_quantized_model(d.state);
  Validator validator(d.data, d.metrics, d.options);
  const ValidationResult plain = validator.full(q);
  ValidateOptions o;
  for (int64_t i = 999; i >= 0; --i) o.order.push_back(i);
  const ValidationResult reversed = validator.full(q, o);
  EXPECT_EQ(plain.values, reversed.values);
  EXPECT_EQ(plain.per_sample, reversed.per_sample);

  int64_t calls = 0;
  o.decided = [&](const std::vector<std::vector<double>>& so_far, int64_t evaluated) {
    ++calls;
    EXPECT_EQ(so_far.at(0).size(), 1000u);
    EXPECT_TRUE(std::isnan(so_far[0][0]) == (evaluated < 1000)) << "sample 0 comes last";
    return evaluated >= 300;
  };
  const ValidationResult stopped = validator.full(q, o);
  EXPECT_TRUE(stopped.stopped);
  EXPECT_TRUE(stopped.values.empty());
  EXPECT_GE(stopped.samples, 300);
  EXPECT_LT(stopped.samples, 1000);
  EXPECT_GT(calls, 0);
  for (int64_t i = 999; i > 999 - stopped.samples; --i) {
    EXPECT_EQ(stopped.per_sample[0][static_cast<size_t>(i)], plain.per_sample[0][static_cast<size_t>(i)]);
  }
  EXPECT_TRUE(std::isnan(stopped.per_sample[0][0]));
  EXPECT_EQ(validator.full_validations(), 3);
}

}  // namespace
}  // namespace qwac::accuracy
