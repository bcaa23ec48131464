#include "quant/placement.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <iostream>
#include <map>
#include <set>
#include <sstream>

#include "onnx/model_io.h"
#include "passes/eliminate_dropout.h"
#include "passes/fold_batchnorm.h"
#include "qwac/error.h"
#include "runtime/constant_folding.h"
#include "test_util.h"

namespace qwac::quant {
namespace {

// Builds small typed graphs: every value float32 unless said otherwise.
class GraphBuilder {
 public:
  GraphBuilder() {
    model.ir_version = 8;
    model.opset_imports = {{"", 13}};
    model.graph = std::make_unique<ir::Graph>();
  }
  ir::Graph& g() { return *model.graph; }

  ir::Value* input(const std::string& name, DType dtype = DType::kFloat32) {
    ir::Value* v = g().add_value(name);
    v->type.dtype = dtype;
    g().add_input(v);
    return v;
  }
  ir::Value* constant(const std::string& name, Shape shape, DType dtype = DType::kFloat32) {
    ir::Value* v = g().add_constant(name, Tensor(dtype, std::move(shape)));
    v->type.dtype = dtype;
    return v;
  }
  // Adds node `name` with one output "<name>_out".
  ir::Value* node(const std::string& type, std::vector<ir::Value*> inputs, const std::string& name,
                  DType dtype = DType::kFloat32) {
    ir::Value* out = g().add_value(name + "_out");
    out->type.dtype = dtype;
    last = g().add_node(type, inputs, {out}, name);
    return out;
  }
  ir::Value* conv(ir::Value* x, const std::string& name, int64_t channels = 4, int64_t in_channels = 4) {
    return node("Conv", {x, constant(name + "_w", {channels, in_channels, 3, 3}), constant(name + "_b", {channels})},
                name);
  }
  void output(ir::Value* v) { g().add_output(v); }

  ir::Model model;
  ir::Node* last = nullptr;
};

PlacementOptions performance() { return PlacementOptions{}; }

const QuantizedEdge edge(const std::string& node, int input) { return QuantizedEdge{node, input}; }

std::string dump(const QuantizerSet& set) {
  std::ostringstream out;
  for (const Quantizer& q : set.quantizers) {
    out << "  q" << q.id << " [group " << q.group << "] " << q.name << " sources:";
    for (const auto& s : q.sources) out << " " << s;
    out << " edges:";
    for (const auto& e : q.edges) out << " " << e.node << ":" << e.input_index;
    out << "\n";
  }
  for (const QuantizerGroup& g : set.groups) {
    out << "  group " << g.id << " '" << g.name << "' quantizers:";
    for (int q : g.quantizers) out << " " << q;
    out << "\n";
  }
  for (const FloatOp& f : set.float_ops) out << "  float " << f.op_type << " '" << f.node << "': " << f.reason << "\n";
  return out.str();
}

const FloatOp* find_float(const QuantizerSet& set, const std::string& node) {
  for (const FloatOp& f : set.float_ops) {
    if (f.node == node) return &f;
  }
  return nullptr;
}

TEST(Placement, ConvReluConv) {
  GraphBuilder b;
  ir::Value* x = b.input("x");
  ir::Value* r1 = b.node("Relu", {b.conv(x, "conv1")}, "relu1");
  b.output(b.conv(r1, "conv2"));
  const QuantizerSet set = place_quantizers(b.model, hw_config_for("CPU"), performance());
  SCOPED_TRACE(dump(set));
  ASSERT_EQ(set.quantizers.size(), 4u);
  const Quantizer& qx = set.at(0);
  EXPECT_EQ(qx.kind, QuantizerKind::kActivation);
  EXPECT_EQ(qx.sources, std::vector<std::string>{"x"});
  EXPECT_EQ(qx.edges, std::vector<QuantizedEdge>{edge("conv1", 0)});
  EXPECT_EQ(qx.name, "activation 'x' -> Conv 'conv1'");
  EXPECT_EQ(qx.spec.granularity, Granularity::kPerTensor);
  EXPECT_TRUE(qx.spec.signedness_from_range);

  const Quantizer& w1 = set.at(1);
  EXPECT_EQ(w1.kind, QuantizerKind::kWeight);
  EXPECT_EQ(w1.sources, std::vector<std::string>{"conv1_w"});
  EXPECT_EQ(w1.edges, std::vector<QuantizedEdge>{edge("conv1", 1)});
  EXPECT_EQ(w1.name, "Conv 'conv1' weight");
  EXPECT_EQ(w1.spec.granularity, Granularity::kPerChannel);
  EXPECT_EQ(w1.spec.axis, 0);
  EXPECT_TRUE(w1.spec.narrow_range);

  EXPECT_EQ(set.at(2).sources, std::vector<std::string>{"relu1_out"});  // after Relu, not after conv1
  EXPECT_EQ(set.at(2).edges, std::vector<QuantizedEdge>{edge("conv2", 0)});
  EXPECT_EQ(set.at(3).sources, std::vector<std::string>{"conv2_w"});
  EXPECT_EQ(set.quantized_ops, (std::vector<std::string>{"conv1", "conv2"}));
  ASSERT_EQ(set.groups.size(), 2u);
  EXPECT_EQ(set.groups[0].quantizers, (std::vector<int>{0, 1}));
  EXPECT_EQ(set.groups[0].ops, std::vector<std::string>{"conv1"});
  EXPECT_EQ(set.groups[1].quantizers, (std::vector<int>{2, 3}));
  EXPECT_TRUE(set.float_ops.empty());
}

TEST(Placement, SourceIsAboveAgnosticOps) {
  GraphBuilder b;
  ir::Value* r = b.node("Relu", {b.input("x")}, "relu");
  ir::Value* p = b.node("MaxPool", {r}, "pool");
  ir::Value* shaped = b.node("Reshape", {p, b.constant("shape", {4}, DType::kInt64)}, "reshape");
  b.output(b.conv(shaped, "conv"));
  const QuantizerSet set = place_quantizers(b.model, hw_config_for("CPU"), performance());
  SCOPED_TRACE(dump(set));
  ASSERT_EQ(set.quantizers.size(), 2u);
  EXPECT_EQ(set.at(0).sources, std::vector<std::string>{"relu_out"});
  EXPECT_EQ(set.at(0).edges, std::vector<QuantizedEdge>{edge("conv", 0)});
  EXPECT_EQ(set.at(0).name, "activation 'relu_out' -> Conv 'conv'");
  EXPECT_EQ(set.at(1).kind, QuantizerKind::kWeight);
}

TEST(Placement, ConcatBranchesShareOneQuantizerAndGroup) {
  GraphBuilder b;
  ir::Value* x = b.input("x");
  ir::Value* ra = b.node("Relu", {b.conv(x, "conv_a")}, "relu_a");
  ir::Value* rb = b.node("Relu", {b.conv(x, "conv_b")}, "relu_b");
  ir::Value* cat = b.node("Concat", {ra, rb}, "concat");
  b.last->attrs.set("axis", int64_t{1});
  b.output(b.conv(cat, "conv_c", 8));
  const QuantizerSet set = place_quantizers(b.model, hw_config_for("CPU"), performance());
  SCOPED_TRACE(dump(set));
  // x (shared by both branches), conv_a_w, conv_b_w, {relu_a, relu_b}, conv_c_w.
  ASSERT_EQ(set.quantizers.size(), 5u);
  EXPECT_EQ(set.at(0).sources, std::vector<std::string>{"x"});
  EXPECT_EQ(set.at(0).edges, (std::vector<QuantizedEdge>{edge("conv_a", 0), edge("conv_b", 0)}));
  EXPECT_EQ(set.at(0).name, "activation 'x' -> Conv 'conv_a' (+1)");
  const Quantizer* unified = set.find_by_source("relu_b_out");
  ASSERT_NE(unified, nullptr);
  EXPECT_EQ(unified->sources, (std::vector<std::string>{"relu_a_out", "relu_b_out"}));
  EXPECT_EQ(unified->edges, std::vector<QuantizedEdge>{edge("conv_c", 0)});
  EXPECT_EQ(unified->name, "activation 'relu_a_out' (+1 source) -> Conv 'conv_c'");
  const int wc = set.quantizer_for_edge(edge("conv_c", 1));
  ASSERT_GE(wc, 0);
  EXPECT_EQ(set.at(wc).group, unified->group);
  ASSERT_EQ(set.groups.size(), 2u);
  EXPECT_EQ(set.groups[0].ops, (std::vector<std::string>{"conv_a", "conv_b"}));
  EXPECT_EQ(set.groups[0].name, "conv_a (+1 op)");
  EXPECT_EQ(set.groups[1].ops, std::vector<std::string>{"conv_c"});
  EXPECT_EQ(set.groups[1].quantizers, (std::vector<int>{unified->id, wc}));
}

TEST(Placement, ResidualAddMergesGroups) {
  GraphBuilder b;
  ir::Value* r1 = b.node("Relu", {b.conv(b.input("x"), "conv1")}, "relu1");
  ir::Value* c2 = b.conv(r1, "conv2");
  ir::Value* sum = b.node("Add", {c2, r1}, "add");
  b.output(b.node("Relu", {sum}, "relu2"));
  const QuantizerSet set = place_quantizers(b.model, hw_config_for("CPU"), performance());
  SCOPED_TRACE(dump(set));
  ASSERT_EQ(set.quantizers.size(), 5u);  // x, conv1_w, relu1_out, conv2_w, conv2_out
  const Quantizer* shortcut = set.find_by_source("relu1_out");
  ASSERT_NE(shortcut, nullptr);
  EXPECT_EQ(shortcut->edges, (std::vector<QuantizedEdge>{edge("conv2", 0), edge("add", 1)}));
  const Quantizer* branch = set.find_by_source("conv2_out");
  ASSERT_NE(branch, nullptr);
  EXPECT_EQ(branch->edges, std::vector<QuantizedEdge>{edge("add", 0)});
  EXPECT_EQ(set.quantized_ops, (std::vector<std::string>{"conv1", "conv2", "add"}));
  // conv2 and add share relu1_out's quantizer: reverting one reverts both (NNCF's closure).
  ASSERT_EQ(set.groups.size(), 2u);
  EXPECT_EQ(set.groups[1].ops, (std::vector<std::string>{"conv2", "add"}));
  EXPECT_EQ(set.groups[1].quantizers.size(), 3u);
  EXPECT_EQ(branch->group, shortcut->group);
}

TEST(Placement, AddWithConstantOperandStaysFloat) {
  GraphBuilder b;
  ir::Value* c = b.conv(b.input("x"), "conv");
  b.output(b.node("Add", {c, b.constant("bias", {1, 4, 1, 1})}, "add_bias"));
  const QuantizerSet set = place_quantizers(b.model, hw_config_for("CPU"), performance());
  SCOPED_TRACE(dump(set));
  EXPECT_EQ(set.quantized_ops, std::vector<std::string>{"conv"});
  const FloatOp* f = find_float(set, "add_bias");
  ASSERT_NE(f, nullptr);
  EXPECT_EQ(f->op_type, "Add");
  EXPECT_NE(f->reason.find("only 1 computed input(s) (constant: 'bias')"), std::string::npos) << f->reason;
  EXPECT_EQ(set.find_by_source("conv_out"), nullptr);
}

TEST(Placement, IgnoredScopeKeepsOpsFloat) {
  GraphBuilder b;
  ir::Value* r1 = b.node("Relu", {b.conv(b.input("x"), "conv1")}, "relu1");
  ir::Value* c2 = b.conv(r1, "conv2");
  b.output(b.node("Add", {c2, r1}, "add"));
  PlacementOptions opt;
  opt.ignored_scope.names = {"conv2"};
  opt.ignored_scope.types = {"Add"};
  const QuantizerSet set = place_quantizers(b.model, hw_config_for("CPU"), opt);
  SCOPED_TRACE(dump(set));
  EXPECT_EQ(set.quantized_ops, std::vector<std::string>{"conv1"});
  EXPECT_EQ(set.quantizers.size(), 2u);
  ASSERT_EQ(set.float_ops.size(), 2u);
  EXPECT_EQ(set.float_ops[0].node, "conv2");
  EXPECT_EQ(set.float_ops[0].reason, "ignored scope: name 'conv2'");
  EXPECT_EQ(set.float_ops[1].reason, "ignored scope: type 'Add'");

  PlacementOptions by_pattern;
  by_pattern.ignored_scope.patterns = {"conv[0-9]+"};
  const QuantizerSet none = place_quantizers(b.model, hw_config_for("CPU"), by_pattern);
  EXPECT_EQ(none.quantized_ops, std::vector<std::string>{"add"});
  EXPECT_EQ(none.float_ops.size(), 2u);

  PlacementOptions typo;
  typo.ignored_scope.names = {"conv_2"};
  try {
    place_quantizers(b.model, hw_config_for("CPU"), typo);
    ADD_FAILURE() << "expected InvalidConfig";
  } catch (const InvalidConfig& e) {
    EXPECT_NE(std::string(e.what()).find("no node named 'conv_2' in the model; nearest node names: 'conv2'"),
              std::string::npos)
        << e.what();
  }
}

TEST(Placement, MixedPresetAndOverrides) {
  GraphBuilder b;
  b.output(b.conv(b.input("x"), "conv"));
  PlacementOptions mixed;
  mixed.preset = Preset::kMixed;
  QuantizerSet set = place_quantizers(b.model, hw_config_for("CPU"), mixed);
  ASSERT_EQ(set.quantizers.size(), 2u);
  EXPECT_EQ(set.at(0).spec.mode, QuantMode::kAsymmetric);
  EXPECT_FALSE(set.at(0).spec.is_signed);
  EXPECT_FALSE(set.at(0).spec.signedness_from_range);
  EXPECT_EQ(set.at(1).spec.mode, QuantMode::kSymmetric);
  EXPECT_TRUE(set.at(1).spec.narrow_range);

  PlacementOptions custom;
  custom.preset = Preset::kMixed;
  custom.activation_mode = QuantMode::kSymmetric;
  custom.weight_bits = 16;
  custom.weight_granularity = Granularity::kPerTensor;
  set = place_quantizers(b.model, hw_config_for("CPU"), custom);
  EXPECT_EQ(set.at(0).spec.mode, QuantMode::kSymmetric);
  EXPECT_TRUE(set.at(0).spec.signedness_from_range);
  EXPECT_EQ(set.at(1).spec.bits, 16);
  EXPECT_EQ(set.at(1).spec.granularity, Granularity::kPerTensor);
  EXPECT_EQ(set.at(1).spec.axis, -1);

  PlacementOptions bad_bits;
  bad_bits.activation_bits = 4;
  EXPECT_THROW(place_quantizers(b.model, hw_config_for("CPU"), bad_bits), InvalidConfig);
  PlacementOptions accuracy;
  accuracy.preset = Preset::kAccuracy;
  try {
    place_quantizers(b.model, hw_config_for("CPU"), accuracy);
    ADD_FAILURE() << "expected InvalidConfig";
  } catch (const InvalidConfig& e) {
    EXPECT_NE(std::string(e.what()).find("does not support preset \"accuracy\"; supported: performance, mixed"),
              std::string::npos)
        << e.what();
  }
  // GNA: 16-bit activations, and accuracy = 16-bit weights.
  set = place_quantizers(b.model, hw_config_for("GNA"), performance());
  EXPECT_EQ(set.at(0).spec.bits, 16);
  EXPECT_EQ(set.at(1).spec.bits, 8);
  set = place_quantizers(b.model, hw_config_for("GNA"), accuracy);
  EXPECT_EQ(set.at(1).spec.bits, 16);
}

TEST(Placement, NonFloatInputsAreNotQuantized) {
  GraphBuilder b;
  ir::Value* i = b.input("ids", DType::kInt32);
  ir::Value* f = b.input("f");
  ir::Value* untyped = b.input("untyped", DType::kUndefined);
  b.output(b.node("Add", {i, i}, "int_add", DType::kInt32));
  b.output(b.node("Mul", {f, untyped}, "half_mul"));
  // An agnostic op whose data input is not float: the walk stops, the input is not quantized.
  ir::Value* cast_like = b.node("Flatten", {i}, "flat", DType::kInt32);
  b.output(b.node("MatMul", {cast_like, f}, "mm"));
  const QuantizerSet set = place_quantizers(b.model, hw_config_for("CPU"), performance());
  SCOPED_TRACE(dump(set));
  const FloatOp* int_add = find_float(set, "int_add");
  ASSERT_NE(int_add, nullptr);
  EXPECT_EQ(int_add->reason, "no float32 input to quantize (input 0: 'ids' is int32, not float32; input 1: 'ids' is "
                             "int32, not float32)");
  EXPECT_EQ(find_float(set, "half_mul"), nullptr);  // one float input is enough to quantize the op
  EXPECT_EQ(set.quantizer_for_edge(edge("half_mul", 1)), -1);
  EXPECT_GE(set.quantizer_for_edge(edge("half_mul", 0)), 0);
  EXPECT_EQ(set.quantizer_for_edge(edge("mm", 0)), -1);
  // f feeds half_mul:0 and mm:1: one quantizer for both, so both ops are one group.
  EXPECT_EQ(set.quantizer_for_edge(edge("mm", 1)), set.quantizer_for_edge(edge("half_mul", 0)));
  EXPECT_EQ(set.quantized_ops, (std::vector<std::string>{"half_mul", "mm"}));
  ASSERT_EQ(set.groups.size(), 1u);
}

TEST(Placement, WeightAxes) {
  GraphBuilder b;
  ir::Value* x = b.input("x");
  ir::Value* g0 = b.node("Gemm", {x, b.constant("b_kn", {8, 16})}, "gemm_kn");
  ir::Value* g1 = b.node("Gemm", {g0, b.constant("b_nk", {16, 16})}, "gemm_nk");
  b.last->attrs.set("transB", int64_t{1});
  ir::Value* m = b.node("MatMul", {g1, b.constant("mm_w", {16, 10})}, "matmul");
  b.output(b.node("MatMul", {m, b.constant("vec", {10})}, "matvec"));
  const QuantizerSet set = place_quantizers(b.model, hw_config_for("CPU"), performance());
  SCOPED_TRACE(dump(set));
  auto spec_of = [&](const std::string& node, int input) { return set.at(set.quantizer_for_edge(edge(node, input))).spec; };
  EXPECT_EQ(spec_of("gemm_kn", 1).axis, 1);
  EXPECT_EQ(spec_of("gemm_nk", 1).axis, 0);
  EXPECT_EQ(spec_of("matmul", 1).axis, 1);  // last axis
  EXPECT_EQ(spec_of("matvec", 1).granularity, Granularity::kPerTensor);
  EXPECT_EQ(set.at(set.quantizer_for_edge(edge("matvec", 1))).kind, QuantizerKind::kWeight);
}

TEST(Placement, SharedWeights) {
  GraphBuilder b;
  ir::Value* x = b.input("x");
  ir::Value* w = b.constant("w", {4, 4, 3, 3});
  ir::Value* c1 = b.node("Conv", {x, w}, "conv1");
  ir::Value* c2 = b.node("Conv", {c1, w}, "conv2");
  b.output(b.node("ConvTranspose", {c2, b.constant("wt", {4, 4, 3, 3})}, "deconv"));
  QuantizerSet set = place_quantizers(b.model, hw_config_for("CPU"), performance());
  {
    SCOPED_TRACE(dump(set));
    const Quantizer* q = set.find_by_source("w");
    ASSERT_NE(q, nullptr);
    EXPECT_EQ(q->edges, (std::vector<QuantizedEdge>{edge("conv1", 1), edge("conv2", 1)}));
    EXPECT_EQ(q->name, "Conv 'conv1' weight (+1)");
    EXPECT_EQ(q->spec.axis, 0);
    EXPECT_EQ(set.find_by_source("wt")->spec.axis, 1);  // ConvTranspose: output channels on axis 1
    ASSERT_EQ(set.groups.size(), 2u);
    EXPECT_EQ(set.groups[0].ops, (std::vector<std::string>{"conv1", "conv2"}));  // tied by the shared weight
  }

  // The same constant read on different channel axes: one per-tensor quantizer.
  GraphBuilder b2;
  ir::Value* x2 = b2.input("x");
  ir::Value* w2 = b2.constant("w", {4, 4, 3, 3});
  ir::Value* y = b2.node("Conv", {x2, w2}, "conv");
  b2.output(b2.node("ConvTranspose", {y, w2}, "deconv"));
  set = place_quantizers(b2.model, hw_config_for("CPU"), performance());
  SCOPED_TRACE(dump(set));
  const Quantizer* q = set.find_by_source("w");
  ASSERT_NE(q, nullptr);
  EXPECT_EQ(q->edges.size(), 2u);
  EXPECT_EQ(q->spec.granularity, Granularity::kPerTensor);
  EXPECT_EQ(q->spec.axis, -1);
}

TEST(Placement, DeterministicIds) {
  GraphBuilder b;
  ir::Value* x = b.input("x");
  ir::Value* ra = b.node("Relu", {b.conv(x, "conv_a")}, "relu_a");
  ir::Value* rb = b.node("Relu", {b.conv(ra, "conv_b")}, "relu_b");
  b.output(b.node("Add", {ra, rb}, "add"));
  const QuantizerSet s1 = place_quantizers(b.model, hw_config_for("CPU"), performance());
  const QuantizerSet s2 = place_quantizers(b.model, hw_config_for("CPU"), performance());
  ASSERT_EQ(s1.quantizers.size(), s2.quantizers.size());
  for (size_t i = 0; i < s1.quantizers.size(); ++i) {
    EXPECT_EQ(s1.quantizers[i].name, s2.quantizers[i].name);
    EXPECT_EQ(s1.quantizers[i].sources, s2.quantizers[i].sources);
  }
  std::vector<std::string> names;
  for (const Quantizer& q : s1.quantizers) names.push_back(q.name);
  EXPECT_EQ(names, (std::vector<std::string>{"activation 'x' -> Conv 'conv_a'", "Conv 'conv_a' weight",
                                             "activation 'relu_a_out' -> Conv 'conv_b' (+1)", "Conv 'conv_b' weight",
                                             "activation 'relu_b_out' -> Add 'add'"}))
      << dump(s1);
}

// --- export profiles --------------------------------------------------------------------------------------------

PlacementOptions with_profile(const std::string& name) {
  PlacementOptions o;
  o.profile = &export_profile_for(name);
  return o;
}

// x -> conv1 -> hard-swish (x*HardSigmoid(x), or the HardSwish op) -> conv2 -> y
struct HardSwishNet {
  GraphBuilder b;
  explicit HardSwishNet(bool single_op) {
    ir::Value* c1 = b.conv(b.input("x"), "conv1", 16, 16);
    ir::Value* act = single_op ? b.node("HardSwish", {c1}, "hswish")
                               : b.node("Mul", {c1, b.node("HardSigmoid", {c1}, "hsig")}, "hswish");
    b.output(b.conv(act, "conv2", 16, 16));
  }
};

const Quantizer* quantizer_on(const QuantizerSet& set, const std::string& source) { return set.find_by_source(source); }

std::vector<QuantizedEdge> edges_of(const QuantizerSet& set, const std::string& source) {
  const Quantizer* q = set.find_by_source(source);
  return q == nullptr ? std::vector<QuantizedEdge>{} : q->edges;
}

TEST(PlacementProfiles, OnnxRuntimeQuantizesAroundEveryInt8Op) {
  // ORT's selectors need DQ -> op -> Q: conv1's output gets a quantizer read by both halves of the hard-swish, the
  // HardSigmoid (lowered to QLinearAdd at export) gets one on its output, and the Mul's output feeds conv2.
  HardSwishNet n(false);
  const QuantizerSet set = place_quantizers(n.b.model, hw_config_for("CPU"), with_profile("onnxruntime"));
  SCOPED_TRACE(dump(set));
  EXPECT_EQ(edges_of(set, "x"), std::vector<QuantizedEdge>{edge("conv1", 0)});
  EXPECT_EQ(edges_of(set, "conv1_out"), (std::vector<QuantizedEdge>{edge("hsig", 0), edge("hswish", 0)}));
  EXPECT_EQ(edges_of(set, "hsig_out"), std::vector<QuantizedEdge>{edge("hswish", 1)});
  EXPECT_EQ(edges_of(set, "hswish_out"), std::vector<QuantizedEdge>{edge("conv2", 0)});
  EXPECT_EQ(quantizer_on(set, "conv2_out"), nullptr) << "a graph output nobody reads needs no quantizer";
  EXPECT_EQ(set.quantizers.size(), 6u);  // + two weights
  EXPECT_EQ(set.quantized_ops, (std::vector<std::string>{"conv1", "hsig", "hswish", "conv2"}));
  EXPECT_TRUE(set.float_ops.empty());
}

TEST(PlacementProfiles, QwacProfileKeepsTheHardSwishFused) {
  // NNCF's Conv+HSwish pattern: nothing between conv1 and the hard-swish output; the Mul is not an op of its own.
  for (const char* profile : {"qwac", ""}) {
    HardSwishNet n(false);
    const QuantizerSet set = place_quantizers(n.b.model, hw_config_for("CPU"),
                                              *profile ? with_profile(profile) : PlacementOptions{});
    SCOPED_TRACE(dump(set));
    EXPECT_EQ(quantizer_on(set, "conv1_out"), nullptr);
    EXPECT_EQ(quantizer_on(set, "hsig_out"), nullptr);
    EXPECT_EQ(edges_of(set, "hswish_out"), std::vector<QuantizedEdge>{edge("conv2", 0)});
    EXPECT_EQ(set.quantizers.size(), 4u);
    EXPECT_EQ(set.quantized_ops, (std::vector<std::string>{"conv1", "conv2"}));
    const FloatOp* mul = find_float(set, "hswish");
    ASSERT_NE(mul, nullptr);
    EXPECT_NE(mul->reason.find("inside fusion 'hard_swish_decomposed'"), std::string::npos) << mul->reason;
  }
}

TEST(PlacementProfiles, HardSwishOpPlacesLikeItsDecomposition) {
  HardSwishNet n(true);
  const QuantizerSet ort = place_quantizers(n.b.model, hw_config_for("CPU"), with_profile("onnxruntime"));
  SCOPED_TRACE(dump(ort));
  EXPECT_EQ(edges_of(ort, "conv1_out"), std::vector<QuantizedEdge>{edge("hswish", 0)});
  EXPECT_EQ(edges_of(ort, "hswish_out"), std::vector<QuantizedEdge>{edge("conv2", 0)});
  EXPECT_EQ(ort.quantized_ops, (std::vector<std::string>{"conv1", "hswish", "conv2"}));
  const QuantizerSet qwac = place_quantizers(n.b.model, hw_config_for("CPU"), with_profile("qwac"));
  EXPECT_EQ(quantizer_on(qwac, "conv1_out"), nullptr);
  EXPECT_EQ(edges_of(qwac, "hswish_out"), std::vector<QuantizedEdge>{edge("conv2", 0)});
}

TEST(PlacementProfiles, OutputQuantizerGoesAfterARuntimeFusedReluAndJoinsItsProducer) {
  // conv -> Relu -> Softmax: ORT absorbs the Relu into QLinearConv when a Q follows it, so the Q goes after the
  // Relu. Softmax is not an int8 op: it reads the dequantized value but is not a quantized op, and the quantizer it
  // reads belongs to the conv's group.
  GraphBuilder b;
  b.output(b.node("Softmax", {b.node("Relu", {b.conv(b.input("x"), "conv", 16, 16)}, "relu")}, "softmax"));
  const QuantizerSet set = place_quantizers(b.model, hw_config_for("CPU"), with_profile("onnxruntime"));
  SCOPED_TRACE(dump(set));
  EXPECT_EQ(quantizer_on(set, "conv_out"), nullptr);
  const Quantizer* out = quantizer_on(set, "relu_out");
  ASSERT_NE(out, nullptr);
  EXPECT_EQ(out->edges, std::vector<QuantizedEdge>{edge("softmax", 0)});
  EXPECT_EQ(out->producer, "conv");
  EXPECT_EQ(set.quantized_ops, std::vector<std::string>{"conv"});
  ASSERT_EQ(set.groups.size(), 1u);
  EXPECT_EQ(set.groups[0].quantizers.size(), 3u);
  EXPECT_EQ(set.groups[0].ops, std::vector<std::string>{"conv"});
}

TEST(PlacementProfiles, OptionalOutputsOnlyWhenAnInt8OpReadsThem) {
  // GlobalAveragePool -> Softmax (float): ORT runs the pool in float without a Q after it, which spares the logits a
  // quantization. GlobalAveragePool -> Flatten -> Gemm: the Gemm reads it, so the pool gets its Q (through the
  // agnostic Flatten).
  for (bool gemm : {false, true}) {
    GraphBuilder b;
    ir::Value* pooled = b.node("GlobalAveragePool", {b.node("Relu", {b.conv(b.input("x"), "conv", 16, 16)}, "relu")}, "gap");
    if (gemm) {
      ir::Value* flat = b.node("Flatten", {pooled}, "flatten");
      b.output(b.node("Gemm", {flat, b.constant("fc_w", {10, 16}), b.constant("fc_b", {10})}, "fc"));
      b.last->attrs.set("transB", int64_t{1});
    } else {
      b.output(b.node("Softmax", {pooled}, "softmax"));
    }
    const QuantizerSet set = place_quantizers(b.model, hw_config_for("CPU"), with_profile("onnxruntime"));
    SCOPED_TRACE(dump(set));
    if (gemm) {
      EXPECT_EQ(edges_of(set, "gap_out"), std::vector<QuantizedEdge>{edge("fc", 0)});
      EXPECT_EQ(quantizer_on(set, "fc_out"), nullptr);
    } else {
      EXPECT_EQ(quantizer_on(set, "gap_out"), nullptr);
    }
    EXPECT_EQ(edges_of(set, "relu_out"), std::vector<QuantizedEdge>{edge("gap", 0)});
  }
}

TEST(PlacementProfiles, ProfileOpListReplacesTheDevices) {
  // Div is quantizable on the CPU device but ONNX Runtime has no int8 Div: under its profile the Div stays float,
  // and the conv before it still gets the output quantizer QLinearConv needs.
  GraphBuilder b;
  ir::Value* c1 = b.conv(b.input("x"), "conv1", 16, 16);
  ir::Value* c2 = b.conv(b.input("y"), "conv2", 16, 16);
  b.output(b.node("Div", {c1, c2}, "div"));
  const QuantizerSet device = place_quantizers(b.model, hw_config_for("CPU"), PlacementOptions{});
  EXPECT_NE(std::find(device.quantized_ops.begin(), device.quantized_ops.end(), "div"), device.quantized_ops.end());
  const QuantizerSet ort = place_quantizers(b.model, hw_config_for("CPU"), with_profile("onnxruntime"));
  SCOPED_TRACE(dump(ort));
  EXPECT_EQ(ort.quantized_ops, (std::vector<std::string>{"conv1", "conv2"}));
  EXPECT_EQ(edges_of(ort, "conv1_out"), std::vector<QuantizedEdge>{edge("div", 0)});
  EXPECT_EQ(edges_of(ort, "conv2_out"), std::vector<QuantizedEdge>{edge("div", 1)});
  ASSERT_EQ(ort.groups.size(), 2u) << "each output quantizer stays with its conv, not joined through the float Div";
}


TEST(PlacementProfiles, KeepFloatRuleKeepsTheOpAndItsFusedActivationFloat) {
  // A profile rule (data: an op the runtime runs faster in float): an image-input Conv stays float, and so does the
  // hard-swish its float kernel fuses; the first quantizer is conv2's input. The built-in profiles have no such rule
  // (measured: it speeds up MobileNetV3's stem in ONNX Runtime but slows SqueezeNet down, README).
  GraphBuilder b;
  ir::Value* c1 = b.conv(b.input("image"), "stem", 16, 3);
  ir::Value* act = b.node("Mul", {c1, b.node("HardSigmoid", {c1}, "hsig")}, "hswish");
  b.output(b.conv(act, "conv2", 16, 16));
  ExportProfile profile = export_profile_for("onnxruntime");
  profile.keep_float.push_back({"Conv", 4, true, "image input"});
  PlacementOptions options;
  options.profile = &profile;
  const QuantizerSet set = place_quantizers(b.model, hw_config_for("CPU"), options);
  SCOPED_TRACE(dump(set));
  EXPECT_EQ(set.quantized_ops, std::vector<std::string>{"conv2"});
  EXPECT_EQ(edges_of(set, "hswish_out"), std::vector<QuantizedEdge>{edge("conv2", 0)});
  EXPECT_EQ(quantizer_on(set, "image"), nullptr);
  ASSERT_NE(find_float(set, "stem"), nullptr);
  EXPECT_EQ(find_float(set, "stem")->reason, "kept float for onnxruntime: image input");
  ASSERT_NE(find_float(set, "hswish"), nullptr);
  EXPECT_NE(find_float(set, "hswish")->reason.find("fused with Conv 'stem'"), std::string::npos);
  // Rule conditions: more channels, or not a graph input, and the op is quantized.
  profile.keep_float.back().max_input_channels = 2;
  EXPECT_NE(quantizer_on(place_quantizers(b.model, hw_config_for("CPU"), options), "image"), nullptr);
  EXPECT_NE(quantizer_on(place_quantizers(b.model, hw_config_for("CPU"), with_profile("onnxruntime")), "image"),
            nullptr);
}

// ---- model types

// One pre-norm attention block as exporters write it: x -> q/k/v projections (MatMul + bias Add), Q x K^T (K through a
// Transpose), scale Mul, additive mask, Softmax, P x V, output projection, residual Add.
struct AttentionNet {
  GraphBuilder b;
  AttentionNet() {
    ir::Value* x = b.input("x");
    auto linear = [&](ir::Value* in, const std::string& name) {
      return b.node("Add", {b.node("MatMul", {in, b.constant(name + "_w", {8, 8})}, name), b.constant(name + "_b", {8})},
                    name + "_bias");
    };
    ir::Value* q = linear(x, "q");
    ir::Value* k = linear(x, "k");
    ir::Value* v = linear(x, "v");
    ir::Value* scores = b.node("MatMul", {q, b.node("Transpose", {k}, "kt")}, "qk");
    ir::Value* scaled = b.node("Mul", {scores, b.constant("scale", {})}, "scaled");
    ir::Value* probs = b.node("Softmax", {b.node("Add", {scaled, b.input("mask")}, "masked")}, "softmax");
    ir::Value* context = b.node("MatMul", {probs, v}, "pv");
    b.output(b.node("Add", {linear(context, "proj"), x}, "residual"));
  }
};

PlacementOptions transformer() {
  PlacementOptions o;
  o.preset = Preset::kMixed;
  o.profile = &export_profile_for("onnxruntime");
  o.model_type = model_type_for("transformer", "model_type");
  return o;
}

TEST(PlacementModelType, TransformerQuantizesTheMatMulsAndKeepsTheGlueFloat) {
  AttentionNet n;
  const QuantizerSet set = place_quantizers(n.b.model, hw_config_for("CPU"), transformer());
  SCOPED_TRACE(dump(set));
  // Projections: input and per-channel weight (axis -1 of [K, N] = N); x is read by the three projections and the
  // residual Add, one asymmetric (mixed) quantizer for the four.
  EXPECT_EQ(set.quantized_ops, (std::vector<std::string>{"q", "k", "v", "qk", "proj", "residual"}));
  EXPECT_EQ(edges_of(set, "x"),
            (std::vector<QuantizedEdge>{edge("q", 0), edge("k", 0), edge("v", 0), edge("residual", 1)}));
  EXPECT_EQ(quantizer_on(set, "x")->spec.mode, QuantMode::kAsymmetric);
  for (const std::string w : {"q_w", "k_w", "v_w", "proj_w"}) {
    ASSERT_NE(quantizer_on(set, w), nullptr) << w;
    EXPECT_EQ(quantizer_on(set, w)->spec.granularity, Granularity::kPerChannel) << w;
    EXPECT_EQ(quantizer_on(set, w)->spec.axis, 1) << w;
    EXPECT_EQ(quantizer_on(set, w)->spec.mode, QuantMode::kSymmetric) << w;
  }
  // Q x K^T: both operands symmetric (signed, or unsigned when the range is >= 0), K above its Transpose.
  for (const std::string src : {"q_bias_out", "k_bias_out"}) {
    const Quantizer* q = quantizer_on(set, src);
    ASSERT_NE(q, nullptr) << src;
    EXPECT_EQ(q->spec.mode, QuantMode::kSymmetric) << src;
    EXPECT_TRUE(q->spec.signedness_from_range) << src;
    EXPECT_FALSE(q->spec.narrow_range) << src;
  }
  EXPECT_EQ(edges_of(set, "q_bias_out"), std::vector<QuantizedEdge>{edge("qk", 0)});
  EXPECT_EQ(edges_of(set, "k_bias_out"), std::vector<QuantizedEdge>{edge("qk", 1)});
  // The additive mask before the Softmax and Softmax x V: ignored patterns, float; nothing quantizes the mask, the
  // probabilities or V.
  ASSERT_NE(find_float(set, "masked"), nullptr);
  EXPECT_NE(find_float(set, "masked")->reason.find("ignored pattern 'attention_mask_add'"), std::string::npos)
      << find_float(set, "masked")->reason;
  ASSERT_NE(find_float(set, "pv"), nullptr);
  EXPECT_NE(find_float(set, "pv")->reason.find("ignored pattern 'softmax_matmul'"), std::string::npos)
      << find_float(set, "pv")->reason;
  EXPECT_EQ(quantizer_on(set, "mask"), nullptr);
  EXPECT_EQ(quantizer_on(set, "softmax_out"), nullptr);
  EXPECT_EQ(quantizer_on(set, "v_bias_out"), nullptr);
  // The context feeds the output projection: its input quantizer, asymmetric (one operand is a weight).
  EXPECT_EQ(edges_of(set, "pv_out"), std::vector<QuantizedEdge>{edge("proj", 0)});
  EXPECT_EQ(quantizer_on(set, "pv_out")->spec.mode, QuantMode::kAsymmetric);
  // The residual Add reads the projection's biased output quantized (ORT keeps MatMul + bias in the int8 group).
  EXPECT_EQ(edges_of(set, "proj_bias_out"), std::vector<QuantizedEdge>{edge("residual", 0)});
  EXPECT_EQ(quantizer_on(set, "qk_out"), nullptr) << "the scale Mul is float: no output quantizer on Q x K^T";
}

TEST(PlacementModelType, ElementWiseGlueOfTwoComputedTensorsStaysFloat) {
  // GELU as exporters write it: x * 0.5 * (1 + erf(x / sqrt 2)); its Mul of two computed tensors stays float, and so
  // does a Sub of two computed tensors (LayerNorm's x - mean); the MatMuls around it are int8.
  GraphBuilder b;
  ir::Value* h = b.node("MatMul", {b.input("x"), b.constant("w1", {8, 8})}, "fc1");
  ir::Value* erf = b.node("Erf", {b.node("Div", {h, b.constant("sqrt2", {})}, "div")}, "erf");
  ir::Value* gelu = b.node("Mul", {h, b.node("Add", {erf, b.constant("one", {})}, "plus1")}, "gelu");
  ir::Value* centered = b.node("Sub", {gelu, b.node("ReduceMean", {gelu}, "mean")}, "center");
  b.output(b.node("MatMul", {centered, b.constant("w2", {8, 8})}, "fc2"));
  const QuantizerSet set = place_quantizers(b.model, hw_config_for("CPU"), transformer());
  SCOPED_TRACE(dump(set));
  EXPECT_EQ(set.quantized_ops, (std::vector<std::string>{"fc1", "fc2"}));
  ASSERT_NE(find_float(set, "gelu"), nullptr);
  EXPECT_EQ(find_float(set, "gelu")->reason, "model_type transformer keeps Mul in float");
  EXPECT_EQ(edges_of(set, "center_out"), std::vector<QuantizedEdge>{edge("fc2", 0)});
  PlacementOptions plain = transformer();
  plain.model_type = nullptr;
  const QuantizerSet device_only = place_quantizers(b.model, hw_config_for("CPU"), plain);
  EXPECT_EQ(device_only.quantized_ops, (std::vector<std::string>{"fc1", "gelu", "fc2"})) << dump(device_only);
}

TEST(PlacementModelType, WithoutAModelTypeTheSameBlockQuantizesTheGlue) {
  // The contrast that makes the test above mean something: the device alone quantizes the mask Add and P x V.
  AttentionNet n;
  PlacementOptions o = transformer();
  o.model_type = nullptr;
  const QuantizerSet set = place_quantizers(n.b.model, hw_config_for("CPU"), o);
  SCOPED_TRACE(dump(set));
  EXPECT_EQ(set.quantized_ops, (std::vector<std::string>{"q", "k", "v", "qk", "masked", "pv", "proj", "residual"}));
  EXPECT_EQ(quantizer_on(set, "q_bias_out")->spec.mode, QuantMode::kAsymmetric);
  EXPECT_EQ(find_float(set, "pv"), nullptr);
}

TEST(PlacementModelType, TransformerOnAConvNetChangesOnlyTheGlue) {
  // Conv -> Relu -> Conv: nothing of the transformer rules applies; placement is the device's.
  GraphBuilder b;
  b.output(b.conv(b.node("Relu", {b.conv(b.input("x"), "conv1")}, "relu1"), "conv2"));
  PlacementOptions plain = transformer();
  plain.model_type = nullptr;
  const QuantizerSet with = place_quantizers(b.model, hw_config_for("CPU"), transformer());
  const QuantizerSet without = place_quantizers(b.model, hw_config_for("CPU"), plain);
  EXPECT_EQ(dump(with), dump(without));
}

// ---- real models

struct ModelCase {
  std::string path;
  QuantizerSet set;
  ir::Model model;
};

ModelCase place_real(const std::string& name, const ExportProfile* profile = nullptr) {
  ModelCase c;
  c.path = ::qwac::testing::shared_path("assets/models/" + name + "/model.onnx");
  c.model = onnxio::load_model(c.path);
  // The parts of canonicalization that change placement: BN folded into Conv, Dropout removed, shape chains
  // (Shape -> Gather -> Concat -> Reshape) folded, every value typed. Symbolic dims are fixed to 1.
  std::map<std::string, Shape> input_shapes;
  for (const ir::Value* v : c.model.graph->inputs()) {
    Shape s;
    for (const ir::Dim& d : v->type.shape.value_or(ir::SymbolicShape{})) s.push_back(d.size >= 0 ? d.size : 1);
    input_shapes[v->name()] = s;
  }
  passes::FoldBatchNorm().run(c.model);
  passes::EliminateDropout().run(c.model);
  runtime::fold_constants(c.model, input_shapes);
  runtime::infer_value_types(c.model, input_shapes);
  PlacementOptions options;
  options.profile = profile;
  c.set = place_quantizers(c.model, hw_config_for("CPU"), options);
  std::cout << name << ": " << c.set.quantizers.size() << " quantizers, " << c.set.groups.size() << " groups, "
            << c.set.quantized_ops.size() << " quantized ops\n";
  for (const QuantizerGroup& g : c.set.groups) {
    std::cout << "  group " << g.id << " " << g.name << ": " << g.quantizers.size() << " quantizers\n";
  }
  for (const FloatOp& f : c.set.float_ops) std::cout << "  float " << f.op_type << " " << f.node << ": " << f.reason << "\n";
  return c;
}

size_t count_type(const ir::Graph& g, const std::string& type) {
  const auto nodes = g.nodes();
  return static_cast<size_t>(std::count_if(nodes.begin(), nodes.end(), [&](const ir::Node* n) { return n->op_type() == type; }));
}

// Every Conv gets its input and weight quantized; no quantizer is left without an edge or a group.
void check_convs(const ModelCase& c) {
  for (const ir::Node* n : c.model.graph->nodes()) {
    if (n->op_type() != "Conv") continue;
    const int act = c.set.quantizer_for_edge({n->name(), 0});
    const int w = c.set.quantizer_for_edge({n->name(), 1});
    ASSERT_GE(act, 0) << n->name();
    ASSERT_GE(w, 0) << n->name();
    EXPECT_EQ(c.set.at(w).kind, QuantizerKind::kWeight) << n->name();
    EXPECT_EQ(c.set.at(w).spec.axis, 0) << n->name();
    EXPECT_EQ(c.set.at(act).group, c.set.at(w).group) << n->name();
  }
  for (const Quantizer& q : c.set.quantizers) {
    EXPECT_FALSE(q.edges.empty()) << q.name;
    EXPECT_GE(q.group, 0) << q.name;
  }
}

TEST(PlacementRealModels, SqueezeNet) {
  QWAC_REQUIRE_SHARED();
  const ModelCase c = place_real("squeezenet1.1-imagenet");
  const size_t convs = count_type(*c.model.graph, "Conv");
  check_convs(c);
  EXPECT_EQ(c.set.quantized_ops.size(), convs + count_type(*c.model.graph, "GlobalAveragePool") +
                                            count_type(*c.model.graph, "AveragePool"));
  // Each Fire module's expand branches are Concat'd into the next squeeze Conv (through MaxPool sometimes):
  // one quantizer with both Relu outputs as sources.
  size_t unified = 0;
  for (const Quantizer& q : c.set.quantizers) {
    if (q.sources.size() == 2) ++unified;
    EXPECT_LE(q.sources.size(), 2u) << q.name;
  }
  EXPECT_EQ(unified, count_type(*c.model.graph, "Concat"));
  // A Fire module's squeeze output feeds both expand convs: they share its quantizer, so they form one group.
  EXPECT_LT(c.set.groups.size(), convs);
}

TEST(PlacementRealModels, ResNet20) {
  QWAC_REQUIRE_SHARED();
  const ModelCase c = place_real("resnet20-cifar10");
  check_convs(c);
  // Residual adds (both operands computed) are quantized, each sharing a group with the convs that read the same
  // block input; adds with a constant operand stay float.
  size_t residual_adds = 0;
  for (const ir::Node* n : c.model.graph->nodes()) {
    if (n->op_type() != "Add") continue;
    const bool residual = !n->input(0)->is_constant() && !n->input(1)->is_constant();
    residual_adds += residual ? 1 : 0;
    const bool quantized = std::find(c.set.quantized_ops.begin(), c.set.quantized_ops.end(), n->name()) !=
                           c.set.quantized_ops.end();
    EXPECT_EQ(quantized, residual) << n->name();
    if (residual) {
      EXPECT_EQ(c.set.quantizer_for_edge({n->name(), 0}) >= 0 && c.set.quantizer_for_edge({n->name(), 1}) >= 0, true)
          << n->name();
    }
  }
  EXPECT_GE(residual_adds, 9u);  // 3 stages x 3 basic blocks
}

TEST(PlacementRealModels, MnistCntk) {
  QWAC_REQUIRE_SHARED();
  const ModelCase c = place_real("mnist-cntk");
  check_convs(c);
  EXPECT_GE(c.set.quantized_ops.size(), count_type(*c.model.graph, "Conv"));
}

TEST(PlacementRealModels, MobileNetV3UnderOnnxRuntimeProfile) {
  // Every op ONNX Runtime runs in int8 is quantized, and every Conv's output (after its Relu when one follows) has a
  // quantizer: ORT then fuses all 52 convolutions (README's benchmark section, profile.js).
  QWAC_REQUIRE_SHARED();
  const ModelCase c = place_real("mobilenetv3s-cifar10", &export_profile_for("onnxruntime"));
  check_convs(c);
  const ir::Graph& g = *c.model.graph;
  size_t convs = 0;
  for (const ir::Node* n : g.nodes()) {
    const bool quantized =
        std::find(c.set.quantized_ops.begin(), c.set.quantized_ops.end(), n->name()) != c.set.quantized_ops.end();
    if (n->op_type() == "Mul" || n->op_type() == "Add" || n->op_type() == "HardSigmoid" ||
        n->op_type() == "GlobalAveragePool" || n->op_type() == "Gemm") {
      EXPECT_TRUE(quantized) << n->describe();
    }
    if (n->op_type() != "Conv") continue;
    ++convs;
    const ir::Value* out = n->output(0);
    if (out->uses().size() == 1 && out->uses()[0].node->op_type() == "Relu") out = out->uses()[0].node->output(0);
    EXPECT_NE(c.set.find_by_source(out->name()), nullptr) << n->describe();
  }
  EXPECT_EQ(convs, 52u);
  EXPECT_TRUE(c.set.float_ops.empty());
}

}  // namespace
}  // namespace qwac::quant
