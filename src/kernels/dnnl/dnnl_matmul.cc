// Gemm and MatMul. Gemm with constant B runs on inner_product (weights pre-scaled by alpha and packed once,
// bias = beta * C); MatMul runs on oneDNN matmul, with packed weights when B is a constant matrix.
#include <algorithm>

#include "kernels/dnnl/dnnl_common.h"
#include "kernels/dnnl/dnnl_families.h"

namespace qwac::kernels::dnnl_impl {
namespace {

using dt = dnnl::memory::data_type;
using tag = dnnl::memory::format_tag;

std::unique_ptr<Kernel> create_gemm(const KernelContext& ctx, std::string& reason) {
  const ir::Node& node = ctx.node;
  if (!all_float(ctx, {0, 1, 2}, reason)) return nullptr;
  const ir::TensorInfo& a = ctx.inputs.at(0);
  const ir::TensorInfo& b = ctx.inputs.at(1);
  if (node.attrs.get_int("transA", 0) != 0) {
    reason = "transA is not implemented";
    return nullptr;
  }
  if (b.value == nullptr) {
    reason = "B is not constant";
    return nullptr;
  }
  if (a.shape.size() != 2 || b.shape.size() != 2) {
    reason = "A and B must be matrices";
    return nullptr;
  }
  const bool trans_b = node.attrs.get_int("transB", 0) != 0;
  const float alpha = node.attrs.get_float("alpha", 1.f);
  const float beta = node.attrs.get_float("beta", 1.f);
  const int64_t m = a.shape[0], k = a.shape[1];
  const int64_t n = trans_b ? b.shape[0] : b.shape[1];
  if ((trans_b ? b.shape[1] : b.shape[0]) != k) {
    reason = "inner dimensions differ";
    return nullptr;
  }
  // Weights as oneDNN "oi" = [N, K]: B itself when transB, else B read with transposed strides.
  Tensor weights = b.value->clone();
  if (alpha != 1.f) {
    float* w = weights.data<float>();
    for (int64_t i = 0; i < weights.numel(); ++i) w[i] *= alpha;
  }
  const dnnl::memory::desc w_given = trans_b ? plain_desc({n, k}) : dnnl::memory::desc({n, k}, dt::f32, {1, n});
  // Bias: beta * C when C broadcasts along M only (scalar, [N], [1,N]).
  const bool has_c = ctx.inputs.size() > 2 && ctx.inputs[2].present() && beta != 0.f;
  Tensor bias;
  if (has_c) {
    const ir::TensorInfo& c = ctx.inputs[2];
    const int64_t numel = shape_numel(c.shape);
    const bool row = numel == n && (c.shape.size() == 1 || (c.shape.size() == 2 && c.shape[0] == 1));
    if (c.value == nullptr || !(numel == 1 || row)) {
      reason = "C is not a constant scalar or row vector";
      return nullptr;
    }
    bias = Tensor(DType::kFloat32, {n});
    for (int64_t j = 0; j < n; ++j) bias.data<float>()[j] = beta * c.value->data<float>()[numel == 1 ? 0 : j];
  }
  const dnnl::memory::desc src_md = plain_desc({m, k});
  const dnnl::memory::desc dst_md = plain_desc({m, n});
  const dnnl::memory::desc w_any({n, k}, dt::f32, tag::any);
  const dnnl::memory::desc bias_md = plain_desc({n});
  dnnl::inner_product_forward::primitive_desc pd;
  const auto prop = dnnl::prop_kind::forward_inference;
  if (!try_create(
          [&] {
            pd = dnnl::inner_product_forward::primitive_desc(
                has_c ? dnnl::inner_product_forward::desc(prop, src_md, w_any, bias_md, dst_md)
                      : dnnl::inner_product_forward::desc(prop, src_md, w_any, dst_md),
                cpu_engine());
          },
          reason, "inner product")) {
    return nullptr;
  }
  auto kernel = std::make_unique<PrimitiveKernel>();
  kernel->prim = dnnl::inner_product_forward(pd);
  kernel->runtime_inputs.push_back({DNNL_ARG_SRC, 0, InputAdapter(src_md, pd.src_desc())});
  kernel->args[DNNL_ARG_WEIGHTS] = reorder_constant(weights.raw(), w_given, pd.weights_desc());
  if (has_c) kernel->args[DNNL_ARG_BIAS] = reorder_constant(bias.raw(), bias_md, pd.bias_desc());
  kernel->dst = dnnl::memory(pd.dst_desc(), cpu_engine(), DNNL_MEMORY_NONE);
  return kernel;
}

std::unique_ptr<Kernel> create_matmul(const KernelContext& ctx, std::string& reason) {
  if (!all_float(ctx, {0, 1}, reason)) return nullptr;
  Shape a = ctx.inputs.at(0).shape;
  Shape b = ctx.inputs.at(1).shape;
  if (a.size() < 2 || b.size() < 2) {
    reason = "1-D operands are not implemented";
    return nullptr;
  }
  const size_t rank = std::max(a.size(), b.size());
  if (rank > 6) {
    reason = "rank above 6";
    return nullptr;
  }
  a = with_leading_ones(a, rank);
  b = with_leading_ones(b, rank);
  Shape out = ctx.outputs.at(0).shape;
  if (out.size() != rank) {
    reason = "unexpected output rank";
    return nullptr;
  }
  for (size_t i = 0; i + 2 < rank; ++i) {
    // oneDNN broadcasts batch dims of size 1 in either operand.
    if (a[i] != b[i] && a[i] != 1 && b[i] != 1) {
      reason = "batch dims do not broadcast";
      return nullptr;
    }
  }
  const dnnl::memory::desc src_md = plain_desc(a);
  const dnnl::memory::desc w_plain = plain_desc(b);
  const dnnl::memory::desc dst_md = plain_desc(out);
  const bool const_b = ctx.inputs[1].value != nullptr;
  // A constant B is packed once in the layout oneDNN prefers.
  const dnnl::memory::desc w_md = const_b ? dnnl::memory::desc(to_dims(b), dt::f32, tag::any) : w_plain;
  dnnl::matmul::primitive_desc pd;
  if (!try_create([&] { pd = dnnl::matmul::primitive_desc(dnnl::matmul::desc(src_md, w_md, dst_md), cpu_engine()); },
                  reason, "matmul")) {
    return nullptr;
  }
  auto kernel = std::make_unique<PrimitiveKernel>();
  kernel->prim = dnnl::matmul(pd);
  kernel->runtime_inputs.push_back({DNNL_ARG_SRC, 0, InputAdapter(src_md, pd.src_desc())});
  if (const_b) {
    kernel->args[DNNL_ARG_WEIGHTS] = reorder_constant(ctx.inputs[1].value->raw(), w_plain, pd.weights_desc());
  } else {
    kernel->runtime_inputs.push_back({DNNL_ARG_WEIGHTS, 1, InputAdapter(w_plain, pd.weights_desc())});
  }
  kernel->dst = dnnl::memory(pd.dst_desc(), cpu_engine(), DNNL_MEMORY_NONE);
  return kernel;
}

}  // namespace

void register_matmul_kernels(KernelRegistry& registry) {
  registry.add(KernelDef{"Gemm", "", 7, INT_MAX, "dnnl", false, &create_gemm});
  registry.add(KernelDef{"MatMul", "", 1, INT_MAX, "dnnl", false, &create_matmul});
}

}  // namespace qwac::kernels::dnnl_impl
