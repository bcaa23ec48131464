// QuantizedWeightCache: the same integers as quantize_tensor, one tensor per (weight, parameters) shared by every
// caller, another entry for other parameters or another weight; and materialize_qdq with a cache builds the same
// model (constants byte for byte) as without, sharing the weight tensors between builds.
#include "quant/quantized_weight_cache.h"

#include <gtest/gtest.h>

#include <cstring>
#include <random>
#include <thread>
#include <vector>

#include "quant/qdq_materialize.h"
#include "quant/quant_params.h"
#include "test_util.h"

namespace qwac::quant {
namespace {

QuantParams per_channel(std::vector<float> scale) {
  QuantParams p;
  p.dtype = DType::kInt8;
  p.axis = 0;
  p.zero_point.assign(scale.size(), 0);
  p.scale = std::move(scale);
  p.qmin = -127;
  p.qmax = 127;
  return p;
}

Tensor random_weight(uint32_t seed) {
  std::mt19937 rng(seed);
  return testing::random_tensor({3, 2, 3, 3}, rng, -1.f, 1.f);
}

bool same_bytes(const Tensor& a, const Tensor& b) {
  return a.dtype() == b.dtype() && a.shape() == b.shape() && std::memcmp(a.raw(), b.raw(), a.nbytes()) == 0;
}

TEST(QuantizedWeightCache, SameIntegersAsQuantizeTensorSharedPerWeightAndParameters) {
  QuantizedWeightCache cache;
  const Tensor w = random_weight(1);
  const QuantParams p = per_channel({0.01f, 0.02f, 0.004f});
  const Tensor a = cache.quantize(w, p);
  EXPECT_TRUE(same_bytes(a, quantize_tensor(w, p)));
  const Tensor b = cache.quantize(w, p);
  EXPECT_EQ(a.raw(), b.raw()) << "the second call shares the first one's tensor";
  EXPECT_EQ(cache.size(), 1u);
  EXPECT_EQ(cache.hits(), 1);

  // Another scale, another zero-point, another weight with the same values: entries of their own.
  QuantParams p2 = p;
  p2.scale[1] = 0.03f;
  const Tensor c = cache.quantize(w, p2);
  EXPECT_NE(c.raw(), a.raw());
  EXPECT_TRUE(same_bytes(c, quantize_tensor(w, p2)));
  QuantParams p3 = p;
  p3.zero_point[2] = 1;
  EXPECT_TRUE(same_bytes(cache.quantize(w, p3), quantize_tensor(w, p3)));
  const Tensor w_copy = w.clone();
  EXPECT_NE(cache.quantize(w_copy, p).raw(), a.raw());
  EXPECT_EQ(cache.size(), 4u);
  EXPECT_EQ(cache.hits(), 1);
}

TEST(QuantizedWeightCache, ThreadsGetOneTensor) {
  QuantizedWeightCache cache;
  const Tensor w = random_weight(2);
  const QuantParams p = per_channel({0.01f, 0.02f, 0.004f});
  std::vector<Tensor> got(4);
  std::vector<std::thread> threads;
  for (size_t i = 0; i < got.size(); ++i) threads.emplace_back([&, i] { got[i] = cache.quantize(w, p); });
  for (auto& t : threads) t.join();
  for (const Tensor& t : got) EXPECT_EQ(t.raw(), got[0].raw());
  EXPECT_TRUE(same_bytes(got[0], quantize_tensor(w, p)));
  EXPECT_EQ(cache.size(), 1u);
}

// x -> Conv(w1) -> Conv(w2) -> y, input and weight quantizers.
struct TwoConvs {
  ir::Model model;
  QuantizerSet set;
  TwoConvs() {
    model.ir_version = 8;
    model.opset_imports = {{"", 13}};
    model.graph = std::make_unique<ir::Graph>();
    ir::Graph& g = *model.graph;
    auto typed = [](ir::Value* v, const Shape& shape) {
      v->type.dtype = DType::kFloat32;
      ir::SymbolicShape s;
      for (int64_t d : shape) s.push_back({d, ""});
      v->type.shape = s;
      return v;
    };
    ir::Value* x = typed(g.add_value("x"), {1, 2, 5, 5});
    g.add_input(x);
    ir::Value* w1 = g.add_constant("w1", random_weight(3));
    std::mt19937 rng(4);
    ir::Value* w2 = g.add_constant("w2", testing::random_tensor({3, 3, 3, 3}, rng, -1.f, 1.f));
    ir::Value* h = typed(g.add_value("h"), {1, 3, 3, 3});
    ir::Value* y = typed(g.add_value("y"), {1, 3, 1, 1});
    g.add_node("Conv", {x, w1}, {h}, "conv1");
    g.add_node("Conv", {h, w2}, {y}, "conv2");
    g.add_output(y);
    auto quantizer = [](int id, QuantizerKind kind, std::string source, std::string node, int input, QuantParams p) {
      Quantizer q;
      q.id = id;
      q.kind = kind;
      q.sources = {std::move(source)};
      q.edges = {{std::move(node), input}};
      q.params = std::move(p);
      q.name = "q";
      q.name += std::to_string(id);
      return q;
    };
    QuantParams act;
    act.dtype = DType::kUInt8;
    act.scale = {0.05f};
    act.zero_point = {128};
    act.qmin = 0;
    act.qmax = 255;
    set.quantizers.push_back(quantizer(0, QuantizerKind::kActivation, "x", "conv1", 0, act));
    set.quantizers.push_back(quantizer(1, QuantizerKind::kWeight, "w1", "conv1", 1, per_channel({0.01f, 0.02f, 0.004f})));
    set.quantizers.push_back(quantizer(2, QuantizerKind::kActivation, "h", "conv2", 0, act));
    set.quantizers.push_back(quantizer(3, QuantizerKind::kWeight, "w2", "conv2", 1, per_channel({0.02f, 0.01f, 0.03f})));
  }
};

TEST(QuantizedWeightCache, MaterializeBuildsTheSameModelAndSharesWeights) {
  TwoConvs c;
  const ir::Model plain = materialize_qdq(c.model, c.set, MaterializeOptions{});
  MaterializeOptions cached;
  cached.weight_cache = std::make_shared<QuantizedWeightCache>();
  const ir::Model first = materialize_qdq(c.model, c.set, cached);
  // A candidate that reverts conv1's quantizers still shares conv2's weight with the first build.
  QuantizerSet reverted = c.set;
  reverted.at(0).enabled = false;
  reverted.at(1).enabled = false;
  const ir::Model second = materialize_qdq(c.model, reverted, cached);
  const ir::Model second_plain = materialize_qdq(c.model, reverted, MaterializeOptions{});

  auto expect_same = [](const ir::Model& a, const ir::Model& b) {
    ASSERT_EQ(a.graph->nodes().size(), b.graph->nodes().size());
    for (const ir::Value* v : a.graph->values()) {
      if (!v->is_constant()) continue;
      const ir::Value* twin = b.graph->find_value(v->name());
      ASSERT_NE(twin, nullptr) << v->name();
      ASSERT_TRUE(twin->is_constant()) << v->name();
      EXPECT_TRUE(same_bytes(*v->constant, *twin->constant)) << v->name();
    }
  };
  expect_same(first, plain);
  expect_same(second, second_plain);
  const ir::Value* w2_first = first.graph->find_value("w2_quantized");
  const ir::Value* w2_second = second.graph->find_value("w2_quantized");
  ASSERT_NE(w2_first, nullptr);
  ASSERT_NE(w2_second, nullptr);
  EXPECT_EQ(w2_first->constant->raw(), w2_second->constant->raw());
  EXPECT_EQ(second.graph->find_value("w1_quantized"), nullptr) << "a reverted weight stays float";
  EXPECT_EQ(cached.weight_cache->size(), 2u);
  EXPECT_EQ(cached.weight_cache->hits(), 1);
}

}  // namespace
}  // namespace qwac::quant
