// with_reference_outputs: every sample gets the FP32 model's outputs for exactly that sample (whatever the batch
// size), samples past the limit get none, datasets that bring their own references are kept, and a label-free
// metric then scores the FP32 model perfectly and a perturbed model not.
#include "runtime/reference_outputs.h"

#include <gtest/gtest.h>

#include "data/random_dataset.h"
#include "metrics/reference_distance.h"
#include "model_builder.h"
#include "runtime/engine.h"
#include "test_util.h"

namespace qwac::runtime {
namespace {

// x[N,4] -> MatMul(W) -> Tanh -> y[N,3]; `w_shift` perturbs W.
ir::Model small_model(float w_shift = 0.f) {
  testing::ModelBuilder b(5);
  ir::Value* x = b.input("x", {1, 4});
  b.model.graph->inputs()[0]->type.shape->at(0) = ir::Dim{-1, "batch"};
  std::mt19937 rng(11);
  Tensor w = testing::random_tensor({4, 3}, rng);
  for (int64_t i = 0; i < w.numel(); ++i) w.data<float>()[i] += w_shift;
  ir::Value* h = b.node("MatMul", {x, b.g->add_constant("w", w)}, "matmul");
  b.g->add_output(b.node("Tanh", {h}, "tanh"));
  return std::move(b.model);
}

std::shared_ptr<const Dataset> random_data(int64_t count) {
  return std::make_shared<data::RandomDataset>(
      std::vector<data::RandomInputSpec>{{"x", {1, 4}, DType::kFloat32, -1, 1}}, count, 9);
}

TEST(ReferenceOutputs, EverySampleGetsItsOwnFp32Outputs) {
  const ir::Model model = small_model();
  const auto data = random_data(11);
  for (int64_t batch : {1, 4}) {
    SCOPED_TRACE("batch " + std::to_string(batch));
    EvaluationOptions eo;
    eo.batch_size = batch;
    eo.threads = 1;
    eo.limit = 9;
    const DatasetPtr with = with_reference_outputs(data, model, eo);
    ASSERT_EQ(with->size(), 11);
    EngineOptions options;
    options.num_threads = 1;
    Engine engine(model, options, {{"x", {1, 4}}});
    for (int64_t i = 0; i < 9; ++i) {
      const Sample s = with->get(i);
      ASSERT_EQ(s.annotation.reference_outputs.size(), 1u) << "sample " << i;
      const std::vector<Tensor> expected = engine.run(s.inputs);
      EXPECT_EQ(testing::compare_tensors(s.annotation.reference_outputs[0], expected[0], 0, 0), "") << "sample " << i;
    }
    EXPECT_TRUE(with->get(9).annotation.reference_outputs.empty()) << "past the limit";
  }
}

TEST(ReferenceOutputs, LabelFreeMetricsScoreTheReferenceModelPerfectlyAndOthersNot) {
  const ir::Model fp32 = small_model(), other = small_model(0.05f);
  EvaluationOptions eo;
  eo.batch_size = 3;
  eo.threads = 1;
  const DatasetPtr data = with_reference_outputs(random_data(10), fp32, eo);
  auto nmse = std::make_shared<metrics::ReferenceDistanceMetric>(metrics::ReferenceDistance::kNmse,
                                                                 metrics::ReferenceDistanceOptions{});
  ASSERT_TRUE(needs_reference_outputs({nmse}));
  EXPECT_EQ(evaluate(fp32, *data, {nmse}, eo).metrics.at("nmse"), 0.0);
  const double perturbed = evaluate(other, *data, {nmse}, eo).metrics.at("nmse");
  EXPECT_GT(perturbed, 1e-4);
  EXPECT_EQ(nmse->per_sample_values().size(), 10u);
}

// A dataset that already brings reference outputs (an ONNX test set's output_K.pb) is returned as it is.
class WithOwnReferences final : public Dataset {
 public:
  int64_t size() const override { return 2; }
  Sample get(int64_t) const override {
    Sample s;
    s.inputs["x"] = Tensor(DType::kFloat32, {1, 4});
    s.annotation.reference_outputs = {Tensor(DType::kFloat32, {1, 3})};
    return s;
  }
  std::string describe() const override { return "own references"; }
};

TEST(ReferenceOutputs, KeepsReferencesADatasetBrings) {
  const DatasetPtr own = std::make_shared<WithOwnReferences>();
  EXPECT_EQ(with_reference_outputs(own, small_model(), EvaluationOptions{}), own);
}

}  // namespace
}  // namespace qwac::runtime
