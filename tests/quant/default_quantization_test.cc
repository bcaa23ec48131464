// qwac::quantize on a small Conv -> BatchNormalization -> Relu -> MaxPool -> Conv -> Gemm model: structure of the
// QDQ result, closeness to FP32, report contents, determinism (byte-identical files whatever the thread count),
// ignored scope, and the documented per-tensor fallback.
#include <gtest/gtest.h>

#include <random>

#include "data/random_dataset.h"
#include "ir/graph.h"
#include <onnx/onnx_pb.h>

#include "onnx/model_io.h"
#include "quant/quantize.h"
#include "runtime/engine.h"
#include "test_util.h"

namespace qwac {
namespace {

ir::Model small_cnn(int64_t opset) {
  std::mt19937 rng(11);
  ir::Model m;
  m.ir_version = 7;
  m.opset_imports = {{"", opset}};
  m.graph = std::make_unique<ir::Graph>();
  ir::Graph& g = *m.graph;
  g.name = "small_cnn";
  ir::Value* x = g.add_value("x");
  x->type = {DType::kFloat32, ir::SymbolicShape{{-1, "N"}, {3, ""}, {8, ""}, {8, ""}}};
  g.add_input(x);
  auto value = [&](const std::string& n) { return g.add_value(n); };
  ir::Value* c1 = value("c1");
  g.add_node("Conv", {x, g.add_constant("w1", testing::random_tensor({8, 3, 3, 3}, rng, -0.5f, 0.5f)),
                      g.add_constant("b1", testing::random_tensor({8}, rng))},
             {c1}, "conv1")->attrs.set("pads", std::vector<int64_t>{1, 1, 1, 1});
  ir::Value* bn = value("bn");
  g.add_node("BatchNormalization",
             {c1, g.add_constant("s", testing::random_tensor({8}, rng, 0.5f, 1.5f)),
              g.add_constant("bias", testing::random_tensor({8}, rng)), g.add_constant("mean", testing::random_tensor({8}, rng)),
              g.add_constant("var", testing::random_tensor({8}, rng, 0.5f, 2.f))},
             {bn}, "bn1");
  ir::Value* r = value("r");
  g.add_node("Relu", {bn}, {r}, "relu1");
  ir::Value* p = value("p");
  ir::Node* pool = g.add_node("MaxPool", {r}, {p}, "pool1");
  pool->attrs.set("kernel_shape", std::vector<int64_t>{2, 2});
  pool->attrs.set("strides", std::vector<int64_t>{2, 2});
  ir::Value* c2 = value("c2");
  g.add_node("Conv", {p, g.add_constant("w2", testing::random_tensor({4, 8, 3, 3}, rng, -0.3f, 0.3f))}, {c2}, "conv2");
  ir::Value* f = value("f");
  g.add_node("Flatten", {c2}, {f}, "flatten");
  ir::Value* y = value("y");
  y->type = {DType::kFloat32, ir::SymbolicShape{{-1, "N"}, {5, ""}}};
  ir::Node* gemm = g.add_node("Gemm", {f, g.add_constant("wf", testing::random_tensor({5, 16}, rng)),
                                       g.add_constant("bf", testing::random_tensor({5}, rng))},
                              {y}, "fc");
  gemm->attrs.set("transB", int64_t{1});
  g.add_output(y);
  return m;
}

data::RandomDataset calibration(int64_t count) {
  return data::RandomDataset({{"x", {1, 3, 8, 8}, DType::kFloat32, -1.0, 1.0}}, count, 7);
}

size_t count_ops(const ir::Model& m, const std::string& op) {
  size_t n = 0;
  for (const ir::Node* node : m.graph->nodes()) n += node->op_type() == op;
  return n;
}

TEST(Quantize, SmallCnnStructureNumbersAndReport) {
  const ir::Model model = small_cnn(11);
  const data::RandomDataset calib = calibration(40);
  QuantizationConfig params;
  params.stat_subset_size = 32;
  const QuantizeOutput r = quantize(model, calib, params);
  const ir::Model& q = *r.model;
  EXPECT_EQ(q.opset(""), 13);  // raised for per-channel weights
  EXPECT_EQ(count_ops(q, "BatchNormalization"), 0u);
  EXPECT_EQ(count_ops(q, "Conv"), 2u);
  EXPECT_GE(count_ops(q, "QuantizeLinear"), 3u);  // network input, relu1 (and after the pool), conv2 output path
  // Every quantized op's weight is an int8 initializer read through DequantizeLinear.
  for (const ir::Node* n : q.graph->nodes()) {
    if (n->op_type() != "Conv" && n->op_type() != "Gemm") continue;
    const ir::Node* dq = n->input(1)->producer();
    ASSERT_NE(dq, nullptr) << n->describe();
    EXPECT_EQ(dq->op_type(), "DequantizeLinear") << n->describe();
    ASSERT_TRUE(dq->input(0)->is_constant());
    EXPECT_EQ(dq->input(0)->constant->dtype(), DType::kInt8) << n->describe();
  }
  EXPECT_EQ(r.report["algorithm"], "DefaultQuantization");
  EXPECT_EQ(r.report["calibration"]["samples"], 32);
  EXPECT_EQ(r.report["quantized_ops"].size(), 3u);
  EXPECT_FALSE(r.report["groups"].empty());
  EXPECT_EQ(r.report["bias_correction"]["corrected"].size(), 3u);

  // The quantized model stays close to FP32 on held-out samples.
  runtime::Engine fp32(model, {}, {{"x", {1, 3, 8, 8}}});
  runtime::Engine int8(q, {}, {{"x", {1, 3, 8, 8}}});
  double err = 0, ref = 0;
  for (int64_t i = 32; i < 40; ++i) {
    const Tensor in = calib.get(i).inputs.at("x");
    const Tensor a = fp32.run({{"x", in}})[0], b = int8.run({{"x", in}})[0];
    for (int64_t k = 0; k < a.numel(); ++k) {
      err += std::pow(a.data<float>()[k] - b.data<float>()[k], 2);
      ref += std::pow(a.data<float>()[k], 2);
    }
  }
  // 4 quantized tensors on 8 x 8 inputs: about 24 dB SQNR here; 20 dB is the bound.
  EXPECT_LT(err / ref, 1e-2) << "relative squared error of the quantized outputs";
}

TEST(Quantize, DeterministicWhateverTheThreadCount) {
  const ir::Model model = small_cnn(13);
  const data::RandomDataset calib = calibration(24);
  QuantizationConfig params;
  RunOptions one, two;
  one.threads = 1;
  one.batch_size = 4;
  two.threads = 2;
  two.batch_size = 4;
  const auto a = onnxio::model_to_proto(*quantize(model, calib, params, one).model).SerializeAsString();
  const auto b = onnxio::model_to_proto(*quantize(model, calib, params, two).model).SerializeAsString();
  EXPECT_TRUE(a == b) << "quantized models differ between 1 and 2 threads";
}

TEST(Quantize, IgnoredScopeAndPerTensorWeights) {
  const ir::Model model = small_cnn(13);
  const data::RandomDataset calib = calibration(16);
  QuantizationConfig params;
  params.ignored_scope = {{"names", {"fc"}}};
  params.weights.granularity = "pertensor";
  const QuantizeOutput r = quantize(model, calib, params);
  bool fc_float = false;
  for (const auto& f : r.report["float_ops"]) fc_float = fc_float || f["node"] == "fc";
  EXPECT_TRUE(fc_float) << r.report["float_ops"].dump();
  for (const auto& q : r.report["quantizers"]) EXPECT_EQ(q["granularity"], "pertensor") << q.dump();
  const ir::Node* fc = r.model->graph->find_node("fc");
  ASSERT_NE(fc, nullptr);
  EXPECT_TRUE(fc->input(1)->is_constant()) << "an ignored op keeps its float weight";
}

}  // namespace
}  // namespace qwac
