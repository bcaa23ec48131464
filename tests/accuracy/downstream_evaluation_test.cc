// Ranking evaluations that run only the part of each variant that differs from the current model: the split is
// found from node definitions, and the results equal evaluating every variant whole (the bundled demo model).
#include "accuracy/downstream_evaluation.h"

#include <gtest/gtest.h>

#include <cstring>

#include "data/idx_dataset.h"
#include "metrics/accuracy.h"
#include "model_builder.h"
#include "onnx/model_io.h"
#include "quant/default_quantization.h"

namespace qwac::accuracy {
namespace {

const std::string kDemo = std::string(QWAC_SOURCE_DIR) + "/examples/data/";

TEST(ChangedPart, StartsAtTheFirstChangedNodeAndFollowsItsConsumers) {
  // x -> Relu(a) -> Sigmoid(b) -> Tanh(c) -> y, and a variant whose b is an Exp.
  auto make = [](const char* middle) {
    testing::ModelBuilder b;
    ir::Value* x = b.input("x", {1, 4});
    ir::Value* a = b.node("Relu", {x}, "a");
    ir::Value* m = b.node(middle, {a}, "b");
    b.g->add_output(b.node("Tanh", {m}, "c"));
    return std::move(b.model);
  };
  const ir::Model base = make("Sigmoid"), variant = make("Exp");
  const std::optional<ChangedPart> part = find_changed_part(base, variant);
  ASSERT_TRUE(part.has_value());
  EXPECT_EQ(part->changed_nodes, (std::vector<std::string>{"b", "c"}));
  EXPECT_EQ(part->cut, (std::vector<std::string>{"a_out"}));
  EXPECT_EQ(part->total_nodes, 3u);
  // Identical models: nothing changes, so the graph output is shared and there is nothing to split.
  EXPECT_FALSE(find_changed_part(base, base.clone()).has_value());
}

TEST(ChangedPart, RecomputesShapeArithmeticInsteadOfFeedingIt) {
  // x -> Relu(a) -> Sigmoid|Exp(b) -> Reshape(b, Concat(Gather(Shape(a), 0), [-1])) -> y: the Reshape is in the
  // changed part, and its target shape must be computable there, not a fed (data-dependent) input.
  auto make = [](const char* middle) {
    testing::ModelBuilder b;
    ir::Value* x = b.input("x", {2, 3, 4});
    ir::Value* a = b.node("Relu", {x}, "a");
    ir::Value* m = b.node(middle, {a}, "b");
    ir::Value* shape = b.node("Shape", {a}, "shape");
    const int64_t zero = 0, minus_one = -1;
    ir::Value* batch =
        b.node("Gather", {shape, b.g->add_constant("zero", Tensor::from_values<int64_t>({1}, &zero))}, "batch");
    ir::Value* target = b.node(
        "Concat", {batch, b.g->add_constant("minus_one", Tensor::from_values<int64_t>({1}, &minus_one))}, "target");
    b.g->find_node("target")->attrs.set("axis", int64_t{0});
    b.g->add_output(b.node("Reshape", {m, target}, "flat"));
    return std::move(b.model);
  };
  const std::optional<ChangedPart> part = find_changed_part(make("Sigmoid"), make("Exp"));
  ASSERT_TRUE(part.has_value());
  EXPECT_EQ(part->cut, (std::vector<std::string>{"a_out"}));
  EXPECT_EQ(part->changed_nodes.size(), 5u) << "b, flat and the shape chain (shape, batch, target)";
}

TEST(DownstreamEvaluation, SameResultsAsEvaluatingEveryVariantWhole) {
  const ir::Model model = onnxio::load_model(kDemo + "mnist-cntk/model.onnx");
  data::IdxOptions o;
  o.images_path = kDemo + "mnist-test-1000/t10k-images-idx3-ubyte.gz";
  o.labels_path = kDemo + "mnist-test-1000/t10k-labels-idx1-ubyte.gz";
  o.input_name = model.graph->inputs().at(0)->name();
  const DatasetPtr data = std::make_shared<data::IdxDataset>(o);
  RunOptions options;
  options.threads = 1;
  QuantizationConfig params;
  params.stat_subset_size = 100;
  quant::QuantizationState state = quant::run_default_quantization(model, *data, params, options);
  ASSERT_GE(state.set.groups.size(), 2u);
  std::vector<ir::Model> variants;
  for (const quant::QuantizerGroup& g : state.set.groups) {
    quant::QuantizationState s{state.canonical, state.set, state.corrected_biases, state.materialize, {}};
    s.set.set_group_enabled(g.id, false);
    variants.push_back(quant::build_quantized_model(s));
  }
  std::vector<const ir::Model*> pointers;
  for (const ir::Model& v : variants) pointers.push_back(&v);
  const ir::Model base = quant::build_quantized_model(state);
  std::vector<MetricPtr> metrics = {std::make_shared<metrics::AccuracyMetric>(metrics::AccuracyOptions{})};
  Validator validator(data, metrics, options);
  std::vector<int64_t> subset;
  for (int64_t i = 0; i < 1000; i += 7) subset.push_back(i);
  const std::vector<ValidationResult> together = validator.subsets(base, pointers, subset, true, {});
  ASSERT_EQ(together.size(), variants.size());
  for (size_t v = 0; v < variants.size(); ++v) {
    const ValidationResult whole = validator.subset(variants[v], subset, true);
    EXPECT_EQ(together[v].values, whole.values) << "variant " << v;
    EXPECT_EQ(together[v].per_sample, whole.per_sample) << "variant " << v;
    ASSERT_EQ(together[v].outputs.size(), whole.outputs.size());
    for (size_t i = 0; i < whole.outputs.size(); ++i) {
      ASSERT_EQ(together[v].outputs[i].nbytes(), whole.outputs[i].nbytes());
      EXPECT_EQ(std::memcmp(together[v].outputs[i].raw(), whole.outputs[i].raw(), whole.outputs[i].nbytes()), 0)
          << "variant " << v << " sample " << subset[i] << ": outputs differ";
    }
  }
}

}  // namespace
}  // namespace qwac::accuracy
