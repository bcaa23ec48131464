// FuseQdqLookup: after the QDQ rule table, hard-swish written as ONNX Runtime's export profile writes it
// (QAdd(x, c) -> QMul(x, that)) and SiLU (DQ(x) -> Sigmoid -> Q -> DQ -> QMul(x, that)) become one QLookup each,
// whose table the engine folds at compile time; a product of two varying tensors (an SE-style per-channel scale) and
// an Add of a per-channel constant stay as they are. Numbers: the model with the lookups gives exactly what the
// same model with the unfused integer ops gives, on the reference kernels and on oneDNN.
#include "passes/qdq/lookup_fusion.h"

#include <gtest/gtest.h>

#include <random>

#include "ir/fused_ops.h"
#include "kernels/kernel_test_util.h"
#include "model_builder.h"
#include "passes/qdq/qdq_fusion.h"
#include "runtime/engine.h"
#include "test_util.h"

namespace qwac::passes {
namespace {

using ir::Value;
using testing::make_scalar;

struct QdqBuilder : testing::ModelBuilder {
  QdqBuilder() : testing::ModelBuilder(41) {}
  Value* q(const std::string& name, Value* x, float scale, uint8_t zp) {
    Value* s = g->add_constant(name + "_s", make_scalar(scale));
    Value* z = g->add_constant(name + "_z", make_scalar<uint8_t>(zp));
    Value* out = node("QuantizeLinear", {x, s, z}, name + "_q");
    out->type.dtype = DType::kUInt8;
    return out;
  }
  Value* dq(const std::string& name, Value* x_q, float scale, uint8_t zp) {
    return node("DequantizeLinear",
                {x_q, g->add_constant(name + "_dqs", make_scalar(scale)),
                 g->add_constant(name + "_dqz", make_scalar<uint8_t>(zp))},
                name + "_dq");
  }
  // 1x1 Conv on symmetric int8 weights (per-tensor scale), float bias.
  Value* conv(const std::string& name, Value* x_dq, int64_t c) {
    Tensor w(DType::kInt8, {c, c, 1, 1});
    std::uniform_int_distribution<int> d(-127, 127);
    for (int64_t i = 0; i < w.numel(); ++i) w.data<int8_t>()[i] = static_cast<int8_t>(d(rng));
    Value* w_dq = node("DequantizeLinear", {g->add_constant(name + "_w", w), g->add_constant(name + "_ws", make_scalar(0.004f))},
                       name + "_wdq");
    Tensor b(DType::kFloat32, {c});
    for (int64_t m = 0; m < c; ++m) b.data<float>()[m] = 0.1f * static_cast<float>(m % 5) - 0.2f;
    return node("Conv", {x_dq, w_dq, g->add_constant(name + "_b", b)}, name);
  }
};

size_t count_ops(const ir::Graph& g, const std::string& op_type) {
  size_t n = 0;
  for (const ir::Node* node : g.nodes()) n += node->op_type() == op_type ? 1 : 0;
  return n;
}

// x -> Q/DQ -> conv1 -> Q(c1) ; hard-swish as Add + Mul -> Q(hs) -> conv2 -> output 0;
// DQ(hs) -> SiLU (Sigmoid, Q, DQ, Mul) -> Q(silu) -> DQ -> output 1;
// DQ(hs) * DQ(Q(scale input [2, C, 1, 1])) -> Q(se) -> DQ -> output 2 (two varying operands: QMul, no lookup);
// DQ(hs) + per-channel constant -> Q -> DQ -> output 3 (not a function of hs alone: left alone).
struct GlueModel {
  QdqBuilder b;
  static constexpr int64_t kC = 8;
  GlueModel() {
    Value* x = b.input("x", {2, kC, 5, 5});
    Value* se = b.input("se", {2, kC, 1, 1});
    Value* x_dq = b.dq("in", b.q("in", x, 0.02f, 128), 0.02f, 128);
    Value* c1 = b.q("c1", b.conv("conv1", x_dq, kC), 0.03f, 120);
    // Hard-sigmoid as an Add: x + 3 quantized with scale s / alpha (export_rewrites' hard_sigmoid_as_add).
    Value* three = b.dq("three", b.g->add_constant("three_q", make_scalar<uint8_t>(100)), 0.03f, 0);
    Value* h = b.q("h", b.node("Add", {b.dq("c1a", c1, 0.03f, 120), three}, "hsig_as_add"), 6.f / 255.f, 0);
    Value* hs = b.q("hs", b.node("Mul", {b.dq("c1m", c1, 0.03f, 120), b.dq("h", h, 1.f / 255.f, 0)}, "hswish_mul"),
                    0.025f, 20);
    b.g->add_output(b.conv("conv2", b.dq("hs_conv", hs, 0.025f, 20), kC));
    Value* hs_dq = b.dq("hs", hs, 0.025f, 20);
    Value* sig = b.q("sig", b.node("Sigmoid", {hs_dq}, "sigmoid"), 1.f / 256.f, 0);
    Value* silu = b.q("silu", b.node("Mul", {hs_dq, b.dq("sig", sig, 1.f / 256.f, 0)}, "silu_mul"), 0.02f, 15);
    b.g->add_output(b.dq("silu", silu, 0.02f, 15));
    Value* scale = b.q("scale", se, 0.004f, 0);
    Value* se_y = b.q("se", b.node("Mul", {hs_dq, b.dq("scale", scale, 0.004f, 0)}, "se_mul"), 0.02f, 10);
    b.g->add_output(b.dq("se", se_y, 0.02f, 10));
    Tensor bias(DType::kFloat32, {1, kC, 1, 1});
    for (int64_t c = 0; c < kC; ++c) bias.data<float>()[c] = 0.25f * static_cast<float>(c);
    Value* bq = b.q("bq", b.node("Add", {hs_dq, b.g->add_constant("bias", bias)}, "bias_add"), 0.03f, 0);
    b.g->add_output(b.dq("bq", bq, 0.03f, 0));
  }
  // The model after the QDQ rule table, with or without the lookup pass.
  ir::Model fused(bool lookup) const {
    ir::Model m = b.model.clone();
    QdqFusion().run(m);
    if (lookup) FuseQdqLookup().run(m);
    return m;
  }
};

TEST(FuseQdqLookup, ChainsOfOneTensorBecomeOneLookupEach) {
  GlueModel m;
  const ir::Model without = m.fused(false);
  EXPECT_EQ(count_ops(*without.graph, "QMul"), 3u) << "hard-swish, SiLU and the SE scale become QMul";
  ir::Model with = m.fused(true);
  const ir::Graph& g = *with.graph;
  g.verify();
  EXPECT_EQ(count_ops(g, "QLookup"), 2u);
  const ir::Node* hswish = g.find_node("hswish_mul");
  ASSERT_NE(hswish, nullptr);
  EXPECT_EQ(hswish->op_type(), ir::kQLookupOp);
  EXPECT_EQ(hswish->input(ir::QLookupInputs::kX)->name(), "c1_q_out") << "reads the QConv's 8-bit output";
  const ir::Node* silu = g.find_node("silu_mul");
  ASSERT_NE(silu, nullptr);
  EXPECT_EQ(silu->op_type(), ir::kQLookupOp);
  EXPECT_EQ(silu->input(ir::QLookupInputs::kX)->name(), "hs_q_out");
  EXPECT_EQ(g.find_node("se_mul")->op_type(), ir::kQMulOp) << "two varying operands: no lookup";
  EXPECT_EQ(g.find_node("bias_add")->op_type(), "Add") << "a per-channel constant: no lookup";
  // The replaced chains now compute the tables from the 256 codes: nothing else reads them.
  for (const ir::Node* lookup : {hswish, silu}) {
    const ir::Value* table = lookup->input(ir::QLookupInputs::kTable);
    ASSERT_NE(table->producer(), nullptr);
    EXPECT_EQ(table->uses().size(), 1u);
  }
  EXPECT_EQ(g.find_node("sigmoid")->input(0)->producer()->input(0)->constant->numel(), 256)
      << "the Sigmoid's DequantizeLinear reads the codes";
}

// The engine folds the tables; the lookups give exactly what the integer ops they replace give.
TEST(FuseQdqLookup, EngineGivesExactlyTheUnfusedIntegerOpsResults) {
  GlueModel m;
  std::mt19937 rng(9);
  const Tensor x = testing::random_tensor({2, GlueModel::kC, 5, 5}, rng, -2.5f, 2.5f);
  const Tensor se = testing::random_tensor({2, GlueModel::kC, 1, 1}, rng, 0.f, 1.f);
  for (bool dnnl : {false, true}) {
    runtime::EngineOptions o;
    o.num_threads = 2;
    o.use_dnnl = dnnl;
    const std::vector<Tensor> expected = runtime::Engine(m.fused(false), o).run({{"x", x}, {"se", se}});
    runtime::Engine engine(m.fused(true), o);
    size_t lookups = 0;
    for (const runtime::PlannedNode& p : engine.planned_nodes()) {
      if (p.op_type == "QLookup") {
        ++lookups;
        EXPECT_EQ(p.impl, dnnl ? "dnnl" : "ref") << p.node_name;
      }
      if (p.op_type == "Sigmoid" || p.node_name == "hsig_as_add") EXPECT_EQ(p.impl, "folded") << p.node_name;
    }
    EXPECT_EQ(lookups, 2u);
    const std::vector<Tensor> got = engine.run({{"x", x}, {"se", se}});
    ASSERT_EQ(got.size(), expected.size());
    for (size_t i = 0; i < got.size(); ++i) {
      EXPECT_EQ(testing::compare_tensors_exact(got[i], expected[i]), "") << (dnnl ? "dnnl" : "ref") << " output " << i;
    }
  }
}

// The engine's int8 pipeline ends with the lookups: no float round trip left in the glue.
TEST(FuseQdqLookup, IsInTheEngineInt8Pipeline) {
  GlueModel m;
  runtime::EngineOptions o;
  o.int8 = true;
  runtime::Engine engine(m.b.model, o);
  size_t lookups = 0;
  for (const runtime::PlannedNode& p : engine.planned_nodes()) lookups += p.op_type == "QLookup";
  EXPECT_EQ(lookups, 2u);
}

}  // namespace
}  // namespace qwac::passes
