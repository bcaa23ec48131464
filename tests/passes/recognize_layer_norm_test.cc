// RecognizeLayerNorm: structure (which decompositions become one LayerNormalization, which are left alone and why)
// and numbers (the model computes the same with and without the pass, on the reference kernels and on oneDNN).
#include "passes/recognize_layer_norm.h"

#include <gtest/gtest.h>

#include <random>

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

Value* scalar(testing::ModelBuilder& b, const std::string& name, float value) {
  return b.g->add_constant(name, Tensor::from_values<float>({}, &value));
}

struct Form {
  int64_t opset = 14;
  bool square_by_mul = false;
  bool scale = true, bias = true;
  std::vector<int64_t> axes = {-1};
  bool eps_first = false;       // Add(eps, var) instead of Add(var, eps)
  bool constant_nodes = false;  // epsilon and exponent written as Constant nodes
};

// y = LayerNorm(x) written out as PyTorch exports it below opset 17, over `shape` ([2, 5, 8] by default).
testing::ModelBuilder decomposed(const Form& f, const Shape& shape = {2, 5, 8}) {
  testing::ModelBuilder b(29, f.opset);
  Value* x = b.input("x", shape);
  auto reduce = [&](Value* in, const std::string& name) {
    if (f.opset >= 18) {
      Value* axes = b.g->add_constant(name + "_axes",
                                      Tensor::from_values<int64_t>({static_cast<int64_t>(f.axes.size())}, f.axes.data()));
      return b.node("ReduceMean", {in, axes}, name);
    }
    Value* y = b.node("ReduceMean", {in}, name);
    y->producer()->attrs.set("axes", f.axes);
    return y;
  };
  auto constant = [&](const std::string& name, float v) {
    if (!f.constant_nodes) return scalar(b, name, v);
    Value* out = b.g->add_value(name);
    ir::Node* c = b.g->add_node("Constant", {}, {out}, name + "_node");
    c->attrs.set("value", Tensor::from_values<float>({}, &v));
    return out;
  };
  Value* mean = reduce(x, "mean");
  Value* d = b.node("Sub", {x, mean}, "sub");
  Value* sq = f.square_by_mul ? b.node("Mul", {d, d}, "sq") : b.node("Pow", {d, constant("two", 2.f)}, "sq");
  Value* var = reduce(sq, "var");
  Value* eps = constant("eps", 1e-5f);
  Value* ve = f.eps_first ? b.node("Add", {eps, var}, "var_eps") : b.node("Add", {var, eps}, "var_eps");
  Value* y = b.node("Div", {d, b.node("Sqrt", {ve}, "std")}, "norm");
  Shape param_shape;
  for (size_t i = shape.size() - f.axes.size(); i < shape.size(); ++i) param_shape.push_back(shape[i]);
  if (f.scale) y = b.node("Mul", {b.g->add_constant("gamma", testing::random_tensor(param_shape, b.rng, 0.5f, 2.f)), y}, "scale");
  if (f.bias) y = b.node("Add", {y, b.g->add_constant("beta", testing::random_tensor(param_shape, b.rng))}, "shift");
  b.g->add_output(y);
  return b;
}

std::vector<Tensor> run(const ir::Model& model, bool use_dnnl) {
  runtime::EngineOptions options;
  options.use_dnnl = use_dnnl;
  options.fuse = false;  // the test applies the pass itself
  options.num_threads = 1;
  runtime::Engine engine(model, options);
  std::mt19937 rng(5);
  std::map<std::string, Tensor> inputs;
  for (const runtime::IoSpec& in : engine.inputs()) inputs[in.name] = testing::random_tensor(in.shape, rng, -3.f, 3.f);
  return engine.run(inputs);
}

void expect_recognized(const Form& f, const Shape& shape = {2, 5, 8}) {
  testing::ModelBuilder b = decomposed(f, shape);
  const std::vector<Tensor> expected = run(b.model, false);
  FoldConstantNodes().run(b.model);
  RecognizeLayerNorm pass;
  ASSERT_TRUE(pass.run(b.model));
  b.g->verify();
  EXPECT_EQ(count_ops(*b.g, "LayerNormalization"), 1u);
  EXPECT_EQ(b.g->num_nodes(), 1u) << "the whole decomposition is replaced";
  const ir::Node* ln = b.g->nodes().front();
  EXPECT_EQ(ln->attrs.get_int("axis"), -static_cast<int64_t>(f.axes.size()));
  EXPECT_FLOAT_EQ(ln->attrs.get_float("epsilon"), 1e-5f);
  EXPECT_EQ(ln->num_inputs(), f.bias ? 3u : 2u);
  for (bool dnnl : {false, true}) {
    const std::vector<Tensor> actual = run(b.model, dnnl);
    EXPECT_EQ(testing::compare_tensors(actual[0], expected[0], 1e-4, 1e-5), "") << (dnnl ? "dnnl" : "ref");
  }
}

TEST(RecognizeLayerNorm, PyTorchFormBecomesOneOpAndComputesTheSame) {
  expect_recognized({});
}

TEST(RecognizeLayerNorm, Variants) {
  expect_recognized({.square_by_mul = true});
  expect_recognized({.eps_first = true});
  expect_recognized({.bias = false});
  expect_recognized({.scale = false, .bias = false});  // ones of the known normalized size
  expect_recognized({.axes = {-2, -1}});                // two trailing dims
  expect_recognized({.axes = {1, 2}});                  // positive axes of a tensor of known rank 3
  expect_recognized({.opset = 18});                     // axes as an input
  expect_recognized({.constant_nodes = true});          // exponent and epsilon as Constant nodes
}

TEST(RecognizeLayerNorm, LeavesOtherReductionsAlone) {
  // Normalizing over a middle axis is not a layer normalization: untouched, with a note.
  testing::ModelBuilder b = decomposed({.axes = {1}});
  const size_t nodes = b.g->num_nodes();
  RecognizeLayerNorm pass;
  EXPECT_FALSE(pass.run(b.model));
  EXPECT_EQ(b.g->num_nodes(), nodes);
  ASSERT_EQ(pass.notes().size(), 1u);
  EXPECT_EQ(pass.notes()[0].node_name, "mean");
  EXPECT_NE(pass.notes()[0].reason.find("trailing"), std::string::npos) << pass.notes()[0].reason;

  // An exponent other than 2 is not a variance.
  Form f;
  testing::ModelBuilder c = decomposed(f);
  for (ir::Node* n : c.g->nodes()) {
    if (n->op_type() == "Pow") {
      const float three = 3.f;
      c.g->set_input(n, 1, c.g->add_constant("three", Tensor::from_values<float>({}, &three)));
    }
  }
  EXPECT_FALSE(RecognizeLayerNorm().run(c.model));

  // An intermediate value read outside the pattern (the centered x) keeps the decomposition.
  testing::ModelBuilder d = decomposed(f);
  for (ir::Node* n : d.g->nodes()) {
    if (n->op_type() == "Sub") d.g->add_output(n->output(0));
  }
  EXPECT_FALSE(RecognizeLayerNorm().run(d.model));
}

TEST(RecognizeLayerNorm, ScaleWithLeadingOnesIsSqueezed) {
  // gamma [1, 1, 8] broadcast over [2, 5, 8]: a per-element scale of the normalized dim.
  testing::ModelBuilder b(3, 14);
  Value* x = b.input("x", {2, 5, 8});
  Value* mean = b.node("ReduceMean", {x}, "mean");
  mean->producer()->attrs.set("axes", std::vector<int64_t>{-1});
  Value* d = b.node("Sub", {x, mean}, "sub");
  Value* var = b.node("ReduceMean", {b.node("Pow", {d, scalar(b, "two", 2.f)}, "sq")}, "var");
  var->producer()->attrs.set("axes", std::vector<int64_t>{-1});
  Value* y = b.node("Div", {d, b.node("Sqrt", {b.node("Add", {var, scalar(b, "eps", 1e-6f)}, "ve")}, "std")}, "norm");
  y = b.node("Mul", {y, b.g->add_constant("gamma", testing::random_tensor({1, 1, 8}, b.rng))}, "scale");
  b.g->add_output(y);
  const std::vector<Tensor> expected = run(b.model, false);
  ASSERT_TRUE(RecognizeLayerNorm().run(b.model));
  const ir::Node* ln = b.g->nodes().front();
  EXPECT_EQ(ln->input(1)->constant->shape(), (Shape{8}));
  EXPECT_EQ(testing::compare_tensors(run(b.model, true)[0], expected[0], 1e-4, 1e-5), "");
}

}  // namespace
}  // namespace qwac::passes
