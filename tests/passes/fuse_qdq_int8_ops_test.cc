// FuseQdqInt8Ops: which DQ -> op -> Q patterns run on the 8-bit tensor (structure), which become QLinearPool, which
// are left alone (with a note), and the numbers: the engine with EngineOptions::int8 against the float simulation
// on a small hand-built QDQ graph, and on the shared squeezenet QDQ model when present.
#include "passes/qdq/qdq_fusion.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <filesystem>
#include <iostream>
#include <map>
#include <random>

#include "ir/fused_ops.h"
#include "kernels/kernel_test_util.h"
#include "model_builder.h"
#include "onnx/model_io.h"
#include "runtime/engine.h"
#include "test_util.h"

namespace qwac::passes {
namespace {

using ir::Value;
using testing::make_scalar;

struct QdqBuilder : testing::ModelBuilder {
  QdqBuilder() : testing::ModelBuilder(29) {}
  // QuantizeLinear of `x` with a per-tensor scale and uint8 zero point; its output (uint8).
  Value* q(const std::string& name, Value* x, float scale, uint8_t zp) {
    Value* s = g->add_constant(name + "_s", make_scalar(scale));
    Value* y = node("QuantizeLinear", {x, s, g->add_constant(name + "_z", make_scalar(zp))}, name);
    y->type.dtype = DType::kUInt8;
    return y;
  }
  Value* dq(const std::string& name, Value* x, float scale, uint8_t zp) {
    return node("DequantizeLinear",
                {x, g->add_constant(name + "_s", make_scalar(scale)), g->add_constant(name + "_z", make_scalar(zp))},
                name);
  }
  Value* qdq(const std::string& name, Value* x, float scale, uint8_t zp) {
    return dq(name + "_dq", q(name + "_q", x, scale, zp), scale, zp);
  }
  Value* pool(const std::string& op, Value* x, const std::string& name) {
    Value* y = node(op, {x}, name);
    ir::Node* n = g->find_node(name);
    if (op == "MaxPool" || op == "AveragePool") {
      n->attrs.set("kernel_shape", std::vector<int64_t>{3, 3});
      n->attrs.set("strides", std::vector<int64_t>{2, 2});
      n->attrs.set("pads", std::vector<int64_t>{1, 1, 1, 1});
    }
    return y;
  }
};

size_t count_ops(const ir::Graph& g, const std::string& op_type) {
  size_t n = 0;
  for (const ir::Node* node : g.nodes()) n += node->op_type() == op_type ? 1 : 0;
  return n;
}

std::string notes_of(const Pass& pass, const std::string& node) {
  std::string s;
  for (const PassNote& n : pass.notes()) {
    if (n.node_name == node) s += n.reason + "\n";
  }
  return s;
}

constexpr float kS = 0.02f;
constexpr uint8_t kZ = 128;

TEST(FuseQdqInt8Ops, MaxPoolWithSameParametersRunsOnTheIntegers) {
  QdqBuilder b;
  Value* x = b.input("x", {1, 4, 9, 9});
  Value* xq = b.q("in_q", x, kS, kZ);
  Value* p = b.pool("MaxPool", b.dq("in_dq", xq, kS, kZ), "pool");
  Value* pq = b.q("pool_q", p, kS, kZ);
  b.g->add_output(b.node("Relu", {b.dq("pool_dq", pq, kS, kZ)}, "relu"));
  FuseQdqInt8Ops pass;
  EXPECT_TRUE(pass.run(b.model));
  b.g->verify();
  const ir::Node* pool = b.g->find_node("pool");
  ASSERT_NE(pool, nullptr);
  EXPECT_EQ(pool->op_type(), "MaxPool");
  EXPECT_EQ(pool->input(0), xq) << "reads the uint8 tensor";
  EXPECT_EQ(pool->output(0), pq) << "writes the uint8 tensor the Q wrote";
  EXPECT_EQ(pool->attrs.get_ints("kernel_shape"), (std::vector<int64_t>{3, 3}));
  EXPECT_EQ(b.g->find_node("in_dq"), nullptr) << "the DQ lost its only consumer";
  EXPECT_EQ(b.g->find_node("pool_q"), nullptr);
  EXPECT_EQ(b.g->find_value("pool_q_s"), nullptr) << "the Q's constants go with it";
  EXPECT_EQ(count_ops(*b.g, "DequantizeLinear"), 1u);
  EXPECT_TRUE(pass.notes().empty());
  EXPECT_FALSE(FuseQdqInt8Ops().run(b.model)) << "a second run finds nothing";
}

TEST(FuseQdqInt8Ops, ConcatOfInputsSharingTheQuantizer) {
  QdqBuilder b;
  Value* x = b.input("x", {1, 4, 5, 5});
  Value* y = b.input("y", {1, 3, 5, 5});
  Value* xq = b.q("xq", x, kS, kZ);
  Value* yq = b.q("yq", y, kS, kZ);
  Value* c = b.node("Concat", {b.dq("xdq", xq, kS, kZ), b.dq("ydq", yq, kS, kZ)}, "concat");
  b.g->find_node("concat")->attrs.set("axis", int64_t{1});
  b.g->add_output(b.dq("cdq", b.q("cq", c, kS, kZ), kS, kZ));
  FuseQdqInt8Ops pass;
  EXPECT_TRUE(pass.run(b.model));
  b.g->verify();
  const ir::Node* concat = b.g->find_node("concat");
  ASSERT_NE(concat, nullptr);
  EXPECT_EQ(concat->input(0), xq);
  EXPECT_EQ(concat->input(1), yq);
  EXPECT_EQ(concat->output(0)->name(), "cq_out");
  EXPECT_EQ(count_ops(*b.g, "DequantizeLinear"), 1u);
  EXPECT_EQ(count_ops(*b.g, "QuantizeLinear"), 2u);
}

// Each case breaks one condition; the graph must stay as it is and the note must say why.
TEST(FuseQdqInt8Ops, LeavesAloneWithANote) {
  struct Case {
    std::string what;
    std::string expected_note;
  };
  const std::vector<Case> cases = {
      {"concat input zero point", "input 1 is dequantized with"},
      {"reshape scale", "only pooling has a requantizing int8 kernel"},
      {"per-channel Q", "per-channel"},
      {"maxpool indices", "Indices"},
      {"two consumers", "its output has 2 consumers, not one QuantizeLinear"},
      {"float input", "input 0 is not the output of a DequantizeLinear"},
  };
  for (const Case& c : cases) {
    QdqBuilder b;
    Value* x = b.input("x", {1, 4, 6, 6});
    Value* in = c.what == "float input" ? x : b.qdq("in", x, kS, kZ);
    Value* out = nullptr;
    std::string node = "op";
    if (c.what == "concat input zero point") {
      out = b.node("Concat", {in, b.qdq("other", x, kS, kZ + 1)}, "op");
      b.g->find_node("op")->attrs.set("axis", int64_t{1});
    } else if (c.what == "reshape scale") {
      Value* shape = b.g->add_constant("shape", testing::make_tensor<int64_t>({2}, {1, -1}));
      out = b.node("Reshape", {in, shape}, "op");
    } else {
      out = b.pool("MaxPool", in, "op");
    }
    ir::Node* op = b.g->find_node("op");
    if (c.what == "maxpool indices") {
      Value* indices = b.g->add_value("indices");
      ir::Node* n = b.g->add_node("MaxPool", {in}, {b.g->add_value("op2_out"), indices}, "op2");
      n->attrs = op->attrs;
      b.g->add_output(indices);
      out = n->output(0);
      node = "op2";
    }
    Value* q_out = nullptr;
    if (c.what == "per-channel Q") {
      Tensor scales(DType::kFloat32, {4});
      Tensor zps(DType::kUInt8, {4});
      for (int i = 0; i < 4; ++i) scales.data<float>()[i] = 0.01f * static_cast<float>(i + 1);
      q_out = b.node("QuantizeLinear", {out, b.g->add_constant("qs", scales), b.g->add_constant("qz", zps)}, "q");
    } else {
      q_out = b.q("q", out, c.what == "reshape scale" ? 2 * kS : kS, kZ);
    }
    b.g->add_output(b.node("DequantizeLinear", {q_out, b.g->find_value("q_s") != nullptr ? b.g->find_value("q_s")
                                                                                          : b.g->find_value("qs"),
                                                b.g->find_value("q_z") != nullptr ? b.g->find_value("q_z")
                                                                                  : b.g->find_value("qz")},
                           "out_dq"));
    if (c.what == "two consumers") b.g->add_output(b.node("Relu", {out}, "relu"));
    const size_t nodes_before = b.g->num_nodes();
    FuseQdqInt8Ops pass;
    EXPECT_FALSE(pass.run(b.model)) << c.what;
    EXPECT_EQ(b.g->num_nodes(), nodes_before) << c.what;
    const std::string notes = notes_of(pass, node);
    EXPECT_NE(notes.find(c.expected_note), std::string::npos) << c.what << ": notes were\n" << notes;
    EXPECT_NE(notes.find("not run in int8: "), std::string::npos) << c.what;
  }
}

TEST(FuseQdqInt8Ops, RequantizingPoolingBecomesQLinearPool) {
  for (const std::string op : {"MaxPool", "AveragePool", "GlobalAveragePool"}) {
    QdqBuilder b;
    Value* x = b.input("x", {1, 4, 9, 9});
    Value* xq = b.q("in_q", x, kS, kZ);
    Value* dq = b.dq("in_dq", xq, kS, kZ);
    Value* p = b.pool(op, dq, "pool");
    // AveragePool becomes a QLinearPool even with unchanged parameters: an average of integers is no integer.
    const float y_scale = op == "MaxPool" ? 0.03f : kS;
    Value* pq = b.q("pool_q", p, y_scale, 7);
    b.g->add_output(b.dq("pool_dq", pq, y_scale, 7));
    b.g->add_output(b.node("Relu", {dq}, "relu"));  // the DQ is shared: it stays for the Relu
    FuseQdqInt8Ops pass;
    EXPECT_TRUE(pass.run(b.model)) << op;
    b.g->verify();
    const ir::Node* pool = b.g->find_node("pool");
    ASSERT_NE(pool, nullptr) << op;
    EXPECT_EQ(pool->op_type(), ir::kQLinearPoolOp) << op;
    EXPECT_EQ(pool->domain(), ir::kQwacDomain);
    EXPECT_EQ(pool->attrs.get_string("pool"), op);
    using In = ir::QLinearPoolInputs;
    ASSERT_EQ(pool->num_inputs(), In::kCount);
    EXPECT_EQ(pool->input(In::kX), xq);
    EXPECT_EQ(pool->input(In::kXScale)->name(), "in_dq_s");
    EXPECT_EQ(pool->input(In::kXZeroPoint)->name(), "in_dq_z");
    EXPECT_EQ(pool->input(In::kYScale)->name(), "pool_q_s");
    EXPECT_EQ(pool->input(In::kYZeroPoint)->name(), "pool_q_z");
    EXPECT_EQ(pool->output(0), pq);
    EXPECT_NE(b.g->find_node("in_dq"), nullptr) << op << ": the shared DQ stays";
    EXPECT_EQ(b.model.opset(std::string(ir::kQwacDomain)), 1) << op;
    if (op == "MaxPool") {
      EXPECT_EQ(pool->attrs.get_ints("kernel_shape"), (std::vector<int64_t>{3, 3}));
    }
  }
}

// x -> Q -> DQ -> {MaxPool (same), AveragePool} -> Q -> DQ -> Concat -> Q -> DQ -> {GlobalAveragePool (other
// parameters), Flatten, MaxPool (other scale), Transpose} -> Q -> DQ -> outputs.
struct PoolConcatModel {
  QdqBuilder b;
  PoolConcatModel() {
    Value* x = b.input("x", {2, 5, 9, 9});
    Value* a = b.qdq("in", x, kS, kZ);
    Value* p1 = b.qdq("p1", b.pool("MaxPool", a, "maxpool1"), kS, kZ);
    Value* p2 = b.qdq("p2", b.pool("AveragePool", a, "avgpool"), kS, kZ);
    Value* c = b.qdq("c", b.node("Concat", {p1, p2}, "concat"), kS, kZ);
    b.g->find_node("concat")->attrs.set("axis", int64_t{1});
    b.g->add_output(b.qdq("gap", b.pool("GlobalAveragePool", c, "gap"), 0.0037f, 3));
    b.g->add_output(b.qdq("flat", b.node("Flatten", {c}, "flatten"), kS, kZ));
    b.g->add_output(b.qdq("p3", b.pool("MaxPool", c, "maxpool2"), 0.031f, 90));
    b.g->add_output(b.qdq("t", b.node("Transpose", {c}, "transpose"), kS, kZ));
    b.g->find_node("transpose")->attrs.set("perm", std::vector<int64_t>{0, 2, 3, 1});
  }
};

TEST(FuseQdqInt8Ops, RewritesEveryOpOfThePoolConcatModel) {
  PoolConcatModel m;
  FuseQdqInt8Ops pass;
  EXPECT_TRUE(pass.run(m.b.model));
  m.b.g->verify();
  EXPECT_EQ(count_ops(*m.b.g, std::string(ir::kQLinearPoolOp)), 3u);
  EXPECT_EQ(count_ops(*m.b.g, "MaxPool"), 1u);
  EXPECT_EQ(count_ops(*m.b.g, "Concat"), 1u);
  EXPECT_EQ(count_ops(*m.b.g, "Flatten"), 1u);
  // Left: the input Q, and one DQ per graph output.
  EXPECT_EQ(count_ops(*m.b.g, "QuantizeLinear"), 1u);
  EXPECT_EQ(count_ops(*m.b.g, "DequantizeLinear"), 4u);
  for (const PassNote& n : pass.notes()) ADD_FAILURE() << n.node_name << ": " << n.reason;
}

// The int8 engine computes what the float simulation computes: identically with the reference kernels (the ops on
// the integers are exact and the reference QLinearPool is the simulation), within one quantization step of each
// output with oneDNN (the requantizing pooling rounds a product instead of a quotient).
TEST(FuseQdqInt8Ops, EngineInt8AgreesWithFloatSimulation) {
  PoolConcatModel m;
  std::mt19937 rng(11);
  const Tensor x = testing::random_tensor({2, 5, 9, 9}, rng, -2.6f, 2.6f);
  runtime::EngineOptions o;
  o.num_threads = 2;
  o.use_dnnl = false;
  const std::vector<Tensor> expected = runtime::Engine(m.b.model, o).run({{"x", x}});
  const std::vector<float> steps = {0.0037f, kS, 0.031f, kS};
  for (bool dnnl : {false, true}) {
    o.use_dnnl = dnnl;
    o.int8 = true;
    runtime::Engine engine(m.b.model, o);
    size_t int8_ops = 0;
    for (const runtime::PlannedNode& p : engine.planned_nodes()) {
      if (p.op_type == "QLinearPool" || p.op_type == "MaxPool" || p.op_type == "Concat") {
        ++int8_ops;
        if (dnnl) {
          EXPECT_EQ(p.impl, "dnnl") << p.node_name;
        }
      }
    }
    EXPECT_EQ(int8_ops, 5u);
    const std::vector<Tensor> got = engine.run({{"x", x}});
    ASSERT_EQ(got.size(), expected.size());
    for (size_t k = 0; k < got.size(); ++k) {
      ASSERT_EQ(got[k].shape(), expected[k].shape());
      int64_t differ = 0;
      for (int64_t i = 0; i < got[k].numel(); ++i) {
        const float d = std::fabs(got[k].data<float>()[i] - expected[k].data<float>()[i]);
        if (d == 0.f) continue;
        ++differ;
        if (!dnnl) {
          ADD_FAILURE() << "output " << k << " element " << i << " differs by " << d << " with the reference kernels";
        }
        // The avgpool's step (kS) propagates through concat into every output; one step of either.
        EXPECT_LE(d, std::max(steps[k], kS) * 1.01f) << "output " << k << " element " << i << " (dnnl)";
      }
      EXPECT_LE(differ, got[k].numel() / 10 + 2) << "output " << k << (dnnl ? " (dnnl)" : " (ref)");
    }
  }
}

// Attention's qkv split as exporters write it: x -> Q -> DQ -> Reshape, whose output is quantized again with the same
// parameters for the Q/K path (Transpose -> Gather) and read in float by the V path (Transpose -> Gather -> Relu).
// The Reshape and the Q/K path run on the integers; the V path reads one DequantizeLinear after the Reshape (its
// Transpose and Gather stay float: FuseMatMul reads such chains as strided views).
struct QkvSplitModel {
  QdqBuilder b;
  QkvSplitModel() {
    Value* x = b.input("x", {2, 5, 12});
    Value* a = b.qdq("in", x, kS, kZ);
    Value* r = b.node("Reshape", {a, b.g->add_constant("shape", testing::make_tensor<int64_t>({4}, {2, 5, 3, 4}))},
                      "reshape");
    Value* t = b.qdq("t", b.node("Transpose", {b.qdq("r", r, kS, kZ)}, "transpose_qk"), kS, kZ);
    b.g->find_node("transpose_qk")->attrs.set("perm", std::vector<int64_t>{2, 0, 1, 3});
    Value* k = b.node("Gather", {t, b.g->add_constant("i1", make_scalar<int64_t>(1))}, "gather_k");
    b.g->add_output(b.qdq("k", k, kS, kZ));
    Value* tv = b.node("Transpose", {r}, "transpose_v");
    b.g->find_node("transpose_v")->attrs.set("perm", std::vector<int64_t>{2, 0, 1, 3});
    Value* v = b.node("Gather", {tv, b.g->add_constant("i2", make_scalar<int64_t>(2))}, "gather_v");
    b.g->add_output(b.node("Relu", {v}, "relu"));
  }
};

TEST(FuseQdqInt8Ops, MoversWithFloatReadersRunOnTheIntegers) {
  QkvSplitModel m;
  ir::Graph& g = *m.b.g;
  FuseQdqInt8Ops pass;
  EXPECT_TRUE(pass.run(m.b.model));
  g.verify();
  for (const char* name : {"reshape", "transpose_qk", "gather_k"}) {
    const ir::Node* n = g.find_node(name);
    ASSERT_NE(n, nullptr) << name;
    ASSERT_NE(n->input(0)->producer(), nullptr) << name;
    EXPECT_NE(n->input(0)->producer()->op_type(), "DequantizeLinear") << name << " reads the integers";
  }
  EXPECT_EQ(g.find_node("reshape")->input(0)->name(), "in_q_out");
  EXPECT_EQ(g.find_node("transpose_qk")->input(0), g.find_node("reshape")->output(0)) << "the r Q/DQ pair is gone";
  const ir::Node* v_dq = g.find_node("transpose_v")->input(0)->producer();
  ASSERT_NE(v_dq, nullptr);
  EXPECT_EQ(v_dq->op_type(), "DequantizeLinear");
  EXPECT_EQ(v_dq->input(0), g.find_node("reshape")->output(0));
  EXPECT_EQ(g.find_node("gather_v")->input(0), g.find_node("transpose_v")->output(0)) << "the V path stays float";
  // Left: the input Q; the DQs before the V path and the graph output k.
  EXPECT_EQ(count_ops(g, "QuantizeLinear"), 1u);
  EXPECT_EQ(count_ops(g, "DequantizeLinear"), 2u);
  EXPECT_FALSE(FuseQdqInt8Ops().run(m.b.model)) << "a second run finds nothing";
}

// Moving a per-tensor DequantizeLinear below a mover changes no number: the int8 engine equals the float simulation.
TEST(FuseQdqInt8Ops, MoversWithFloatReadersAgreeWithFloatSimulation) {
  QkvSplitModel m;
  std::mt19937 rng(7);
  const Tensor x = testing::random_tensor({2, 5, 12}, rng, -3.f, 3.f);
  runtime::EngineOptions o;
  o.num_threads = 2;
  o.use_dnnl = false;
  const std::vector<Tensor> expected = runtime::Engine(m.b.model, o).run({{"x", x}});
  for (bool dnnl : {false, true}) {
    o.use_dnnl = dnnl;
    o.int8 = true;
    runtime::Engine engine(m.b.model, o);
    size_t quantize_steps = 0;
    for (const runtime::PlannedNode& p : engine.planned_nodes()) quantize_steps += p.op_type == "QuantizeLinear";
    EXPECT_EQ(quantize_steps, 1u) << "only the input is quantized";
    const std::vector<Tensor> got = engine.run({{"x", x}});
    ASSERT_EQ(got.size(), expected.size());
    for (size_t k = 0; k < got.size(); ++k) {
      EXPECT_EQ(testing::compare_tensors_exact(got[k], expected[k]), "") << "output " << k << (dnnl ? " dnnl" : " ref");
    }
  }
}

// Attention scores: Q(x) and Q(y) (uint8, zero point 128) -> DQ -> MatMul -> Mul(1/sqrt(d)) -> Softmax. The MatMul of
// two computed 8-bit tensors and its scale become one QMatMul reading the integers.
struct AttentionScoresModel {
  QdqBuilder b;
  AttentionScoresModel() {
    Value* q = b.qdq("q", b.input("x", {2, 3, 5, 8}), 0.03f, kZ);
    Value* k = b.qdq("k", b.input("y", {2, 3, 8, 5}), 0.05f, kZ);
    Value* s = b.node("MatMul", {q, k}, "scores");
    Value* scaled = b.node("Mul", {s, b.g->add_constant("inv_sqrt_d", make_scalar(0.35355339f))}, "scale");
    b.g->add_output(b.node("Softmax", {scaled}, "softmax"));
    b.g->find_node("softmax")->attrs.set("axis", int64_t{-1});
  }
};

TEST(FuseQdqGemm, ActivationTimesActivationMatMulBecomesQMatMul) {
  AttentionScoresModel m;
  ir::Graph& g = *m.b.g;
  FuseQdqGemm pass;
  EXPECT_TRUE(pass.run(m.b.model));
  g.verify();
  const ir::Node* mm = g.find_node("scores");
  ASSERT_NE(mm, nullptr);
  EXPECT_EQ(mm->op_type(), ir::kQMatMulOp);
  EXPECT_EQ(mm->domain(), ir::kQwacDomain);
  EXPECT_EQ(mm->input(ir::QMatMulInputs::kA)->name(), "q_q_out");
  EXPECT_EQ(mm->input(ir::QMatMulInputs::kB)->name(), "k_q_out");
  EXPECT_FLOAT_EQ(mm->attrs.get_float("alpha", 1.f), 0.35355339f) << "the Mul is folded in";
  EXPECT_EQ(g.find_node("softmax")->input(0), mm->output(0));
  EXPECT_EQ(mm->output(0)->type.dtype, DType::kFloat32) << "declared float for the passes after it";
  EXPECT_EQ(count_ops(g, "DequantizeLinear"), 0u);
  EXPECT_EQ(count_ops(g, "Mul"), 0u);
}

TEST(FuseQdqGemm, QMatMulFoldsADivisionByAScalar) {
  QdqBuilder b;
  Value* q = b.qdq("q", b.input("x", {1, 2, 4, 8}), 0.03f, kZ);
  Value* k = b.qdq("k", b.input("y", {1, 2, 8, 4}), 0.05f, kZ);
  Value* s = b.node("MatMul", {q, k}, "scores");
  b.g->add_output(b.node("Div", {s, b.g->add_constant("sqrt_d", make_scalar(8.f))}, "scale"));
  FuseQdqGemm pass;
  EXPECT_TRUE(pass.run(b.model));
  b.g->verify();
  const ir::Node* mm = b.g->find_node("scores");
  ASSERT_NE(mm, nullptr);
  EXPECT_EQ(mm->op_type(), ir::kQMatMulOp);
  EXPECT_FLOAT_EQ(mm->attrs.get_float("alpha", 1.f), 0.125f);
  EXPECT_EQ(count_ops(*b.g, "Div"), 0u);
}

TEST(FuseQdqGemm, QMatMulAgreesWithFloatSimulation) {
  AttentionScoresModel m;
  std::mt19937 rng(9);
  const Tensor x = testing::random_tensor({2, 3, 5, 8}, rng, -3.f, 3.f);
  const Tensor y = testing::random_tensor({2, 3, 8, 5}, rng, -5.f, 5.f);
  runtime::EngineOptions o;
  o.num_threads = 2;
  o.use_dnnl = false;
  const std::vector<Tensor> expected = runtime::Engine(m.b.model, o).run({{"x", x}, {"y", y}});
  for (bool dnnl : {false, true}) {
    o.use_dnnl = dnnl;
    o.int8 = true;
    runtime::Engine engine(m.b.model, o);
    bool fused = false;
    for (const runtime::PlannedNode& p : engine.planned_nodes()) {
      if (p.op_type == ir::kQMatMulOp) {
        fused = true;
        EXPECT_EQ(p.impl, dnnl ? "dnnl" : "ref");
      }
    }
    EXPECT_TRUE(fused);
    const std::vector<Tensor> got = engine.run({{"x", x}, {"y", y}});
    ASSERT_EQ(got[0].shape(), expected[0].shape());
    for (int64_t i = 0; i < got[0].numel(); ++i) {
      // Softmax of scores that differ from the simulation's by float rounding of a sum of 8 products.
      EXPECT_NEAR(got[0].data<float>()[i], expected[0].data<float>()[i], 2e-6f) << i << (dnnl ? " dnnl" : " ref");
    }
  }
}

}  // namespace
}  // namespace qwac::passes
