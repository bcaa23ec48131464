// runtime::evaluate with taps: every batch's tapped tensors reach on_batch in order, equal to a single engine's run
// of the same samples, while several streams run (the taps are the streams' own buffers, handed over instead of
// copied: a stream must not overwrite them before the consumer is done, which a slow consumer makes visible).
#include <gtest/gtest.h>

#include <chrono>
#include <thread>

#include "data/random_dataset.h"
#include "model_builder.h"
#include "runtime/batching.h"
#include "runtime/engine.h"
#include "runtime/evaluation.h"
#include "test_util.h"

namespace qwac::runtime {
namespace {

// x[N,4] -> MatMul(W) -> h -> Tanh -> y[N,3]
ir::Model small_model() {
  testing::ModelBuilder b(5);
  ir::Value* x = b.input("x", {1, 4});
  b.model.graph->inputs()[0]->type.shape->at(0) = ir::Dim{-1, "batch"};
  std::mt19937 rng(5);
  ir::Value* h = b.node("MatMul", {x, b.g->add_constant("w", testing::random_tensor({4, 3}, rng))}, "matmul");
  b.g->add_output(b.node("Tanh", {h}, "tanh"));
  return std::move(b.model);
}

TEST(EvaluationTaps, EveryBatchInOrderEqualToOneEngineWithSeveralStreamsAndASlowConsumer) {
  const ir::Model model = small_model();
  const data::RandomDataset data(std::vector<data::RandomInputSpec>{{"x", {1, 4}, DType::kFloat32, -2, 2}}, 23, 7);
  EvaluationOptions eo;
  eo.batch_size = 4;
  eo.threads = 2;
  eo.streams = 2;
  eo.taps = {"x", "matmul_out"};
  std::vector<int64_t> firsts;
  std::map<std::string, std::vector<Tensor>> got;  // per batch, deep copies
  eo.on_batch = [&](int64_t first, const std::map<std::string, Tensor>& taps) {
    // Slow: the other stream finishes its batch meanwhile and must not touch these buffers.
    std::this_thread::sleep_for(std::chrono::milliseconds(5));
    firsts.push_back(first);
    for (const auto& [name, t] : taps) got[name].push_back(t.clone());
  };
  const EvaluationResult r = evaluate(model, data, {}, eo);
  EXPECT_EQ(r.samples, 23);
  ASSERT_EQ(firsts, (std::vector<int64_t>{0, 4, 8, 12, 16, 20}));

  EngineOptions options;
  options.num_threads = 1;
  options.taps = {"matmul_out"};
  Engine engine(model, options, {{"x", {1, 4}}});
  for (size_t b = 0; b < firsts.size(); ++b) {
    const int64_t count = std::min<int64_t>(4, 23 - firsts[b]);
    ASSERT_EQ(got["matmul_out"][b].dim(0), count) << "only the batch's real samples";
    ASSERT_EQ(got["x"][b].dim(0), count);
    for (int64_t k = 0; k < count; ++k) {
      const Sample s = data.get(firsts[b] + k);
      engine.run(s.inputs);
      EXPECT_EQ(testing::compare_tensors(slice_sample(got["matmul_out"][b], k, count), engine.tap("matmul_out"), 1e-5,
                                         1e-5),
                "")
          << "sample " << firsts[b] + k;
      EXPECT_EQ(testing::compare_tensors(slice_sample(got["x"][b], k, count), s.inputs.at("x"), 0, 0), "")
          << "sample " << firsts[b] + k;
    }
  }
}

}  // namespace
}  // namespace qwac::runtime
