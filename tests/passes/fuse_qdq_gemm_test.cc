// FuseQdqGemm: a QDQ Gemm -> Relu -> Q and a MatMul become QGemm (structure: the float input quantized by the
// QGemm, the hidden layer kept in integers, transB and per-column weight scales), other patterns left alone with
// a note, and the engine with EngineOptions::int8 (oneDNN and reference kernels) against the float simulation.
#include "passes/qdq/qdq_fusion.h"

#include <gtest/gtest.h>

#include <cmath>
#include <random>

#include "ir/fused_ops.h"
#include "kernels/kernel_test_util.h"
#include "model_builder.h"
#include "runtime/engine.h"
#include "test_util.h"

namespace qwac::passes {
namespace {

using ir::Value;
using In = ir::QGemmInputs;
using testing::make_scalar;
using testing::make_tensor;

size_t count_ops(const ir::Graph& g, const std::string& op_type) {
  size_t n = 0;
  for (const ir::Node* node : g.nodes()) n += node->op_type() == op_type ? 1 : 0;
  return n;
}

struct QdqBuilder : testing::ModelBuilder {
  QdqBuilder() : testing::ModelBuilder(41) {}
  Tensor random_int8(const Shape& shape) {
    Tensor w(DType::kInt8, shape);
    std::uniform_int_distribution<int> d(-127, 127);
    for (int64_t i = 0; i < w.numel(); ++i) w.data<int8_t>()[i] = static_cast<int8_t>(d(rng));
    return w;
  }
  // DQ of int8 weights with scale `scale` along `axis` (a scalar scale when it has one value).
  Value* weights(const std::string& name, const Shape& shape, const Tensor& scale, int64_t axis, int8_t zp = 0) {
    std::vector<Value*> in = {g->add_constant(name, random_int8(shape)), g->add_constant(name + "_s", scale)};
    if (zp != 0) in.push_back(g->add_constant(name + "_z", make_scalar<int8_t>(zp)));
    Value* y = node("DequantizeLinear", in, name + "_dq");
    g->find_node(name + "_dq")->attrs.set("axis", axis);
    return y;
  }
};

Tensor column_scales(int64_t n) {
  Tensor s(DType::kFloat32, {n});
  for (int64_t j = 0; j < n; ++j) s.data<float>()[j] = 0.002f + 0.0003f * static_cast<float>(j);
  return s;
}

// x [4, 16] -> Q -> DQ -> Gemm(transB, W1 [8, 16] per row, C = DQ(int32)) -> Relu -> Q(h) -> DQ
//   -> MatMul(W2 [8, 5], per-tensor) -> output.
struct MlpModel {
  QdqBuilder b;
  Value* q_h = nullptr;
  MlpModel() {
    Value* x = b.input("x", {4, 16});
    Value* dq_in = b.qdq("in", x, 0.05f, 128);
    Value* w1 = b.weights("w1", {8, 16}, column_scales(8), 0);
    Tensor bias(DType::kInt32, {8});
    for (int64_t j = 0; j < 8; ++j) bias.data<int32_t>()[j] = static_cast<int32_t>(j * 300 - 1000);
    Tensor bias_scale = column_scales(8);
    for (int64_t j = 0; j < 8; ++j) bias_scale.data<float>()[j] *= 0.05f;
    Value* c = b.node("DequantizeLinear", {b.g->add_constant("c", bias), b.g->add_constant("c_s", bias_scale)}, "c_dq");
    b.g->find_node("c_dq")->attrs.set("axis", int64_t{0});
    Value* gemm = b.node("Gemm", {dq_in, w1, c}, "gemm");
    b.g->find_node("gemm")->attrs.set("transB", int64_t{1});
    Value* dq_h = b.qdq("h", b.node("Relu", {gemm}, "relu"), 0.04f, 0, &q_h);
    Value* w2 = b.weights("w2", {8, 5}, make_scalar(0.002f), 1);
    b.g->add_output(b.node("MatMul", {dq_h, w2}, "matmul"));
  }
};

TEST(FuseQdqGemm, FusesGemmAndMatMul) {
  MlpModel m;
  FuseQdqGemm pass;
  ASSERT_TRUE(pass.run(m.b.model));
  EXPECT_TRUE(pass.notes().empty());
  const ir::Graph& g = *m.b.g;
  g.verify();
  EXPECT_EQ(count_ops(g, "QGemm"), 2u);
  EXPECT_EQ(count_ops(g, "Gemm") + count_ops(g, "MatMul") + count_ops(g, "Relu"), 0u);
  EXPECT_EQ(count_ops(g, "QuantizeLinear"), 0u) << "the first QGemm quantizes x itself";
  EXPECT_EQ(count_ops(g, "DequantizeLinear"), 1u) << "only the bias DQ (folded at compile time) is left";
  const ir::Node* gemm = g.find_node("gemm");
  ASSERT_NE(gemm, nullptr);
  EXPECT_EQ(gemm->op_type(), ir::kQGemmOp);
  EXPECT_EQ(gemm->domain(), ir::kQwacDomain);
  EXPECT_EQ(gemm->input(In::kX)->name(), "x");
  EXPECT_EQ(gemm->input(In::kXScale)->name(), "in_s");
  EXPECT_EQ(gemm->input(In::kW)->name(), "w1");
  EXPECT_EQ(gemm->input(In::kBias)->name(), "c_dq_out");
  EXPECT_EQ(gemm->input(In::kYScale)->name(), "h_s");
  EXPECT_EQ(gemm->output(0), m.q_h);
  EXPECT_EQ(gemm->attrs.get_int("transB"), 1);
  EXPECT_EQ(gemm->attrs.get_string("activation"), "Relu");
  const ir::Node* matmul = g.find_node("matmul");
  ASSERT_NE(matmul, nullptr);
  EXPECT_EQ(matmul->op_type(), ir::kQGemmOp);
  EXPECT_EQ(matmul->input(In::kX), m.q_h);
  EXPECT_EQ(matmul->num_inputs(), In::kWScale + 1) << "no bias, float output";
  EXPECT_EQ(matmul->output(0)->type.dtype, DType::kFloat32) << "the float output is declared for later passes";
  EXPECT_FALSE(matmul->attrs.has("transB"));
  EXPECT_FALSE(FuseQdqGemm().run(m.b.model)) << "a second run finds nothing";
}

// MatMul -> Add(constant row) -> Relu: the Add is the QGemm's bias (CNTK exports fully connected layers so).
TEST(FuseQdqGemm, FoldsTheBiasAddAfterAMatMul) {
  QdqBuilder b;
  Value* x = b.input("x", {5, 6});
  Value* mm = b.node("MatMul", {b.qdq("x", x, 0.05f, 128), b.weights("w", {6, 3}, column_scales(3), 1)}, "matmul");
  Value* c = b.g->add_constant("c", make_tensor<float>({3}, {0.5f, -0.25f, 0.125f}));
  b.g->add_output(b.node("Relu", {b.node("Add", {c, mm}, "add")}, "relu"));
  ir::Model original = b.model.clone();
  ASSERT_TRUE(FuseQdqGemm().run(b.model));
  b.g->verify();
  EXPECT_EQ(count_ops(*b.g, "QGemm"), 1u);
  EXPECT_EQ(b.g->num_nodes(), 1u) << "Q, DQs, MatMul, Add and Relu are all folded";
  const ir::Node* fused = b.g->find_node("matmul");
  ASSERT_NE(fused, nullptr);
  EXPECT_EQ(fused->input(In::kBias)->name(), "c");
  EXPECT_EQ(fused->attrs.get_string("activation"), "Relu");
  EXPECT_EQ(fused->output(0)->name(), "relu_out");

  std::mt19937 rng(3);
  const Tensor xt = testing::random_tensor({5, 6}, rng, -6.f, 6.f);
  runtime::EngineOptions o;
  const Tensor expected = runtime::Engine(original, o).run({{"x", xt}})[0];
  o.int8 = true;
  const Tensor got = runtime::Engine(original, o).run({{"x", xt}})[0];
  EXPECT_EQ(testing::compare_tensors(got, expected, 0.0, 1e-5), "");
}

TEST(FuseQdqGemm, LeavesOtherPatternsAloneWithANote) {
  enum class Break { kAlpha, kWeightZeroPoint, kScaleAxis, kFullC, kFloatWeights };
  for (Break what : {Break::kAlpha, Break::kWeightZeroPoint, Break::kScaleAxis, Break::kFullC, Break::kFloatWeights}) {
    QdqBuilder b;
    Value* dq_x = b.qdq("x", b.input("x", {2, 6}), 0.1f, 10);
    Value* w = nullptr;
    if (what == Break::kFloatWeights) {
      w = b.g->add_constant("wf", testing::random_tensor({6, 3}, b.rng));
    } else {
      // W [6, 3]: its columns are axis 1; kScaleAxis puts a 6-value scale on axis 0 instead.
      const int8_t zp = what == Break::kWeightZeroPoint ? 2 : 0;
      w = what == Break::kScaleAxis ? b.weights("w", {6, 3}, column_scales(6), 0)
                                    : b.weights("w", {6, 3}, column_scales(3), 1, zp);
    }
    std::vector<Value*> inputs = {dq_x, w};
    if (what == Break::kFullC) inputs.push_back(b.g->add_constant("c", Tensor(DType::kFloat32, {2, 3})));
    b.g->add_output(b.node("Gemm", inputs, "gemm"));
    if (what == Break::kAlpha) b.g->find_node("gemm")->attrs.set("alpha", 2.f);
    const size_t nodes = b.g->num_nodes();
    FuseQdqGemm pass;
    EXPECT_FALSE(pass.run(b.model)) << "case " << static_cast<int>(what);
    EXPECT_EQ(b.g->num_nodes(), nodes) << "case " << static_cast<int>(what);
    ASSERT_EQ(pass.notes().size(), 1u) << "case " << static_cast<int>(what);
    EXPECT_EQ(pass.notes()[0].node_name, "gemm");
    std::cout << "case " << static_cast<int>(what) << ": " << pass.notes()[0].reason << "\n";
  }
}

// Engine with int8 (QGemm on oneDNN, then on the reference kernel) against the float simulation. x is quantized
// exactly as QuantizeLinear does; a hidden unit one step (0.04) off moves an output by at most 8 * 127 * 0.002 *
// 0.04 < 0.09.
TEST(FuseQdqGemm, EngineInt8AgreesWithFloatSimulation) {
  MlpModel m;
  std::mt19937 rng(9);
  const Tensor x = testing::random_tensor({4, 16}, rng, -6.f, 6.f);
  runtime::EngineOptions o;
  o.num_threads = 2;
  const Tensor expected = runtime::Engine(m.b.model, o).run({{"x", x}})[0];
  for (bool dnnl : {true, false}) {
    o.use_dnnl = dnnl;
    o.int8 = true;
    runtime::Engine engine(m.b.model, o);
    size_t qgemm = 0;
    for (const runtime::PlannedNode& p : engine.planned_nodes()) {
      if (p.op_type != "QGemm") continue;
      ++qgemm;
      EXPECT_EQ(p.impl, dnnl ? "dnnl" : "ref") << p.node_name;
    }
    EXPECT_EQ(qgemm, 2u);
    const Tensor got = engine.run({{"x", x}})[0];
    int64_t differ = 0;
    for (int64_t i = 0; i < got.numel(); ++i) {
      const float d = std::fabs(got.data<float>()[i] - expected.data<float>()[i]);
      EXPECT_LT(d, 0.09f) << (dnnl ? "dnnl" : "ref") << ": element " << i;
      differ += d > 1e-4f;
    }
    EXPECT_LE(differ, 2) << (dnnl ? "dnnl" : "ref");
  }
}

}  // namespace
}  // namespace qwac::passes
