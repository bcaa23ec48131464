// materialize_qdq: structure on small hand-built graphs (weight + input quantizers, requantization after agnostic
// ops, unified Concat sources, float consumers that must stay float, disabled quantizers, int32 bias), the ONNX
// checker, and numbers: the QDQ model run by the engine equals a float model fed hand fake-quantized tensors.
#include "quant/qdq_materialize.h"

#include "ir/contrib_ops.h"
#include "quant/precision_ladder.h"

#include <gtest/gtest.h>
#include <unistd.h>

#include <filesystem>
#include <random>

#include "onnx/model_io.h"
#include "quant/hw_config.h"
#include "quant/quant_params.h"
#include "runtime/engine.h"
#include "test_util.h"

namespace qwac::quant {
namespace {

namespace fs = std::filesystem;
using ir::Value;

class CapturingLogger final : public Logger {
 public:
  void log(LogLevel level, std::string_view message) override {
    if (level >= LogLevel::kWarning) warnings.emplace_back(message);
  }
  std::vector<std::string> warnings;
};

struct ModelBuilder {
  ir::Model model;
  ir::Graph* g;
  std::mt19937 rng{11};
  explicit ModelBuilder(int64_t opset = 13) {
    model.ir_version = 8;
    model.opset_imports = {{"", opset}};
    model.graph = std::make_unique<ir::Graph>();
    g = model.graph.get();
    g->name = "test";
  }
  static void set_type(Value* v, const Shape& shape) {
    v->type.dtype = DType::kFloat32;
    ir::SymbolicShape s;
    for (int64_t d : shape) s.push_back({d, ""});
    v->type.shape = s;
  }
  Value* input(const std::string& name, const Shape& shape) {
    Value* v = g->add_value(name);
    set_type(v, shape);
    g->add_input(v);
    return v;
  }
  Value* constant(const std::string& name, Tensor t) { return g->add_constant(name, std::move(t)); }
  Value* node(const std::string& op, const std::vector<Value*>& inputs, const std::string& name, const Shape& shape) {
    Value* y = g->add_value(name + "_out");
    set_type(y, shape);
    g->add_node(op, inputs, {y}, name);
    return y;
  }
  Value* conv(const std::string& name, Value* x, Value* w, Value* b, const Shape& out_shape) {
    Value* y = g->add_value(name + "_out");
    set_type(y, out_shape);
    std::vector<Value*> in = {x, w};
    if (b != nullptr) in.push_back(b);
    ir::Node* n = g->add_node("Conv", in, {y}, name);
    n->attrs.set("pads", std::vector<int64_t>{1, 1, 1, 1});
    return y;
  }
};

QuantParams per_tensor(DType dtype, float scale, int32_t zp = 0) {
  QuantParams p;
  p.dtype = dtype;
  p.scale = {scale};
  p.zero_point = {zp};
  p.qmin = dtype == DType::kInt8 ? -128 : 0;
  p.qmax = dtype == DType::kInt8 ? 127 : 255;
  return p;
}

Quantizer quantizer(int id, QuantizerKind kind, std::vector<std::string> sources, std::vector<QuantizedEdge> edges,
                    QuantParams p) {
  Quantizer q;
  q.id = id;
  q.kind = kind;
  q.sources = std::move(sources);
  q.edges = std::move(edges);
  q.params = std::move(p);
  q.name = "q" + std::to_string(id);
  return q;
}

size_t count_ops(const ir::Graph& g, const std::string& op_type) {
  size_t n = 0;
  for (const ir::Node* node : g.nodes()) n += node->op_type() == op_type ? 1 : 0;
  return n;
}

const ir::Node* producer_of(const ir::Node* n, size_t input) {
  return n->input(input) != nullptr ? n->input(input)->producer() : nullptr;
}

std::vector<Tensor> run(const ir::Model& model, const Tensor& x, bool use_dnnl, bool fuse = true) {
  runtime::EngineOptions options;
  options.use_dnnl = use_dnnl;
  options.fuse = fuse;
  options.num_threads = 1;
  runtime::Engine engine(model, options);
  return engine.run({{engine.inputs().at(0).name, x}});
}

void expect_checker_accepts(const ir::Model& m) {
  const fs::path path = fs::temp_directory_path() / ("qwac_qdq_materialize_" + std::to_string(::getpid()) + ".onnx");
  EXPECT_NO_THROW(onnxio::save_model(m, path.string()));
  fs::remove(path);
}

// x [1,2,5,5] -> Conv(w [3,2,3,3], b [3]) -> y; input per-tensor int8, weight per-channel int8 (narrow).
struct ConvCase {
  ModelBuilder b;
  QuantizerSet set;
  const float sx = 0.05f;
  const std::vector<float> sw = {0.01f, 0.02f, 0.04f};
  ConvCase() {
    Value* x = b.input("x", {1, 2, 5, 5});
    std::vector<float> w(3 * 2 * 3 * 3);
    std::uniform_real_distribution<float> dist(-1.f, 1.f);
    for (size_t i = 0; i < w.size(); ++i) w[i] = dist(b.rng) * 1.27f * sw[i / 18];
    const std::vector<float> bias = {0.5f, -0.25f, 1.0f};
    Value* y = b.conv("conv", x, b.constant("w", Tensor::from_values<float>({3, 2, 3, 3}, w.data())),
                      b.constant("b", Tensor::from_values<float>({3}, bias.data())), {1, 3, 5, 5});
    b.g->add_output(y);
    set.quantizers.push_back(
        quantizer(0, QuantizerKind::kActivation, {"x"}, {{"conv", 0}}, per_tensor(DType::kInt8, sx)));
    QuantParams pw;
    pw.dtype = DType::kInt8;
    pw.axis = 0;
    pw.scale = sw;
    pw.zero_point = {0, 0, 0};
    pw.qmin = -127;
    pw.qmax = 127;
    set.quantizers.push_back(quantizer(1, QuantizerKind::kWeight, {"w"}, {{"conv", 1}}, pw));
  }
};

TEST(MaterializeQdq, ConvWeightInputAndInt32Bias) {
  ConvCase c;
  CapturingLogger logger;
  const ir::Model m = materialize_qdq(c.b.model, c.set, MaterializeOptions{}, &logger);
  const ir::Graph& g = *m.graph;
  EXPECT_TRUE(logger.warnings.empty());
  EXPECT_EQ(count_ops(*c.b.g, "QuantizeLinear"), 0u) << "the input model is not modified";
  EXPECT_EQ(count_ops(g, "QuantizeLinear"), 1u);
  EXPECT_EQ(count_ops(g, "DequantizeLinear"), 3u);  // input, weight, bias

  const ir::Node* conv = g.find_node("conv");
  ASSERT_NE(conv, nullptr);
  const ir::Node* dq_x = producer_of(conv, 0);
  ASSERT_NE(dq_x, nullptr);
  EXPECT_EQ(dq_x->op_type(), "DequantizeLinear");
  EXPECT_EQ(dq_x->name(), "x_DequantizeLinear");
  const ir::Node* q_x = producer_of(dq_x, 0);
  ASSERT_NE(q_x, nullptr);
  EXPECT_EQ(q_x->name(), "x_QuantizeLinear");
  EXPECT_EQ(q_x->input(0)->name(), "x");
  EXPECT_EQ(q_x->input(1)->constant->shape(), Shape{});
  EXPECT_EQ(q_x->input(2)->constant->dtype(), DType::kInt8);
  EXPECT_FALSE(q_x->attrs.has("axis"));

  // Weight: int8 initializer + per-channel DequantizeLinear; the float weight is gone.
  const ir::Node* dq_w = producer_of(conv, 1);
  ASSERT_NE(dq_w, nullptr);
  EXPECT_EQ(dq_w->op_type(), "DequantizeLinear");
  EXPECT_EQ(dq_w->input(0)->name(), "w_quantized");
  EXPECT_EQ(dq_w->input(0)->constant->dtype(), DType::kInt8);
  EXPECT_EQ(dq_w->attrs.get_int("axis"), 0);
  EXPECT_EQ(dq_w->input(1)->constant->shape(), Shape{3});
  EXPECT_EQ(g.find_value("w"), nullptr);
  const Tensor& w = *c.b.g->value("w")->constant;
  QuantParams pw = *c.set.at(1).params;
  EXPECT_EQ(testing::compare_tensors(*dq_w->input(0)->constant, quantize_tensor(w, pw), 0, 0), "");

  // Bias: round(b / (sx * sw[c])) = 0.5/0.0005 = 1000, -0.25/0.001 = -250, 1/0.002 = 500.
  const ir::Node* dq_b = producer_of(conv, 2);
  ASSERT_NE(dq_b, nullptr);
  const Tensor& qb = *dq_b->input(0)->constant;
  ASSERT_EQ(qb.dtype(), DType::kInt32);
  EXPECT_EQ(std::vector<int32_t>(qb.data<int32_t>(), qb.data<int32_t>() + 3), (std::vector<int32_t>{1000, -250, 500}));
  const Tensor& sb = *dq_b->input(1)->constant;
  ASSERT_EQ(sb.shape(), Shape{3});
  for (int i = 0; i < 3; ++i) EXPECT_EQ(sb.data<float>()[i], c.sx * c.sw[static_cast<size_t>(i)]);
  EXPECT_EQ(dq_b->input(2)->constant->dtype(), DType::kInt32);
  EXPECT_EQ(dq_b->attrs.get_int("axis"), 0);
  EXPECT_EQ(g.find_value("b"), nullptr);
  expect_checker_accepts(m);

  // Numbers: the float Conv fed the fake-quantized input, weight and the dequantized bias.
  ModelBuilder ref;
  Value* rx = ref.input("x", {1, 2, 5, 5});
  std::vector<float> bias_dq = {1000 * sb.data<float>()[0], -250 * sb.data<float>()[1], 500 * sb.data<float>()[2]};
  ref.g->add_output(ref.conv("conv", rx, ref.constant("w", fake_quantize_tensor(w, pw)),
                             ref.constant("b", Tensor::from_values<float>({3}, bias_dq.data())), {1, 3, 5, 5}));
  std::mt19937 rng(3);
  const Tensor x = testing::random_tensor({1, 2, 5, 5}, rng, -8.f, 8.f);  // saturates beyond +-6.4
  const Tensor fx = fake_quantize_tensor(x, *c.set.at(0).params);
  const Tensor expected = run(ref.model, fx, false, false)[0];
  for (bool dnnl : {false, true}) {
    for (bool fuse : {false, true}) {
      EXPECT_EQ(testing::compare_tensors(run(m, x, dnnl, fuse)[0], expected, 1e-5, 1e-5), "")
          << "dnnl " << dnnl << " fuse " << fuse;
    }
  }
}

TEST(MaterializeQdq, OnnxRuntimeProfileStoresSignedActivationsAsUint8) {
  // The same real values on the uint8 grid shifted by 128: ONNX Runtime fuses QDQ Conv on x86 only with uint8
  // activations. Weights stay int8 (U8S8), the int32 bias is unchanged, the conv's output is a graph output and the
  // Conv keeps its quantized weight only if the runtime would fuse it: here nothing reads a Q after the conv, so the
  // profile stores weight and bias in float.
  ConvCase c;
  MaterializeOptions plain, ort;
  ort.profile = &export_profile_for("onnxruntime");
  const ir::Model a = materialize_qdq(c.b.model, c.set, plain);
  const ir::Model b = materialize_qdq(c.b.model, c.set, ort);
  const ir::Node* dq_x = producer_of(b.graph->find_node("conv"), 0);
  ASSERT_NE(dq_x, nullptr);
  ASSERT_EQ(dq_x->op_type(), "DequantizeLinear");
  const Tensor& zp = *dq_x->input(2)->constant;
  ASSERT_EQ(zp.dtype(), DType::kUInt8);
  EXPECT_EQ(zp.data<uint8_t>()[0], 128);
  EXPECT_EQ(dq_x->input(1)->constant->data<float>()[0], c.sx);
  const ir::Node* conv = b.graph->find_node("conv");
  EXPECT_TRUE(conv->input(1)->is_constant()) << "weight in float: the Conv has no output Q, ORT would not fuse it";
  EXPECT_TRUE(conv->input(2)->is_constant());
  expect_checker_accepts(b);
  std::mt19937 rng(5);
  const Tensor x = testing::random_tensor({1, 2, 5, 5}, rng, -8.f, 8.f);
  EXPECT_EQ(testing::compare_tensors(run(b, x, false, false)[0], run(a, x, false, false)[0], 1e-6, 1e-6), "");
}

TEST(MaterializeQdq, UncompressedWeightsAndFloatBias) {
  ConvCase c;
  MaterializeOptions o;
  o.compress_weights = false;
  o.quantize_bias = false;
  const ir::Model m = materialize_qdq(c.b.model, c.set, o);
  const ir::Node* conv = m.graph->find_node("conv");
  const ir::Node* dq_w = producer_of(conv, 1);
  ASSERT_NE(dq_w, nullptr);
  const ir::Node* q_w = producer_of(dq_w, 0);
  ASSERT_NE(q_w, nullptr);
  EXPECT_EQ(q_w->op_type(), "QuantizeLinear");
  EXPECT_EQ(q_w->name(), "w_QuantizeLinear");
  EXPECT_EQ(q_w->input(0)->name(), "w");
  EXPECT_EQ(q_w->attrs.get_int("axis"), 0);
  EXPECT_EQ(conv->input(2)->name(), "b");
  expect_checker_accepts(m);
}

TEST(MaterializeQdq, BiasThatOverflowsInt32StaysFloat) {
  ConvCase c;
  Tensor& b = *c.b.g->value("b")->constant;
  b = b.clone();
  b.data<float>()[1] = 1e10f;  // / 0.001 = 1e13
  CapturingLogger logger;
  const ir::Model m = materialize_qdq(c.b.model, c.set, MaterializeOptions{}, &logger);
  EXPECT_EQ(m.graph->find_node("conv")->input(2)->name(), "b");
  ASSERT_EQ(logger.warnings.size(), 1u);
  EXPECT_NE(logger.warnings[0].find("overflows int32"), std::string::npos) << logger.warnings[0];
  EXPECT_NE(logger.warnings[0].find("'b'"), std::string::npos) << logger.warnings[0];
}

TEST(MaterializeQdq, BiasNeedsBothInputAndWeightQuantized) {
  ConvCase c;
  c.set.at(1).enabled = false;
  const ir::Model m = materialize_qdq(c.b.model, c.set, MaterializeOptions{});
  const ir::Node* conv = m.graph->find_node("conv");
  EXPECT_EQ(conv->input(1)->name(), "w");
  EXPECT_EQ(conv->input(2)->name(), "b");
  EXPECT_EQ(count_ops(*m.graph, "QuantizeLinear"), 1u);
  EXPECT_EQ(count_ops(*m.graph, "DequantizeLinear"), 1u);
}

TEST(MaterializeQdq, DisabledQuantizersInsertNothing) {
  ConvCase c;
  c.set.at(0).enabled = false;
  c.set.at(1).enabled = false;
  const ir::Model m = materialize_qdq(c.b.model, c.set, MaterializeOptions{});
  EXPECT_EQ(m.graph->num_nodes(), 1u);
  EXPECT_EQ(m.graph->values().size(), c.b.g->values().size());
  c.set.at(0).enabled = true;
  c.set.at(0).params.reset();  // enabled but without statistics: left float, with a warning
  CapturingLogger logger;
  EXPECT_EQ(materialize_qdq(c.b.model, c.set, MaterializeOptions{}, &logger).graph->num_nodes(), 1u);
  EXPECT_EQ(logger.warnings.size(), 1u);
}

TEST(MaterializeQdq, OpsetMustAllowTheParameters) {
  ConvCase c;
  c.b.model.opset_imports = {{"", 11}};
  try {
    materialize_qdq(c.b.model, c.set, MaterializeOptions{});
    ADD_FAILURE() << "per-channel at opset 11 must be rejected";
  } catch (const InvalidModel& e) {
    EXPECT_NE(std::string(e.what()).find("opset >= 13"), std::string::npos) << e.what();
    EXPECT_NE(std::string(e.what()).find("upgraded"), std::string::npos) << e.what();
  }
  c.set.at(1).enabled = false;  // per-tensor only: fine at opset 11
  EXPECT_NO_THROW(materialize_qdq(c.b.model, c.set, MaterializeOptions{}));
  c.b.model.opset_imports = {{"", 9}};
  EXPECT_THROW(materialize_qdq(c.b.model, c.set, MaterializeOptions{}), InvalidModel);
}

TEST(MaterializeQdq, SixteenBitQuantizersUseOnnxRuntimeContribOps) {
  ConvCase c;
  // The specs and ranges statistics would have given the 8-bit parameters above.
  c.set.at(0).params->range_min = {-128 * c.sx};
  c.set.at(0).params->range_max = {127 * c.sx};
  QuantizerSpec& ws = c.set.at(1).spec;
  ws.granularity = Granularity::kPerChannel;
  ws.axis = 0;
  ws.narrow_range = true;
  for (float s : c.sw) {
    c.set.at(1).params->range_min.push_back(-127 * s);
    c.set.at(1).params->range_max.push_back(127 * s);
  }
  // The ladder's INT16 rung on both quantizers: same ranges, 16-bit scales.
  attach_precision_ladder(c.set, {{"INT16", 16, 16}});
  for (Quantizer& q : c.set.quantizers) q.set_rung(1);
  EXPECT_EQ(c.set.at(0).params->dtype, DType::kInt16);
  EXPECT_EQ(c.set.at(1).params->dtype, DType::kInt16);
  EXPECT_NEAR(c.set.at(1).params->scale[0], c.sw[0] * 127.f / 32767.f, 1e-9);
  const ir::Model m = materialize_qdq(c.b.model, c.set, MaterializeOptions{});
  EXPECT_EQ(m.opset(std::string(ir::kMicrosoftDomain)), 1);
  size_t contrib = 0;
  for (const ir::Node* n : m.graph->nodes()) {
    if (n->op_type() == "QuantizeLinear" || (n->op_type() == "DequantizeLinear" && n->input(0)->type.dtype != DType::kInt32)) {
      EXPECT_EQ(n->domain(), ir::kMicrosoftDomain) << n->describe();
      ++contrib;
    }
  }
  EXPECT_EQ(contrib, 3u) << "Q and DQ of the input, DQ of the int16 weight";
  expect_checker_accepts(m);
  // The engine runs them (reference and oneDNN plans) and 16 bits are close to float.
  std::mt19937 rng(5);
  const Tensor x = testing::random_tensor({1, 2, 5, 5}, rng);
  const std::vector<Tensor> fp32 = run(c.b.model, x, true);
  for (bool dnnl : {false, true}) {
    const std::vector<Tensor> q = run(m, x, dnnl);
    for (int64_t i = 0; i < fp32[0].numel(); ++i) {
      EXPECT_NEAR(q[0].data<float>()[i], fp32[0].data<float>()[i], 2e-3) << "element " << i << " dnnl " << dnnl;
    }
  }
  // Back to rung 0: 8-bit, default domain again.
  for (Quantizer& q : c.set.quantizers) q.set_rung(0);
  const ir::Model m8 = materialize_qdq(c.b.model, c.set, MaterializeOptions{});
  EXPECT_EQ(m8.opset(std::string(ir::kMicrosoftDomain)), 0);
}

// x -> Relu -> r -> MaxPool -> m -> Conv ; r also read by a float Sigmoid, m by a float Tanh.
struct PoolCase {
  ModelBuilder b;
  QuantizerSet set;
  Tensor w;
  explicit PoolCase(bool float_consumers) {
    Value* x = b.input("x", {1, 2, 6, 6});
    Value* r = b.node("Relu", {x}, "relu", {1, 2, 6, 6});
    Value* m = b.node("MaxPool", {r}, "pool", {1, 2, 3, 3});
    ir::Node* pool = b.g->find_node("pool");
    pool->attrs.set("kernel_shape", std::vector<int64_t>{2, 2});
    pool->attrs.set("strides", std::vector<int64_t>{2, 2});
    w = testing::random_tensor({2, 2, 3, 3}, b.rng);
    b.g->add_output(b.conv("conv", m, b.constant("w", w), nullptr, {1, 2, 3, 3}));
    if (float_consumers) {
      b.g->add_output(b.node("Sigmoid", {r}, "sigmoid", {1, 2, 6, 6}));
      b.g->add_output(b.node("Tanh", {m}, "tanh", {1, 2, 3, 3}));
    }
    set.quantizers.push_back(
        quantizer(0, QuantizerKind::kActivation, {"relu_out"}, {{"conv", 0}}, per_tensor(DType::kUInt8, 0.02f)));
  }
};

TEST(MaterializeQdq, RequantizesAfterAgnosticOps) {
  PoolCase c(false);
  const ir::Model m = materialize_qdq(c.b.model, c.set, MaterializeOptions{});
  const ir::Graph& g = *m.graph;
  EXPECT_EQ(count_ops(g, "QuantizeLinear"), 2u);
  const ir::Node* conv = g.find_node("conv");
  const ir::Node* dq2 = producer_of(conv, 0);
  ASSERT_EQ(dq2->op_type(), "DequantizeLinear");
  const ir::Node* q2 = producer_of(dq2, 0);
  EXPECT_EQ(q2->name(), "pool_out_QuantizeLinear");
  const ir::Node* pool = producer_of(q2, 0);
  ASSERT_EQ(pool->name(), "pool");
  const ir::Node* dq1 = producer_of(pool, 0);
  ASSERT_EQ(dq1->op_type(), "DequantizeLinear");
  EXPECT_EQ(dq1->name(), "relu_out_DequantizeLinear");
  EXPECT_EQ(producer_of(producer_of(dq1, 0), 0)->name(), "relu");
  EXPECT_EQ(q2->input(1), producer_of(dq1, 0)->input(1)) << "one scale per quantizer";
  expect_checker_accepts(m);

  // Without requantization the pool output feeds the Conv directly.
  MaterializeOptions o;
  o.requantize_after_agnostic = false;
  const ir::Model plain = materialize_qdq(c.b.model, c.set, o);
  EXPECT_EQ(count_ops(*plain.graph, "QuantizeLinear"), 1u);
  EXPECT_EQ(producer_of(plain.graph->find_node("conv"), 0)->name(), "pool");

  // Numbers: fake_quant(relu(x)) -> MaxPool -> Conv in float.
  std::mt19937 rng(9);
  const Tensor x = testing::random_tensor({1, 2, 6, 6}, rng, -3.f, 6.f);  // saturates above 5.1
  Tensor r = x.clone();
  for (int64_t i = 0; i < r.numel(); ++i) r.data<float>()[i] = std::max(r.data<float>()[i], 0.f);
  ModelBuilder ref;
  Value* rx = ref.input("r", {1, 2, 6, 6});
  Value* rm = ref.node("MaxPool", {rx}, "pool", {1, 2, 3, 3});
  ref.g->find_node("pool")->attrs = c.b.g->find_node("pool")->attrs;
  ref.g->add_output(ref.conv("conv", rm, ref.constant("w", c.w), nullptr, {1, 2, 3, 3}));
  const Tensor expected = run(ref.model, fake_quantize_tensor(r, *c.set.at(0).params), false, false)[0];
  for (const ir::Model* model : {&m, &plain}) {
    for (bool dnnl : {false, true}) {
      EXPECT_EQ(testing::compare_tensors(run(*model, x, dnnl)[0], expected, 1e-5, 1e-5), "") << "dnnl " << dnnl;
    }
  }
}

TEST(MaterializeQdq, FloatConsumersStayFloat) {
  PoolCase c(true);
  const ir::Model m = materialize_qdq(c.b.model, c.set, MaterializeOptions{});
  const ir::Graph& g = *m.graph;
  // The Sigmoid still reads the Relu output; the Tanh reads the original (float) MaxPool; the Conv reads a copy of
  // the MaxPool that reads the quantized Relu output.
  EXPECT_EQ(g.find_node("sigmoid")->input(0)->name(), "relu_out");
  const ir::Node* tanh_src = producer_of(g.find_node("tanh"), 0);
  ASSERT_EQ(tanh_src->name(), "pool");
  EXPECT_EQ(tanh_src->input(0)->name(), "relu_out");
  const ir::Node* copy = producer_of(producer_of(producer_of(g.find_node("conv"), 0), 0), 0);
  ASSERT_NE(copy, nullptr);
  EXPECT_EQ(copy->op_type(), "MaxPool");
  EXPECT_EQ(copy->name(), "pool_quantized_path");
  EXPECT_EQ(copy->attrs.get_ints("kernel_shape"), (std::vector<int64_t>{2, 2}));
  EXPECT_EQ(producer_of(copy, 0)->op_type(), "DequantizeLinear");
  expect_checker_accepts(m);

  std::mt19937 rng(4);
  const Tensor x = testing::random_tensor({1, 2, 6, 6}, rng, -3.f, 6.f);
  const std::vector<Tensor> fp = run(c.b.model, x, false);
  const std::vector<Tensor> q = run(m, x, false);
  EXPECT_EQ(testing::compare_tensors(q[1], fp[1], 0, 0), "") << "Sigmoid output is float";
  EXPECT_EQ(testing::compare_tensors(q[2], fp[2], 0, 0), "") << "Tanh output is float";
  EXPECT_NE(testing::compare_tensors(q[0], fp[0], 0, 0), "") << "Conv output is quantized";
}

TEST(MaterializeQdq, ConcatOfTwoSourcesSharesOneQuantizer) {
  ModelBuilder b;
  Value* x = b.input("x", {1, 2, 4, 4});
  Value* a = b.node("Relu", {x}, "relu", {1, 2, 4, 4});
  Value* s = b.node("Sigmoid", {x}, "sigmoid", {1, 2, 4, 4});
  Value* cat = b.node("Concat", {a, s}, "concat", {1, 4, 4, 4});
  b.g->find_node("concat")->attrs.set("axis", int64_t{1});
  const Tensor w = testing::random_tensor({2, 4, 3, 3}, b.rng);
  b.g->add_output(b.conv("conv", cat, b.constant("w", w), nullptr, {1, 2, 4, 4}));
  QuantizerSet set;
  set.quantizers.push_back(quantizer(0, QuantizerKind::kActivation, {"relu_out", "sigmoid_out"}, {{"conv", 0}},
                                     per_tensor(DType::kUInt8, 1.f / 128)));
  const ir::Model m = materialize_qdq(b.model, set, MaterializeOptions{});
  const ir::Graph& g = *m.graph;
  EXPECT_EQ(count_ops(g, "QuantizeLinear"), 3u);
  const ir::Node* concat = g.find_node("concat");
  EXPECT_EQ(concat->input(0)->name(), "relu_out_DequantizeLinear_Output");
  EXPECT_EQ(concat->input(1)->name(), "sigmoid_out_DequantizeLinear_Output");
  EXPECT_EQ(producer_of(producer_of(g.find_node("conv"), 0), 0)->name(), "concat_out_QuantizeLinear");
  expect_checker_accepts(m);

  std::mt19937 rng(2);
  const Tensor xin = testing::random_tensor({1, 2, 4, 4}, rng, -4.f, 4.f);
  Tensor cat_t(DType::kFloat32, {1, 4, 4, 4});
  for (int64_t i = 0; i < 32; ++i) {
    const float v = xin.data<float>()[i];
    cat_t.data<float>()[i] = std::max(v, 0.f);
    cat_t.data<float>()[32 + i] = 1.f / (1.f + std::exp(-v));
  }
  ModelBuilder ref;
  ref.g->add_output(ref.conv("conv", ref.input("c", {1, 4, 4, 4}), ref.constant("w", w), nullptr, {1, 2, 4, 4}));
  const Tensor expected = run(ref.model, fake_quantize_tensor(cat_t, *set.at(0).params), false, false)[0];
  for (bool dnnl : {false, true}) {
    EXPECT_EQ(testing::compare_tensors(run(m, xin, dnnl)[0], expected, 1e-4, 1e-5), "") << "dnnl " << dnnl;
  }
}

TEST(MaterializeQdq, EdgeNotReachingItsSourcesIsInvalid) {
  ConvCase c;
  c.set.at(0).sources = {"w"};
  c.set.at(0).kind = QuantizerKind::kActivation;
  c.set.at(1).enabled = false;
  EXPECT_THROW(materialize_qdq(c.b.model, c.set, MaterializeOptions{}), InvalidModel);
}

}  // namespace
}  // namespace qwac::quant
