// com.qwac FusedMatMul (ir/fused_matmul.h), the oracle: every step exactly as the definition reads, one element at
// a time (operands read through their views, products accumulated in double, then alpha, bias, Z, the activation,
// and the output transposition).
#include <cstdint>

#include "ir/activation.h"
#include "ir/fused_matmul.h"
#include "ir/fused_ops.h"
#include "kernels/ref/activation.h"
#include "kernels/ref/nn_kernel_util.h"
#include "kernels/ref/ref_families.h"

namespace qwac::kernels::ref {
namespace {

using In = ir::FusedMatMulInputs;

// Offset of the element of a tensor of shape `from` broadcast (trailing alignment) into `to` at index `idx` of `to`.
int64_t broadcast_offset(const Shape& from, const Shape& to, const std::vector<int64_t>& idx) {
  const std::vector<int64_t> strides = shape_strides(from);
  int64_t offset = 0;
  const size_t skip = to.size() - from.size();
  for (size_t d = 0; d < from.size(); ++d) {
    if (from[d] != 1) offset += idx[skip + d] * strides[d];
  }
  return offset;
}

std::unique_ptr<Kernel> create_fused_matmul(const KernelContext& ctx, std::string& reason) {
  if (!nn::inputs_are_float32(ctx, {In::kA, In::kB, In::kBias, In::kZ}, reason)) return nullptr;
  const ir::Attributes& attrs = ctx.node.attrs;
  const std::string owner = ctx.node.describe();
  const Shape& a_shape = ctx.inputs[In::kA].shape;
  const Shape& b_shape = ctx.inputs[In::kB].shape;
  const bool has_bias = ctx.inputs.size() > In::kBias && ctx.inputs[In::kBias].present();
  const bool has_z = ctx.inputs.size() > In::kZ && ctx.inputs[In::kZ].present();
  const Shape bias_shape = has_bias ? ctx.inputs[In::kBias].shape : Shape{};
  const Shape z_shape = has_z ? ctx.inputs[In::kZ].shape : Shape{};
  const ir::FusedMatMulShapes s = ir::fused_matmul_shapes(a_shape, b_shape, has_bias ? &bias_shape : nullptr,
                                                          has_z ? &z_shape : nullptr, attrs, owner);
  const ir::StridedView av = ir::operand_view(a_shape, attrs.get_ints("select_a", {}), attrs.get_ints("perm_a", {}), owner);
  const ir::StridedView bv = ir::operand_view(b_shape, attrs.get_ints("select_b", {}), attrs.get_ints("perm_b", {}), owner);
  const ir::StridedView yv = ir::transposed_output_view(s.y, attrs.get_ints("perm_y", {}));
  const float alpha = attrs.get_float("alpha", 1.f);
  const ir::Activation act = ir::Activation::from_attributes(attrs, owner);
  return nn::make_function_kernel([=](const std::vector<Tensor>& in, std::vector<Tensor>& out) {
    const float* a = in[In::kA].data<float>();
    const float* b = in[In::kB].data<float>();
    const float* bias = has_bias ? in[In::kBias].data<float>() : nullptr;
    const float* z = has_z ? in[In::kZ].data<float>() : nullptr;
    float* y = out[0].data<float>();
    // R's index -> the product's (broadcast: dims of size 1 read index 0) -> the operands': the product is
    // [batch..., m?, n?], A' = [batch_a..., m, k], B' = [batch_b..., k, n] with batch dims aligned to the right.
    const size_t r_rank = s.r.size(), p_rank = s.product.size();
    const size_t batch_rank = p_rank - (s.a_vector ? 0 : 1) - (s.b_vector ? 0 : 1);
    const size_t a_batch = s.a_vector ? 0 : s.a.size() - 2, b_batch = s.b_vector ? 0 : s.b.size() - 2;
    const int64_t a_ms = s.a_vector ? 0 : av.strides[s.a.size() - 2], a_ks = av.strides.back();
    const int64_t b_ks = s.b_vector ? bv.strides.back() : bv.strides[s.b.size() - 2];
    const int64_t b_ns = s.b_vector ? 0 : bv.strides.back();
    std::vector<int64_t> idx(r_rank, 0), p(p_rank, 0);
    const int64_t total = shape_numel(s.r);
    for (int64_t flat = 0; flat < total; ++flat) {
      int64_t rem = flat;
      for (size_t d = r_rank; d-- > 0;) {
        idx[d] = rem % s.r[d];
        rem /= s.r[d];
      }
      for (size_t d = 0; d < p_rank; ++d) p[d] = s.product[d] == 1 ? 0 : idx[r_rank - p_rank + d];
      const int64_t m = s.a_vector ? 0 : p[batch_rank];
      const int64_t n = s.b_vector ? 0 : p[p_rank - 1];
      int64_t a_off = av.offset, b_off = bv.offset;
      for (size_t d = 0; d < a_batch; ++d) {
        if (s.a[d] != 1) a_off += p[batch_rank - a_batch + d] * av.strides[d];
      }
      for (size_t d = 0; d < b_batch; ++d) {
        if (s.b[d] != 1) b_off += p[batch_rank - b_batch + d] * bv.strides[d];
      }
      double acc = 0;
      for (int64_t k = 0; k < s.k; ++k) {
        acc += static_cast<double>(a[a_off + m * a_ms + k * a_ks]) * b[b_off + k * b_ks + n * b_ns];
      }
      double v = alpha * acc;
      if (bias != nullptr) v += bias[broadcast_offset(bias_shape, s.r, idx)];
      if (z != nullptr) v += z[broadcast_offset(z_shape, s.r, idx)];
      int64_t y_off = 0;
      for (size_t d = 0; d < r_rank; ++d) y_off += idx[d] * yv.strides[d];
      y[y_off] = activation_scalar(act, static_cast<float>(v));
    }
  });
}

}  // namespace

void register_fused_matmul_kernels(KernelRegistry& registry) {
  registry.add(KernelDef{std::string(ir::kFusedMatMulOp), std::string(ir::kQwacDomain), 1, INT_MAX, "ref", false,
                         &create_fused_matmul});
}

}  // namespace qwac::kernels::ref
