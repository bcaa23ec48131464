// Export rewrites for a runtime (quant/export_rewrites.h): the hard-sigmoid / hard-swish lowerings and float weights
// where the runtime would not fuse. Each test checks the structure the runtime needs and the numbers: the engine runs
// the graph before and after the rewrite on seeded random inputs.
#include "quant/export_rewrites.h"

#include <gtest/gtest.h>

#include <cmath>
#include <random>

#include "quant/quant_params.h"
#include "qwac/error.h"
#include "runtime/engine.h"
#include "kernels/kernel_test_util.h"
#include "test_util.h"

namespace qwac::quant {
namespace {

using ir::Value;

struct QdqGraph {
  ir::Model model;
  ir::Graph* g;
  QdqGraph() {
    model.ir_version = 8;
    model.opset_imports = {{"", 14}};
    model.graph = std::make_unique<ir::Graph>();
    g = model.graph.get();
  }
  Value* typed(Value* v, DType t, const Shape& shape) {
    v->type.dtype = t;
    ir::SymbolicShape s;
    for (int64_t d : shape) s.push_back({d, ""});
    v->type.shape = s;
    return v;
  }
  Value* input(const std::string& name, const Shape& shape) {
    Value* v = typed(g->add_value(name), DType::kFloat32, shape);
    g->add_input(v);
    return v;
  }
  template <typename Z>
  Value* scalar(const std::string& name, Z v) {
    return g->add_constant(g->unique_name(name), Tensor::from_values<Z>({}, &v));
  }
  // x -> QuantizeLinear(s, zp) -> DequantizeLinear(s, zp), uint8 unless `zp` is int8.
  template <typename Z>
  Value* qdq(Value* x, float s, Z zp, const Shape& shape) {
    Value* sv = scalar(x->name() + "_s", s);
    Value* zv = scalar(x->name() + "_z", zp);
    Value* q = typed(g->add_value(x->name() + "_q"), std::is_same_v<Z, int8_t> ? DType::kInt8 : DType::kUInt8, shape);
    g->add_node("QuantizeLinear", {x, sv, zv}, {q}, x->name() + "_Q");
    Value* d = typed(g->add_value(x->name() + "_dq"), DType::kFloat32, shape);
    g->add_node("DequantizeLinear", {q, sv, zv}, {d}, x->name() + "_DQ");
    return d;
  }
  Value* node(const std::string& op, const std::vector<Value*>& in, const std::string& name, const Shape& shape) {
    Value* y = typed(g->add_value(name + "_out"), DType::kFloat32, shape);
    g->add_node(op, in, {y}, name);
    return y;
  }
};

size_t count(const ir::Graph& g, const std::string& op) {
  size_t n = 0;
  for (const ir::Node* node : g.nodes()) n += node->op_type() == op;
  return n;
}

Tensor random_input(const Shape& shape, float lo, float hi, unsigned seed) {
  Tensor t(DType::kFloat32, shape);
  std::mt19937 rng(seed);
  std::uniform_real_distribution<float> d(lo, hi);
  for (int64_t i = 0; i < t.numel(); ++i) t.data<float>()[i] = d(rng);
  return t;
}

Tensor run(const ir::Model& m, const Tensor& x) {
  runtime::EngineOptions o;
  o.num_threads = 1;
  o.fuse = false;  // the float simulation of the QDQ graph: ONNX semantics, what every runtime must reproduce
  runtime::Engine engine(m, o);
  return engine.run({{engine.inputs().at(0).name, x}}).at(0);
}

const ExportProfile& ort() { return export_profile_for("onnxruntime"); }

// x -> Q/DQ(uint8) -> HardSigmoid(alpha, beta) -> Q/DQ(uint8, zero-point 0) -> y
struct HardSigmoidCase {
  QdqGraph t;
  const Shape shape{1, 4, 5, 5};
  HardSigmoidCase(float alpha, float beta, float out_scale, bool signed_input = false) {
    Value* x = t.input("x", shape);
    Value* xd = signed_input ? t.qdq(x, 0.05f, int8_t{0}, shape) : t.qdq(x, 0.05f, uint8_t{128}, shape);
    ir::Node* hs = nullptr;
    Value* h = t.node("HardSigmoid", {xd}, "hs", shape);
    hs = h->producer();
    hs->attrs.set("alpha", alpha);
    hs->attrs.set("beta", beta);
    t.g->add_output(t.qdq(h, out_scale, uint8_t{0}, shape));
  }
};

TEST(ExportRewrites, HardSigmoidBecomesAnAddClippedByItsQuantizeLinear) {
  for (const auto& [alpha, beta, out_scale] : std::vector<std::tuple<float, float, float>>{
           {1.f / 6.f, 0.5f, 1.f / 255.f}, {0.2f, 0.5f, 0.8f / 255.f}, {0.25f, -0.3f, 0.5f / 255.f}}) {
    SCOPED_TRACE(::testing::Message() << "alpha " << alpha << " beta " << beta << " scale " << out_scale);
    HardSigmoidCase c(alpha, beta, out_scale);
    const Tensor x = random_input(c.shape, -6.f, 6.f, 3);
    const Tensor before = run(c.t.model, x);
    ir::Model lowered = c.t.model.clone();
    const std::vector<std::string> notes = apply_lowerings(*lowered.graph, ort());
    ASSERT_EQ(notes, std::vector<std::string>{"hard_sigmoid_as_add: 1 rewritten"});
    const ir::Graph& g = *lowered.graph;
    g.verify();
    EXPECT_EQ(count(g, "HardSigmoid"), 0u);
    const ir::Node* add = g.find_node("hs_as_Add");
    ASSERT_NE(add, nullptr);
    EXPECT_EQ(add->input(0)->producer()->op_type(), "DequantizeLinear");
    const ir::Node* offset = add->input(1)->producer();
    ASSERT_NE(offset, nullptr);
    EXPECT_EQ(offset->op_type(), "DequantizeLinear");
    EXPECT_EQ(offset->input(0)->constant->dtype(), DType::kUInt8) << "QLinearAdd needs one type on every input";
    const ir::Node* q = add->output(0)->uses().at(0).node;
    EXPECT_EQ(q->op_type(), "QuantizeLinear");
    EXPECT_FLOAT_EQ(q->input(1)->constant->data<float>()[0], out_scale / alpha);
    // Same numbers: the saturation of the QuantizeLinear is the clip of HardSigmoid. Float rounding may move a value
    // that sits on a half step by one step.
    const Tensor after = run(lowered, x);
    EXPECT_EQ(testing::compare_tensors(after, before, 0.0, out_scale * 1.001), "");
    int64_t differ = 0;
    for (int64_t i = 0; i < x.numel(); ++i) differ += after.data<float>()[i] != before.data<float>()[i];
    EXPECT_LE(differ, x.numel() / 50) << "values moved by a step";
  }
}

TEST(ExportRewrites, HardSigmoidLoweringNeedsAnExactClip) {
  // Output grid reaching above 1 (the clip would not be the saturation), signed input, non-positive alpha.
  for (const auto& [alpha, scale, signed_input] : std::vector<std::tuple<float, float, bool>>{
           {1.f / 6.f, 1.5f / 255.f, false}, {1.f / 6.f, 1.f / 255.f, true}, {-0.2f, 1.f / 255.f, false}}) {
    HardSigmoidCase c(alpha, 0.5f, scale, signed_input);
    EXPECT_TRUE(apply_lowerings(*c.t.model.graph, ort()).empty());
    EXPECT_EQ(count(*c.t.model.graph, "HardSigmoid"), 1u);
  }
}

TEST(ExportRewrites, HardSwishBecomesAddAndMulOnAFixedFactorGrid) {
  QdqGraph t;
  const Shape shape{1, 8, 4, 4};
  const float sx = 0.04f, sy = 0.03f;
  Value* x = t.input("x", shape);
  Value* xd = t.qdq(x, sx, uint8_t{100}, shape);
  Value* y = t.node("HardSwish", {xd}, "hswish", shape);
  t.g->add_output(t.qdq(y, sy, uint8_t{13}, shape));
  const Tensor in = random_input(shape, -5.f, 5.f, 5);
  const Tensor before = run(t.model, in);
  ir::Model lowered = t.model.clone();
  ASSERT_EQ(apply_lowerings(*lowered.graph, ort()), std::vector<std::string>{"hard_swish_as_add_mul: 1 rewritten"});
  const ir::Graph& g = *lowered.graph;
  g.verify();
  EXPECT_EQ(count(g, "HardSwish"), 0u);
  EXPECT_EQ(count(g, "Add"), 1u);
  EXPECT_EQ(count(g, "Mul"), 1u);
  const ir::Node* mul = g.find_node("hswish_as_Mul");
  ASSERT_NE(mul, nullptr);
  EXPECT_EQ(mul->input(0), g.find_node("hswish_as_Add")->input(0)) << "both read DQ(x)";
  EXPECT_EQ(mul->input(1)->producer()->op_type(), "DequantizeLinear");
  EXPECT_EQ(mul->output(0)->uses().at(0).node->op_type(), "QuantizeLinear");
  // Reference: y = Q_y(x_q * Q_[0,1](hsig(x_q))) computed here with the scalar quantization functions.
  const Tensor after = run(lowered, in);
  for (int64_t i = 0; i < in.numel(); ++i) {
    const float xq = dequantize_value(quantize_value(in.data<float>()[i], sx, 100, 0, 255), sx, 100);
    const float hsig = std::max(0.f, std::min(1.f, xq / 6.f + 0.5f));
    const float factor = dequantize_value(quantize_value(hsig, 1.f / 255.f, 0, 0, 255), 1.f / 255.f, 0);
    const float expect = dequantize_value(quantize_value(xq * factor, sy, 13, 0, 255), sy, 13);
    ASSERT_NEAR(after.data<float>()[i], expect, sy * 1.001f) << "element " << i << " x " << in.data<float>()[i];
    // Against the unlowered graph: the factor's rounding moves the output by at most one step.
    ASSERT_NEAR(after.data<float>()[i], before.data<float>()[i], sy * 1.001f) << "element " << i;
  }
}

// x -> Q/DQ -> Conv(DQ w, DQ b) -> [Q/DQ when `quantized_output`] -> Softmax -> y
struct ConvCase {
  QdqGraph t;
  ConvCase(bool quantized_output, bool relu) {
    const Shape xs{1, 3, 4, 4}, ys{1, 2, 4, 4};
    Value* x = t.input("x", xs);
    Value* xd = t.qdq(x, 0.02f, uint8_t{128}, xs);
    const int8_t wq[] = {1, -2, 3, 4, -5, 6, 7, 8, -9, 10, 11, -12};
    const float ws[] = {0.01f, 0.02f};
    const int8_t wz[] = {0, 0};
    Value* w = t.typed(t.g->add_value("w_dq"), DType::kFloat32, {2, 3, 1, 1});
    ir::Node* dq_w = t.g->add_node("DequantizeLinear",
                                   {t.g->add_constant("w_q", Tensor::from_values<int8_t>({2, 3, 1, 1}, wq)),
                                    t.g->add_constant("w_s", Tensor::from_values<float>({2}, ws)),
                                    t.g->add_constant("w_z", Tensor::from_values<int8_t>({2}, wz))},
                                   {w}, "w_DQ");
    dq_w->attrs.set("axis", int64_t{0});
    const int32_t bq[] = {100, -50};
    const float bs[] = {0.0002f, 0.0004f};
    const int32_t bz[] = {0, 0};
    Value* b = t.typed(t.g->add_value("b_dq"), DType::kFloat32, {2});
    ir::Node* dq_b = t.g->add_node("DequantizeLinear",
                                   {t.g->add_constant("b_q", Tensor::from_values<int32_t>({2}, bq)),
                                    t.g->add_constant("b_s", Tensor::from_values<float>({2}, bs)),
                                    t.g->add_constant("b_z", Tensor::from_values<int32_t>({2}, bz))},
                                   {b}, "b_DQ");
    dq_b->attrs.set("axis", int64_t{0});
    Value* y = t.node("Conv", {xd, w, b}, "conv", ys);
    if (relu) y = t.node("Relu", {y}, "relu", ys);
    if (quantized_output) y = t.qdq(y, 0.01f, uint8_t{0}, ys);
    t.g->add_output(t.node("Softmax", {y}, "softmax", ys));
  }
};

TEST(ExportRewrites, WeightsOfAConvTheRuntimeCannotFuseAreStoredInFloat) {
  for (bool relu : {false, true}) {
    ConvCase fused(true, relu);
    EXPECT_EQ(dequantize_unfused_constants(*fused.t.g, ort()), 0u) << "DQ -> Conv [-> Relu] -> Q is fused";
    EXPECT_EQ(count(*fused.t.g, "DequantizeLinear"), 3u + 1u);
  }
  ConvCase c(false, false);
  const Tensor x = random_input({1, 3, 4, 4}, -2.f, 2.f, 7);
  const Tensor before = run(c.t.model, x);
  EXPECT_EQ(dequantize_unfused_constants(*c.t.g, ort()), 2u) << "weight and bias";
  c.t.g->verify();
  const ir::Node* conv = c.t.g->find_node("conv");
  ASSERT_TRUE(conv->input(1)->is_constant());
  ASSERT_TRUE(conv->input(2)->is_constant());
  EXPECT_EQ(conv->input(1)->constant->dtype(), DType::kFloat32);
  EXPECT_FLOAT_EQ(conv->input(1)->constant->data<float>()[4], -5 * 0.02f);  // second output channel
  EXPECT_FLOAT_EQ(conv->input(2)->constant->data<float>()[1], -50 * 0.0004f);
  EXPECT_EQ(c.t.g->find_value("w_q"), nullptr) << "the integer initializer is gone";
  EXPECT_EQ(conv->input(0)->producer()->op_type(), "DequantizeLinear") << "activations are not constants";
  EXPECT_EQ(testing::compare_tensors(run(c.t.model, x), before, 0.f, 0.f), "");
}

// A MobileNetV3-style block with 10 channels: x -> expand Conv -> Relu -> dw Conv(10) -> SE (GlobalAveragePool, fc1,
// Relu, fc2, HardSigmoid, Mul) -> project Conv, every op between Q/DQ pairs, weights int8 per channel (seeded
// random codes), int32 biases.
struct DepthwiseBlockCase {
  QdqGraph t;
  std::mt19937 rng{23};
  Value* conv(Value* x, int64_t out, int64_t in_per_group, int64_t k, int64_t group, const Shape& y_shape,
              const std::string& name) {
    std::uniform_int_distribution<int> code(-127, 127);
    std::uniform_real_distribution<float> scale(0.002f, 0.02f);
    const Shape ws{out, in_per_group, k, k};
    std::vector<int8_t> wq(static_cast<size_t>(out * in_per_group * k * k));
    for (int8_t& v : wq) v = static_cast<int8_t>(code(rng));
    std::vector<float> wsc(static_cast<size_t>(out)), bs(static_cast<size_t>(out));
    std::vector<int32_t> bq(static_cast<size_t>(out));
    for (int64_t c = 0; c < out; ++c) {
      wsc[c] = scale(rng);
      bs[c] = wsc[c] * 0.05f;
      bq[c] = code(rng) * 10;
    }
    Value* w = t.typed(t.g->add_value(name + "_w"), DType::kFloat32, ws);
    t.g->add_node("DequantizeLinear",
                  {t.g->add_constant(name + "_wq", Tensor::from_values<int8_t>(ws, wq.data())),
                   t.g->add_constant(name + "_ws", Tensor::from_values<float>({out}, wsc.data()))},
                  {w}, name + "_w_DQ")
        ->attrs.set("axis", int64_t{0});
    Value* b = t.typed(t.g->add_value(name + "_b"), DType::kFloat32, {out});
    t.g->add_node("DequantizeLinear",
                  {t.g->add_constant(name + "_bq", Tensor::from_values<int32_t>({out}, bq.data())),
                   t.g->add_constant(name + "_bs", Tensor::from_values<float>({out}, bs.data()))},
                  {b}, name + "_b_DQ")
        ->attrs.set("axis", int64_t{0});
    Value* y = t.node("Conv", {x, w, b}, name, y_shape);
    ir::Node* n = y->producer();
    n->attrs.set("group", group);
    if (k > 1) n->attrs.set("pads", std::vector<int64_t>{k / 2, k / 2, k / 2, k / 2});
    return y;
  }
  // `dw_from_input`: the depthwise convolution reads the graph input (nothing to pad its channels with).
  explicit DepthwiseBlockCase(bool dw_from_input = false) {
    const Shape xs{1, dw_from_input ? 10 : 8, 5, 5}, hs{1, 10, 5, 5}, ps{1, 10, 1, 1}, ys{1, 6, 5, 5};
    Value* x = t.qdq(t.input("x", xs), 0.05f, uint8_t{128}, xs);
    Value* e = dw_from_input ? x : t.qdq(t.node("Relu", {conv(x, 10, 8, 1, 1, hs, "expand")}, "relu", hs), 0.04f,
                                         uint8_t{0}, hs);
    Value* d = t.qdq(conv(e, 10, 1, 3, 10, hs, "dw"), 0.06f, uint8_t{128}, hs);
    Value* p = t.qdq(t.node("GlobalAveragePool", {d}, "gap", ps), 0.03f, uint8_t{128}, ps);
    Value* f1 = t.qdq(t.node("Relu", {conv(p, 4, 10, 1, 1, {1, 4, 1, 1}, "fc1")}, "fc1_relu", {1, 4, 1, 1}), 0.02f,
                      uint8_t{0}, {1, 4, 1, 1});
    Value* f2 = t.qdq(conv(f1, 10, 4, 1, 1, ps, "fc2"), 0.05f, uint8_t{128}, ps);
    Value* h = t.qdq(t.node("HardSigmoid", {f2}, "hsig", ps), 1.f / 255.f, uint8_t{0}, ps);
    Value* m = t.qdq(t.node("Mul", {d, h}, "se_mul", hs), 0.05f, uint8_t{128}, hs);
    t.g->add_output(t.qdq(conv(m, 6, 10, 1, 1, ys, "project"), 0.1f, uint8_t{128}, ys));
  }
};

ExportProfile only(const std::string& lowering) {
  ExportProfile p = ort();
  p.lowerings = {lowering};
  return p;
}

int64_t weight_dim(const ir::Graph& g, const std::string& conv, int64_t axis) {
  return g.find_node(conv)->input(1)->producer()->input(0)->constant->dim(axis);
}

TEST(ExportRewrites, DepthwiseChannelsArePaddedToSixteenWithTheirWritersAndReaders) {
  DepthwiseBlockCase c;
  const Tensor x = random_input({1, 8, 5, 5}, -3.f, 3.f, 29);
  const Tensor before = run(c.t.model, x);
  ir::Model padded = c.t.model.clone();
  ASSERT_EQ(apply_lowerings(*padded.graph, only("pad_depthwise_channels")),
            std::vector<std::string>{"pad_depthwise_channels: 1 rewritten"});
  const ir::Graph& g = *padded.graph;
  g.verify();
  EXPECT_EQ(g.find_node("dw")->attrs.get_int("group", 1), 16);
  EXPECT_EQ(weight_dim(g, "dw", 0), 16);
  EXPECT_EQ(weight_dim(g, "expand", 0), 16) << "the writer's output channels";
  EXPECT_EQ(weight_dim(g, "expand", 1), 8);
  EXPECT_EQ(weight_dim(g, "fc2", 0), 16) << "the SE scale is written by fc2";
  EXPECT_EQ(weight_dim(g, "fc1", 1), 16) << "and read by fc1";
  EXPECT_EQ(weight_dim(g, "project", 1), 16);
  EXPECT_EQ(weight_dim(g, "project", 0), 6);
  // Per-channel scales grow with copies of the last channel's (bias scale = input scale x weight scale holds).
  const Tensor& ws = *g.find_node("dw")->input(1)->producer()->input(1)->constant;
  ASSERT_EQ(ws.numel(), 16);
  EXPECT_EQ(ws.data<float>()[15], ws.data<float>()[9]);
  EXPECT_EQ(g.find_node("gap")->output(0)->type.shape->at(1).size, 16);
  EXPECT_EQ(g.find_node("project")->output(0)->type.shape->at(1).size, 6);
  // The new channels are exactly zero: every number of the old ones is the same.
  EXPECT_EQ(testing::compare_tensors(run(padded, x), before, 0.0, 0.0), "");
}

TEST(ExportRewrites, DepthwiseChannelsStayWhenTheirRegionReachesAGraphInput) {
  DepthwiseBlockCase c(true);
  EXPECT_TRUE(apply_lowerings(*c.t.g, only("pad_depthwise_channels")).empty());
  EXPECT_EQ(c.t.g->find_node("dw")->attrs.get_int("group", 1), 10);
}

// x -> Q/DQ -> Reshape -> {Q/DQ with the same parameters, Relu} -> Add: attention's qkv split in small. The Reshape
// runs on the uint8 tensor; one DQ after it feeds the Relu; the second quantization is gone; the numbers are equal.
TEST(ExportRewrites, MoversOnIntegersDropTheRequantization) {
  QdqGraph t;
  Value* x = t.input("x", {2, 6});
  Value* xd = t.qdq(x, 0.03f, uint8_t{128}, {2, 6});
  Value* shape = t.g->add_constant("shape", testing::make_tensor<int64_t>({3}, {2, 2, 3}));
  Value* r = t.node("Reshape", {xd, shape}, "reshape", {2, 2, 3});
  Value* a = t.qdq(r, 0.03f, uint8_t{128}, {2, 2, 3});
  Value* b = t.node("Relu", {r}, "relu", {2, 2, 3});
  t.g->add_output(t.node("Add", {a, b}, "add", {2, 2, 3}));
  const Tensor in = random_input({2, 6}, -4.f, 4.f, 5);
  const Tensor before = run(t.model, in);
  ASSERT_EQ(apply_lowerings(*t.g, ort()), std::vector<std::string>{"movers_on_integers: 1 rewritten"});
  t.g->verify();
  const ir::Node* reshape = t.g->find_node("reshape");
  ASSERT_NE(reshape, nullptr);
  EXPECT_EQ(reshape->input(0)->producer()->op_type(), "QuantizeLinear") << "reads the uint8 tensor";
  EXPECT_EQ(count(*t.g, "QuantizeLinear"), 1u);
  EXPECT_EQ(count(*t.g, "DequantizeLinear"), 2u) << "one for the Relu, one for the Add's other operand";
  EXPECT_EQ(t.g->find_node("relu")->input(0)->producer()->op_type(), "DequantizeLinear");
  EXPECT_EQ(testing::compare_tensors(run(t.model, in), before, 0.f, 0.f), "");
}

// Attention's qkv split as ONNX Runtime's transpose optimizer would otherwise leave it: x -> Q/DQ -> Transpose ->
// Q/DQ (same parameters, its only reader) -> Relu, and x -> Q/DQ -> Transpose -> Gather(constant index) -> Relu (V).
// Both Transposes and the Gather run on the uint8 tensor, the first requantization is gone, and the V path is
// dequantized after the Gather (a third of the tensor); the numbers are equal.
TEST(ExportRewrites, MoversOnIntegersDropSingleRequantizationsAndDequantizeAfterTheGather) {
  for (bool v_path : {false, true}) {
    QdqGraph t;
    Value* x = t.input("x", {3, 4});
    Value* xd = t.qdq(x, 0.03f, uint8_t{128}, {3, 4});
    Value* tr = t.node("Transpose", {xd}, "transpose", {4, 3});
    t.g->find_node("transpose")->attrs.set("perm", std::vector<int64_t>{1, 0});
    Value* last = nullptr;
    if (v_path) {
      Value* idx = t.g->add_constant("idx", testing::make_tensor<int64_t>({}, {2}));
      last = t.node("Gather", {tr, idx}, "gather", {3});
    } else {
      last = t.qdq(tr, 0.03f, uint8_t{128}, {4, 3});
    }
    t.g->add_output(t.node("Relu", {last}, "relu", v_path ? Shape{3} : Shape{4, 3}));
    const Tensor in = random_input({3, 4}, -4.f, 4.f, 11);
    const Tensor before = run(t.model, in);
    ASSERT_EQ(apply_lowerings(*t.g, ort()), std::vector<std::string>{"movers_on_integers: 1 rewritten"}) << v_path;
    t.g->verify();
    EXPECT_EQ(t.g->find_node("transpose")->input(0)->producer()->op_type(), "QuantizeLinear") << v_path;
    EXPECT_EQ(count(*t.g, "QuantizeLinear"), 1u) << v_path;
    EXPECT_EQ(count(*t.g, "DequantizeLinear"), 1u) << v_path;
    const ir::Node* dq = t.g->find_node("relu")->input(0)->producer();
    EXPECT_EQ(dq->op_type(), "DequantizeLinear") << v_path;
    EXPECT_EQ(dq->input(0)->producer()->op_type(), v_path ? "Gather" : "Transpose") << v_path;
    EXPECT_EQ(testing::compare_tensors(run(t.model, in), before, 0.f, 0.f), "") << v_path;
  }
}

// Two Transposes of one uint8 tensor with the same permutation (attention's qkv tensor for Q/K and for V once both
// run on the integers) become one.
TEST(ExportRewrites, MoversOnIntegersMergeIdenticalMovers) {
  QdqGraph t;
  Value* x = t.input("x", {3, 4});
  Value* xd = t.qdq(x, 0.03f, uint8_t{128}, {3, 4});
  Value* xq = xd->producer()->input(0);
  Value* outs[3];
  for (int i = 0; i < 3; ++i) {
    const std::string name = "transpose" + std::to_string(i);
    const Shape shape = i < 2 ? Shape{4, 3} : Shape{3, 4};
    Value* tr = t.typed(t.g->add_value(name + "_out"), DType::kUInt8, shape);
    t.g->add_node("Transpose", {xq}, {tr}, name);
    // The third has another permutation: kept.
    t.g->find_node(name)->attrs.set("perm", i < 2 ? std::vector<int64_t>{1, 0} : std::vector<int64_t>{0, 1});
    Value* d = t.typed(t.g->add_value(name + "_dq"), DType::kFloat32, shape);
    t.g->add_node("DequantizeLinear", {tr, xd->producer()->input(1), xd->producer()->input(2)}, {d}, name + "_DQ");
    outs[i] = d;
  }
  t.g->add_output(t.node("Add", {outs[0], outs[1]}, "add", {4, 3}));
  t.g->add_output(t.node("Add", {t.node("Relu", {xd}, "relu", {3, 4}), outs[2]}, "add2", {3, 4}));
  const Tensor in = random_input({3, 4}, -4.f, 4.f, 17);
  const Tensor before = run(t.model, in);
  ASSERT_EQ(apply_lowerings(*t.g, only("movers_on_integers")),
            std::vector<std::string>{"movers_on_integers: 1 rewritten"});
  t.g->verify();
  EXPECT_EQ(count(*t.g, "Transpose"), 2u);
  EXPECT_EQ(t.g->find_node("transpose1"), nullptr);
  EXPECT_NE(t.g->find_node("transpose2"), nullptr);
  EXPECT_EQ(testing::compare_tensors(run(t.model, in), before, 0.f, 0.f), "");
}

// Attention's scores: DQ(q) @ DQ(k^T) -> Mul(0.5) or Div(2) -> Softmax. The factor moves into q's dequantization
// scale and the Mul/Div goes away; the same scores up to float rounding.
TEST(ExportRewrites, AttentionScaleMovesIntoTheDequantizeScale) {
  for (const char* op : {"Mul", "Div"}) {
    QdqGraph t;
    Value* x = t.input("x", {2, 3, 4});
    Value* a = t.qdq(x, 0.03f, uint8_t{128}, {2, 3, 4});
    Value* xt = t.node("Transpose", {x}, "kt", {2, 4, 3});
    t.g->find_node("kt")->attrs.set("perm", std::vector<int64_t>{0, 2, 1});
    Value* b = t.qdq(xt, 0.05f, uint8_t{120}, {2, 4, 3});
    Value* s = t.node("MatMul", {a, b}, "scores", {2, 3, 3});
    Value* c = t.scalar("c", std::string(op) == "Mul" ? 0.5f : 2.f);
    Value* scaled = t.node(op, {s, c}, "scale", {2, 3, 3});
    t.g->add_output(t.node("Softmax", {scaled}, "softmax", {2, 3, 3}));
    const Tensor in = random_input({2, 3, 4}, -3.f, 3.f, 13);
    const Tensor before = run(t.model, in);
    ASSERT_EQ(apply_lowerings(*t.g, only("attention_scale_into_dequantize")),
              std::vector<std::string>{"attention_scale_into_dequantize: 1 rewritten"})
        << op;
    t.g->verify();
    EXPECT_EQ(count(*t.g, op), 0u);
    EXPECT_EQ(t.g->find_node("softmax")->input(0)->producer()->op_type(), "MatMul");
    const ir::Node* dq = t.g->find_node("scores")->input(0)->producer();
    ASSERT_EQ(dq->op_type(), "DequantizeLinear");
    EXPECT_FLOAT_EQ(dq->input(1)->constant->data<float>()[0], 0.015f);
    EXPECT_EQ(count(*t.g, "DequantizeLinear"), 2u) << "q's old dequantization is gone";
    EXPECT_EQ(testing::compare_tensors(run(t.model, in), before, 1e-6, 1e-5), "") << op;
  }
}

TEST(ExportRewrites, UnknownLoweringIsAConfigError) {
  ExportProfile p = ort();
  p.lowerings = {"hard_sigmoid_as_add", "typo"};
  QdqGraph t;
  try {
    apply_lowerings(*t.g, p);
    FAIL() << "expected InvalidConfig";
  } catch (const InvalidConfig& e) {
    EXPECT_NE(std::string(e.what()).find("unknown lowering \"typo\"; known: \"attention_scale_into_dequantize\", \"hard_sigmoid_as_add\", "
                                         "\"hard_swish_as_add_mul\", \"movers_on_integers\", \"pad_depthwise_channels\""),
              std::string::npos)
        << e.what();
  }
}

}  // namespace
}  // namespace qwac::quant
