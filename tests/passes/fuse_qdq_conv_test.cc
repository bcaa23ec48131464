// FuseQdqConv: which QDQ Conv patterns become QConv (structure), which are left alone, and the numbers: the engine
// with EngineOptions::int8 against the float simulation on a small graph and on the shared resnet20 / squeezenet
// models quantized as `qwac quantize` does (top-1 agreement on 200 samples).
#include "passes/qdq/qdq_fusion.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <map>
#include <random>

#include "config/compression_config.h"
#include "config/config.h"
#include "ir/fused_ops.h"
#include "kernels/kernel_test_util.h"
#include "model_builder.h"
#include "onnx/model_io.h"
#include "quant/quantize.h"
#include "runtime/engine.h"
#include "test_util.h"

namespace qwac::passes {
namespace {

using ir::Value;
using In = ir::QConvInputs;
using testing::make_scalar;
using testing::make_tensor;

struct QdqBuilder : testing::ModelBuilder {
  QdqBuilder() : testing::ModelBuilder(23) {}
  // Conv whose weights are DequantizeLinear(int8 constant, per-channel scale, axis 0) and whose bias is
  // DequantizeLinear(int32 constant) with scale x_scale * w_scale, as the exporter writes them.
  Value* qconv_pattern(const std::string& name, Value* x_dq, int64_t c_in, int64_t c_out, float x_scale,
                       bool with_bias = true, int64_t group = 1) {
    Tensor w(DType::kInt8, {c_out, c_in / group, 3, 3});
    std::uniform_int_distribution<int> d(-127, 127);
    for (int64_t i = 0; i < w.numel(); ++i) w.data<int8_t>()[i] = static_cast<int8_t>(d(rng));
    Tensor ws(DType::kFloat32, {c_out});
    Tensor bias(DType::kInt32, {c_out});
    Tensor bs(DType::kFloat32, {c_out});
    for (int64_t m = 0; m < c_out; ++m) {
      ws.data<float>()[m] = 0.002f + 0.0005f * static_cast<float>(m);
      bias.data<int32_t>()[m] = d(rng) * 20;
      bs.data<float>()[m] = x_scale * ws.data<float>()[m];
    }
    Value* w_dq = node("DequantizeLinear",
                       {g->add_constant(name + "_w", w), g->add_constant(name + "_ws", ws),
                        g->add_constant(name + "_wz", Tensor(DType::kInt8, {c_out}))},
                       name + "_wdq");
    g->find_node(name + "_wdq")->attrs.set("axis", int64_t{0});
    std::vector<Value*> inputs = {x_dq, w_dq};
    if (with_bias) {
      inputs.push_back(node("DequantizeLinear", {g->add_constant(name + "_b", bias), g->add_constant(name + "_bs", bs)},
                            name + "_bdq"));
      g->find_node(name + "_bdq")->attrs.set("axis", int64_t{0});
    }
    Value* y = node("Conv", inputs, name);
    g->find_node(name)->attrs.set("pads", std::vector<int64_t>{1, 1, 1, 1});
    if (group > 1) g->find_node(name)->attrs.set("group", group);
    return y;
  }
};

size_t count_ops(const ir::Graph& g, const std::string& op_type) {
  size_t n = 0;
  for (const ir::Node* node : g.nodes()) n += node->op_type() == op_type ? 1 : 0;
  return n;
}

// x -> Q -> DQ -> Conv -> Relu -> Q -> DQ -> {Conv2 (float output), Add}; Conv2 -> output.
struct TwoConvModel {
  QdqBuilder b;
  Value* q1 = nullptr;
  Value* q2 = nullptr;
  TwoConvModel() {
    Value* x = b.input("x", {2, 8, 9, 9});
    Value* dq1 = b.qdq<uint8_t>("in", x, 0.02f, 128, &q1);
    Value* r = b.node("Relu", {b.qconv_pattern("conv1", dq1, 8, 16, 0.02f)}, "relu");
    Value* dq2 = b.qdq<uint8_t>("mid", r, 0.015f, 0, &q2);
    Value* c2 = b.qconv_pattern("conv2", dq2, 16, 16, 0.015f, false, 4);
    b.g->add_output(b.node("Add", {c2, dq2}, "add"));
  }
};

TEST(FuseQdqConv, FusesConvWithQuantizedOutputAndFloatOutput) {
  TwoConvModel m;
  ir::Graph& g = *m.b.g;
  EXPECT_TRUE(FuseQdqConv().run(m.b.model));
  g.verify();
  EXPECT_EQ(count_ops(g, "QConv"), 2u);
  EXPECT_EQ(count_ops(g, "Conv"), 0u);
  EXPECT_EQ(count_ops(g, "Relu"), 0u);
  EXPECT_EQ(count_ops(g, "QuantizeLinear"), 0u) << "conv1 quantizes its float input; the Q after Relu is fused";
  // Left: the mid DQ for the Add and conv1's bias DQ (folded at compile time).
  EXPECT_EQ(count_ops(g, "DequantizeLinear"), 2u);
  EXPECT_EQ(g.find_value("conv1_w") != nullptr && g.find_node("conv1_wdq") == nullptr, true);

  const ir::Node* c1 = g.find_node("conv1");
  ASSERT_NE(c1, nullptr);
  EXPECT_EQ(c1->op_type(), ir::kQConvOp);
  EXPECT_EQ(c1->domain(), ir::kQwacDomain);
  EXPECT_EQ(c1->num_inputs(), In::kCount);
  EXPECT_EQ(c1->input(In::kX)->name(), "x") << "the float input, quantized by the QConv";
  EXPECT_EQ(c1->input(In::kXScale)->name(), "in_s");
  EXPECT_EQ(c1->input(In::kW)->name(), "conv1_w");
  EXPECT_EQ(c1->input(In::kBias)->name(), "conv1_bdq_out");
  EXPECT_EQ(c1->output(0), m.q2) << "the QConv writes the integer tensor the Q wrote";
  EXPECT_EQ(c1->attrs.get_string("activation"), "Relu");
  EXPECT_EQ(c1->attrs.get_ints("pads"), (std::vector<int64_t>{1, 1, 1, 1}));

  const ir::Node* c2 = g.find_node("conv2");
  ASSERT_NE(c2, nullptr);
  EXPECT_EQ(c2->op_type(), ir::kQConvOp);
  EXPECT_EQ(c2->num_inputs(), In::kWScale + 1) << "no bias, no output quantizer";
  EXPECT_EQ(c2->input(In::kX), m.q2);
  EXPECT_EQ(c2->attrs.get_int("group"), 4);
  EXPECT_FALSE(c2->attrs.has("activation"));
  EXPECT_EQ(c2->output(0)->name(), "conv2_out");
  EXPECT_EQ(g.find_node("mid_dq")->output(0)->uses().size(), 1u) << "the Add still reads the dequantized tensor";
  EXPECT_EQ(m.b.model.opset(std::string(ir::kQwacDomain)), 1);
  EXPECT_FALSE(FuseQdqConv().run(m.b.model)) << "a second run finds nothing";
}

TEST(FuseQdqConv, LeavesOtherPatternsAlone) {
  enum class Break { kFloatWeights, kWeightZeroPoint, kPerChannelActivation, kNonConstantScale, kWeightAxis1 };
  for (Break what : {Break::kFloatWeights, Break::kWeightZeroPoint, Break::kPerChannelActivation,
                     Break::kNonConstantScale, Break::kWeightAxis1}) {
    QdqBuilder b;
    Value* x = b.input("x", {1, 4, 5, 5});
    Value* s = what == Break::kNonConstantScale ? b.input("s", {}) : b.g->add_constant("s", make_scalar(0.1f));
    Value* z = b.g->add_constant(
        "z", what == Break::kPerChannelActivation ? Tensor(DType::kUInt8, {4}) : make_scalar<uint8_t>(0));
    if (what == Break::kPerChannelActivation)
      s = b.g->add_constant("s4", make_tensor<float>({4}, {.1f, .1f, .2f, .2f}));
    Value* dq = b.node("DequantizeLinear", {b.node("QuantizeLinear", {x, s, z}, "q"), s, z}, "dq");
    Value* w = nullptr;
    if (what == Break::kFloatWeights) {
      w = b.g->add_constant("w", testing::random_tensor({4, 4, 3, 3}, b.rng));
    } else {
      Tensor wz(DType::kInt8, {4});
      if (what == Break::kWeightZeroPoint) wz.data<int8_t>()[2] = 3;
      w = b.node("DequantizeLinear",
                 {b.g->add_constant("wq", Tensor(DType::kInt8, {4, 4, 3, 3})),
                  b.g->add_constant("ws", make_tensor<float>({4}, {.1f, .2f, .3f, .4f})), b.g->add_constant("wz", wz)},
                 "wdq");
      if (what != Break::kWeightAxis1) b.g->find_node("wdq")->attrs.set("axis", int64_t{0});
    }
    b.g->add_output(b.node("Conv", {dq, w}, "conv"));
    const size_t nodes = b.g->num_nodes();
    FuseQdqConv pass;
    EXPECT_FALSE(pass.run(b.model)) << "case " << static_cast<int>(what);
    EXPECT_EQ(b.g->num_nodes(), nodes) << "case " << static_cast<int>(what);
    EXPECT_EQ(count_ops(*b.g, "QConv"), 0u) << "case " << static_cast<int>(what);

    // The note says which input and which condition: what a user reads in `qwac inspect --plan --int8`.
    static const std::map<Break, std::string> kReason = {
        {Break::kFloatWeights, "weights W are not the output of a DequantizeLinear"},
        {Break::kWeightZeroPoint, "weights' DequantizeLinear 'wdq': the weights are asymmetric"},
        {Break::kPerChannelActivation, "input X's DequantizeLinear 'dq': its scale is not a constant float scalar"},
        {Break::kNonConstantScale, "input X's DequantizeLinear 'dq': its scale is not a constant float scalar"},
        {Break::kWeightAxis1, "weights' DequantizeLinear 'wdq': the weight scale is per channel on axis 1"},
    };
    ASSERT_EQ(pass.notes().size(), 1u) << "case " << static_cast<int>(what);
    EXPECT_EQ(pass.notes()[0].node_name, "conv");
    EXPECT_EQ(pass.notes()[0].op_type, "Conv");
    EXPECT_NE(pass.notes()[0].reason.find(kReason.at(what)), std::string::npos)
        << "case " << static_cast<int>(what) << ": " << pass.notes()[0].reason;
    pass.run(b.model);
    EXPECT_EQ(pass.notes().size(), 1u) << "notes of the previous run are cleared";
  }
}

TEST(FuseQdqConv, NotesFloatConvsAndNothingForFusedOnes) {
  TwoConvModel m;
  FuseQdqConv pass;
  EXPECT_TRUE(pass.run(m.b.model));
  EXPECT_TRUE(pass.notes().empty()) << pass.notes()[0].node_name << ": " << pass.notes()[0].reason;

  // A Conv on a float activation (graph input) with int8 weights.
  QdqBuilder b;
  Value* x = b.input("x", {1, 4, 5, 5});
  b.g->add_output(b.qconv_pattern("conv", x, 4, 4, 0.1f));
  EXPECT_FALSE(pass.run(b.model));
  ASSERT_EQ(pass.notes().size(), 1u);
  EXPECT_EQ(pass.notes()[0].reason,
            "not run in int8: input X is not the output of a DequantizeLinear (a float activation)");
}

// Engine with int8 (QConv on oneDNN int8, and on the reference kernel) against the float simulation.
TEST(FuseQdqConv, EngineInt8AgreesWithFloatSimulation) {
  TwoConvModel m;
  std::mt19937 rng(5);
  const Tensor x = testing::random_tensor({2, 8, 9, 9}, rng, -2.5f, 2.5f);
  runtime::EngineOptions o;
  o.num_threads = 2;
  const Tensor expected = runtime::Engine(m.b.model, o).run({{"x", x}})[0];
  for (bool dnnl : {true, false}) {
    o.use_dnnl = dnnl;
    o.int8 = true;
    runtime::Engine engine(m.b.model, o);
    size_t qconv = 0;
    for (const runtime::PlannedNode& p : engine.planned_nodes()) {
      if (p.op_type != "QConv") continue;
      ++qconv;
      EXPECT_EQ(p.impl, dnnl ? "dnnl" : "ref") << p.node_name;
    }
    EXPECT_EQ(qconv, 2u);
    const Tensor got = engine.run({{"x", x}})[0];
    // One step of the mid quantizer (0.015) moves conv2's output by at most sum|w| * s_w * 0.015 (here < 2.5);
    // differences must be rare and small.
    int64_t differ = 0;
    for (int64_t i = 0; i < got.numel(); ++i) {
      const float d = std::fabs(got.data<float>()[i] - expected.data<float>()[i]);
      if (d > 1e-4f) ++differ;
      EXPECT_LT(d, 2.5f) << "element " << i << (dnnl ? " (dnnl)" : " (ref)");
    }
    EXPECT_LE(differ, got.numel() / 100) << (dnnl ? "dnnl" : "ref");
  }
}

// Top-1 of the engine with and without int8 on a shared model quantized from its example config.
// The model runs at `batch` (resnet20 is exported with a fixed batch-1 Reshape).
double top1_agreement(const std::string& config_name, int64_t samples, int64_t batch) {
  const config::Config cfg = config::load_config(std::string(QWAC_SOURCE_DIR) + "/examples/" + config_name);
  const ir::Model fp32 = onnxio::load_model(cfg.model.model);
  const DatasetPtr data = config::build_dataset(cfg, fp32).dataset;
  const config::CompressionSection compression = config::parse_compression(cfg.compression);
  const QuantizationConfig params =
      config::parse_default_quantization_params(compression.algorithms.at(0), compression.target_device);
  RunOptions run;
  run.threads = 2;
  const QuantizeOutput q = quantize(fp32, *data, params, run);
  const std::string input = q.model->graph->inputs().at(0)->name();
  Sample first = data->get(0);
  Shape shape = first.inputs.at(input).shape();
  shape[0] = batch;
  runtime::EngineOptions o;
  o.num_threads = 2;
  runtime::Engine simulated(*q.model, o, {{input, shape}});
  o.int8 = true;
  runtime::Engine int8(*q.model, o, {{input, shape}});
  size_t int8_nodes = 0, qconv_nodes = 0, conv_nodes = 0;
  for (const runtime::PlannedNode& p : int8.planned_nodes()) {
    int8_nodes += p.op_type == "QConv" && p.impl == "dnnl";
    qconv_nodes += p.op_type == "QConv";
    conv_nodes += p.op_type == "Conv" || p.op_type == "FusedConv";
    for (const std::string& d : p.declines) std::cout << "  " << p.node_name << " (" << p.op_type << "): " << d << "\n";
  }
  std::cout << config_name << ": " << int8_nodes << " QConv on oneDNN int8, " << qconv_nodes - int8_nodes
            << " on the reference kernel, " << conv_nodes << " Conv left in float\n";
  EXPECT_EQ(int8_nodes, qconv_nodes) << config_name << ": every QConv of the shared models runs on oneDNN";
  EXPECT_EQ(conv_nodes, 0u) << config_name << ": every Conv of a quantized shared model is a QDQ pattern";
  int64_t agree = 0;
  for (int64_t start = 0; start < samples; start += batch) {
    std::vector<Sample> batch_samples;
    for (int64_t i = start; i < start + batch; ++i) batch_samples.push_back(data->get(i));
    const std::map<std::string, Tensor> inputs = stack_inputs(batch_samples);
    const Tensor a = simulated.run(inputs)[0];
    const Tensor b = int8.run(inputs)[0];
    const int64_t classes = a.numel() / batch;
    for (int64_t s = 0; s < batch; ++s) {
      const float* pa = a.data<float>() + s * classes;
      const float* pb = b.data<float>() + s * classes;
      agree += std::max_element(pa, pa + classes) - pa == std::max_element(pb, pb + classes) - pb;
    }
  }
  return static_cast<double>(agree) / static_cast<double>(samples);
}

constexpr int64_t kAgreementSamples = 200;
constexpr double kMinAgreement = 0.995;

TEST(FuseQdqConv, Resnet20Int8Top1AgreesWithSimulation) {
  QWAC_REQUIRE_SHARED();
  const double agreement = top1_agreement("resnet20-cifar10-cifar10-test-jpeg.json", kAgreementSamples, 1);
  std::cout << "resnet20 int8 vs simulation top-1 agreement: " << agreement << "\n";
  EXPECT_GE(agreement, kMinAgreement);
}

TEST(FuseQdqConv, SqueezenetInt8Top1AgreesWithSimulation) {
  QWAC_REQUIRE_SHARED();
  const double agreement = top1_agreement("squeezenet1.1-imagenet-sample-1000.json", kAgreementSamples, 8);
  std::cout << "squeezenet1.1 int8 vs simulation top-1 agreement: " << agreement << "\n";
  EXPECT_GE(agreement, kMinAgreement);
}

}  // namespace
}  // namespace qwac::passes
