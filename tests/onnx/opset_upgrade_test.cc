// upgrade_opset: every model in ../shared upgraded to opset 13 computes what it computed before.
#include "onnx/opset_upgrade.h"

#include <gtest/gtest.h>

#include <filesystem>
#include <random>

#include "onnx/model_io.h"
#include "qwac/error.h"
#include "runtime/engine.h"
#include "test_util.h"

namespace qwac::onnxio {
namespace {

// Seeded random inputs; symbolic dimensions are taken as 1.
std::map<std::string, Shape> fixed_input_shapes(const ir::Model& model) {
  std::map<std::string, Shape> shapes;
  for (const ir::Value* v : model.graph->inputs()) {
    Shape s;
    if (v->type.shape) {
      for (const ir::Dim& d : *v->type.shape) s.push_back(d.size >= 0 ? d.size : 1);
    }
    shapes[v->name()] = s;
  }
  return shapes;
}

std::vector<Tensor> run(const ir::Model& model, const std::map<std::string, Shape>& shapes, uint32_t seed) {
  runtime::EngineOptions options;
  options.num_threads = 1;
  runtime::Engine engine(model, options, shapes);
  std::mt19937 rng(seed);
  std::map<std::string, Tensor> inputs;
  for (const runtime::IoSpec& in : engine.inputs()) inputs[in.name] = testing::random_tensor(in.shape, rng, 0.f, 1.f);
  return engine.run(inputs);
}

TEST(UpgradeOpset, SharedModelsKeepTheirOutputsAtOpset13) {
  QWAC_REQUIRE_SHARED();
  const std::string root = testing::shared_path("assets/models");
  int models = 0;
  for (const auto& entry : std::filesystem::directory_iterator(root)) {
    const std::string path = entry.path().string() + "/model.onnx";
    if (!std::filesystem::exists(path)) continue;
    SCOPED_TRACE(path);
    ++models;
    const ir::Model original = load_model(path);
    ir::Model upgraded = original.clone();
    ASSERT_NO_THROW(upgrade_opset(upgraded, 13));
    EXPECT_EQ(upgraded.opset(""), original.opset("") >= 13 ? original.opset("") : 13);
    for (const ir::OpsetImport& op : original.opset_imports) {
      if (op.domain.empty() || op.domain == "ai.onnx") continue;
      EXPECT_EQ(upgraded.opset(op.domain), op.version) << "domain " << op.domain << " is kept";
    }
    upgraded.graph->verify();
    const auto shapes = fixed_input_shapes(original);
    const std::vector<Tensor> expected = run(original, shapes, 21);
    const std::vector<Tensor> actual = run(upgraded, shapes, 21);
    ASSERT_EQ(actual.size(), expected.size());
    for (size_t i = 0; i < expected.size(); ++i) {
      EXPECT_EQ(testing::compare_tensors(actual[i], expected[i], 1e-5, 1e-6), "") << "output " << i;
    }
  }
  EXPECT_GT(models, 0) << "no model.onnx under " << root;
}

TEST(UpgradeOpset, NewerModelIsUnchanged) {
  ir::Model model;
  model.ir_version = 8;
  model.opset_imports = {{"", 15}, {"com.example", 2}};
  model.graph = std::make_unique<ir::Graph>();
  ir::Value* x = model.graph->add_value("x");
  x->type.dtype = DType::kFloat32;
  x->type.shape = ir::SymbolicShape{{2, ""}};
  model.graph->add_input(x);
  ir::Value* y = model.graph->add_value("y");
  model.graph->add_node("Relu", {x}, {y}, "relu");
  model.graph->add_output(y);
  upgrade_opset(model, 13);
  EXPECT_EQ(model.opset(""), 15);
  EXPECT_EQ(model.ir_version, 8);
  EXPECT_EQ(model.opset_imports, (std::vector<ir::OpsetImport>{{"", 15}, {"com.example", 2}}));
  ASSERT_EQ(model.graph->num_nodes(), 1u);
  EXPECT_EQ(model.graph->nodes()[0]->name(), "relu");
  upgrade_opset(model, 15);
  EXPECT_EQ(model.opset(""), 15);
}

TEST(UpgradeOpset, UpgradesAnOldHandBuiltModelAndRaisesItsIrVersion) {
  // An opset-7 Softmax (whose axis semantics change at 13: the converter must keep the
  // opset-7 "flatten from axis 1" meaning for a 3-D input).
  ir::Model model;
  model.ir_version = 3;
  model.opset_imports = {{"", 7}};
  model.graph = std::make_unique<ir::Graph>();
  ir::Value* x = model.graph->add_value("x");
  x->type.dtype = DType::kFloat32;
  x->type.shape = ir::SymbolicShape{{2, ""}, {3, ""}, {4, ""}};
  model.graph->add_input(x);
  ir::Value* y = model.graph->add_value("y");
  model.graph->add_node("Softmax", {x}, {y}, "softmax");
  model.graph->add_output(y);
  y->type.dtype = DType::kFloat32;
  const ir::Model original = model.clone();
  upgrade_opset(model, 13);
  EXPECT_EQ(model.opset(""), 13);
  EXPECT_GE(model.ir_version, 7);
  const std::map<std::string, Shape> shapes = {{"x", {2, 3, 4}}};
  const auto expected = run(original, shapes, 5);
  const auto actual = run(model, shapes, 5);
  EXPECT_EQ(testing::compare_tensors(actual[0], expected[0], 1e-5, 1e-6), "");
}

TEST(UpgradeOpset, KeepsOtherDomainImportsAndNamesNodesTheConverterCannotHandle) {
  ir::Model model;
  model.ir_version = 5;
  model.opset_imports = {{"", 9}, {"com.qwac", 1}};
  model.graph = std::make_unique<ir::Graph>();
  ir::Graph& g = *model.graph;
  ir::Value* x = g.add_value("x");
  x->type.dtype = DType::kFloat32;
  x->type.shape = ir::SymbolicShape{{1, ""}, {4, ""}};
  g.add_input(x);
  ir::Value* r = g.add_value("r");
  g.add_node("Relu", {x}, {r}, "relu");
  g.add_output(r);
  ir::Model upgraded = model.clone();
  upgrade_opset(upgraded, 13);
  EXPECT_EQ(upgraded.opset(""), 13);
  EXPECT_EQ(upgraded.opset("com.qwac"), 1) << "the import of another domain is kept";

  // A com.qwac node: ONNX's converter has no schema for it; the error names the node, its domain and the opsets.
  const float scale = 0.05f;
  ir::Value* y = g.add_value("y");
  g.add_node("FakeQuantize", {r, g.add_constant("scale", Tensor::from_values<float>({}, &scale))}, {y}, "fq",
             "com.qwac");
  g.add_output(y);
  try {
    upgrade_opset(model, 13);
    FAIL() << "expected InvalidModel";
  } catch (const InvalidModel& e) {
    const std::string msg = e.what();
    for (const char* part : {"opset 9 to 13", "'fq'", "com.qwac"}) {
      EXPECT_NE(msg.find(part), std::string::npos) << part << " missing in: " << msg;
    }
  }
  EXPECT_EQ(model.opset(""), 9) << "a failed upgrade leaves the model as it was";
}

}  // namespace
}  // namespace qwac::onnxio
