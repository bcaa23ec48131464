// FuseQuantizeDequantize and the FakeQuantize kernel: which Q -> DQ pairs are fused, the kernel bit-exact with
// the QuantizeLinear then DequantizeLinear reference kernels (ties, saturation, NaN, per-axis, blocked layouts),
// and the engine's outputs with and without the pass.
#include "passes/fuse_quantize_dequantize.h"

#include <gtest/gtest.h>

#include <cmath>
#include <cstring>
#include <limits>
#include <random>

#include "ir/fused_ops.h"
#include "kernels/kernel_test_util.h"
#include "model_builder.h"
#include "runtime/engine.h"

namespace qwac::passes {
namespace {

using ir::Value;
using testing::make_scalar;
using testing::make_tensor;

struct QdqGraphBuilder : testing::ModelBuilder {
  QdqGraphBuilder() : testing::ModelBuilder(17) {}
  Value* conv(const std::string& name, Value* x, int64_t c_in, int64_t c_out) {
    Value* y = g->add_value(name + "_out");
    Value* w = g->add_constant(name + "_w", testing::random_tensor({c_out, c_in, 3, 3}, rng, -.3f, .3f));
    Value* b = g->add_constant(name + "_b", testing::random_tensor({c_out}, rng));
    ir::Node* n = g->add_node("Conv", {x, w, b}, {y}, name);
    n->attrs.set("pads", std::vector<int64_t>{1, 1, 1, 1});
    return y;
  }
};

size_t count_ops(const ir::Graph& g, const std::string& op_type) {
  size_t n = 0;
  for (const ir::Node* node : g.nodes()) n += node->op_type() == op_type ? 1 : 0;
  return n;
}

TEST(FuseQuantizeDequantize, FusesPairIntoFakeQuantize) {
  QdqGraphBuilder b;
  Value* x = b.input("x", {1, 4});
  Value* s = b.g->add_constant("s", make_scalar(0.1f));
  Value* z = b.g->add_constant("z", make_scalar<int8_t>(3));
  Value* q = b.node("QuantizeLinear", {x, s, z}, "q");
  Value* dq = b.node("DequantizeLinear", {q, s, z}, "dq");
  b.g->add_output(b.node("Relu", {dq}, "relu"));
  EXPECT_TRUE(FuseQuantizeDequantize().run(b.model));
  b.g->verify();
  EXPECT_EQ(b.g->num_nodes(), 2u);
  const ir::Node* fq = b.g->find_node("q");
  ASSERT_NE(fq, nullptr);
  EXPECT_EQ(fq->op_type(), ir::kFakeQuantizeOp);
  EXPECT_EQ(fq->domain(), ir::kQwacDomain);
  EXPECT_EQ(fq->inputs(), (std::vector<Value*>{x, s, z}));
  EXPECT_EQ(fq->output(0)->name(), "dq_out");
  EXPECT_EQ(b.g->find_value("q_out"), nullptr);
  EXPECT_EQ(b.model.opset(std::string(ir::kQwacDomain)), 1);
  EXPECT_FALSE(FuseQuantizeDequantize().run(b.model)) << "a second run finds nothing";
}

TEST(FuseQuantizeDequantize, SeveralDequantizersWithEqualConstants) {
  QdqGraphBuilder b;
  Value* x = b.input("x", {2, 3});
  const Tensor scales = make_tensor<float>({3}, {0.1f, 0.2f, 0.3f});
  Value* s = b.g->add_constant("s", scales);
  Value* z = b.g->add_constant("z", make_tensor<uint8_t>({3}, {1, 2, 3}));
  Value* s2 = b.g->add_constant("s2", scales.clone());
  Value* z2 = b.g->add_constant("z2", make_tensor<uint8_t>({3}, {1, 2, 3}));
  Value* q = b.node("QuantizeLinear", {x, s, z}, "q");
  b.g->find_node("q")->attrs.set("axis", int64_t{1});
  Value* dq1 = b.node("DequantizeLinear", {q, s, z}, "dq1");
  Value* dq2 = b.node("DequantizeLinear", {q, s2, z2}, "dq2");
  b.g->find_node("dq1")->attrs.set("axis", int64_t{1});
  b.g->find_node("dq2")->attrs.set("axis", int64_t{1});
  b.g->add_output(b.node("Relu", {dq1}, "relu"));
  b.g->add_output(dq2);  // a graph output: it names the fused output
  const ir::Model original = b.model.clone();
  EXPECT_TRUE(FuseQuantizeDequantize().run(b.model));
  b.g->verify();
  EXPECT_EQ(count_ops(*b.g, "FakeQuantize"), 1u);
  EXPECT_EQ(count_ops(*b.g, "DequantizeLinear"), 0u);
  const ir::Node* fq = b.g->find_node("q");
  EXPECT_EQ(fq->output(0)->name(), "dq2_out");
  EXPECT_EQ(fq->attrs.get_int("axis"), 1);
  EXPECT_EQ(b.g->find_node("relu")->input(0), fq->output(0));
  EXPECT_EQ(b.g->find_value("s2"), nullptr) << "the duplicate constants are dropped";
  EXPECT_EQ(b.g->find_value("dq1_out"), nullptr);

  runtime::EngineOptions o;
  o.use_dnnl = false;
  o.fuse = false;
  std::mt19937 rng(1);
  const Tensor xin = testing::random_tensor({2, 3}, rng, -40.f, 60.f);
  const std::vector<Tensor> expected = runtime::Engine(original, o).run({{"x", xin}});
  const std::vector<Tensor> got = runtime::Engine(b.model, o).run({{"x", xin}});
  for (size_t i = 0; i < 2; ++i) EXPECT_EQ(testing::compare_tensors_exact(got[i], expected[i]), "") << "output " << i;
}

TEST(FuseQuantizeDequantize, LeavesOtherPatternsAlone) {
  auto build = [](QdqGraphBuilder& b, bool same_scale, bool q_is_output, bool other_consumer, bool zp, int64_t dq_axis) {
    Value* x = b.input("x", {1, 4});
    Value* s = b.g->add_constant("s", make_scalar(0.1f));
    Value* s_other = b.g->add_constant("s_other", make_scalar(0.2f));
    Value* z = b.g->add_constant("z", make_scalar<int8_t>(0));
    std::vector<Value*> qin = {x, s};
    if (zp) qin.push_back(z);
    Value* q = b.node("QuantizeLinear", qin, "q");
    std::vector<Value*> dqin = {q, same_scale ? s : s_other};
    if (zp) dqin.push_back(z);
    Value* dq = b.node("DequantizeLinear", dqin, "dq");
    if (dq_axis != 1) b.g->find_node("dq")->attrs.set("axis", dq_axis);
    b.g->add_output(dq);
    if (q_is_output) b.g->add_output(q);
    if (other_consumer) b.g->add_output(b.node("Identity", {q}, "id"));
  };
  struct Case {
    const char* what;
    bool same_scale, q_is_output, other_consumer, zp;
    int64_t dq_axis;
  };
  for (const Case& c : {Case{"different scale", false, false, false, true, 1},
                        Case{"quantized tensor is a graph output", true, true, false, true, 1},
                        Case{"quantized tensor has another consumer", true, false, true, true, 1},
                        Case{"no zero point", true, false, false, false, 1},
                        Case{"different axis", true, false, false, true, 0}}) {
    QdqGraphBuilder b;
    build(b, c.same_scale, c.q_is_output, c.other_consumer, c.zp, c.dq_axis);
    EXPECT_FALSE(FuseQuantizeDequantize().run(b.model)) << c.what;
  }
}

// FakeQuantize through the reference registry vs QuantizeLinear then DequantizeLinear, bit for bit.
void expect_fake_quantize_exact(const Tensor& x, const Tensor& scale, const Tensor& zp, int64_t axis,
                                const std::string& what) {
  ir::Attributes attrs;
  attrs.set("axis", axis);
  testing::SingleNodeOptions fq_options;
  fq_options.domain = std::string(ir::kQwacDomain);
  fq_options.num_threads = 2;
  const Tensor got = testing::run_single_node(std::string(ir::kFakeQuantizeOp), attrs, {x, scale, zp}, 1,
                                              kernels::reference_kernel_registry(), 1, fq_options)[0];
  const Tensor q = testing::run_single_node("QuantizeLinear", attrs, {x, scale, zp}, 13)[0];
  const Tensor expected = testing::run_single_node("DequantizeLinear", attrs, {q, scale, zp}, 13)[0];
  // Bitwise: +0 and -0 must agree too.
  ASSERT_EQ(got.numel(), expected.numel());
  for (int64_t i = 0; i < got.numel(); ++i) {
    const float a = got.data<float>()[i], e = expected.data<float>()[i];
    ASSERT_EQ(std::memcmp(&a, &e, sizeof(float)), 0)
        << what << ": element " << i << " x=" << x.data<float>()[i] << " got " << a << " expected " << e;
  }
}

// Values on and around the rounding ties of `scale`, saturating values, NaN and infinities.
Tensor tricky_values(const Shape& shape, float scale, std::mt19937& rng) {
  Tensor t(DType::kFloat32, shape);
  std::uniform_int_distribution<int> steps(-70000, 70000);
  std::uniform_real_distribution<float> any(-1.f, 1.f);
  std::uniform_int_distribution<int> pick(0, 9);
  float* p = t.data<float>();
  for (int64_t i = 0; i < t.numel(); ++i) {
    const int k = pick(rng);
    if (k < 4) {
      p[i] = (steps(rng) + 0.5f) * scale;  // a tie (up to float rounding of the product)
    } else if (k < 6) {
      p[i] = std::nextafter((steps(rng) + 0.5f) * scale, 0.f);
    } else if (k < 9) {
      p[i] = any(rng) * scale * 300.f;  // partly beyond the 8-bit range
    } else {
      const float specials[] = {std::nanf(""), std::numeric_limits<float>::infinity(),
                                -std::numeric_limits<float>::infinity(), 0.f, -0.f, 1e30f, -1e-30f};
      p[i] = specials[static_cast<size_t>(i) % 7];
    }
  }
  return t;
}

TEST(FakeQuantizeKernel, EqualsQuantizeThenDequantize) {
  std::mt19937 rng(99);
  for (float scale : {0.1f, 0.5f, 0.0123f, 3.f}) {
    const Shape small = {3, 37}, large = {4, 64, 17, 17};  // large: the OpenMP path
    for (const Shape& shape : {small, large}) {
      const Tensor x = tricky_values(shape, scale, rng);
      const std::string what = "scale " + std::to_string(scale) + " shape " + shape_to_string(shape);
      expect_fake_quantize_exact(x, make_scalar(scale), make_scalar<int8_t>(0), 1, what + " int8");
      expect_fake_quantize_exact(x, make_scalar(scale), make_scalar<int8_t>(-7), 1, what + " int8 zp -7");
      expect_fake_quantize_exact(x, make_scalar(scale), make_scalar<uint8_t>(128), 1, what + " uint8 zp 128");
      expect_fake_quantize_exact(x, make_scalar(scale), make_scalar<uint8_t>(0), 1, what + " uint8");
      expect_fake_quantize_exact(x, make_scalar(scale), make_scalar<int16_t>(5), 1, what + " int16");
      expect_fake_quantize_exact(x, make_scalar(scale), make_scalar<uint16_t>(40000), 1, what + " uint16");
    }
  }
  // Per-axis: axis 1 of a rank-4 tensor, and axis 0.
  const Tensor x = tricky_values({2, 3, 5, 4}, 0.05f, rng);
  expect_fake_quantize_exact(x, make_tensor<float>({3}, {0.05f, 0.5f, 0.01f}), make_tensor<int8_t>({3}, {0, 3, -3}),
                             1, "per-axis 1");
  expect_fake_quantize_exact(x, make_tensor<float>({2}, {0.05f, 0.2f}), make_tensor<uint8_t>({2}, {0, 200}), 0,
                             "per-axis 0");
}

// A blocked layout stand-in: the logical tensor followed by padding (as oneDNN's padded channels).
class PaddedFormat final : public kernels::BlockedFormat {
 public:
  explicit PaddedFormat(size_t bytes) : bytes_(bytes) {}
  size_t nbytes() const override { return bytes_; }
  void to_plain(const void* src, Tensor& dst) const override { std::memcpy(dst.raw(), src, dst.nbytes()); }
  std::string describe() const override { return "padded"; }

 private:
  size_t bytes_;
};

TEST(FakeQuantizeKernel, PerTensorRunsOnBlockedLayoutsKeepingPaddingZero) {
  ir::Graph g;
  std::vector<Value*> in = {g.add_value("x"), g.add_value("s"), g.add_value("z")};
  ir::Node* n =
      g.add_node(std::string(ir::kFakeQuantizeOp), in, {g.add_value("y")}, "fq", std::string(ir::kQwacDomain));
  const Shape shape = {1, 12, 2, 2};
  const auto format = std::make_shared<PaddedFormat>(16 * 4 * sizeof(float));
  auto select = [&](const Tensor& scale, const Tensor& zp) {
    const std::vector<ir::TensorInfo> infos = {{DType::kFloat32, shape, nullptr},
                                               {DType::kFloat32, scale.shape(), &scale},
                                               {zp.dtype(), zp.shape(), &zp}};
    return kernels::reference_kernel_registry().select(
        std::string(ir::kFakeQuantizeOp), std::string(ir::kQwacDomain), 1, [&](const kernels::KernelDef& def) {
          std::vector<kernels::BlockedFormatPtr> formats(3);
          if (def.accepts_blocked_inputs) formats[0] = format;
          return kernels::KernelContext{*n, 1, infos, {{DType::kFloat32, shape}}, formats, 1};
        });
  };
  const Tensor scale = make_scalar(0.25f), zp = make_scalar<uint8_t>(100);
  kernels::KernelSelection sel = select(scale, zp);
  ASSERT_NE(sel.kernel, nullptr);
  EXPECT_EQ(sel.kernel->output_format(0), format);
  std::vector<float> src(64, 0.f), dst(64, -1.f);
  std::mt19937 rng(5);
  std::uniform_real_distribution<float> dist(-30.f, 30.f);
  for (size_t i = 0; i < 48; ++i) src[i] = dist(rng);
  std::vector<Tensor> outs = {Tensor::view(DType::kFloat32, shape, dst.data())};
  sel.kernel->run({Tensor::view(DType::kFloat32, shape, src.data()), scale, zp}, outs);
  for (size_t i = 0; i < 48; ++i) {
    const float q = std::min(std::max(std::nearbyint(src[i] / 0.25f) + 100.f, 0.f), 255.f);
    EXPECT_EQ(dst[i], (q - 100.f) * 0.25f) << "element " << i;
  }
  for (size_t i = 48; i < 64; ++i) EXPECT_EQ(dst[i], 0.f) << "padding element " << i;

  // Per-channel declines the blocked input; the plain candidate takes it (the runtime converts to plain).
  const Tensor scales = make_tensor<float>({12}, std::vector<float>(12, 0.5f));
  const Tensor zps(DType::kInt8, {12});
  kernels::KernelSelection per_channel = select(scales, zps);
  ASSERT_NE(per_channel.kernel, nullptr);
  EXPECT_EQ(per_channel.kernel->output_format(0), nullptr);
  ASSERT_EQ(per_channel.declines.size(), 1u);
  EXPECT_NE(per_channel.declines[0].find("plain"), std::string::npos) << per_channel.declines[0];
}

// Conv -> Q -> DQ -> Conv -> Relu -> Q -> DQ on 12 channels (oneDNN pads them to a blocked 16): the engine with
// its fusion passes (FakeQuantize on the blocked layout) equals the engine without them.
TEST(FuseQuantizeDequantize, EngineResultsWithAndWithoutFusion) {
  QdqGraphBuilder b;
  Value* c1 = b.conv("conv1", b.input("x", {2, 3, 9, 9}), 3, 12);
  Value* s1 = b.g->add_constant("s1", make_scalar(0.03f));
  Value* z1 = b.g->add_constant("z1", make_scalar<int8_t>(0));
  Value* dq1 = b.node("DequantizeLinear", {b.node("QuantizeLinear", {c1, s1, z1}, "q1"), s1, z1}, "dq1");
  Value* r = b.node("Relu", {b.conv("conv2", dq1, 12, 12)}, "relu");
  Value* s2 = b.g->add_constant("s2", make_scalar(0.02f));
  Value* z2 = b.g->add_constant("z2", make_scalar<uint8_t>(0));
  b.g->add_output(b.node("DequantizeLinear", {b.node("QuantizeLinear", {r, s2, z2}, "q2"), s2, z2}, "dq2"));
  std::mt19937 rng(8);
  const Tensor x = testing::random_tensor({2, 3, 9, 9}, rng, -2.f, 2.f);
  runtime::EngineOptions o;
  o.num_threads = 2;
  o.use_dnnl = false;  // the engine runs its passes only with oneDNN: apply this one by hand for the reference run
  const Tensor expected_ref = runtime::Engine(b.model, o).run({{"x", x}})[0];
  ir::Model fused_model = b.model.clone();
  ASSERT_TRUE(FuseQuantizeDequantize().run(fused_model));
  EXPECT_EQ(count_ops(*fused_model.graph, "FakeQuantize"), 2u);
  EXPECT_EQ(testing::compare_tensors_exact(runtime::Engine(fused_model, o).run({{"x", x}})[0], expected_ref), "");

  o.use_dnnl = true;
  o.fuse = false;
  const Tensor expected = runtime::Engine(b.model, o).run({{"x", x}})[0];
  o.fuse = true;
  runtime::Engine fused(b.model, o);
  size_t fake_quantize = 0;
  for (const runtime::PlannedNode& p : fused.planned_nodes()) fake_quantize += p.op_type == "FakeQuantize";
  EXPECT_EQ(fake_quantize, 2u);
  const Tensor got = fused.run({{"x", x}})[0];
  // The same fake-quant arithmetic; only the conv primitives may differ (post-op Relu, blocked vs plain input),
  // by far less than a quantization step.
  EXPECT_EQ(testing::compare_tensors(got, expected, 0, 1e-6), "");
}

}  // namespace
}  // namespace qwac::passes
