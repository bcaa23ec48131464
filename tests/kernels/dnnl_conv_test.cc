// oneDNN Conv / FusedConv / ConvTranspose kernels against their reference twins on seeded random problems.
#include <gtest/gtest.h>

#include <random>
#include <sstream>

#include "ir/fused_ops.h"
#include "kernels/activation_cases.h"
#include "kernels/ref/activation.h"
#include "kernels/dnnl_registry_util.h"
#include "kernels/dnnl_test_util.h"

namespace qwac::testing {
namespace {

const kernels::KernelRegistry& dnnl_registry() { return dnnl_only_registry(); }
const kernels::KernelRegistry& ref() { return kernels::reference_kernel_registry(); }

constexpr int64_t kOpset = 13;

struct ConvCase {
  Shape x, w;
  ir::Attributes attrs;
  bool bias;
  std::string describe() const {
    return "x" + shape_to_string(x) + " w" + shape_to_string(w) + (bias ? " bias " : " ") + describe_attrs(attrs);
  }
};

ConvCase random_conv_case(std::mt19937& rng, size_t spatial_rank) {
  auto pick = [&](int64_t lo, int64_t hi) { return std::uniform_int_distribution<int64_t>(lo, hi)(rng); };
  ConvCase c;
  const int64_t group_kind = pick(0, 2);  // 0: dense, 1: grouped, 2: depthwise
  const int64_t groups = group_kind == 0 ? 1 : group_kind == 1 ? 2 : pick(3, 9);
  const int64_t icg = group_kind == 2 ? 1 : pick(1, 9);
  const int64_t ocg = group_kind == 2 ? pick(1, 2) : pick(1, 12);
  c.x = {pick(1, 3), groups * icg};
  c.w = {groups * ocg, icg};
  std::vector<int64_t> strides, dilations, pads(2 * spatial_rank);
  for (size_t i = 0; i < spatial_rank; ++i) {
    const int64_t k = pick(1, 5);
    const int64_t dilation = k > 1 && pick(0, 3) == 0 ? 2 : 1;
    c.w.push_back(k);
    c.x.push_back(pick((k - 1) * dilation + 2, 17));
    strides.push_back(pick(1, 2));
    dilations.push_back(dilation);
    pads[i] = pick(0, k - 1);
    pads[i + spatial_rank] = pick(0, k - 1);
  }
  c.attrs.set("group", groups);
  c.attrs.set("strides", strides);
  c.attrs.set("dilations", dilations);
  const int64_t pad_kind = pick(0, 5);
  if (pad_kind == 0) {
    c.attrs.set("auto_pad", std::string("SAME_UPPER"));
  } else if (pad_kind == 1) {
    c.attrs.set("auto_pad", std::string("SAME_LOWER"));
  } else if (pad_kind == 2) {
    c.attrs.set("auto_pad", std::string("VALID"));
  } else {
    c.attrs.set("pads", pads);
  }
  c.bias = pick(0, 3) != 0;
  return c;
}

std::vector<Blob> conv_inputs(const ConvCase& c, std::mt19937& rng) {
  std::vector<Blob> in = {Blob::plain(random_tensor(c.x, rng)), Blob::plain(random_tensor(c.w, rng), true)};
  in.push_back(c.bias ? Blob::plain(random_tensor({c.w[0]}, rng), true) : Blob::absent());
  return in;
}

TEST(DnnlConv, MatchesReferenceOnRandomProblems) {
  std::mt19937 rng(1234);
  int ran = 0;
  for (int i = 0; i < 80; ++i) {
    const ConvCase c = random_conv_case(rng, i % 8 == 0 ? 1 : 2);
    const std::vector<Blob> in = conv_inputs(c, rng);
    std::string impl;
    const Tensor expected = run_plain("Conv", c.attrs, in, kOpset, ref());
    const Tensor actual = run_plain("Conv", c.attrs, in, kOpset, dnnl_registry(), &impl);
    EXPECT_EQ(impl, "dnnl") << c.describe();
    EXPECT_EQ(compare_tensors(actual, expected, kDnnlRtol, kDnnlAtol), "") << "case " << i << ": " << c.describe();
    ++ran;
  }
  EXPECT_EQ(ran, 80);
}

TEST(DnnlConv, Conv3dMatchesReference) {
  std::mt19937 rng(77);
  for (int i = 0; i < 6; ++i) {
    const ConvCase c = random_conv_case(rng, 3);
    const std::vector<Blob> in = conv_inputs(c, rng);
    const Tensor expected = run_plain("Conv", c.attrs, in, kOpset, ref());
    const Tensor actual = run_plain("Conv", c.attrs, in, kOpset, dnnl_registry());
    EXPECT_EQ(compare_tensors(actual, expected, kDnnlRtol, kDnnlAtol), "") << "case " << i << ": " << c.describe();
  }
}

TEST(DnnlConv, DeclinesNonConstantWeights) {
  std::mt19937 rng(5);
  ir::Attributes attrs;
  const std::vector<Blob> in = {Blob::plain(random_tensor({1, 2, 5, 5}, rng)),
                                Blob::plain(random_tensor({3, 2, 3, 3}, rng), false)};
  EXPECT_THROW(run_node("Conv", attrs, in, kOpset, dnnl_registry()), UnsupportedOp);
  try {
    run_node("Conv", attrs, in, kOpset, dnnl_registry());
  } catch (const UnsupportedOp& e) {
    EXPECT_NE(std::string(e.what()).find("weights are not constant"), std::string::npos) << e.what();
  }
}

// FusedConv: dnnl post-ops vs the reference Conv -> [Add] run as separate reference kernels, then the activation's
// scalar oracle (every kind of ir/activation.h, tests/kernels/activation_cases.h).
Tensor reference_activation(const ir::Activation& a, const Tensor& x) {
  Tensor y = x.clone();
  kernels::ref::apply_activation(a, y.data<float>(), y.numel());
  return y;
}

TEST(DnnlFusedConv, ActivationsAndResidualMatchReferenceChain) {
  std::mt19937 rng(99);
  const int64_t opset = 14;
  for (const ir::Activation& a : all_activations()) {
    for (int residual = 0; residual < 2; ++residual) {
      const ConvCase c = random_conv_case(rng, 2);
      std::vector<Blob> in = conv_inputs(c, rng);
      Tensor expected = run_plain("Conv", c.attrs, in, opset, ref());
      ir::Attributes fused_attrs = c.attrs;
      a.to_attributes(fused_attrs);
      if (residual) {
        const Tensor z = random_tensor(expected.shape(), rng);
        expected = run_plain("Add", {}, {Blob::plain(expected), Blob::plain(z)}, opset, ref());
        in.push_back(Blob::plain(z));
      }
      expected = reference_activation(a, expected);
      const std::string what = a.describe() + (residual ? " +residual " : " ") + c.describe();
      std::string impl;
      const Tensor actual = run_plain(std::string(ir::kFusedConvOp), fused_attrs, in, opset, dnnl_registry(), &impl,
                                      std::string(ir::kQwacDomain));
      EXPECT_EQ(impl, "dnnl") << what;
      EXPECT_EQ(compare_tensors(actual, expected, kDnnlRtol, kDnnlAtol), "") << what;
      // The reference FusedConv (composition) agrees too.
      const Tensor ref_fused = run_plain(std::string(ir::kFusedConvOp), fused_attrs, in, opset, ref(), nullptr,
                                         std::string(ir::kQwacDomain));
      EXPECT_EQ(compare_tensors(ref_fused, expected, 1e-5, 1e-6), "") << "ref FusedConv: " << what;
    }
  }
}

TEST(DnnlFusedConv, ResidualInBlockedLayoutFromAnotherConv) {
  std::mt19937 rng(3);
  ir::Attributes attrs;
  attrs.set("pads", std::vector<int64_t>{1, 1, 1, 1});
  const Blob x = Blob::plain(random_tensor({2, 16, 9, 9}, rng));
  const Blob w1 = Blob::plain(random_tensor({16, 16, 3, 3}, rng), true);
  const Blob w2 = Blob::plain(random_tensor({16, 16, 3, 3}, rng), true);
  const NodeRun a = run_node("Conv", attrs, {x, w1}, kOpset, dnnl_registry());
  ASSERT_TRUE(a.outputs[0].blocked()) << "expected oneDNN to pick a blocked layout for 16 channels";
  ir::Attributes fused = attrs;
  fused.set("activation", std::string("Relu"));
  // The residual arrives blocked (the output of conv a), X too.
  const NodeRun b = run_node(std::string(ir::kFusedConvOp), fused, {a.outputs[0], w2, Blob::absent(), a.outputs[0]},
                             kOpset, dnnl_registry(), std::string(ir::kQwacDomain));
  const Tensor a_plain = a.outputs[0].to_plain();
  Tensor expected = run_plain("Conv", attrs, {Blob::plain(a_plain), w2}, kOpset, ref());
  expected = run_plain("Add", {}, {Blob::plain(expected), Blob::plain(a_plain)}, kOpset, ref());
  expected = run_plain("Relu", {}, {Blob::plain(expected)}, kOpset, ref());
  EXPECT_EQ(compare_tensors(b.outputs[0].to_plain(), expected, kDnnlRtol, kDnnlAtol), "");
}

// A chain that stays in oneDNN's blocked layout: Conv -> Relu -> MaxPool -> Conv -> Concat(with pool output).
// The 1x1 Convs of a squeeze-and-excitation block work on one pixel per channel: their output comes out plain
// (the same bytes as channels-last), so the broadcast Mul reading it needs no reorder. Against the reference, with
// the activations SE blocks use.
TEST(DnnlFusedConv, OnePixelOutputIsPlainAndMatchesReference) {
  std::mt19937 rng(53);
  for (int64_t batch : {1, 4}) {
    for (const auto& [cin, cout] : std::vector<std::pair<int64_t, int64_t>>{{8, 32}, {32, 8}, {24, 96}, {10, 40}}) {
      const Blob x = Blob::plain(random_tensor({batch, cin, 1, 1}, rng, -2.f, 2.f));
      const Blob w = Blob::plain(random_tensor({cout, cin, 1, 1}, rng), true);
      const Blob b = Blob::plain(random_tensor({cout}, rng), true);
      for (const char* act : {"Sigmoid", "HardSigmoid", "Relu"}) {
        ir::Attributes attrs;
        attrs.set("activation", std::string(act));
        if (std::string(act) == "HardSigmoid") attrs.set("activation_params", std::vector<float>{1.f / 6.f, 0.5f});
        const std::string what = std::string(act) + " batch " + std::to_string(batch) + " " + std::to_string(cin) +
                                 "->" + std::to_string(cout);
        const Tensor expected =
            run_plain(std::string(ir::kFusedConvOp), attrs, {x, w, b}, kOpset, ref(), nullptr, std::string(ir::kQwacDomain));
        const NodeRun r = run_node(std::string(ir::kFusedConvOp), attrs, {x, w, b}, kOpset, dnnl_registry(),
                                   std::string(ir::kQwacDomain));
        EXPECT_FALSE(r.outputs[0].blocked()) << what << ": " << r.outputs[0].format->describe();
        EXPECT_EQ(compare_tensors(r.outputs[0].to_plain(), expected, kDnnlRtol, kDnnlAtol), "") << what;
      }
    }
  }
}

TEST(DnnlConv, BlockedChainMatchesReference) {
  std::mt19937 rng(11);
  for (int64_t channels : {8, 13, 32}) {
    ir::Attributes conv;
    conv.set("pads", std::vector<int64_t>{1, 1, 1, 1});
    ir::Attributes pool;
    pool.set("kernel_shape", std::vector<int64_t>{3, 3});
    pool.set("strides", std::vector<int64_t>{2, 2});
    const Blob x = Blob::plain(random_tensor({2, 3, 15, 15}, rng));
    const Blob w1 = Blob::plain(random_tensor({channels, 3, 3, 3}, rng), true);
    const Blob b1 = Blob::plain(random_tensor({channels}, rng), true);
    const Blob w2 = Blob::plain(random_tensor({channels, channels, 3, 3}, rng), true);
    ir::Attributes concat;
    concat.set("axis", int64_t{1});

    const NodeRun c1 = run_node("Conv", conv, {x, w1, b1}, kOpset, dnnl_registry());
    const NodeRun r1 = run_node("Relu", {}, {c1.outputs[0]}, kOpset, dnnl_registry());
    const NodeRun p1 = run_node("MaxPool", pool, {r1.outputs[0]}, kOpset, dnnl_registry());
    const NodeRun c2 = run_node("Conv", conv, {p1.outputs[0], w2}, kOpset, dnnl_registry());
    const NodeRun cat = run_node("Concat", concat, {c2.outputs[0], p1.outputs[0]}, kOpset, dnnl_registry());
    for (const NodeRun* r : {&c1, &r1, &p1, &c2, &cat}) EXPECT_EQ(r->impl, "dnnl") << "channels " << channels;
    // The relu and the pool computed on the conv's layout without converting.
    EXPECT_EQ(r1.outputs[0].blocked(), c1.outputs[0].blocked());
    EXPECT_EQ(p1.outputs[0].blocked(), c1.outputs[0].blocked());

    const Tensor e1 = run_plain("Conv", conv, {x, w1, b1}, kOpset, ref());
    const Tensor e2 = run_plain("Relu", {}, {Blob::plain(e1)}, kOpset, ref());
    const Tensor e3 = run_plain("MaxPool", pool, {Blob::plain(e2)}, kOpset, ref());
    const Tensor e4 = run_plain("Conv", conv, {Blob::plain(e3), w2}, kOpset, ref());
    const Tensor e5 = run_plain("Concat", concat, {Blob::plain(e4), Blob::plain(e3)}, kOpset, ref());
    const std::string what = "channels " + std::to_string(channels);
    EXPECT_EQ(compare_tensors(p1.outputs[0].to_plain(), e3, kDnnlRtol, kDnnlAtol), "") << what;
    EXPECT_EQ(compare_tensors(c2.outputs[0].to_plain(), e4, kDnnlRtol, kDnnlAtol), "") << what;
    EXPECT_EQ(compare_tensors(cat.outputs[0].to_plain(), e5, kDnnlRtol, kDnnlAtol), "") << what;
  }
}

TEST(DnnlConvTranspose, MatchesReferenceOnRandomProblems) {
  std::mt19937 rng(4321);
  int ran_dnnl = 0;
  auto pick = [&](int64_t lo, int64_t hi) { return std::uniform_int_distribution<int64_t>(lo, hi)(rng); };
  for (int i = 0; i < 30; ++i) {
    const int64_t groups = pick(0, 2) == 0 ? 2 : 1;
    const int64_t ic = groups * pick(1, 6), ocg = pick(1, 6);
    const int64_t k = pick(1, 4), stride = pick(1, 3), dilation = pick(0, 3) == 0 ? 2 : 1;
    const int64_t pb = pick(0, k - 1), pe = pick(0, k - 1);
    ir::Attributes attrs;
    attrs.set("group", groups);
    attrs.set("strides", std::vector<int64_t>{stride, stride});
    attrs.set("dilations", std::vector<int64_t>{dilation, dilation});
    attrs.set("pads", std::vector<int64_t>{pb, pe, pe, pb});
    if (stride > 1 && pick(0, 1) == 1) attrs.set("output_padding", std::vector<int64_t>{stride - 1, 0});
    const Shape x = {pick(1, 2), ic, pick(2, 9), pick(2, 9)};
    const int64_t min_out = (std::min(x[2], x[3]) - 1) * stride + (k - 1) * dilation + 1 - pb - pe;
    if (min_out < 1) continue;  // no output
    const Shape w = {ic, ocg, k, k};
    std::vector<Blob> in = {Blob::plain(random_tensor(x, rng)), Blob::plain(random_tensor(w, rng), true)};
    if (pick(0, 1) == 1) in.push_back(Blob::plain(random_tensor({ocg * groups}, rng), true));
    const std::string what = "case " + std::to_string(i) + ": x" + shape_to_string(x) + " w" + shape_to_string(w) +
                             " " + describe_attrs(attrs);
    const Tensor expected = run_plain("ConvTranspose", attrs, in, kOpset, ref());
    NodeRun r;
    try {
      r = run_node("ConvTranspose", attrs, in, kOpset, dnnl_registry());
    } catch (const UnsupportedOp& e) {
      // Declining is allowed only for output_padding beyond the end padding.
      EXPECT_TRUE(attrs.has("output_padding")) << what << ": " << e.what();
      continue;
    }
    EXPECT_EQ(r.impl, "dnnl") << what;
    EXPECT_EQ(compare_tensors(r.outputs[0].to_plain(), expected, kDnnlRtol, kDnnlAtol), "") << what;
    ++ran_dnnl;
  }
  EXPECT_GE(ran_dnnl, 15) << "too few ConvTranspose cases ran on oneDNN";
}

}  // namespace
}  // namespace qwac::testing
