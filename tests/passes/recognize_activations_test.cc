// RecognizeActivations and the rows of passes/activation_patterns.h: which decompositions become one op (structure,
// for both targets) and that the engine computes the same with and without the rewrite (numbers), on the reference
// kernels and on oneDNN, where the Conv before it then takes the activation as a post-op.
#include "passes/recognize_activations.h"

#include <gtest/gtest.h>

#include <functional>
#include <random>
#include <set>

#include "ir/activation.h"
#include "ir/fused_ops.h"
#include "model_builder.h"
#include "passes/activation_patterns.h"
#include "runtime/engine.h"
#include "test_util.h"

namespace qwac::passes {
namespace {

using ir::ActivationKind;
using ir::Value;
using Target = RecognizeActivations::Target;

struct Builder : testing::ModelBuilder {
  explicit Builder(int64_t opset = 13) : testing::ModelBuilder(17, opset) {}
  Value* scalar(const std::string& name, float v) { return g->add_constant(name, Tensor::from_values<float>({}, &v)); }
  // relu6(x + 3), Clip's bounds as inputs (opset >= 11) or attributes.
  Value* relu6_plus_3(Value* x) {
    Value* shifted = node("Add", {x, scalar("three", 3.f)}, "add3");
    if (model.opset("") >= 11) return node("Clip", {shifted, scalar("zero", 0.f), scalar("six", 6.f)}, "relu6");
    Value* y = node("Clip", {shifted}, "relu6");
    g->find_node("relu6")->attrs.set("min", 0.f);
    g->find_node("relu6")->attrs.set("max", 6.f);
    return y;
  }
};

// One decomposition: builds y = f(x) into a model with input x [2, 8, 5, 5] and output y, after a Conv (so that the
// engine can fuse the recognized activation into it).
struct Form {
  std::string name;
  ActivationKind kind;
  int64_t opset;
  std::function<Value*(Builder&, Value*)> build;
};

std::vector<Form> forms() {
  return {
      {"x * HardSigmoid(x)", ActivationKind::kHardSwish, 13,
       [](Builder& b, Value* x) {
         Value* h = b.node("HardSigmoid", {x}, "hsig");
         b.g->find_node("hsig")->attrs.set("alpha", 1.f / 6.f);
         return b.node("Mul", {x, h}, "mul");
       }},
      {"x * relu6(x + 3) / 6", ActivationKind::kHardSwish, 13,
       [](Builder& b, Value* x) {
         return b.node("Div", {b.node("Mul", {b.relu6_plus_3(x), x}, "mul"), b.scalar("six_d", 6.f)}, "div");
       }},
      {"x * relu6(x + 3) * (1/6), Clip attributes", ActivationKind::kHardSwish, 10,
       [](Builder& b, Value* x) {
         return b.node("Mul", {b.scalar("sixth", 1.f / 6.f), b.node("Mul", {x, b.relu6_plus_3(x)}, "mul")}, "mul2");
       }},
      {"x * (relu6(x + 3) / 6)", ActivationKind::kHardSwish, 13,
       [](Builder& b, Value* x) {
         return b.node("Mul", {x, b.node("Div", {b.relu6_plus_3(x), b.scalar("six_d", 6.f)}, "div")}, "mul");
       }},
      {"relu6(x + 3) * (1/6)", ActivationKind::kHardSigmoid, 13,
       [](Builder& b, Value* x) {
         return b.node("Mul", {b.relu6_plus_3(x), b.scalar("sixth", 0.16666667f)}, "mul");
       }},
      {"x * Sigmoid(x)", ActivationKind::kSwish, 13,
       [](Builder& b, Value* x) {
         return b.node("Mul", {b.node("Sigmoid", {x}, "sig"), x}, "mul");
       }},
      {"x * Tanh(Softplus(x))", ActivationKind::kMish, 13,
       [](Builder& b, Value* x) {
         return b.node("Mul", {b.node("Tanh", {b.node("Softplus", {x}, "sp")}, "th"), x}, "mul");
       }},
      {"x * Tanh(Softplus(x)) at opset 18", ActivationKind::kMish, 18,
       [](Builder& b, Value* x) {
         return b.node("Mul", {x, b.node("Tanh", {b.node("Softplus", {x}, "sp")}, "th")}, "mul");
       }},
      {"(x * (1 + erf(x / sqrt2))) * 0.5", ActivationKind::kGelu, 13,
       [](Builder& b, Value* x) {
         Value* e = b.node("Erf", {b.node("Div", {x, b.scalar("sqrt2", 1.4142135f)}, "div")}, "erf");
         Value* one_plus = b.node("Add", {e, b.scalar("one", 1.f)}, "add1");
         return b.node("Mul", {b.node("Mul", {x, one_plus}, "mul"), b.scalar("half", 0.5f)}, "mul_half");
       }},
      {"(x * 0.5) * (1 + tanh(0.7978846 (x + 0.044715 Pow(x, 3))))", ActivationKind::kGeluTanh, 13,
       [](Builder& b, Value* x) {
         Value* cube = b.node("Pow", {x, b.scalar("three_p", 3.f)}, "pow");
         Value* inner = b.node("Add", {x, b.node("Mul", {cube, b.scalar("c", 0.044715f)}, "mul_c")}, "add_in");
         Value* t = b.node("Tanh", {b.node("Mul", {b.scalar("k", 0.7978846f), inner}, "mul_k")}, "tanh");
         Value* one_plus = b.node("Add", {b.scalar("one", 1.f), t}, "add1");
         return b.node("Mul", {b.node("Mul", {x, b.scalar("half", 0.5f)}, "half_x"), one_plus}, "mul");
       }},
  };
}

// x -> Conv (8 -> 8, 3x3 same) -> f -> y.
ir::Model model_of(const Form& f) {
  Builder b(f.opset);
  Value* x = b.input("x", {2, 8, 5, 5});
  Value* w = b.g->add_constant("w", testing::random_tensor({8, 8, 3, 3}, b.rng, -0.3f, 0.3f));
  Value* c = b.node("Conv", {x, w}, "conv");
  b.g->find_node("conv")->attrs.set("pads", std::vector<int64_t>{1, 1, 1, 1});
  b.g->add_output(f.build(b, c));
  return std::move(b.model);
}

size_t count_ops(const ir::Graph& g, const std::string& op_type) {
  size_t n = 0;
  for (const ir::Node* node : g.nodes()) n += node->op_type() == op_type ? 1 : 0;
  return n;
}

Tensor run(const ir::Model& model, bool use_dnnl, bool fuse, std::vector<runtime::PlannedNode>* plan = nullptr) {
  runtime::EngineOptions o;
  o.use_dnnl = use_dnnl;
  o.fuse = fuse;
  o.num_threads = 1;
  runtime::Engine engine(model, o);
  std::mt19937 rng(5);
  if (plan != nullptr) *plan = engine.planned_nodes();
  return engine.run({{"x", testing::random_tensor({2, 8, 5, 5}, rng, -3.f, 3.f)}})[0];
}

TEST(RecognizeActivations, EngineTargetMakesOneActivationOfEveryForm) {
  for (const Form& f : forms()) {
    ir::Model m = model_of(f);
    const size_t nodes_before = m.graph->num_nodes();
    ASSERT_TRUE(RecognizeActivations(Target::kEngine).run(m)) << f.name;
    m.graph->verify();
    ASSERT_EQ(m.graph->num_nodes(), 2u) << f.name << ": Conv and the activation, from " << nodes_before;
    const ir::Node* act = m.graph->outputs()[0]->producer();
    ASSERT_EQ(act->op_type(), ir::kActivationOp) << f.name;
    EXPECT_EQ(act->domain(), ir::kQwacDomain);
    EXPECT_EQ(act->input(0)->name(), "conv_out") << f.name;
    EXPECT_EQ(ir::Activation::from_attributes(act->attrs, act->describe()).kind, f.kind) << f.name;
    for (const Value* v : m.graph->values()) {
      if (v->is_constant()) {
        EXPECT_EQ(v->name(), "w") << f.name << ": the pattern's constants go";
      }
    }
    EXPECT_FALSE(RecognizeActivations(Target::kEngine).run(m)) << f.name << ": nothing left";
  }
}

TEST(RecognizeActivations, EngineComputesTheSameAndFusesIntoTheConv) {
  for (const Form& f : forms()) {
    const ir::Model m = model_of(f);
    const Tensor expected = run(m, /*use_dnnl=*/false, /*fuse=*/false);
    std::vector<runtime::PlannedNode> plan;
    const Tensor fused = run(m, /*use_dnnl=*/true, /*fuse=*/true, &plan);
    EXPECT_EQ(testing::compare_tensors(fused, expected, 1e-4, 1e-5), "") << f.name;
    ASSERT_EQ(plan.size(), 1u) << f.name << ": the activation runs as the Conv's post-op";
    EXPECT_EQ(plan[0].op_type, ir::kFusedConvOp);
    EXPECT_EQ(plan[0].impl, "dnnl");
    ir::Model recognized = model_of(f);
    RecognizeActivations(Target::kEngine).run(recognized);
    EXPECT_EQ(testing::compare_tensors(run(recognized, false, false), expected, 1e-5, 1e-6), "")
        << f.name << " on the reference kernels";
  }
}

TEST(RecognizeActivations, OnnxTargetUsesOnlyOpsOfTheModelsOpset) {
  for (const Form& f : forms()) {
    ir::Model m = model_of(f);
    const bool changed = RecognizeActivations(Target::kOnnx).run(m);
    const ir::ActivationFacts& facts = ir::activation_facts(f.kind);
    const bool expected = !facts.onnx_op.empty() && f.opset >= facts.since_opset;
    // x * (relu6(x + 3) / 6) becomes x * HardSigmoid(x) at opset 13: HardSigmoid exists, HardSwish does not.
    const bool partial = f.name == "x * (relu6(x + 3) / 6)";
    EXPECT_EQ(changed, expected || partial) << f.name;
    if (expected) {
      ASSERT_EQ(m.graph->num_nodes(), 2u) << f.name;
      EXPECT_EQ(m.graph->outputs()[0]->producer()->op_type(), facts.onnx_op) << f.name;
    }
    if (partial) {
      EXPECT_EQ(count_ops(*m.graph, "HardSigmoid"), 1u);
      EXPECT_EQ(count_ops(*m.graph, "Mul"), 1u);
    }
  }
  // At opset 14 x * HardSigmoid(x) is HardSwish.
  Form f = forms()[0];
  f.opset = 14;
  ir::Model m = model_of(f);
  EXPECT_TRUE(RecognizeActivations(Target::kOnnx).run(m));
  EXPECT_EQ(m.graph->outputs()[0]->producer()->op_type(), "HardSwish");
  EXPECT_EQ(testing::compare_tensors(run(m, false, false), run(model_of(f), false, false), 1e-5, 1e-6), "");
}

TEST(RecognizeActivations, LeavesLookAlikesAlone) {
  // x * Sigmoid(z), a gate read elsewhere, x + 2 instead of x + 3, a HardSigmoid with other parameters.
  for (int what = 0; what < 4; ++what) {
    Builder b;
    Value* x = b.input("x", {1, 4});
    Value* z = b.input("z", {1, 4});
    if (what == 0) b.g->add_output(b.node("Mul", {x, b.node("Sigmoid", {z}, "sig")}, "mul"));
    if (what == 1) {
      Value* s = b.node("Sigmoid", {x}, "sig");
      b.g->add_output(b.node("Mul", {x, s}, "mul"));
      b.g->add_output(s);
    }
    if (what == 2) {
      Value* shifted = b.node("Add", {x, b.scalar("two", 2.f)}, "add");
      Value* r = b.node("Clip", {shifted, b.scalar("zero", 0.f), b.scalar("six", 6.f)}, "relu6");
      b.g->add_output(b.node("Div", {b.node("Mul", {x, r}, "mul"), b.scalar("six_d", 6.f)}, "div"));
    }
    if (what == 3) {
      Value* h = b.node("HardSigmoid", {x}, "hsig");  // alpha 0.2
      b.g->add_output(b.node("Mul", {x, h}, "mul"));
    }
    EXPECT_FALSE(RecognizeActivations(Target::kEngine).run(b.model)) << "case " << what;
  }
}

TEST(ActivationPatterns, EveryRowHasANameAndARootNamedY) {
  std::set<std::string> names;
  for (const ActivationPattern& row : activation_patterns()) {
    EXPECT_TRUE(names.insert(row.name).second) << "duplicate row " << row.name;
    EXPECT_EQ(row.pattern.root(), "y") << row.name;
    EXPECT_EQ(row.pattern.inputs().front().name, "x") << row.name;
  }
  EXPECT_GE(names.size(), 18u);
}

}  // namespace
}  // namespace qwac::passes
