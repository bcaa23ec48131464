// FuseQdqAdd: the residual Add of a QDQ model becomes QAdd after FuseQdqConv (structure: integer inputs from the
// QConvs and the shared skip quantizer, the output quantized for the next QConv), patterns left alone with a note,
// and the engine with EngineOptions::int8 (oneDNN and reference kernels) against the float simulation.
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
using In = ir::QAddInputs;
using testing::make_scalar;
using testing::make_tensor;

struct QdqBuilder : testing::ModelBuilder {
  QdqBuilder() : testing::ModelBuilder(31) {}
  // Q -> DQ of a float tensor with a per-tensor scale and uint8 zero point.
  // 3x3 Conv (pads 1) on int8 weights with a per-channel scale and a dequantized int32 bias.
  Value* conv(const std::string& name, Value* x_dq, int64_t c, float x_scale) {
    Tensor w(DType::kInt8, {c, c, 3, 3});
    std::uniform_int_distribution<int> d(-127, 127);
    for (int64_t i = 0; i < w.numel(); ++i) w.data<int8_t>()[i] = static_cast<int8_t>(d(rng));
    Tensor ws(DType::kFloat32, {c}), bias(DType::kInt32, {c}), bs(DType::kFloat32, {c});
    for (int64_t m = 0; m < c; ++m) {
      ws.data<float>()[m] = 0.002f + 0.0004f * static_cast<float>(m);
      bias.data<int32_t>()[m] = d(rng) * 20;
      bs.data<float>()[m] = x_scale * ws.data<float>()[m];
    }
    Value* w_dq = node("DequantizeLinear", {g->add_constant(name + "_w", w), g->add_constant(name + "_ws", ws)},
                       name + "_wdq");
    g->find_node(name + "_wdq")->attrs.set("axis", int64_t{0});
    Value* b_dq = node("DequantizeLinear", {g->add_constant(name + "_b", bias), g->add_constant(name + "_bs", bs)},
                       name + "_bdq");
    g->find_node(name + "_bdq")->attrs.set("axis", int64_t{0});
    Value* y = node("Conv", {x_dq, w_dq, b_dq}, name);
    g->find_node(name)->attrs.set("pads", std::vector<int64_t>{1, 1, 1, 1});
    return y;
  }
};

size_t count_ops(const ir::Graph& g, const std::string& op_type) {
  size_t n = 0;
  for (const ir::Node* node : g.nodes()) n += node->op_type() == op_type ? 1 : 0;
  return n;
}

// x -> Q -> DQ(in) -> conv1 -> Q -> DQ -> Add -> Relu -> Q(mid) -> DQ(mid) -> conv2 -> output, DQ(in) -> Add too.
// With `mid_output`, DQ(mid) is a graph output too, so Q(mid) stays after FuseQdqConv folds it into conv2.
struct ResidualModel {
  QdqBuilder b;
  Value* q_in = nullptr;
  Value* q_mid = nullptr;
  explicit ResidualModel(bool mid_output) {
    Value* x = b.input("x", {2, 8, 6, 6});
    Value* dq_in = b.qdq("in", x, 0.02f, 128, &q_in);
    Value* dq_c1 = b.qdq("c1", b.conv("conv1", dq_in, 8, 0.02f), 0.03f, 120);
    Value* relu = b.node("Relu", {b.node("Add", {dq_c1, dq_in}, "add")}, "relu");
    Value* dq_mid = b.qdq("mid", relu, 0.025f, 0, &q_mid);
    b.g->add_output(b.conv("conv2", dq_mid, 8, 0.025f));
    if (mid_output) b.g->add_output(dq_mid);
  }
  void fuse() {
    ASSERT_TRUE(FuseQdqConv().run(b.model));
    FuseQdqAdd pass;
    ASSERT_TRUE(pass.run(b.model));
    EXPECT_TRUE(pass.notes().empty());
    b.g->verify();
  }
};

TEST(FuseQdqAdd, ResidualAddReadsQConvOutputsAndFeedsTheNextQConv) {
  for (bool mid_output : {false, true}) {
    ResidualModel m(mid_output);
    m.fuse();
    const ir::Graph& g = *m.b.g;
    EXPECT_EQ(count_ops(g, "QAdd"), 1u);
    EXPECT_EQ(count_ops(g, "Add"), 0u);
    EXPECT_EQ(count_ops(g, "Relu"), 0u);
    const ir::Node* add = g.find_node("add");
    ASSERT_NE(add, nullptr);
    EXPECT_EQ(add->op_type(), ir::kQAddOp);
    EXPECT_EQ(add->domain(), ir::kQwacDomain);
    EXPECT_EQ(add->num_inputs(), In::kCount);
    EXPECT_EQ(add->input(In::kA)->producer(), g.find_node("conv1")) << "the QConv's integer output";
    EXPECT_EQ(add->input(In::kAScale)->name(), "c1_s");
    EXPECT_EQ(add->input(In::kB), m.q_in) << "the skip reads the input quantizer, kept for it";
    EXPECT_EQ(add->input(In::kYScale)->name(), "mid_s");
    EXPECT_EQ(add->attrs.get_string("activation"), "Relu");
    EXPECT_EQ(g.find_node("in_dq"), nullptr) << "its last reader was fused";
    const ir::Node* conv2 = g.find_node("conv2");
    ASSERT_NE(conv2, nullptr);
    EXPECT_EQ(conv2->input(ir::QConvInputs::kX), add->output(0)) << "conv2 reads the integer sum";
    EXPECT_EQ(add->output(0)->type.dtype, DType::kUInt8);
    if (mid_output) {
      EXPECT_EQ(add->output(0), m.q_mid) << "the QAdd writes what Q(mid) wrote";
      EXPECT_NE(g.find_node("mid_dq"), nullptr) << "the graph output still dequantizes it";
    } else {
      EXPECT_EQ(count_ops(g, "QuantizeLinear"), 1u) << "only the input quantizer (for the skip) is left";
    }
    EXPECT_FALSE(FuseQdqAdd().run(m.b.model)) << "a second run finds nothing";
  }
}

TEST(FuseQdqAdd, LeavesOtherAddsAloneWithANote) {
  enum class Break { kFloatOperand, kPerChannelScale, kNonConstantZeroPoint, kFloatAdd };
  for (Break what : {Break::kFloatOperand, Break::kPerChannelScale, Break::kNonConstantZeroPoint, Break::kFloatAdd}) {
    QdqBuilder b;
    Value* x = b.input("x", {1, 4, 3, 3});
    Value* y = b.input("y", {1, 4, 3, 3});
    Value* a = b.qdq("a", x, 0.1f, 3);
    Value* other = b.qdq("b", y, 0.2f, 7);
    if (what == Break::kFloatOperand) other = y;
    if (what == Break::kFloatAdd) a = x, other = y;
    if (what == Break::kPerChannelScale) {
      Value* s = b.g->add_constant("s4", make_tensor<float>({4}, {.1f, .1f, .2f, .2f}));
      Value* z = b.g->add_constant("z4", Tensor(DType::kUInt8, {4}));
      Value* q = b.node("QuantizeLinear", {y, s, z}, "q4");
      other = b.node("DequantizeLinear", {q, s, z}, "dq4");
    }
    if (what == Break::kNonConstantZeroPoint) {
      Value* s = b.g->add_constant("s_in", make_scalar(0.1f));
      Value* z = b.input("z_in", {});
      other = b.node("DequantizeLinear", {b.node("QuantizeLinear", {y, s, z}, "qz"), s, z}, "dqz");
    }
    b.g->add_output(b.node("Add", {a, other}, "add"));
    const size_t nodes = b.g->num_nodes();
    FuseQdqAdd pass;
    EXPECT_FALSE(pass.run(b.model)) << "case " << static_cast<int>(what);
    EXPECT_EQ(b.g->num_nodes(), nodes) << "case " << static_cast<int>(what);
    if (what == Break::kFloatAdd) {
      EXPECT_TRUE(pass.notes().empty()) << "a float Add is not worth a note";
    } else {
      ASSERT_EQ(pass.notes().size(), 1u) << "case " << static_cast<int>(what);
      EXPECT_EQ(pass.notes()[0].node_name, "add");
      EXPECT_NE(pass.notes()[0].reason.find("input 1"), std::string::npos) << pass.notes()[0].reason;
    }
  }
}

// Engine with int8 (QConv + QAdd on oneDNN, then on the reference kernels) against the float simulation: the
// dequantized sum (graph output) differs by at most one step of its quantizer, rarely; conv2's output follows.
TEST(FuseQdqAdd, EngineInt8AgreesWithFloatSimulation) {
  ResidualModel m(true);
  std::mt19937 rng(8);
  const Tensor x = testing::random_tensor({2, 8, 6, 6}, rng, -2.5f, 2.5f);
  runtime::EngineOptions o;
  o.num_threads = 2;
  const std::vector<Tensor> expected = runtime::Engine(m.b.model, o).run({{"x", x}});
  for (bool dnnl : {true, false}) {
    o.use_dnnl = dnnl;
    o.int8 = true;
    runtime::Engine engine(m.b.model, o);
    size_t qadd = 0;
    for (const runtime::PlannedNode& p : engine.planned_nodes()) {
      if (p.op_type != "QAdd") continue;
      ++qadd;
      EXPECT_EQ(p.impl, dnnl ? "dnnl" : "ref") << p.node_name;
    }
    EXPECT_EQ(qadd, 1u);
    const std::vector<Tensor> got = engine.run({{"x", x}});
    const std::string what = dnnl ? "dnnl" : "ref";
    int64_t sum_differ = 0, conv_differ = 0;
    for (int64_t i = 0; i < got[1].numel(); ++i) {
      const float d = std::fabs(got[1].data<float>()[i] - expected[1].data<float>()[i]);
      EXPECT_LE(d, 0.025f * 1.001f) << what << ": sum element " << i;
      sum_differ += d > 1e-6f;
    }
    for (int64_t i = 0; i < got[0].numel(); ++i) {
      const float d = std::fabs(got[0].data<float>()[i] - expected[0].data<float>()[i]);
      EXPECT_LT(d, 1.f) << what << ": conv2 element " << i;
      conv_differ += d > 1e-4f;
    }
    EXPECT_LE(sum_differ, got[1].numel() / 100) << what;
    EXPECT_LE(conv_differ, got[0].numel() / 20) << what;
  }
}

}  // namespace
}  // namespace qwac::passes
