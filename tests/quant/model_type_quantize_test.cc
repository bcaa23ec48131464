// qwac::quantize with model_type "transformer" on one attention block built in code: the QDQ file's structure (int8
// Q x K^T and projections, float Softmax x V and residual Add, mixed preset), its closeness to FP32, and a config
// that names an unknown model type.
#include <gtest/gtest.h>

#include <cmath>
#include <random>

#include "data/random_dataset.h"
#include "ir/graph.h"
#include "qwac/error.h"
#include "quant/quantize.h"
#include "runtime/engine.h"
#include "test_util.h"

namespace qwac {
namespace {

constexpr int64_t kTokens = 6, kDim = 8;

// x [N, 6, 8] -> q/k/v projections (MatMul + bias Add) -> Q x K^T (K transposed) -> scale Mul -> Softmax -> x V ->
// output projection -> residual Add -> y [N, 6, 8].
ir::Model attention_block() {
  std::mt19937 rng(5);
  ir::Model m;
  m.ir_version = 8;
  m.opset_imports = {{"", 14}};
  m.graph = std::make_unique<ir::Graph>();
  ir::Graph& g = *m.graph;
  g.name = "attention";
  ir::Value* x = g.add_value("x");
  x->type = {DType::kFloat32, ir::SymbolicShape{{-1, "N"}, {kTokens, ""}, {kDim, ""}}};
  g.add_input(x);
  auto linear = [&](ir::Value* in, const std::string& name) {
    ir::Value* mm = g.add_value(name + "_mm");
    g.add_node("MatMul", {in, g.add_constant(name + "_w", testing::random_tensor({kDim, kDim}, rng, -0.6f, 0.6f))},
               {mm}, name);
    ir::Value* out = g.add_value(name + "_out");
    g.add_node("Add", {mm, g.add_constant(name + "_b", testing::random_tensor({kDim}, rng, -0.2f, 0.2f))}, {out},
               name + "_bias");
    return out;
  };
  ir::Value* q = linear(x, "q");
  ir::Value* k = linear(x, "k");
  ir::Value* v = linear(x, "v");
  ir::Value* kt = g.add_value("kt");
  g.add_node("Transpose", {k}, {kt}, "kt")->attrs.set("perm", std::vector<int64_t>{0, 2, 1});
  ir::Value* scores = g.add_value("scores");
  g.add_node("MatMul", {q, kt}, {scores}, "qk");
  Tensor scale(DType::kFloat32, {});
  scale.data<float>()[0] = 1.f / std::sqrt(static_cast<float>(kDim));
  ir::Value* scaled = g.add_value("scaled");
  g.add_node("Mul", {scores, g.add_constant("scale", scale)}, {scaled}, "scale");
  ir::Value* probs = g.add_value("probs");
  g.add_node("Softmax", {scaled}, {probs}, "softmax")->attrs.set("axis", int64_t{-1});
  ir::Value* context = g.add_value("context");
  g.add_node("MatMul", {probs, v}, {context}, "pv");
  ir::Value* proj = linear(context, "proj");
  ir::Value* y = g.add_value("y");
  y->type = {DType::kFloat32, ir::SymbolicShape{{-1, "N"}, {kTokens, ""}, {kDim, ""}}};
  g.add_node("Add", {proj, x}, {y}, "residual");
  g.add_output(y);
  return m;
}

data::RandomDataset tokens(int64_t count) {
  return data::RandomDataset({{"x", {1, kTokens, kDim}, DType::kFloat32, -2.0, 2.0}}, count, 3);
}

bool reads_dequantized(const ir::Node& n, size_t input) {
  const ir::Node* p = n.input(input)->producer();
  while (p != nullptr && p->op_type() == "Transpose") p = p->input(0)->producer();
  return p != nullptr && p->op_type() == "DequantizeLinear";
}

const ir::Node& node(const ir::Model& m, const std::string& name) {
  const ir::Node* n = m.graph->find_node(name);
  if (n == nullptr) throw std::runtime_error("no node " + name);
  return *n;
}

// Relative squared error of `q` against `model` on samples [from, to).
double relative_error(const ir::Model& model, const ir::Model& q, const data::RandomDataset& data, int64_t from,
                      int64_t to) {
  runtime::Engine fp32(model, {}, {{"x", {1, kTokens, kDim}}});
  runtime::Engine int8(q, {}, {{"x", {1, kTokens, kDim}}});
  double err = 0, ref = 0;
  for (int64_t i = from; i < to; ++i) {
    const Tensor in = data.get(i).inputs.at("x");
    const Tensor a = fp32.run({{"x", in}})[0], b = int8.run({{"x", in}})[0];
    for (int64_t k = 0; k < a.numel(); ++k) {
      err += std::pow(a.data<float>()[k] - b.data<float>()[k], 2);
      ref += std::pow(a.data<float>()[k], 2);
    }
  }
  return err / ref;
}

TEST(QuantizeTransformer, AttentionBlockStructureNumbersAndReport) {
  const ir::Model model = attention_block();
  const data::RandomDataset calib = tokens(48);
  QuantizationConfig params;
  params.model_type = "transformer";
  params.stat_subset_size = 32;
  const QuantizeOutput r = quantize(model, calib, params);
  const ir::Model& q = *r.model;

  EXPECT_EQ(r.report["params"]["preset"], "mixed");
  EXPECT_EQ(r.report["params"]["model_type"], "transformer");
  EXPECT_EQ(r.report["quantized_ops"], (nlohmann::json{"q", "k", "v", "qk", "proj", "residual"}));
  // Projections: int8 weights and a quantized input; Q x K^T: both operands quantized.
  for (const char* mm : {"q", "k", "v", "proj"}) {
    EXPECT_TRUE(reads_dequantized(node(q, mm), 0)) << mm;
    EXPECT_TRUE(reads_dequantized(node(q, mm), 1)) << mm;
  }
  EXPECT_TRUE(reads_dequantized(node(q, "qk"), 0));
  EXPECT_TRUE(reads_dequantized(node(q, "qk"), 1));
  // Softmax x V reads float; the scale Mul is folded into Q's dequantization scale by the onnxruntime export
  // (lowering attention_scale_into_dequantize), so the Softmax reads Q x K^T's float result directly; the residual
  // Add int8.
  EXPECT_FALSE(reads_dequantized(node(q, "pv"), 0));
  EXPECT_FALSE(reads_dequantized(node(q, "pv"), 1));
  EXPECT_EQ(q.graph->find_node("scale"), nullptr);
  EXPECT_EQ(node(q, "softmax").input(0)->producer(), &node(q, "qk"));
  EXPECT_TRUE(reads_dequantized(node(q, "residual"), 0));
  EXPECT_TRUE(reads_dequantized(node(q, "residual"), 1));
  // Q x K^T's operands are symmetric: zero-point 128 in ONNX Runtime's uint8 storage (signed ranges) or 0 (>= 0).
  for (size_t i = 0; i < 2; ++i) {
    const ir::Node* dq = node(q, "qk").input(i)->producer();
    while (dq->op_type() == "Transpose") dq = dq->input(0)->producer();
    ASSERT_EQ(dq->num_inputs(), 3u);
    const Tensor& zp = *dq->input(2)->constant;
    ASSERT_EQ(zp.dtype(), DType::kUInt8);
    EXPECT_TRUE(zp.data<uint8_t>()[0] == 128 || zp.data<uint8_t>()[0] == 0) << int(zp.data<uint8_t>()[0]);
  }

  // Held-out samples: close to FP32 (5 quantized MatMuls, 8-wide rows; about 30 dB here, 20 dB the bound).
  const double err = relative_error(model, q, calib, 32, 48);
  EXPECT_LT(err, 1e-2) << "relative squared error of the quantized outputs";
  EXPECT_GT(err, 0.0) << "something was quantized";
}

TEST(QuantizeTransformer, UnknownModelTypeIsAnInvalidConfig) {
  const ir::Model model = attention_block();
  const data::RandomDataset calib = tokens(4);
  QuantizationConfig params;
  params.model_type = "tranformer";
  try {
    quantize(model, calib, params);
    ADD_FAILURE() << "expected InvalidConfig";
  } catch (const InvalidConfig& e) {
    EXPECT_NE(std::string(e.what()).find("model_type: unknown model type \"tranformer\"; known: \"transformer\""),
              std::string::npos)
        << e.what();
  }
}

}  // namespace
}  // namespace qwac
