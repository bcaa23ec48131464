// The QDQ rule DQ -> LayerNormalization -> Q => com.qwac QLayerNorm (passes/qdq/qdq_rules.cc): structure (the
// residual stream's integers in, the next QGemm reading the integers out, a LayerNorm with a float reader left
// alone), and the engine with EngineOptions::int8 (oneDNN and reference kernels) against the float simulation.
#include "passes/qdq/qdq_fusion.h"

#include <gtest/gtest.h>

#include <cmath>
#include <random>

#include "ir/fused_ops.h"
#include "kernels/kernel_test_util.h"
#include "model_builder.h"
#include "passes/pass_list.h"
#include "runtime/engine.h"
#include "test_util.h"

namespace qwac::passes {
namespace {

using ir::Value;

struct QdqBuilder : testing::ModelBuilder {
  QdqBuilder() : testing::ModelBuilder(23, 17) {}
  Value* layer_norm(Value* x, int64_t c, const std::string& name) {
    Tensor scale(DType::kFloat32, {c}), bias(DType::kFloat32, {c});
    std::uniform_real_distribution<float> u(-0.5f, 0.5f);
    for (int64_t i = 0; i < c; ++i) {
      scale.data<float>()[i] = 1.f + u(rng);
      bias.data<float>()[i] = u(rng);
    }
    Value* y = node("LayerNormalization", {x, g->add_constant(name + "_scale", scale), g->add_constant(name + "_b", bias)},
                    name);
    g->find_node(name)->attrs.set("epsilon", 1e-5f);
    return y;
  }
  Value* weights(const std::string& name, const Shape& shape) {
    Tensor w(DType::kInt8, shape);
    std::uniform_int_distribution<int> d(-127, 127);
    for (int64_t i = 0; i < w.numel(); ++i) w.data<int8_t>()[i] = static_cast<int8_t>(d(rng));
    Tensor s(DType::kFloat32, {shape[1]});
    for (int64_t j = 0; j < shape[1]; ++j) s.data<float>()[j] = 0.002f + 0.0002f * static_cast<float>(j);
    Value* y = node("DequantizeLinear", {g->add_constant(name, w), g->add_constant(name + "_s", s)}, name + "_dq");
    g->find_node(name + "_dq")->attrs.set("axis", int64_t{1});
    return y;
  }
};

// x [2, 5, 16] -> Q -> DQ -> LayerNorm -> Q(ln) -> DQ -> MatMul(W [16, 8], per column) -> output; with
// `float_reader`, the LayerNorm's output is also an output of the graph through a Relu.
struct BlockModel {
  QdqBuilder b;
  Value* q_in = nullptr;
  Value* q_ln = nullptr;
  explicit BlockModel(bool float_reader = false) {
    Value* x = b.input("x", {2, 5, 16});
    Value* ln = b.layer_norm(b.qdq("in", x, 0.05f, 128, &q_in), 16, "ln");
    Value* dq_ln = b.qdq("h", ln, 0.03f, 120, &q_ln);
    b.g->add_output(b.node("MatMul", {dq_ln, b.weights("w", {16, 8})}, "matmul"));
    if (float_reader) b.g->add_output(b.node("Relu", {ln}, "relu"));
  }
};

TEST(FuseQdqLayerNorm, NormalizesTheIntegersIntoTheNextQGemm) {
  BlockModel m;
  QdqFusion pass;
  ASSERT_TRUE(pass.run(m.b.model));
  const ir::Graph& g = *m.b.g;
  g.verify();
  const ir::Node* ln = g.find_node("ln");
  ASSERT_NE(ln, nullptr);
  EXPECT_EQ(ln->op_type(), ir::kQLayerNormOp);
  EXPECT_EQ(ln->domain(), ir::kQwacDomain);
  using In = ir::QLayerNormInputs;
  ASSERT_EQ(ln->num_inputs(), In::kCount);
  EXPECT_EQ(ln->input(In::kX), m.q_in);
  EXPECT_EQ(ln->input(In::kXScale)->name(), "in_s");
  EXPECT_EQ(ln->input(In::kScale)->name(), "ln_scale");
  EXPECT_EQ(ln->input(In::kBias)->name(), "ln_b");
  EXPECT_EQ(ln->input(In::kYScale)->name(), "h_s");
  EXPECT_EQ(ln->input(In::kYZeroPoint)->name(), "h_z");
  EXPECT_EQ(ln->output(0), m.q_ln);
  EXPECT_FLOAT_EQ(ln->attrs.get_float("epsilon"), 1e-5f);
  const ir::Node* mm = g.find_node("matmul");
  ASSERT_NE(mm, nullptr);
  EXPECT_EQ(mm->op_type(), ir::kQGemmOp);
  EXPECT_EQ(mm->input(ir::QGemmInputs::kX), m.q_ln) << "the QGemm reads the integers, it quantizes nothing";
}

TEST(FuseQdqLayerNorm, LeavesALayerNormWithAFloatReaderAlone) {
  BlockModel m(/*float_reader=*/true);
  QdqFusion pass;
  pass.run(m.b.model);
  m.b.g->verify();
  EXPECT_EQ(m.b.g->find_node("ln")->op_type(), "LayerNormalization");
}

TEST(FuseQdqLayerNorm, IsInTheEngineInt8PipelineAndAgreesWithFloatSimulation) {
  BlockModel m;
  std::mt19937 rng(5);
  const Tensor x = testing::random_tensor({2, 5, 16}, rng, -6.f, 6.f);
  runtime::EngineOptions o;
  o.num_threads = 2;
  const Tensor expected = runtime::Engine(m.b.model, o).run({{"x", x}})[0];
  for (bool dnnl : {true, false}) {
    o.use_dnnl = dnnl;
    o.int8 = true;
    runtime::Engine engine(m.b.model, o);
    size_t qln = 0;
    for (const runtime::PlannedNode& p : engine.planned_nodes()) qln += p.op_type == ir::kQLayerNormOp;
    EXPECT_EQ(qln, 1u) << (dnnl ? "dnnl" : "ref");
    const Tensor got = engine.run({{"x", x}})[0];
    ASSERT_EQ(got.shape(), expected.shape());
    int64_t differ = 0;
    for (int64_t i = 0; i < got.numel(); ++i) {
      const float d = std::fabs(got.data<float>()[i] - expected.data<float>()[i]);
      EXPECT_LT(d, 0.05f) << (dnnl ? "dnnl" : "ref") << ": element " << i;  // a step of h times a weight column
      differ += d > 1e-4f;
    }
    EXPECT_LE(differ, 2) << (dnnl ? "dnnl" : "ref");
  }
}

}  // namespace
}  // namespace qwac::passes
