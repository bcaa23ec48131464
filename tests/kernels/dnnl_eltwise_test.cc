// oneDNN eltwise and binary kernels against the reference kernels, on plain and blocked inputs.
#include <gtest/gtest.h>

#include <random>

#include "kernels/dnnl_registry_util.h"
#include "kernels/dnnl_test_util.h"

namespace qwac::testing {
namespace {

const kernels::KernelRegistry& ref() { return kernels::reference_kernel_registry(); }

// Output of a oneDNN 1x1 Conv over random data: a tensor in oneDNN's blocked layout plus its plain copy.
std::pair<Blob, Tensor> conv_output(const Shape& shape, std::mt19937& rng) {
  const Blob x = Blob::plain(random_tensor(shape, rng, -2.f, 2.f));
  const Blob w = Blob::plain(random_tensor({shape[1], shape[1], 1, 1}, rng), true);
  NodeRun r = run_node("Conv", {}, {x, w}, 14, dnnl_only_registry());
  return {r.outputs[0], r.outputs[0].to_plain()};
}

struct UnaryCase {
  std::string op;
  ir::Attributes attrs;
  std::vector<float> clip;  // Clip bounds given as inputs
};

TEST(DnnlEltwise, MatchesReferenceOnPlainAndBlockedInputs) {
  std::mt19937 rng(41);
  ir::Attributes leaky, elu;
  leaky.set("alpha", 0.2f);
  elu.set("alpha", 0.6f);
  const std::vector<UnaryCase> cases = {
      {"Relu", {}, {}},       {"LeakyRelu", leaky, {}}, {"Sigmoid", {}, {}},         {"Tanh", {}, {}},
      {"Elu", elu, {}},       {"HardSwish", {}, {}},    {"Clip", {}, {-0.5f, 0.8f}}, {"Clip", {}, {0.f}},
      {"Exp", {}, {}},        {"Abs", {}, {}},
  };
  for (const UnaryCase& c : cases) {
    for (const Shape& shape : {Shape{2, 13, 5, 7}, Shape{1, 16, 3, 3}, Shape{37}}) {
      for (bool blocked : {false, true}) {
        if (blocked && shape.size() != 4) continue;
        Blob x;
        Tensor x_plain;
        if (blocked) {
          std::tie(x, x_plain) = conv_output(shape, rng);
        } else {
          x_plain = random_tensor(shape, rng, -3.f, 3.f);
          x = Blob::plain(x_plain);
        }
        std::vector<Blob> in = {x}, ref_in = {Blob::plain(x_plain)};
        for (float b : c.clip) {
          in.push_back(Blob::plain(Tensor::from_values<float>({}, &b), true));
          ref_in.push_back(in.back());
        }
        const std::string what = c.op + " " + shape_to_string(shape) + (blocked ? " blocked " : " plain ") +
                                 describe_attrs(c.attrs) + " bounds " + std::to_string(c.clip.size());
        const Tensor expected = run_plain(c.op, c.attrs, ref_in, 14, ref());
        const NodeRun r = run_node(c.op, c.attrs, in, 14, dnnl_only_registry());
        EXPECT_EQ(r.outputs[0].blocked(), x.blocked()) << what << ": the output keeps the input layout";
        EXPECT_EQ(compare_tensors(r.outputs[0].to_plain(), expected, kDnnlRtol, 1e-5), "") << what;
      }
    }
  }
}

TEST(DnnlBinary, MatchesReferenceWithBroadcasting) {
  std::mt19937 rng(42);
  struct Case {
    Shape a, b;
    bool declines_for_non_commutative;
  };
  const std::vector<Case> cases = {
      {{2, 5, 4, 3}, {2, 5, 4, 3}, false}, {{2, 5, 4, 3}, {1, 5, 1, 1}, false}, {{2, 5, 4, 3}, {5, 1, 1}, false},
      {{2, 5, 4, 3}, {}, false},           {{2, 5, 4, 3}, {3}, false},          {{1, 5, 1, 1}, {2, 5, 4, 3}, true},
      {{7, 1}, {7, 9}, true},              {{31}, {31}, false},
  };
  for (const std::string op : {"Add", "Sub", "Mul", "Div"}) {
    const bool commutative = op == "Add" || op == "Mul";
    for (const Case& c : cases) {
      const Tensor a = random_tensor(c.a, rng, 0.5f, 2.f);
      const Tensor b = random_tensor(c.b, rng, 0.5f, 2.f);
      const std::vector<Blob> in = {Blob::plain(a), Blob::plain(b)};
      const std::string what = op + " " + shape_to_string(c.a) + " " + shape_to_string(c.b);
      const Tensor expected = run_plain(op, {}, in, 14, ref());
      if (c.declines_for_non_commutative && !commutative) {
        EXPECT_THROW(run_node(op, {}, in, 14, dnnl_only_registry()), UnsupportedOp) << what;
        continue;
      }
      NodeRun r;
      try {
        r = run_node(op, {}, in, 14, dnnl_only_registry());
      } catch (const UnsupportedOp& e) {
        ADD_FAILURE() << what << ": " << e.what();
        continue;
      }
      EXPECT_EQ(compare_tensors(r.outputs[0].to_plain(), expected, kDnnlRtol, kDnnlAtol), "") << what;
    }
  }
}

TEST(DnnlBinary, BlockedOperands) {
  std::mt19937 rng(43);
  for (int64_t channels : {8, 12, 24}) {
    const Shape shape = {2, channels, 5, 6};
    auto [a, a_plain] = conv_output(shape, rng);
    auto [b, b_plain] = conv_output(shape, rng);
    const Tensor bias = random_tensor({1, channels, 1, 1}, rng);
    for (const std::string op : {"Add", "Mul", "Sub"}) {
      // blocked + blocked (residual add), blocked + plain per-channel vector, plain + blocked.
      const std::vector<std::pair<std::vector<Blob>, std::vector<Tensor>>> variants = {
          {{a, b}, {a_plain, b_plain}},
          {{a, Blob::plain(bias)}, {a_plain, bias}},
          {{Blob::plain(a_plain), b}, {a_plain, b_plain}},
      };
      for (size_t v = 0; v < variants.size(); ++v) {
        const std::string what = op + " channels " + std::to_string(channels) + " variant " + std::to_string(v);
        const Tensor expected = run_plain(op, {}, {Blob::plain(variants[v].second[0]),
                                                   Blob::plain(variants[v].second[1])}, 14, ref());
        NodeRun r;
        try {
          r = run_node(op, {}, variants[v].first, 14, dnnl_only_registry());
        } catch (const UnsupportedOp& e) {
          // Declining mixed layouts is allowed (the runtime then converts to plain for the reference), but the
          // residual case, both operands in the same blocked layout, must run on oneDNN.
          EXPECT_NE(v, 0u) << what << ": " << e.what();
          continue;
        }
        EXPECT_EQ(compare_tensors(r.outputs[0].to_plain(), expected, kDnnlRtol, kDnnlAtol), "") << what;
      }
    }
  }
}

// The squeeze-and-excitation scale: X [N,C,H,W] from a Conv times S [N,C,1,1] from a 1x1 Conv over the pooled X,
// both in the layouts oneDNN's convolutions chose (not the same: nhwc and nChw16c). It must run on oneDNN's jit
// binary, not its reference kernel, and keep X's layout, so the network body needs no conversion to plain.
TEST(DnnlBinary, SqueezeExcitationScaleStaysOnOneDnn) {
  std::mt19937 rng(44);
  for (int64_t batch : {1, 3}) {
    for (int64_t channels : {8, 24, 32, 40}) {
      auto [x, x_plain] = conv_output({batch, channels, 7, 9}, rng);
      auto [s, s_plain] = conv_output({batch, channels, 1, 1}, rng);
      for (const std::string op : {"Mul", "Add"}) {
        const std::string what = op + " batch " + std::to_string(batch) + " channels " + std::to_string(channels) +
                                 " x " + (x.blocked() ? x.format->describe() : "plain") + " s " +
                                 (s.blocked() ? s.format->describe() : "plain");
        const Tensor expected = run_plain(op, {}, {Blob::plain(x_plain), Blob::plain(s_plain)}, 14, ref());
        for (const bool swapped : {false, true}) {
          NodeRun r = swapped ? run_node(op, {}, {s, x}, 14, dnnl_only_registry())
                              : run_node(op, {}, {x, s}, 14, dnnl_only_registry());
          EXPECT_EQ(r.impl, "dnnl") << what;
          EXPECT_EQ(r.outputs[0].blocked(), x.blocked()) << what << ": the output keeps X's layout";
          EXPECT_EQ(compare_tensors(r.outputs[0].to_plain(), expected, kDnnlRtol, kDnnlAtol), "") << what;
        }
      }
    }
  }
}

}  // namespace
}  // namespace qwac::testing
