// upgrade_opset: every model in ../shared upgraded to opset 13 computes what it computed before; each adapter keeps
// the numbers of a hand-built old-opset node (qwac's engine runs both opsets with their own semantics) and writes
// what the ONNX checker accepts; the adapter table agrees with ONNX's schema registry and covers every op qwac runs.
#include "onnx/opset_upgrade.h"

#include <gtest/gtest.h>
#include <onnx/checker.h>
#include <onnx/defs/schema.h>
#include <onnx/onnx_pb.h>

#include <filesystem>
#include <random>

#include "ir/op_schema.h"
#include "model_builder.h"
#include "onnx/model_io.h"
#include "qwac/error.h"
#include "runtime/constant_folding.h"
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
  for (const runtime::IoSpec& in : engine.inputs()) inputs[in.name] = testing::random_tensor(in.shape, rng, -2.f, 2.f);
  return engine.run(inputs);
}

// What canonicalization gives the adapters: qwac's shape inference on the real input shapes.
ValueTypes inferred_types(const ir::Model& model, const std::map<std::string, Shape>& shapes) {
  ir::Model copy = model.clone();
  runtime::infer_value_types(copy, shapes);
  ValueTypes types;
  for (const ir::Value* v : copy.graph->values()) types[v->name()] = v->type;
  return types;
}

// The builder leaves graph outputs untyped, which the checker refuses: they get their inferred types first.
void expect_checker_accepts(const ir::Model& model, const std::map<std::string, Shape>& shapes) {
  ir::Model typed = model.clone();
  runtime::infer_value_types(typed, shapes);
  onnx::ModelProto proto = model_to_proto(typed);
  proto.mutable_graph()->set_name("test");
  try {
    onnx::checker::check_model(proto);
  } catch (const std::exception& e) {
    ADD_FAILURE() << "ONNX checker: " << e.what();
  }
}

size_t count_op(const ir::Model& m, const std::string& op) {
  size_t n = 0;
  for (const ir::Node* node : m.graph->nodes()) n += node->op_type() == op;
  return n;
}

// Upgrades `model` to 13 (with inferred types unless `with_types` is false) and checks: the opset, the checker, and
// outputs equal to the original's on seeded inputs of `shapes`.
ir::Model upgrade_and_compare(const ir::Model& model, const std::map<std::string, Shape>& shapes,
                              bool with_types = true) {
  ir::Model upgraded = model.clone();
  upgrade_opset(upgraded, 13, with_types ? inferred_types(model, shapes) : ValueTypes{});
  EXPECT_EQ(upgraded.opset(""), 13);
  EXPECT_GE(upgraded.ir_version, 7);
  expect_checker_accepts(upgraded, shapes);
  const auto expected = run(model, shapes, 5);
  const auto actual = run(upgraded, shapes, 5);
  EXPECT_EQ(actual.size(), expected.size());
  for (size_t i = 0; i < std::min(actual.size(), expected.size()); ++i) {
    EXPECT_EQ(testing::compare_tensors(actual[i], expected[i], 1e-6, 1e-6), "") << "output " << i;
  }
  return upgraded;
}

ir::Value* int_attr_node(testing::ModelBuilder& b, const std::string& op, ir::Value* x, const std::string& name,
                         const std::string& attr, std::vector<int64_t> values) {
  ir::Value* y = b.node(op, {x}, name);
  b.g->find_node(name)->attrs.set(attr, std::move(values));
  return y;
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
    const auto shapes = fixed_input_shapes(original);
    ir::Model upgraded = original.clone();
    ASSERT_NO_THROW(upgrade_opset(upgraded, 13, inferred_types(original, shapes)));
    EXPECT_EQ(upgraded.opset(""), original.opset("") >= 13 ? original.opset("") : 13);
    for (const ir::OpsetImport& op : original.opset_imports) {
      if (op.domain.empty() || op.domain == "ai.onnx") continue;
      EXPECT_EQ(upgraded.opset(op.domain), op.version) << "domain " << op.domain << " is kept";
    }
    upgraded.graph->verify();
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

// Softmax, LogSoftmax and Hardmax below 13 normalize the input flattened to 2-D at `axis`; from 13 on, along
// `axis` alone. Axis 1 of a 4-D input must keep the flattened meaning (rows of C*H*W elements).
TEST(UpgradeOpset, SoftmaxFamilyKeepsTheFlattenedMeaningOfANonLastAxisAtAnyBatch) {
  for (const char* op : {"Softmax", "LogSoftmax", "Hardmax"}) {
    for (int64_t opset : {7, 11}) {
      for (bool with_types : {true, false}) {
        SCOPED_TRACE(std::string(op) + " opset " + std::to_string(opset) + (with_types ? " with types" : " untyped"));
        testing::ModelBuilder b(3, opset);
        ir::Value* x = b.input("x", {2, 3, 4, 5});
        b.model.graph->inputs()[0]->type.shape->at(0) = ir::Dim{-1, "batch"};
        ir::Value* y = b.node(op, {x}, "sm");
        if (opset == 11) b.g->find_node("sm")->attrs.set("axis", int64_t{-3});  // negative axes from opset 11
        b.g->add_output(y);
        const ir::Model up = upgrade_and_compare(b.model, {{"x", {2, 3, 4, 5}}}, with_types);
        EXPECT_EQ(count_op(up, "Flatten"), 1u);
        EXPECT_EQ(count_op(up, "Shape"), 1u) << "the shape is read at run time, not baked in";
        EXPECT_EQ(up.graph->outputs()[0]->name(), "sm_out") << "the output keeps its name";
        EXPECT_NE(up.graph->find_node("sm"), nullptr) << "the op keeps its name";
        // Another batch than the one the types were inferred for.
        const auto expected = run(b.model, {{"x", {3, 3, 4, 5}}}, 9);
        const auto actual = run(up, {{"x", {3, 3, 4, 5}}}, 9);
        EXPECT_EQ(testing::compare_tensors(actual[0], expected[0], 1e-6, 1e-6), "");
      }
    }
  }
}

TEST(UpgradeOpset, SoftmaxOnTheLastAxisOnlyGetsAxisMinusOne) {
  testing::ModelBuilder b(3, 9);
  ir::Value* x = b.input("x", {2, 3, 7});
  ir::Value* y = b.node("Softmax", {x}, "sm");
  b.g->find_node("sm")->attrs.set("axis", int64_t{2});
  b.g->add_output(y);
  const ir::Model up = upgrade_and_compare(b.model, {{"x", {2, 3, 7}}});
  EXPECT_EQ(up.graph->num_nodes(), 1u);
  EXPECT_EQ(up.graph->find_node("sm")->attrs.get_int("axis"), -1);
}

TEST(UpgradeOpset, ClipPadAndSliceAttributesBecomeInputs) {
  testing::ModelBuilder b(5, 7);
  ir::Value* x = b.input("x", {1, 3, 6, 6});
  ir::Value* c = b.node("Clip", {x}, "clip");
  b.g->find_node("clip")->attrs.set("min", -0.5f);
  b.g->find_node("clip")->attrs.set("max", 1.25f);
  ir::Value* c2 = b.node("Clip", {c}, "clip_max_only");
  b.g->find_node("clip_max_only")->attrs.set("max", 1.f);
  ir::Value* p = int_attr_node(b, "Pad", c2, "pad", "pads", {0, 0, 1, 2, 0, 0, 2, 1});
  b.g->find_node("pad")->attrs.set("value", 0.75f);
  ir::Value* r = int_attr_node(b, "Pad", p, "pad_reflect", "pads", {0, 0, 1, 1, 0, 0, 1, 1});
  b.g->find_node("pad_reflect")->attrs.set("mode", std::string("reflect"));
  ir::Value* s = int_attr_node(b, "Slice", r, "slice", "starts", {1, -7});
  b.g->find_node("slice")->attrs.set("ends", std::vector<int64_t>{3, 1000});
  b.g->find_node("slice")->attrs.set("axes", std::vector<int64_t>{1, 3});
  b.g->add_output(s);
  const ir::Model up = upgrade_and_compare(b.model, {{"x", {1, 3, 6, 6}}});
  EXPECT_FALSE(up.graph->find_node("clip")->attrs.has("min"));
  EXPECT_EQ(up.graph->find_node("clip")->num_inputs(), 3u);
  EXPECT_FALSE(up.graph->find_node("clip_max_only")->has_input(1)) << "an absent bound stays omitted";
  EXPECT_TRUE(up.graph->find_node("clip_max_only")->has_input(2));
  EXPECT_EQ(up.graph->find_node("pad")->num_inputs(), 3u);
  EXPECT_EQ(up.graph->find_node("pad_reflect")->num_inputs(), 2u) << "no constant value outside constant mode";
  EXPECT_EQ(up.graph->find_node("slice")->num_inputs(), 4u);
}

TEST(UpgradeOpset, SplitSqueezeUnsqueezeAndReduceSumAxesBecomeInputs) {
  testing::ModelBuilder b(7, 11);
  ir::Value* x = b.input("x", {2, 6, 1, 4});
  ir::Value* a = b.g->add_value("split_a");
  ir::Value* c = b.g->add_value("split_b");
  ir::Node* split = b.g->add_node("Split", {x}, {a, c}, "split");
  split->attrs.set("axis", int64_t{1});
  split->attrs.set("split", std::vector<int64_t>{2, 4});
  ir::Value* sq = int_attr_node(b, "Squeeze", c, "squeeze", "axes", {-2});
  ir::Value* sq_all = b.node("Squeeze", {a}, "squeeze_all");  // no axes: every size-1 axis
  ir::Value* un = int_attr_node(b, "Unsqueeze", sq, "unsqueeze", "axes", {0, 3});
  ir::Value* rs = int_attr_node(b, "ReduceSum", un, "reduce", "axes", {2});
  ir::Value* rs_all = b.node("ReduceSum", {sq_all}, "reduce_all");  // no axes: every axis
  b.g->find_node("reduce_all")->attrs.set("keepdims", int64_t{0});
  b.g->add_output(rs);
  b.g->add_output(rs_all);
  const ir::Model up = upgrade_and_compare(b.model, {{"x", {2, 6, 1, 4}}});
  for (const char* n : {"split", "squeeze", "unsqueeze", "reduce"}) {
    EXPECT_EQ(up.graph->find_node(n)->num_inputs(), 2u) << n;
    EXPECT_TRUE(up.graph->find_node(n)->input(1)->is_constant()) << n;
  }
  EXPECT_EQ(up.graph->find_node("squeeze_all")->num_inputs(), 1u);
  EXPECT_EQ(up.graph->find_node("reduce_all")->num_inputs(), 1u);
}

// Upsample-7 (scales attribute), Upsample-9 (scales input) and Resize-10 all become Resize-13 with asymmetric
// coordinates; nearest keeps the legacy rounding: floor when sampling up, ceil when sampling down.
TEST(UpgradeOpset, UpsampleAndResize10BecomeResize13WithTheSameSampling) {
  struct Case {
    int64_t opset;
    const char* op;
    const char* mode;
    std::vector<float> scales;
    const char* nearest_mode;  // expected, "" for linear
  };
  const Case cases[] = {
      {7, "Upsample", "nearest", {1, 1, 2, 3}, "floor"},     {8, "Upsample", "linear", {1, 1, 2, 2.5f}, ""},
      {9, "Upsample", "nearest", {1, 1, 3, 1.5f}, "floor"},  {9, "Upsample", "linear", {1, 1, 2, 3}, ""},
      {10, "Resize", "nearest", {1, 1, 0.5f, 0.6f}, "ceil"}, {10, "Resize", "linear", {1, 1, 0.5f, 2}, ""},
  };
  for (const Case& c : cases) {
    for (bool as_constant_node : {false, true}) {
      SCOPED_TRACE(std::string(c.op) + "-" + std::to_string(c.opset) + " " + c.mode +
                   (as_constant_node ? " (scales from a Constant node)" : ""));
      testing::ModelBuilder b(11, c.opset);
      ir::Value* x = b.input("x", {1, 2, 5, 6});
      const Tensor scales = Tensor::from_values<float>({4}, c.scales.data());
      std::vector<ir::Value*> inputs = {x};
      if (c.opset >= 9) {
        if (as_constant_node) {
          ir::Value* s = b.g->add_value("scales");
          b.g->add_node("Constant", {}, {s}, "scales_const")->attrs.set("value", scales);
          inputs.push_back(s);
        } else {
          inputs.push_back(b.g->add_constant("scales", scales));
        }
      }
      ir::Value* y = b.node(c.op, inputs, "resize");
      ir::Node* n = b.g->find_node("resize");
      n->attrs.set("mode", std::string(c.mode));
      if (c.opset < 9) n->attrs.set("scales", c.scales);
      b.g->add_output(y);
      const ir::Model up = upgrade_and_compare(b.model, {{"x", {1, 2, 5, 6}}});
      const ir::Node* r = up.graph->find_node("resize");
      ASSERT_NE(r, nullptr);
      EXPECT_EQ(r->op_type(), "Resize");
      EXPECT_EQ(r->attrs.get_string("coordinate_transformation_mode"), "asymmetric");
      EXPECT_EQ(r->attrs.get_string("nearest_mode", ""), c.nearest_mode);
    }
  }
}

// tf2onnx's nearest resize (tf_half_pixel_for_nn, gone at opset 13) becomes half_pixel with the rounding that
// picks the same pixels, for sampling up and down.
TEST(UpgradeOpset, TfHalfPixelForNearestBecomesHalfPixel) {
  const std::pair<const char*, const char*> modes[] = {{"floor", "round_prefer_ceil"}, {"", "ceil"}};
  for (const auto& [from, to] : modes) {
    for (const std::vector<float>& scales : {std::vector<float>{1, 1, 2, 3}, std::vector<float>{1, 1, 0.5f, 0.75f}}) {
      SCOPED_TRACE(std::string("nearest_mode '") + from + "' scale " + std::to_string(scales[3]));
      testing::ModelBuilder b(31, 11);
      ir::Value* x = b.input("x", {1, 2, 6, 8});
      ir::Value* roi = b.g->add_constant("roi", Tensor(DType::kFloat32, {0}));
      ir::Value* s = b.g->add_constant("scales", Tensor::from_values<float>({4}, scales.data()));
      ir::Value* y = b.node("Resize", {x, roi, s}, "resize");
      ir::Node* n = b.g->find_node("resize");
      n->attrs.set("coordinate_transformation_mode", std::string("tf_half_pixel_for_nn"));
      if (*from) n->attrs.set("nearest_mode", std::string(from));
      b.g->add_output(y);
      const ir::Model up = upgrade_and_compare(b.model, {{"x", {1, 2, 6, 8}}});
      EXPECT_EQ(up.graph->find_node("resize")->attrs.get_string("coordinate_transformation_mode"), "half_pixel");
      EXPECT_EQ(up.graph->find_node("resize")->attrs.get_string("nearest_mode"), to);
    }
  }
}

TEST(UpgradeOpset, ResizeDirectionComesFromInferredShapesWhenScalesAreComputed) {
  // Resize-10 whose scales are computed from the input (scale = 2 per spatial axis via Div of shapes): the
  // direction comes from qwac's shape inference.
  testing::ModelBuilder b(13, 10);
  ir::Value* x = b.input("x", {1, 1, 3, 4});
  const float two[4] = {1, 1, 2, 2};
  ir::Value* base = b.g->add_constant("base", Tensor::from_values<float>({4}, two));
  ir::Value* one = b.g->add_constant("one", Tensor::from_values<float>({}, &two[0]));
  ir::Value* scales = b.node("Mul", {base, one}, "scales");
  ir::Value* y = b.node("Resize", {x, scales}, "resize");
  b.g->add_output(y);
  const ir::Model up = upgrade_and_compare(b.model, {{"x", {1, 1, 3, 4}}});
  EXPECT_EQ(up.graph->find_node("resize")->attrs.get_string("nearest_mode"), "floor");
  // Without types the direction is unknown: declined, naming the node.
  ir::Model untyped = b.model.clone();
  try {
    upgrade_opset(untyped, 13);
    FAIL() << "expected InvalidModel";
  } catch (const InvalidModel& e) {
    EXPECT_NE(std::string(e.what()).find("Resize 'resize'"), std::string::npos) << e.what();
  }
}

TEST(UpgradeOpset, DropoutAndBatchNormalizationUpgrade) {
  testing::ModelBuilder b(17, 7);
  ir::Value* x = b.input("x", {2, 3, 4, 4});
  ir::Value* d = b.node("Dropout", {x}, "dropout");
  b.g->find_node("dropout")->attrs.set("ratio", 0.3f);
  std::mt19937 rng(3);
  std::vector<ir::Value*> bn_inputs = {d};
  for (const char* p : {"scale", "bias", "mean"})
    bn_inputs.push_back(b.g->add_constant(p, testing::random_tensor({3}, rng)));
  bn_inputs.push_back(b.g->add_constant("var", testing::random_tensor({3}, rng, 0.5f, 1.5f)));
  ir::Value* y = b.node("BatchNormalization", bn_inputs, "bn");
  b.g->find_node("bn")->attrs.set("spatial", int64_t{1});
  b.g->add_output(y);
  const ir::Model up = upgrade_and_compare(b.model, {{"x", {2, 3, 4, 4}}});
  EXPECT_FALSE(up.graph->find_node("bn")->attrs.has("spatial"));
  EXPECT_FALSE(up.graph->find_node("dropout")->attrs.has("ratio"));
  EXPECT_EQ(up.graph->find_node("dropout")->num_inputs(), 2u);
}

TEST(UpgradeOpset, ListsEveryNodeItCannotUpgradeAndLeavesTheModelUnchanged) {
  testing::ModelBuilder b(19, 7);
  ir::Value* x = b.input("x", {1, 3, 2, 2});
  std::mt19937 rng(3);
  std::vector<ir::Value*> bn_inputs = {x};
  for (const char* p : {"scale", "bias", "mean", "var"}) {
    bn_inputs.push_back(b.g->add_constant(p, testing::random_tensor({3, 2, 2}, rng, 0.5f, 1.f)));
  }
  ir::Value* y = b.node("BatchNormalization", bn_inputs, "bn_per_activation");
  b.g->find_node("bn_per_activation")->attrs.set("spatial", int64_t{0});
  ir::Value* k = b.g->add_value("topk_values");
  ir::Value* ki = b.g->add_value("topk_indices");
  b.g->add_node("TopK", {y}, {k, ki}, "topk")->attrs.set("k", int64_t{1});
  b.g->add_output(k);
  ir::Model model = b.model.clone();
  try {
    upgrade_opset(model, 13);
    FAIL() << "expected InvalidModel";
  } catch (const InvalidModel& e) {
    const std::string msg = e.what();
    for (const char* part : {"opset 7 to 13", "BatchNormalization 'bn_per_activation'", "spatial = 0", "TopK 'topk'",
                             "changed at opset 10"}) {
      EXPECT_NE(msg.find(part), std::string::npos) << part << " missing in: " << msg;
    }
  }
  EXPECT_EQ(model.opset(""), 7) << "a failed upgrade leaves the model as it was";
  EXPECT_EQ(model.graph->find_node("bn_per_activation")->attrs.get_int("spatial"), 0);
}

TEST(UpgradeOpset, KeepsNodesAndImportsOfOtherDomains) {
  testing::ModelBuilder b(23, 9);
  b.model.opset_imports.push_back({"com.qwac", 1});
  ir::Value* x = b.input("x", {1, 4});
  ir::Value* r = b.node("Relu", {x}, "relu");
  const float scale = 0.05f;
  ir::Value* y = b.g->add_value("y");
  b.g->add_node("FakeQuantize", {r, b.g->add_constant("scale", Tensor::from_values<float>({}, &scale))}, {y}, "fq",
                "com.qwac");
  b.g->add_output(y);
  ir::Model upgraded = b.model.clone();
  upgrade_opset(upgraded, 13);
  EXPECT_EQ(upgraded.opset(""), 13);
  EXPECT_EQ(upgraded.opset("com.qwac"), 1) << "the import of another domain is kept";
  ASSERT_NE(upgraded.graph->find_node("fq"), nullptr);
  EXPECT_EQ(upgraded.graph->find_node("fq")->domain(), "com.qwac");
}

// The table's rows name real schema changes, and every op qwac runs whose definition changed between opsets 7 and
// 13 has a row: a new ONNX release or a new op in qwac's registry cannot slip through as "compatible" unnoticed.
TEST(OpsetAdapters, TableMatchesOnnxSchemasAndCoversEveryOpQwacRuns) {
  for (const OpChange& c : op_changes()) {
    const onnx::OpSchema* s = onnx::OpSchemaRegistry::Schema(std::string(c.op_type), static_cast<int>(c.version), "");
    ASSERT_NE(s, nullptr) << c.op_type << " " << c.version;
    EXPECT_EQ(s->SinceVersion(), c.version) << c.op_type << " has no new schema at opset " << c.version;
    EXPECT_LE(c.version, kMaxAdaptedOpset);
  }
  int changes = 0;
  for (const std::string& op : ir::builtin_op_registry().op_types()) {
    if (ir::builtin_op_registry().find(op, "") == nullptr) continue;
    for (int64_t v = 8; v <= kMaxAdaptedOpset; ++v) {
      const onnx::OpSchema* before = onnx::OpSchemaRegistry::Schema(op, static_cast<int>(v - 1), "");
      const onnx::OpSchema* at = onnx::OpSchemaRegistry::Schema(op, static_cast<int>(v), "");
      if (before == nullptr || at == nullptr || at->SinceVersion() != v) continue;
      EXPECT_NE(find_op_change(op, v), nullptr) << op << " changed at opset " << v << " and has no row";
      ++changes;
    }
  }
  EXPECT_GT(changes, 50) << "qwac's registry should hold dozens of ops that changed between opsets 7 and 13";
}

}  // namespace
}  // namespace qwac::onnxio
