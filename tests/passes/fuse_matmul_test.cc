// FuseMatMul: structure (a BERT-style and a DeiT-style attention block plus MLP become FusedMatMuls with no
// Transpose, Gather, scale, bias, mask or residual Add left) and numbers (the engine computes the same with and
// without the pass, on oneDNN and on the reference kernels).
#include "passes/fuse_matmul.h"

#include <gtest/gtest.h>

#include <random>

#include "ir/fused_matmul.h"
#include "ir/fused_ops.h"
#include "model_builder.h"
#include "passes/fold_constant_nodes.h"
#include "runtime/engine.h"
#include "test_util.h"

namespace qwac::passes {
namespace {

using ir::Value;

size_t count_ops(const ir::Graph& g, const std::string& op_type) {
  size_t n = 0;
  for (const ir::Node* node : g.nodes()) n += node->op_type() == op_type ? 1 : 0;
  return n;
}

struct Block : testing::ModelBuilder {
  explicit Block(int64_t opset = 14) : testing::ModelBuilder(41, opset) {}
  Value* weight(const std::string& name, const Shape& shape) {
    return g->add_constant(name, testing::random_tensor(shape, rng, -0.3f, 0.3f));
  }
  Value* ints(const std::string& name, std::vector<int64_t> v) {
    return g->add_constant(name, Tensor::from_values<int64_t>({static_cast<int64_t>(v.size())}, v.data()));
  }
  Value* scalar(const std::string& name, float v) { return g->add_constant(name, Tensor::from_values<float>({}, &v)); }
  Value* index(const std::string& name, int64_t v) { return g->add_constant(name, Tensor::from_values<int64_t>({}, &v)); }
  Value* transpose(Value* x, std::vector<int64_t> perm, const std::string& name) {
    Value* y = node("Transpose", {x}, name);
    y->producer()->attrs.set("perm", perm);
    return y;
  }
  // x @ W + b with the bias first, as PyTorch writes it.
  Value* linear(Value* x, int64_t in, int64_t out, const std::string& name) {
    Value* mm = node("MatMul", {x, weight(name + "_w", {in, out})}, name);
    return node("Add", {weight(name + "_b", {out}), mm}, name + "_bias");
  }
};

constexpr int64_t kBatch = 2, kTokens = 6, kHeads = 2, kHeadDim = 8, kDim = kHeads * kHeadDim;

// BERT-style post-norm-free block: separate Q/K/V projections, scores / sqrt(d) + mask, residual, MLP with Relu.
Block bert_block() {
  Block b;
  Value* x = b.input("x", {kBatch, kTokens, kDim});
  Value* mask = b.input("mask", {kBatch, 1, 1, kTokens});
  Value* heads = b.ints("heads_shape", {kBatch, kTokens, kHeads, kHeadDim});
  Value* q = b.transpose(b.node("Reshape", {b.linear(x, kDim, kDim, "q"), heads}, "q_heads"), {0, 2, 1, 3}, "q_t");
  Value* k = b.transpose(b.node("Reshape", {b.linear(x, kDim, kDim, "k"), heads}, "k_heads"), {0, 2, 3, 1}, "k_t");
  Value* v = b.transpose(b.node("Reshape", {b.linear(x, kDim, kDim, "v"), heads}, "v_heads"), {0, 2, 1, 3}, "v_t");
  Value* s = b.node("MatMul", {q, k}, "scores");
  s = b.node("Add", {b.node("Div", {s, b.scalar("sqrt_d", 2.8284271f)}, "scaled"), mask}, "masked");
  Value* p = b.node("Softmax", {s}, "probs");
  p->producer()->attrs.set("axis", int64_t{-1});
  Value* ctx = b.transpose(b.node("MatMul", {p, v}, "context"), {0, 2, 1, 3}, "context_t");
  ctx = b.node("Reshape", {ctx, b.ints("merged_shape", {kBatch, kTokens, kDim})}, "merged");
  Value* o = b.node("Add", {x, b.linear(ctx, kDim, kDim, "o")}, "residual");
  Value* h = b.node("Relu", {b.linear(o, kDim, 4 * kDim, "fc1")}, "act");
  b.g->add_output(b.linear(h, 4 * kDim, kDim, "fc2"));
  return b;
}

// DeiT-style block: one QKV projection split by Reshape, Transpose [2,0,3,1,4] and Gather, scores * scale.
Block deit_block() {
  Block b;
  Value* x = b.input("x", {kBatch, kTokens, kDim});
  Value* qkv = b.node("Reshape", {b.linear(x, kDim, 3 * kDim, "qkv"), b.ints("qkv_shape", {kBatch, kTokens, 3, kHeads, kHeadDim})},
                      "qkv_heads");
  qkv = b.transpose(qkv, {2, 0, 3, 1, 4}, "qkv_t");
  Value* q = b.node("Gather", {qkv, b.index("i0", 0)}, "q");
  Value* k = b.transpose(b.node("Gather", {qkv, b.index("i1", 1)}, "k"), {0, 1, 3, 2}, "k_t");
  Value* v = b.node("Gather", {qkv, b.index("i2", 2)}, "v");
  Value* s = b.node("Mul", {b.node("MatMul", {q, k}, "scores"), b.scalar("scale", 0.35355339f)}, "scaled");
  Value* p = b.node("Softmax", {s}, "probs");
  p->producer()->attrs.set("axis", int64_t{-1});
  Value* ctx = b.transpose(b.node("MatMul", {p, v}, "context"), {0, 2, 1, 3}, "context_t");
  ctx = b.node("Reshape", {ctx, b.ints("merged_shape", {kBatch, kTokens, kDim})}, "merged");
  b.g->add_output(b.node("Add", {x, b.linear(ctx, kDim, kDim, "proj")}, "residual"));
  return b;
}

std::vector<Tensor> run(const ir::Model& model, bool use_dnnl) {
  runtime::EngineOptions options;
  options.use_dnnl = use_dnnl;
  options.fuse = false;  // the test applies the pass itself
  options.num_threads = 1;
  runtime::Engine engine(model, options);
  std::mt19937 rng(8);
  std::map<std::string, Tensor> inputs;
  for (const runtime::IoSpec& in : engine.inputs()) inputs[in.name] = testing::random_tensor(in.shape, rng);
  return engine.run(inputs);
}

void expect_same_numbers(const ir::Model& before, const ir::Model& after) {
  const Tensor expected = run(before, false)[0];
  for (bool dnnl : {false, true}) {
    EXPECT_EQ(testing::compare_tensors(run(after, dnnl)[0], expected, 1e-4, 1e-5), "") << (dnnl ? "dnnl" : "ref");
  }
}

TEST(FuseMatMul, BertAttentionAndMlp) {
  Block b = bert_block();
  const ir::Model before = b.model.clone();
  FuseMatMul pass;
  ASSERT_TRUE(pass.run(b.model));
  b.g->verify();
  EXPECT_EQ(count_ops(*b.g, "MatMul"), 0u);
  EXPECT_EQ(count_ops(*b.g, std::string(ir::kFusedMatMulOp)), 8u);
  EXPECT_EQ(count_ops(*b.g, "Transpose"), 0u) << "every head transposition is a strided view";
  EXPECT_EQ(count_ops(*b.g, "Add"), 0u) << "biases, the mask and the residual are folded";
  EXPECT_EQ(count_ops(*b.g, "Div"), 0u);
  EXPECT_EQ(count_ops(*b.g, "Relu"), 0u);
  const ir::Node* scores = b.g->find_node("scores");
  ASSERT_NE(scores, nullptr);
  EXPECT_EQ(scores->attrs.get_ints("perm_a"), (std::vector<int64_t>{0, 2, 1, 3}));
  EXPECT_EQ(scores->attrs.get_ints("perm_b"), (std::vector<int64_t>{0, 2, 3, 1}));
  EXPECT_NEAR(scores->attrs.get_float("alpha"), 1 / 2.8284271f, 1e-7);
  EXPECT_EQ(scores->input(ir::FusedMatMulInputs::kZ)->name(), "mask");
  const ir::Node* context = b.g->find_node("context");
  EXPECT_EQ(context->attrs.get_ints("perm_y"), (std::vector<int64_t>{0, 2, 1, 3}));
  EXPECT_EQ(b.g->find_node("o")->input(ir::FusedMatMulInputs::kZ)->name(), "x");
  EXPECT_EQ(b.g->find_node("fc1")->attrs.get_string("activation"), "Relu");
  expect_same_numbers(before, b.model);
}

TEST(FuseMatMul, DeitFusedQkvHeads) {
  Block b = deit_block();
  const ir::Model before = b.model.clone();
  ASSERT_TRUE(FuseMatMul().run(b.model));
  b.g->verify();
  EXPECT_EQ(count_ops(*b.g, "Transpose"), 0u);
  EXPECT_EQ(count_ops(*b.g, "Gather"), 0u) << "heads are selected by offsets into the QKV tensor";
  EXPECT_EQ(count_ops(*b.g, "Mul"), 0u);
  const ir::Node* scores = b.g->find_node("scores");
  EXPECT_EQ(scores->attrs.get_ints("select_a"), (std::vector<int64_t>{2, 0}));
  EXPECT_EQ(scores->attrs.get_ints("perm_a"), (std::vector<int64_t>{0, 2, 1, 3}));
  EXPECT_EQ(scores->attrs.get_ints("select_b"), (std::vector<int64_t>{2, 1}));
  EXPECT_EQ(scores->attrs.get_ints("perm_b"), (std::vector<int64_t>{0, 2, 3, 1}));
  EXPECT_EQ(scores->input(0)->name(), "qkv_heads_out");
  expect_same_numbers(before, b.model);
}

TEST(FuseMatMul, SharedIntermediatesStay) {
  // The scores are also a graph output: nothing after the MatMul is folded, the views still are.
  Block b = bert_block();
  b.g->add_output(b.g->find_node("scores")->output(0));
  const ir::Model before = b.model.clone();
  ASSERT_TRUE(FuseMatMul().run(b.model));
  EXPECT_EQ(count_ops(*b.g, "Div"), 1u);
  EXPECT_FALSE(b.g->find_node("scores")->attrs.has("alpha"));
  expect_same_numbers(before, b.model);
}

TEST(FuseMatMul, OnlyProvenFloat) {
  // MatMul of integers (ONNX allows int32): left alone with a note.
  testing::ModelBuilder b(3, 14);
  Value* x = b.input("x", {2, 3});
  Value* xi = b.node("Cast", {x}, "to_int");
  xi->producer()->attrs.set("to", int64_t{6});
  const int32_t w[6] = {1, 2, 3, 4, 5, 6};
  Value* y = b.node("MatMul", {xi, b.g->add_constant("w", Tensor::from_values<int32_t>({3, 2}, w))}, "mm");
  const int32_t one = 1;
  b.g->add_output(b.node("Add", {y, b.g->add_constant("one", Tensor::from_values<int32_t>({}, &one))}, "add"));
  FuseMatMul pass;
  EXPECT_FALSE(pass.run(b.model));
  ASSERT_EQ(pass.notes().size(), 1u);
  EXPECT_EQ(pass.notes()[0].node_name, "mm");
}

}  // namespace
}  // namespace qwac::passes
