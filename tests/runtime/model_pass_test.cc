// One pass over a dataset with several models: every model's outputs equal those of running it alone, variants
// run from their base's cut tensors (runtime/partial_model.h), deliveries come in (batch, model) order on the
// calling thread, the consumer can stop the pass, and a failing model's error surfaces.
#include "runtime/model_pass.h"

#include <gtest/gtest.h>

#include <random>

#include "data/random_dataset.h"
#include "model_builder.h"
#include "qwac/error.h"
#include "runtime/batching.h"
#include "runtime/engine.h"
#include "runtime/partial_model.h"
#include "test_util.h"

namespace qwac::runtime {
namespace {

// x[N,4,6,6] -> Conv(w1) -> <middle> -> Conv(w2) -> GlobalAveragePool -> y.
ir::Model chain(const char* middle, unsigned weight_seed = 1) {
  testing::ModelBuilder b(5);
  ir::Value* x = b.g->add_value("x");
  x->type.dtype = DType::kFloat32;
  x->type.shape = ir::SymbolicShape{{-1, "N"}, {4, ""}, {6, ""}, {6, ""}};
  b.g->add_input(x);
  std::mt19937 r(weight_seed);
  ir::Value* c1 = b.node("Conv", {x, b.g->add_constant("w1", testing::random_tensor({8, 4, 3, 3}, r))}, "conv1");
  b.g->find_node("conv1")->attrs.set("pads", std::vector<int64_t>{1, 1, 1, 1});
  ir::Value* m = b.node(middle, {c1}, "middle");
  ir::Value* c2 = b.node("Conv", {m, b.g->add_constant("w2", testing::random_tensor({3, 8, 3, 3}, r))}, "conv2");
  b.g->add_output(b.node("GlobalAveragePool", {c2}, "pool"));
  return std::move(b.model);
}

std::shared_ptr<Dataset> random_data(int64_t count) {
  return std::make_shared<data::RandomDataset>(
      std::vector<data::RandomInputSpec>{{"x", {1, 4, 6, 6}, DType::kFloat32, -1.0, 1.0}}, count, 7);
}

// Each model run alone on sample i.
Tensor alone(const ir::Model& model, const Dataset& data, int64_t i) {
  Engine e(model, EngineOptions{}, {{"x", {1, 4, 6, 6}}});
  return e.run(data.get(i).inputs)[0];
}

TEST(ModelPass, EveryModelAndVariantMatchesRunningItAlone) {
  const ir::Model base = chain("Relu"), sigmoid = chain("Sigmoid"), other_weights = chain("Relu", 9);
  const auto data = random_data(37);  // a partial last batch
  std::vector<PassModel> models = {{&base, -1}, {&sigmoid, 0}, {&other_weights, 0}};
  for (int streams : {1, 2}) {
    SCOPED_TRACE("streams " + std::to_string(streams));
    PassOptions o;
    o.batch_size = 8;
    o.streams = streams;
    o.engine_threads = 2;
    std::vector<std::pair<int64_t, size_t>> order;
    std::vector<std::vector<Tensor>> got(models.size(), std::vector<Tensor>(37));
    const PassResult r = run_models(models, *data, o, [&](const PassBatch& b) {
      order.emplace_back(b.first, b.model);
      const Tensor& t = b.outputs->tensors.at(0);
      EXPECT_EQ(t.shape()[0], static_cast<int64_t>(b.annotations->size()));
      for (int64_t k = 0; k < t.shape()[0]; ++k) got[b.model][static_cast<size_t>(b.first + k)] = slice_sample(t, k, t.shape()[0]);
      return true;
    });
    EXPECT_EQ(r.samples, 37);
    EXPECT_FALSE(r.stopped);
    ASSERT_EQ(order.size(), 5u * models.size());
    for (size_t i = 1; i < order.size(); ++i) EXPECT_LT(order[i - 1], order[i]) << "delivery " << i;
    for (size_t m = 0; m < models.size(); ++m) {
      for (int64_t i = 0; i < 37; i += 6) {
        EXPECT_EQ(testing::compare_tensors(got[m][static_cast<size_t>(i)], alone(*models[m].model, *data, i), 1e-5, 1e-5),
                  "")
            << "model " << m << " sample " << i;
      }
    }
  }
}

TEST(ModelPass, TheConsumerStopsThePass) {
  const ir::Model base = chain("Relu");
  const auto data = random_data(64);
  PassOptions o;
  o.batch_size = 4;
  o.streams = 2;
  o.engine_threads = 2;
  int calls = 0;
  const PassResult r = run_models({{&base, -1}}, *data, o, [&](const PassBatch&) { return ++calls < 3; });
  EXPECT_TRUE(r.stopped);
  EXPECT_EQ(calls, 3);
  EXPECT_EQ(r.samples, 8) << "two whole batches were consumed before the stop";
}

TEST(ModelPass, KernelsOfAStreamPoolAreReusedByTheNextPass) {
  const ir::Model base = chain("Relu"), variant = chain("Sigmoid");
  const auto data = random_data(16);
  StreamPool pool;
  PassOptions o;
  o.batch_size = 8;
  o.streams = 1;
  o.pool = &pool;
  auto pass = [&] { run_models({{&base, -1}, {&variant, 0}}, *data, o, [](const PassBatch&) { return true; }); };
  pass();
  const size_t misses = pool.kernel_cache_misses();
  EXPECT_GT(misses, 0u);
  pass();
  EXPECT_EQ(pool.kernel_cache_misses(), misses) << "the second pass compiles nothing";
  EXPECT_GT(pool.kernel_cache_hits(), 0u);
}

TEST(ModelPass, AnErrorInAModelSurfacesOnTheCallingThread) {
  const ir::Model base = chain("Relu");
  const auto data = random_data(16);
  PassOptions o;
  o.batch_size = 4;
  o.streams = 2;
  o.engine_threads = 2;
  EXPECT_THROW(run_models({{&base, -1}}, *data, o,
                          [](const PassBatch& b) -> bool {
                            if (b.first >= 8) throw DataError("consumer failure");
                            return true;
                          }),
               DataError);
  // A dataset whose samples do not fit the model: named before anything runs.
  const auto wrong = std::make_shared<data::RandomDataset>(
      std::vector<data::RandomInputSpec>{{"x", {1, 4, 5, 5}, DType::kFloat32, 0.0, 1.0}}, 4, 1);
  EXPECT_THROW(run_models({{&base, -1}}, *wrong, o, [](const PassBatch&) { return true; }), DataError);
}

TEST(PartialModel, RunFromTheCutEqualsTheWholeVariant) {
  const ir::Model base = chain("Relu"), variant = chain("Sigmoid");
  const std::optional<ChangedPart> part = find_changed_part(base, variant);
  ASSERT_TRUE(part.has_value());
  EXPECT_EQ(part->changed_nodes, (std::vector<std::string>{"middle", "conv2", "pool"}));
  EXPECT_EQ(part->cut, (std::vector<std::string>{"conv1_out", "x"}));
  EngineOptions taps;
  taps.taps = part->cut;
  Engine whole_base(base, taps, {{"x", {3, 4, 6, 6}}});
  std::mt19937 rng(2);
  const Tensor x = testing::random_tensor({3, 4, 6, 6}, rng);
  whole_base.run({{"x", x}});
  PartialEngine partial(variant, *part, EngineOptions{});
  const Tensor got = partial.run_from({{"conv1_out", whole_base.tap("conv1_out")}, {"x", x}})[0];
  Engine whole_variant(variant, EngineOptions{}, {{"x", {3, 4, 6, 6}}});
  EXPECT_EQ(testing::compare_tensors(got, whole_variant.run({{"x", x}})[0], 1e-5, 1e-5), "");
}

TEST(PartialModel, CompiledBeforeTheFirstRunFromTheBaseTypesAndSharedAcrossStreams) {
  const ir::Model base = chain("Relu"), variant = chain("Sigmoid");
  const std::optional<ChangedPart> part = find_changed_part(base, variant);
  ASSERT_TRUE(part.has_value());
  EngineOptions taps;
  taps.taps = part->cut;
  Engine whole_base(base, taps, {{"x", {3, 4, 6, 6}}});
  // The cut's types are known from the base's plan before anything runs.
  std::map<std::string, std::pair<DType, Shape>> types;
  for (const std::string& name : part->cut) types[name] = whole_base.tap_type(name);
  EXPECT_EQ(types.at("x"), (std::pair<DType, Shape>{DType::kFloat32, {3, 4, 6, 6}}));
  EXPECT_EQ(types.at("conv1_out").second.front(), 3);
  EXPECT_THROW(whole_base.tap_type("conv2_out"), InvalidArgument);

  EngineOptions one, two;
  one.num_threads = 1;
  two.num_threads = 2;
  PartialEngine first(variant, *part, one), second(variant, *part, two);
  first.compile(types);
  ASSERT_NE(first.prepared(), nullptr);
  second.compile(types, first.prepared());
  EXPECT_EQ(second.prepared(), first.prepared()) << "the second stream reuses the sub-model after the passes";
  EXPECT_EQ(first.outputs().size(), 1u);  // compiled: outputs known before any run

  // A shared part made for other cut types (another batch) is not taken.
  std::map<std::string, std::pair<DType, Shape>> other = types;
  for (auto& [name, t] : other) t.second[0] = 5;
  PartialEngine third(variant, *part, one);
  third.compile(other, first.prepared());
  EXPECT_NE(third.prepared(), first.prepared());

  std::mt19937 rng(3);
  const Tensor x = testing::random_tensor({3, 4, 6, 6}, rng);
  whole_base.run({{"x", x}});
  const std::map<std::string, Tensor> cut{{"conv1_out", whole_base.tap("conv1_out")}, {"x", x}};
  Engine whole_variant(variant, EngineOptions{}, {{"x", {3, 4, 6, 6}}});
  const Tensor expected = whole_variant.run({{"x", x}})[0];
  EXPECT_EQ(testing::compare_tensors(first.run_from(cut)[0], expected, 1e-5, 1e-5), "");
  EXPECT_EQ(testing::compare_tensors(second.run_from(cut)[0], expected, 1e-5, 1e-5), "");
}

TEST(Engine, EnginesFromOnePreparedModelMatchAnOrdinaryEngine) {
  const ir::Model model = chain("Relu");
  EngineOptions o;
  const std::shared_ptr<const PreparedModel> prepared = prepare_model(model, o);
  const size_t nodes = prepared->model->graph->num_nodes();
  EngineOptions one = o, two = o;
  one.num_threads = 1;
  two.num_threads = 2;
  Engine a(prepared, one, {{"x", {2, 4, 6, 6}}}), b(prepared, two, {{"x", {3, 4, 6, 6}}});
  b.reshape({{"x", {2, 4, 6, 6}}});
  Engine plain(model, o, {{"x", {2, 4, 6, 6}}});
  EXPECT_EQ(prepared->model->graph->num_nodes(), nodes) << "compiling leaves the shared model as it is";
  std::mt19937 rng(4);
  const Tensor x = testing::random_tensor({2, 4, 6, 6}, rng);
  const Tensor expected = plain.run({{"x", x}})[0];
  EXPECT_EQ(testing::compare_tensors(a.run({{"x", x}})[0], expected, 1e-6, 1e-6), "");
  EXPECT_EQ(testing::compare_tensors(b.run({{"x", x}})[0], expected, 1e-6, 1e-6), "");
}

}  // namespace
}  // namespace qwac::runtime
