// com.qwac FusedMatMul: the oneDNN kernel against the reference kernel on seeded random cases (operand views with a
// select and a permutation, alpha, a bias row or a broadcast constant, a broadcast Z, activations, a transposed
// output, constant and computed B), and the reference kernel against the unfused ONNX ops it stands for.
#include <gtest/gtest.h>

#include <numeric>
#include <random>

#include "ir/fused_matmul.h"
#include "ir/fused_ops.h"
#include "kernels/dnnl_registry_util.h"
#include "kernels/dnnl_test_util.h"
#include "kernels/kernel_test_util.h"

namespace qwac::testing {
namespace {

const std::string kDomain(ir::kQwacDomain);

std::vector<int64_t> random_perm(size_t rank, std::mt19937& rng) {
  std::vector<int64_t> p(rank);
  std::iota(p.begin(), p.end(), 0);
  std::shuffle(p.begin(), p.end(), rng);
  return p;
}

struct Case {
  ir::Attributes attrs;
  std::vector<Blob> inputs;
  std::string what;
};

Case random_case(int c, std::mt19937& rng) {
  std::uniform_int_distribution<int64_t> dim(1, 7);
  const size_t rank = 2 + c % 3;  // operands of rank 2..4
  const int64_t m = dim(rng) + (c % 4 == 0 ? 16 : 0), k = dim(rng) + (c % 5 == 0 ? 32 : 0), n = dim(rng);
  Shape batch;
  for (size_t i = 0; i + 2 < rank; ++i) batch.push_back(1 + dim(rng) % 3);
  Shape a_view = batch, b_view = batch;
  a_view.insert(a_view.end(), {m, k});
  b_view.insert(b_view.end(), {k, n});
  if (c % 6 == 1 && rank > 2) b_view[0] = 1;  // broadcast batch dim
  ir::Attributes attrs;
  std::string what = "case " + std::to_string(c) + " A' " + shape_to_string(a_view) + " B' " + shape_to_string(b_view);
  auto view_attrs = [&](const Shape& view, const std::string& suffix) {
    std::vector<int64_t> select, perm;
    if (c % 3 == 1) select = {static_cast<int64_t>(rng() % (view.size() + 1)), static_cast<int64_t>(rng() % 3)};
    if (c % 2 == 0) perm = random_perm(view.size(), rng);
    if (!select.empty()) attrs.set("select_" + suffix, select);
    if (!perm.empty()) attrs.set("perm_" + suffix, perm);
    // perm maps the selected tensor's dims to the view's: view[j] = selected[perm[j]].
    Shape selected(view.size());
    for (size_t j = 0; j < view.size(); ++j) selected[perm.empty() ? j : static_cast<size_t>(perm[j])] = view[j];
    if (!select.empty()) selected.insert(selected.begin() + select[0], 3);
    what += " " + suffix + " select " + shape_to_string(select) + " perm " + shape_to_string(perm);
    return selected;
  };
  const Shape a_base = view_attrs(a_view, "a");
  const Shape b_base = view_attrs(b_view, "b");
  const bool const_b = c % 4 != 3;
  Shape r = a_view;
  r.back() = n;
  for (size_t i = 0; i + 2 < rank; ++i) r[i] = std::max(a_view[i], b_view[i]);
  Case out;
  out.inputs = {Blob::plain(random_tensor(a_base, rng)), Blob::plain(random_tensor(b_base, rng), const_b)};
  if (c % 5 != 2) {
    const Shape bias = c % 7 == 3 ? Shape{m, 1} : Shape{n};  // a row, or a constant that broadcasts otherwise
    out.inputs.push_back(Blob::plain(random_tensor(bias, rng), true));
    what += " bias " + shape_to_string(bias);
  } else {
    out.inputs.push_back(Blob::absent());
  }
  if (c % 3 != 0) {
    Shape z = r;
    if (rank > 2) z[1] = 1;  // a mask shared by heads
    if (c % 2 == 1) z[z.size() - 2] = 1;
    out.inputs.push_back(Blob::plain(random_tensor(z, rng)));
    what += " Z " + shape_to_string(z);
  }
  if (c % 4 == 1) attrs.set("alpha", 0.125f);
  const char* acts[] = {"", "Relu", "Gelu", "GeluTanh", "Tanh"};
  if (const char* act = acts[c % 5]; *act != 0) attrs.set("activation", std::string(act));
  if (c % 3 == 2) attrs.set("perm_y", random_perm(rank, rng));
  out.attrs = attrs;
  out.what = what + (const_b ? " const B" : " runtime B") + describe_attrs(attrs);
  return out;
}

TEST(FusedMatMul, DnnlMatchesReference) {
  std::mt19937 rng(91);
  int dnnl_runs = 0;
  for (int c = 0; c < 60; ++c) {
    const Case k = random_case(c, rng);
    const Tensor expected = run_plain(std::string(ir::kFusedMatMulOp), k.attrs, k.inputs, 1,
                                      kernels::reference_kernel_registry(), nullptr, kDomain);
    const NodeRun r = run_node(std::string(ir::kFusedMatMulOp), k.attrs, k.inputs, 1, kernels::default_kernel_registry(),
                               kDomain);
    EXPECT_EQ(compare_tensors(r.outputs[0].to_plain(), expected, 1e-4, 1e-4), "") << k.what;
    const bool added = k.inputs.size() > 3 || (!k.inputs[2].view.empty() && k.inputs[2].view.shape().back() == 1);
    if (!(added && k.attrs.has("perm_y"))) {
      EXPECT_EQ(r.impl, "dnnl") << k.what << (r.declines.empty() ? "" : " declined: " + r.declines.front());
    }
    dnnl_runs += r.impl == "dnnl";
  }
  EXPECT_GE(dnnl_runs, 36);  // the others add a tensor into a transposed output (declined, see the kernel)
}

// The reference FusedMatMul computes what the ONNX ops it replaces compute.
TEST(FusedMatMul, ReferenceIsTheUnfusedOps) {
  std::mt19937 rng(92);
  // Attention scores of a fused QKV: x [2, 5, 3, 4, 8] (batch, tokens, q/k/v, heads, head dim);
  // Q = Transpose(Gather(x, 0, axis 2), [0, 2, 1, 3]), K^T = Transpose(Gather(x, 1, axis 2), [0, 2, 3, 1]).
  const Tensor x = random_tensor({2, 5, 3, 4, 8}, rng);
  const Tensor mask = random_tensor({2, 1, 1, 5}, rng);
  const auto& ref = kernels::reference_kernel_registry();
  auto gather = [&](int64_t index) {
    ir::Attributes attrs;
    attrs.set("axis", int64_t{2});
    return run_plain("Gather", attrs, {Blob::plain(x), Blob::plain(Tensor::from_values<int64_t>({}, &index), true)}, 13,
                     ref);
  };
  auto transpose = [&](const Tensor& t, std::vector<int64_t> perm) {
    ir::Attributes attrs;
    attrs.set("perm", perm);
    return run_plain("Transpose", attrs, {Blob::plain(t)}, 13, ref);
  };
  const Tensor q = transpose(gather(0), {0, 2, 1, 3});
  const Tensor kt = transpose(gather(1), {0, 2, 3, 1});
  const Tensor scores = run_plain("MatMul", {}, {Blob::plain(q), Blob::plain(kt)}, 13, ref);
  const float eight = 8.f;
  const Tensor scaled =
      run_plain("Div", {}, {Blob::plain(scores), Blob::plain(Tensor::from_values<float>({}, &eight))}, 13, ref);
  const Tensor masked = run_plain("Add", {}, {Blob::plain(scaled), Blob::plain(mask)}, 13, ref);
  const Tensor expected = transpose(masked, {0, 2, 1, 3});

  ir::Attributes attrs;
  attrs.set("select_a", std::vector<int64_t>{2, 0});
  attrs.set("perm_a", std::vector<int64_t>{0, 2, 1, 3});
  attrs.set("select_b", std::vector<int64_t>{2, 1});
  attrs.set("perm_b", std::vector<int64_t>{0, 2, 3, 1});
  attrs.set("alpha", 0.125f);
  attrs.set("perm_y", std::vector<int64_t>{0, 2, 1, 3});
  const std::vector<Blob> in = {Blob::plain(x), Blob::plain(x), Blob::absent(), Blob::plain(mask)};
  for (const auto* registry : {&ref, &kernels::default_kernel_registry()}) {
    std::string impl;
    const Tensor actual = run_plain(std::string(ir::kFusedMatMulOp), attrs, in, 1, *registry, &impl, kDomain);
    EXPECT_EQ(actual.shape(), (Shape{2, 5, 4, 5}));
    EXPECT_EQ(compare_tensors(actual, expected, 1e-5, 1e-5), "") << impl;
  }
}

TEST(FusedMatMul, ShapeErrorsNameTheNode) {
  std::mt19937 rng(93);
  ir::Attributes attrs;
  attrs.set("perm_a", std::vector<int64_t>{0, 0});
  const std::vector<Blob> in = {Blob::plain(random_tensor({2, 3}, rng)), Blob::plain(random_tensor({3, 4}, rng))};
  try {
    run_plain(std::string(ir::kFusedMatMulOp), attrs, in, 1, kernels::reference_kernel_registry(), nullptr, kDomain);
    FAIL() << "expected InvalidModel";
  } catch (const InvalidModel& e) {
    EXPECT_NE(std::string(e.what()).find("not a permutation"), std::string::npos) << e.what();
  }
}

}  // namespace
}  // namespace qwac::testing
