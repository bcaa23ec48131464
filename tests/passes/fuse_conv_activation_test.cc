// FuseConvActivation: structure (which chains become FusedConv, which are left alone) and numbers (the engine's
// outputs with and without the pass agree, on the reference kernels and on oneDNN).
#include "passes/fuse_conv_activation.h"

#include <gtest/gtest.h>

#include <random>

#include "ir/activation.h"
#include "ir/fused_ops.h"
#include "passes/pass_list.h"
#include "runtime/engine.h"
#include "test_util.h"

namespace qwac::passes {
namespace {

using ir::Value;

// Builds models in code: activations and weights with declared float types and shapes.
struct ModelBuilder {
  ir::Model model;
  ir::Graph* g;
  std::mt19937 rng{7};
  explicit ModelBuilder(int64_t opset = 13) {
    model.ir_version = 8;
    model.opset_imports = {{"", opset}};
    model.graph = std::make_unique<ir::Graph>();
    g = model.graph.get();
  }
  Value* input(const std::string& name, const Shape& shape) {
    Value* v = g->add_value(name);
    v->type.dtype = DType::kFloat32;
    ir::SymbolicShape s;
    for (int64_t d : shape) s.push_back({d, ""});
    v->type.shape = s;
    g->add_input(v);
    return v;
  }
  Value* constant(const std::string& name, const Shape& shape) {
    return g->add_constant(name, testing::random_tensor(shape, rng, -0.5f, 0.5f));
  }
  Value* scalar(const std::string& name, float value) {
    return g->add_constant(name, Tensor::from_values<float>({}, &value));
  }
  // 3x3 "same" Conv with bias from `c_in` to `c_out` channels.
  Value* conv(const std::string& name, Value* x, int64_t c_in, int64_t c_out) {
    Value* y = g->add_value(name + "_out");
    ir::Node* n = g->add_node("Conv", {x, constant(name + "_w", {c_out, c_in, 3, 3}), constant(name + "_b", {c_out})},
                              {y}, name);
    n->attrs.set("pads", std::vector<int64_t>{1, 1, 1, 1});
    return y;
  }
  Value* node(const std::string& op, const std::vector<Value*>& inputs, const std::string& name) {
    Value* y = g->add_value(name + "_out");
    g->add_node(op, inputs, {y}, name);
    return y;
  }
};

size_t count_ops(const ir::Graph& g, const std::string& op_type) {
  size_t n = 0;
  for (const ir::Node* node : g.nodes()) n += node->op_type() == op_type ? 1 : 0;
  return n;
}

// Outputs of `model` run by the engine, for a fixed random input.
std::vector<Tensor> run(const ir::Model& model, bool use_dnnl, bool fuse,
                        std::vector<runtime::PlannedNode>* plan = nullptr) {
  runtime::EngineOptions options;
  options.use_dnnl = use_dnnl;
  options.fuse = fuse;
  options.num_threads = 1;
  runtime::Engine engine(model, options);
  std::mt19937 rng(123);
  std::map<std::string, Tensor> inputs;
  for (const runtime::IoSpec& in : engine.inputs()) inputs[in.name] = testing::random_tensor(in.shape, rng);
  if (plan != nullptr) *plan = engine.planned_nodes();
  return engine.run(inputs);
}

// Residual block: x -> conv1 -> relu -> y1 ; y1 -> conv2 -> Add(., y1) -> relu -> out.
ModelBuilder residual_block() {
  ModelBuilder b;
  Value* x = b.input("x", {2, 8, 9, 9});
  Value* y1 = b.node("Relu", {b.conv("conv1", x, 8, 8)}, "relu1");
  Value* sum = b.node("Add", {b.conv("conv2", y1, 8, 8), y1}, "add");
  b.g->add_output(b.node("Relu", {sum}, "relu2"));
  return b;
}

TEST(FuseConvActivation, FusesActivationAndResidual) {
  ModelBuilder b = residual_block();
  const ir::Model original = b.model.clone();
  FuseConvActivation pass;
  EXPECT_TRUE(pass.run(b.model));
  b.g->verify();
  EXPECT_EQ(b.g->num_nodes(), 2u);
  EXPECT_EQ(count_ops(*b.g, "FusedConv"), 2u);
  EXPECT_EQ(b.model.opset(std::string(ir::kQwacDomain)), 1);
  const ir::Node* conv1 = b.g->find_node("conv1");
  const ir::Node* conv2 = b.g->find_node("conv2");
  ASSERT_NE(conv1, nullptr);
  ASSERT_NE(conv2, nullptr);
  EXPECT_EQ(conv1->domain(), ir::kQwacDomain);
  EXPECT_EQ(conv1->attrs.get_string("activation"), "Relu");
  EXPECT_EQ(conv1->num_inputs(), 3u);
  EXPECT_EQ(conv1->attrs.get_ints("pads"), (std::vector<int64_t>{1, 1, 1, 1}));
  EXPECT_EQ(conv2->num_inputs(), 4u);
  EXPECT_EQ(conv2->input(3), conv1->output(0));  // the residual
  EXPECT_EQ(conv2->attrs.get_string("activation"), "Relu");
  EXPECT_EQ(conv2->output(0), b.g->outputs()[0]);  // the graph output keeps its value (and name)
  EXPECT_FALSE(pass.run(b.model)) << "a second run finds nothing";

  // Numbers: reference kernels unfused vs reference FusedConv vs oneDNN fused (the engine's own pass).
  const std::vector<Tensor> expected = run(original, false, false);
  const std::vector<Tensor> fused_ref = run(b.model, false, false);
  std::vector<runtime::PlannedNode> plan;
  const std::vector<Tensor> fused_dnnl = run(original, true, true, &plan);
  ASSERT_EQ(plan.size(), 2u);
  for (const runtime::PlannedNode& p : plan) {
    EXPECT_EQ(p.op_type, "FusedConv");
    EXPECT_EQ(p.impl, "dnnl") << p.node_name;
  }
  ASSERT_EQ(expected.size(), 1u);
  EXPECT_EQ(testing::compare_tensors(fused_ref[0], expected[0], 1e-5, 1e-6), "");
  EXPECT_EQ(testing::compare_tensors(fused_dnnl[0], expected[0], 1e-4, 1e-4), "");
}

TEST(FuseConvActivation, ClipBoundsAndParametersAreCarried) {
  ModelBuilder b(13);
  Value* x = b.input("x", {1, 3, 7, 7});
  Value* c1 = b.node("Clip", {b.conv("conv1", x, 3, 4), b.scalar("lo", -0.1f), b.scalar("hi", 0.2f)}, "clip");
  ir::Node* leaky_src = nullptr;
  Value* c2 = b.conv("conv2", c1, 4, 4);
  Value* y = b.node("LeakyRelu", {c2}, "leaky");
  leaky_src = b.g->find_node("leaky");
  leaky_src->attrs.set("alpha", 0.3f);
  b.g->add_output(y);
  const ir::Model original = b.model.clone();
  EXPECT_TRUE(FuseConvActivation().run(b.model));
  b.g->verify();
  EXPECT_EQ(count_ops(*b.g, "FusedConv"), 2u);
  EXPECT_EQ(b.g->find_value("lo"), nullptr) << "the Clip bounds are dropped with the Clip";
  EXPECT_EQ(b.g->find_node("conv1")->attrs.get_floats("activation_params"), (std::vector<float>{-0.1f, 0.2f}));
  EXPECT_EQ(b.g->find_node("conv2")->attrs.get_floats("activation_params"), (std::vector<float>{0.3f}));
  const std::vector<Tensor> expected = run(original, false, false);
  EXPECT_EQ(testing::compare_tensors(run(b.model, false, false)[0], expected[0], 1e-5, 1e-6), "");
  EXPECT_EQ(testing::compare_tensors(run(original, true, true)[0], expected[0], 1e-4, 1e-4), "");
}

TEST(FuseConvActivation, LeavesUnsafeChainsAlone) {
  {  // Conv output is also a graph output.
    ModelBuilder b;
    Value* c = b.conv("conv", b.input("x", {1, 2, 5, 5}), 2, 2);
    b.g->add_output(b.node("Relu", {c}, "relu"));
    b.g->add_output(c);
    EXPECT_FALSE(FuseConvActivation().run(b.model));
  }
  {  // Conv output has two consumers.
    ModelBuilder b;
    Value* c = b.conv("conv", b.input("x", {1, 2, 5, 5}), 2, 2);
    b.g->add_output(b.node("Relu", {c}, "relu"));
    b.g->add_output(b.node("Sigmoid", {c}, "sigmoid"));
    EXPECT_FALSE(FuseConvActivation().run(b.model));
  }
  {  // Add of a constant (a bias, not a residual), then Relu: the Conv's consumer is not fusable.
    ModelBuilder b;
    Value* c = b.conv("conv", b.input("x", {1, 2, 5, 5}), 2, 2);
    Value* s = b.node("Add", {c, b.constant("bias", {2, 1, 1})}, "add");
    b.g->add_output(b.node("Relu", {s}, "relu"));
    EXPECT_FALSE(FuseConvActivation().run(b.model));
    EXPECT_EQ(b.g->num_nodes(), 3u);
  }
  {  // Clip with bounds computed at run time.
    ModelBuilder b;
    Value* lo = b.input("lo", {});
    Value* c = b.conv("conv", b.input("x", {1, 2, 5, 5}), 2, 2);
    b.g->add_output(b.node("Clip", {c, lo}, "clip"));
    EXPECT_FALSE(FuseConvActivation().run(b.model));
  }
  {  // Residual whose declared shape differs (it broadcasts).
    ModelBuilder b;
    Value* r = b.input("r", {1, 2, 1, 1});
    Value* c = b.conv("conv", b.input("x", {1, 2, 5, 5}), 2, 2);
    c->type.dtype = DType::kFloat32;
    c->type.shape = ir::SymbolicShape{{1, ""}, {2, ""}, {5, ""}, {5, ""}};
    b.g->add_output(b.node("Add", {c, r}, "add"));
    EXPECT_FALSE(FuseConvActivation().run(b.model));
  }
}

TEST(FuseConvActivation, ResidualWithoutActivation) {
  ModelBuilder b;
  Value* x = b.input("x", {1, 4, 6, 6});
  Value* r = b.input("r", {1, 4, 6, 6});
  b.g->add_output(b.node("Add", {r, b.conv("conv", x, 4, 4)}, "add"));  // residual as the first Add operand
  const ir::Model original = b.model.clone();
  EXPECT_TRUE(FuseConvActivation().run(b.model));
  const ir::Node* fused = b.g->find_node("conv");
  ASSERT_NE(fused, nullptr);
  EXPECT_FALSE(fused->attrs.has("activation"));
  EXPECT_EQ(fused->input(3), b.g->find_value("r"));
  const std::vector<Tensor> expected = run(original, false, false);
  EXPECT_EQ(testing::compare_tensors(run(b.model, false, false)[0], expected[0], 1e-5, 1e-6), "");
  EXPECT_EQ(testing::compare_tensors(run(original, true, true)[0], expected[0], 1e-4, 1e-4), "");
}

// Every kind of the activation table that ONNX has an op for: Conv -> that op becomes one FusedConv run by oneDNN
// with the activation as a post-op, and computes what the two ops compute on the reference kernels (a kind added to
// the table is tested here without a new case).
TEST(FuseConvActivation, EveryOnnxActivationOfTheTableFusesIntoTheConv) {
  constexpr int64_t kOpset = 20;  // HardSwish (14), Mish (18), Gelu (20)
  int kinds = 0;
  for (const ir::ActivationFacts& f : ir::kActivationFacts) {
    if (f.onnx_op.empty()) continue;
    ++kinds;
    ModelBuilder b(kOpset);
    Value* c = b.conv("conv", b.input("x", {2, 8, 7, 7}), 8, 8);
    std::vector<Value*> inputs = {c};
    if (f.kind == ir::ActivationKind::kClip) inputs = {c, b.scalar("lo", -0.3f), b.scalar("hi", 0.4f)};
    b.g->add_output(b.node(std::string(f.onnx_op), inputs, "act"));
    if (f.num_params > 0 && f.kind != ir::ActivationKind::kClip) {
      b.g->find_node("act")->attrs.set(std::string(f.params[0]), f.defaults[0] * 0.7f);
    }
    const std::vector<Tensor> expected = run(b.model, /*use_dnnl=*/false, /*fuse=*/false);
    std::vector<runtime::PlannedNode> plan;
    const std::vector<Tensor> fused = run(b.model, /*use_dnnl=*/true, /*fuse=*/true, &plan);
    ASSERT_EQ(plan.size(), 1u) << f.onnx_op << ": the activation runs as the Conv's post-op";
    EXPECT_EQ(plan[0].op_type, ir::kFusedConvOp) << f.onnx_op;
    EXPECT_EQ(plan[0].impl, "dnnl") << f.onnx_op;
    EXPECT_EQ(testing::compare_tensors(fused[0], expected[0], 1e-4, 1e-5), "") << f.onnx_op;
  }
  EXPECT_GE(kinds, 9);
}

TEST(FuseConvActivation, IsInTheEngineFusionList) {
  bool found = false;
  for (const auto& p : engine_fusion_passes()) found = found || p->name() == FuseConvActivation().name();
  EXPECT_TRUE(found);
}

}  // namespace
}  // namespace qwac::passes
