// ir::Activation: the facts table, attributes in and out, and reading the activation an ONNX node computes.
#include "ir/activation.h"

#include <gtest/gtest.h>

#include <limits>

#include "ir/fused_ops.h"
#include "qwac/error.h"

namespace qwac::ir {
namespace {

using K = ActivationKind;

TEST(Activation, TableHasOneRowPerKindWithNamesThatRoundTrip) {
  for (size_t k = 1; k < kActivationKindCount; ++k) {
    const ActivationFacts& f = activation_facts(static_cast<K>(k));
    EXPECT_EQ(static_cast<size_t>(f.kind), k);
    ASSERT_NE(find_activation(f.name), nullptr) << f.name;
    EXPECT_EQ(find_activation(f.name)->kind, f.kind);
  }
  EXPECT_EQ(find_activation("Softplus"), nullptr);
  EXPECT_EQ(find_activation(""), nullptr);
  EXPECT_TRUE(activation_facts(K::kRelu).positively_homogeneous);
  EXPECT_FALSE(activation_facts(K::kHardSwish).positively_homogeneous);
}

TEST(Activation, AttributesRoundTripWithDefaults) {
  Attributes attrs;
  EXPECT_TRUE(Activation::from_attributes(attrs, "n").none());
  attrs.set("activation", std::string("HardSigmoid"));
  EXPECT_EQ(Activation::from_attributes(attrs, "n"), (Activation{K::kHardSigmoid, 0.2f, 0.5f})) << "defaults";
  attrs.set("activation_params", std::vector<float>{0.25f, 0.4f});
  const Activation a = Activation::from_attributes(attrs, "n");
  EXPECT_EQ(a, (Activation{K::kHardSigmoid, 0.25f, 0.4f}));
  EXPECT_EQ(a.describe(), "HardSigmoid(alpha=0.25, beta=0.4)");
  Attributes written;
  a.to_attributes(written);
  EXPECT_EQ(written.get_string("activation"), "HardSigmoid");
  EXPECT_EQ(written.get_floats("activation_params"), (std::vector<float>{0.25f, 0.4f}));
  Activation{}.to_attributes(written);
  EXPECT_FALSE(written.has("activation"));
  EXPECT_FALSE(written.has("activation_params"));
  Activation{K::kGelu}.to_attributes(written);
  EXPECT_EQ(Activation::from_attributes(written, "n").kind, K::kGelu);
  EXPECT_FALSE(written.has("activation_params"));
}

TEST(Activation, BadAttributesNameTheOwner) {
  Attributes attrs;
  attrs.set("activation", std::string("Softplus"));
  try {
    Activation::from_attributes(attrs, "FusedConv 'c'");
    FAIL() << "expected InvalidModel";
  } catch (const InvalidModel& e) {
    EXPECT_NE(std::string(e.what()).find("FusedConv 'c': activation 'Softplus'"), std::string::npos) << e.what();
  }
  attrs.set("activation", std::string("Clip"));
  attrs.set("activation_params", std::vector<float>{1.f});
  EXPECT_THROW(Activation::from_attributes(attrs, "n"), InvalidModel);
}

struct NodeGraph {
  Graph g;
  Value* x;
  NodeGraph() {
    x = g.add_value("x");
    g.add_input(x);
  }
  Node& node(const std::string& op, std::vector<Value*> extra = {}, const std::string& domain = "") {
    std::vector<Value*> inputs = {x};
    inputs.insert(inputs.end(), extra.begin(), extra.end());
    return *g.add_node(op, inputs, {g.add_value(g.unique_name(op))}, g.unique_name(op + "_node"), domain);
  }
};

TEST(Activation, FromNodeReadsOnnxOpsWithTheirAttributes) {
  NodeGraph t;
  Node& leaky = t.node("LeakyRelu");
  EXPECT_EQ(activation_from_node(leaky, 13), (Activation{K::kLeakyRelu, 0.01f}));
  leaky.attrs.set("alpha", 0.2f);
  EXPECT_EQ(activation_from_node(leaky, 13), (Activation{K::kLeakyRelu, 0.2f}));
  EXPECT_EQ(activation_from_node(t.node("HardSigmoid"), 13), (Activation{K::kHardSigmoid, 0.2f, 0.5f}));
  EXPECT_FALSE(activation_from_node(t.node("HardSwish"), 13).has_value()) << "HardSwish is opset 14";
  EXPECT_EQ(activation_from_node(t.node("HardSwish"), 14), (Activation{K::kHardSwish}));
  Node& gelu = t.node("Gelu");
  EXPECT_EQ(activation_from_node(gelu, 20), (Activation{K::kGelu}));
  gelu.attrs.set("approximate", std::string("tanh"));
  EXPECT_EQ(activation_from_node(gelu, 20), (Activation{K::kGeluTanh}));
  EXPECT_FALSE(activation_from_node(t.node("Softplus"), 13).has_value());
  EXPECT_FALSE(activation_from_node(t.node("Relu", {}, "com.other"), 13).has_value());
  Node& qwac = t.node(std::string(kActivationOp), {}, std::string(kQwacDomain));
  Activation{K::kSwish, 1.f}.to_attributes(qwac.attrs);
  EXPECT_EQ(activation_from_node(qwac, 13), (Activation{K::kSwish, 1.f}));
}

TEST(Activation, FromNodeReadsClipBoundsFromAttributesOrConstantInputs) {
  NodeGraph t;
  Node& old_clip = t.node("Clip");
  old_clip.attrs.set("min", 0.f);
  old_clip.attrs.set("max", 6.f);
  EXPECT_EQ(activation_from_node(old_clip, 10), (Activation{K::kClip, 0.f, 6.f}));
  const float six = 6.f;
  Value* hi = t.g.add_constant("hi", Tensor::from_values<float>({}, &six));
  Node& clip = t.node("Clip", {nullptr, hi});
  EXPECT_EQ(activation_from_node(clip, 13), (Activation{K::kClip, std::numeric_limits<float>::lowest(), 6.f}));
  Value* computed = t.g.add_value("computed");
  t.g.add_input(computed);
  EXPECT_FALSE(activation_from_node(t.node("Clip", {computed}), 13).has_value()) << "data-dependent bound";
}

}  // namespace
}  // namespace qwac::ir
