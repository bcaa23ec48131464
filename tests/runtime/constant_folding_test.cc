// fold_constants and infer_value_types: hand-built graphs with known results, and resnet20-cifar10 (whose Reshape
// target is computed by Shape -> Gather -> Unsqueeze -> Concat) from ../shared.
#include "runtime/constant_folding.h"

#include <gtest/gtest.h>

#include <filesystem>
#include <random>

#include "onnx/model_io.h"
#include "qwac/error.h"
#include "runtime/engine.h"
#include "test_util.h"

namespace qwac::runtime {
namespace {

struct Builder {
  ir::Model model;
  ir::Graph* g;
  Builder() {
    model.ir_version = 8;
    model.opset_imports = {{"", 13}};
    model.graph = std::make_unique<ir::Graph>();
    g = model.graph.get();
  }
  ir::Value* input(const std::string& name, const ir::SymbolicShape& shape, DType dtype = DType::kFloat32) {
    ir::Value* v = g->add_value(name);
    v->type.dtype = dtype;
    v->type.shape = shape;
    g->add_input(v);
    return v;
  }
  template <typename T>
  ir::Value* constant(const std::string& name, const Shape& shape, const std::vector<T>& values) {
    return g->add_constant(name, Tensor::from_values<T>(shape, values.data()));
  }
  ir::Value* node(const std::string& op, const std::vector<ir::Value*>& in, const std::string& out) {
    ir::Value* y = g->add_value(out);
    g->add_node(op, in, {y}, out + "_node");
    return y;
  }
};

ir::SymbolicShape fixed(const Shape& s) {
  ir::SymbolicShape out;
  for (int64_t d : s) out.push_back({d, ""});
  return out;
}

template <typename T>
std::vector<T> values(const Tensor& t) {
  return std::vector<T>(t.data<T>(), t.data<T>() + t.numel());
}

int count_ops(const ir::Graph& g, const std::string& op) {
  int n = 0;
  for (const ir::Node* node : g.nodes()) n += node->op_type() == op;
  return n;
}

std::vector<Tensor> run(const ir::Model& model, const std::map<std::string, Tensor>& inputs,
                        const std::map<std::string, Shape>& shapes = {}) {
  EngineOptions options;
  options.num_threads = 1;
  // Folding alone is compared: once Constant nodes are folded the fusion passes see more patterns (a GELU's
  // constants, passes/recognize_activations.h), and a fused kernel rounds differently from the decomposition.
  options.fuse = false;
  return Engine(model, options, shapes).run(inputs);
}

void expect_identical(const std::vector<Tensor>& actual, const std::vector<Tensor>& expected) {
  ASSERT_EQ(actual.size(), expected.size());
  for (size_t i = 0; i < actual.size(); ++i) {
    ASSERT_EQ(actual[i].shape(), expected[i].shape()) << "output " << i;
    EXPECT_EQ(values<float>(actual[i]), values<float>(expected[i])) << "output " << i;
  }
}

TEST(FoldConstants, ReshapeOfTransposeOfConstantBecomesOneInitializer) {
  Builder b;
  ir::Value* x = b.input("x", fixed({2, 3}));
  // w [2, 3] = 0..5; Transpose -> [3, 2] = {0, 3, 1, 4, 2, 5}; Reshape to [3, 2] keeps that order ([3, 2] via [-1, 2]).
  ir::Value* w = b.constant<float>("w", {2, 3}, {0, 1, 2, 3, 4, 5});
  ir::Value* t = b.node("Transpose", {w}, "w_t");
  ir::Value* r = b.node("Reshape", {t, b.constant<int64_t>("target", {2}, {-1, 2})}, "w_r");
  ir::Value* y = b.node("MatMul", {x, r}, "y");
  b.g->add_output(y);
  const ir::Model original = b.model.clone();

  EXPECT_TRUE(fold_constants(b.model));
  b.g->verify();
  ASSERT_EQ(b.g->num_nodes(), 1u);
  const ir::Node* mm = b.g->nodes()[0];
  EXPECT_EQ(mm->op_type(), "MatMul");
  ASSERT_TRUE(mm->input(1)->is_constant());
  EXPECT_EQ(mm->input(1)->name(), "w_r") << "the folded value keeps its name";
  EXPECT_EQ(mm->input(1)->constant->shape(), (Shape{3, 2}));
  EXPECT_EQ(values<float>(*mm->input(1)->constant), (std::vector<float>{0, 3, 1, 4, 2, 5}));
  for (const char* dead : {"w", "w_t", "target"}) EXPECT_EQ(b.g->find_value(dead), nullptr) << dead;
  EXPECT_FALSE(fold_constants(b.model)) << "nothing left to fold";

  std::mt19937 rng(3);
  const std::map<std::string, Tensor> in = {{"x", testing::random_tensor({2, 3}, rng)}};
  expect_identical(run(b.model, in), run(original, in));
}

// x [N, 3, 4] -> Reshape(x, Concat(Unsqueeze(Gather(Shape(x), 0)), [-1])): the flatten pattern of exported nets.
Builder flatten_graph(const ir::SymbolicShape& x_shape) {
  Builder b;
  ir::Value* x = b.input("x", x_shape);
  ir::Value* shape = b.node("Shape", {x}, "shape");
  ir::Value* batch = b.node("Gather", {shape, b.constant<int64_t>("zero", {}, {0})}, "batch");
  ir::Value* batch1 = b.node("Unsqueeze", {batch, b.constant<int64_t>("axes", {1}, {0})}, "batch1");
  ir::Node* concat_node = nullptr;
  ir::Value* target = b.g->add_value("target");
  concat_node = b.g->add_node("Concat", {batch1, b.constant<int64_t>("minus_one", {1}, {-1})}, {target}, "concat");
  concat_node->attrs.set("axis", int64_t{0});
  b.g->add_output(b.node("Reshape", {x, target}, "flat"));
  return b;
}

TEST(FoldConstants, ShapeReadsStayWhenAskedSoTheBatchStaysFree) {
  Builder b = flatten_graph(fixed({2, 3, 4}));
  EXPECT_FALSE(fold_constants(b.model, {}, /*fold_shape_reads=*/false));
  EXPECT_EQ(b.g->num_nodes(), 5u) << "Shape -> Gather -> Unsqueeze -> Concat -> Reshape is kept";
}

TEST(FoldConstants, ShapeChainFoldsOnlyWhenShapesAreFixed) {
  {  // Symbolic batch, no override: the chain depends on data shapes and stays.
    Builder b = flatten_graph({{-1, "N"}, {3, ""}, {4, ""}});
    EXPECT_FALSE(fold_constants(b.model));
    EXPECT_EQ(b.g->num_nodes(), 5u);
  }
  for (bool override_shape : {false, true}) {
    Builder b = flatten_graph(override_shape ? ir::SymbolicShape{{-1, "N"}, {3, ""}, {4, ""}} : fixed({2, 3, 4}));
    const ir::Model original = b.model.clone();
    const std::map<std::string, Shape> shapes = {{"x", {2, 3, 4}}};
    EXPECT_TRUE(fold_constants(b.model, override_shape ? shapes : std::map<std::string, Shape>{}));
    b.g->verify();
    ASSERT_EQ(b.g->num_nodes(), 1u) << "override " << override_shape;
    const ir::Node* reshape = b.g->nodes()[0];
    ASSERT_TRUE(reshape->input(1)->is_constant());
    EXPECT_EQ(reshape->input(1)->name(), "target");
    EXPECT_EQ(values<int64_t>(*reshape->input(1)->constant), (std::vector<int64_t>{2, -1}));
    for (const char* dead : {"shape", "batch", "batch1", "zero", "axes", "minus_one"}) {
      EXPECT_EQ(b.g->find_value(dead), nullptr) << dead;
    }
    std::mt19937 rng(4);
    const std::map<std::string, Tensor> in = {{"x", testing::random_tensor({2, 3, 4}, rng)}};
    expect_identical(run(b.model, in, shapes), run(original, in, shapes));
  }
}

TEST(FoldConstants, KeepsQdqStructureAndGraphOutputProducers) {
  Builder b;
  ir::Value* x = b.input("x", fixed({1, 2}));
  // int8 weight -> DequantizeLinear -> Transpose -> MatMul: the DQ (and so the Transpose reading it) must stay.
  ir::Value* wq = b.constant<int8_t>("wq", {3, 2}, {1, -2, 3, -4, 5, -6});
  ir::Value* dq = b.node("DequantizeLinear", {wq, b.constant<float>("scale", {}, {0.5f}),
                                              b.constant<int8_t>("zp", {}, {0})},
                         "w_dq");
  ir::Value* t = b.node("Transpose", {dq}, "w_t");
  b.g->add_output(b.node("MatMul", {x, t}, "y"));
  // A constant-only node that produces a graph output stays (its value is still used to fold its consumer).
  ir::Value* c = b.node("Neg", {b.constant<float>("c", {1}, {2.f})}, "neg");
  b.g->add_output(c);
  b.g->add_output(b.node("Abs", {c}, "abs"));  // computable from the kept Neg, but also a graph output: kept
  ir::Value* sq = b.node("Sqrt", {b.constant<float>("four", {1}, {4.f})}, "sqrt");  // folds
  b.g->add_output(b.node("Add", {x, sq}, "x_plus_2"));

  const ir::Model original = b.model.clone();
  EXPECT_TRUE(fold_constants(b.model));
  b.g->verify();
  EXPECT_EQ(count_ops(*b.g, "DequantizeLinear"), 1);
  EXPECT_EQ(count_ops(*b.g, "Transpose"), 1);
  EXPECT_EQ(count_ops(*b.g, "Neg"), 1);
  EXPECT_EQ(count_ops(*b.g, "Abs"), 1);
  EXPECT_EQ(count_ops(*b.g, "Sqrt"), 0);
  ASSERT_TRUE(b.g->find_value("sqrt")->is_constant());
  EXPECT_EQ(values<float>(*b.g->find_value("sqrt")->constant), std::vector<float>{2.f});
  EXPECT_EQ(b.g->find_value("four"), nullptr);
  std::mt19937 rng(6);
  const std::map<std::string, Tensor> in = {{"x", testing::random_tensor({1, 2}, rng)}};
  expect_identical(run(b.model, in), run(original, in));
}

TEST(InferValueTypes, FillsEveryValueAndRejectsUnfixedInputs) {
  Builder b = flatten_graph({{-1, "N"}, {3, ""}, {4, ""}});
  EXPECT_THROW(infer_value_types(b.model), InvalidArgument);
  try {
    infer_value_types(b.model);
  } catch (const InvalidArgument& e) {
    EXPECT_NE(std::string(e.what()).find("'x'"), std::string::npos) << e.what();
  }
  infer_value_types(b.model, {{"x", {5, 3, 4}}});
  const std::map<std::string, std::pair<DType, Shape>> expected = {
      {"x", {DType::kFloat32, {5, 3, 4}}},  {"shape", {DType::kInt64, {3}}},   {"zero", {DType::kInt64, {}}},
      {"batch", {DType::kInt64, {}}},        {"batch1", {DType::kInt64, {1}}}, {"target", {DType::kInt64, {2}}},
      {"minus_one", {DType::kInt64, {1}}},   {"axes", {DType::kInt64, {1}}},   {"flat", {DType::kFloat32, {5, 12}}}};
  EXPECT_EQ(b.g->values().size(), expected.size());
  for (const ir::Value* v : b.g->values()) {
    auto it = expected.find(v->name());
    ASSERT_NE(it, expected.end()) << v->name();
    EXPECT_EQ(v->type.dtype, it->second.first) << v->name();
    EXPECT_EQ(v->type.shape, fixed(it->second.second)) << v->name();
  }
  EXPECT_EQ(b.g->num_nodes(), 5u) << "inference does not change the graph";
}

TEST(FoldConstants, Resnet20ShapeChainFoldsAndOutputsAreIdentical) {
  QWAC_REQUIRE_SHARED();
  ir::Model model = onnxio::load_model(testing::shared_path("assets/models/resnet20-cifar10/model.onnx"));
  ASSERT_GT(count_ops(*model.graph, "Shape"), 0) << "the model was expected to contain the Shape chain";
  const std::string input = model.graph->inputs().at(0)->name();
  const std::map<std::string, Shape> shapes = {{input, {1, 3, 32, 32}}};
  const ir::Model original = model.clone();
  EXPECT_TRUE(fold_constants(model, shapes));
  model.graph->verify();
  for (const char* op : {"Shape", "Gather", "Unsqueeze", "Concat"}) EXPECT_EQ(count_ops(*model.graph, op), 0) << op;
  EXPECT_LT(model.graph->num_nodes(), original.graph->num_nodes());

  std::mt19937 rng(11);
  const std::map<std::string, Tensor> in = {{input, testing::random_tensor({1, 3, 32, 32}, rng, 0.f, 1.f)}};
  expect_identical(run(model, in, shapes), run(original, in, shapes));

  infer_value_types(model, shapes);
  for (const ir::Value* v : model.graph->values()) {
    EXPECT_NE(v->type.dtype, DType::kUndefined) << v->name();
    ASSERT_TRUE(v->type.shape.has_value()) << v->name();
    for (const ir::Dim& d : *v->type.shape) EXPECT_GE(d.size, 0) << v->name();
  }
  EXPECT_EQ(model.graph->outputs().at(0)->type.shape, fixed({1, 10}));
}

TEST(FoldConstants, SharedModelsComputeTheSameAfterFolding) {
  QWAC_REQUIRE_SHARED();
  int models = 0;
  for (const auto& entry : std::filesystem::directory_iterator(testing::shared_path("assets/models"))) {
    const std::string path = entry.path().string() + "/model.onnx";
    if (!std::filesystem::exists(path)) continue;
    SCOPED_TRACE(path);
    ++models;
    ir::Model model = onnxio::load_model(path);
    std::map<std::string, Shape> shapes;
    for (const ir::Value* v : model.graph->inputs()) {
      Shape s;
      for (const ir::Dim& d : *v->type.shape) s.push_back(d.size >= 0 ? d.size : 2);
      shapes[v->name()] = s;
    }
    const ir::Model original = model.clone();
    fold_constants(model, shapes);
    model.graph->verify();
    EXPECT_LE(model.graph->num_nodes(), original.graph->num_nodes());
    std::mt19937 rng(12);
    std::map<std::string, Tensor> in;
    for (const auto& [name, shape] : shapes) in[name] = testing::random_tensor(shape, rng, 0.f, 1.f);
    const auto expected = run(original, in, shapes);
    const auto actual = run(model, in, shapes);
    ASSERT_EQ(actual.size(), expected.size());
    for (size_t i = 0; i < expected.size(); ++i) {
      EXPECT_EQ(testing::compare_tensors(actual[i], expected[i], 1e-6, 1e-7), "") << "output " << i;
    }
    infer_value_types(model, shapes);
  }
  EXPECT_GT(models, 0) << "no model.onnx under shared/assets/models";
}

}  // namespace
}  // namespace qwac::runtime
