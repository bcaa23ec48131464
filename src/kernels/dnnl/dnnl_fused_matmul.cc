// com.qwac FusedMatMul (ir/fused_matmul.h) on one oneDNN matmul: the operand views (Gather of a head, Transpose)
// become memory descriptors with strides and a data offset, the output transposition a strided destination, alpha
// the output scale, the bias the matmul bias (divided by alpha: oneDNN computes scale * (src x wei + bias)), Z a
// binary-add post-op broadcast over the product, the activation eltwise post-ops. A constant B is packed once in
// the layout oneDNN prefers. Declines 1-D operands (the reference kernel takes them).
#include <algorithm>
#include <unordered_map>

#include "ir/fused_matmul.h"
#include "ir/fused_ops.h"
#include "kernels/dnnl/dnnl_activation.h"
#include "kernels/dnnl/dnnl_common.h"
#include "kernels/dnnl/dnnl_families.h"

namespace qwac::kernels::dnnl_impl {
namespace {

using In = ir::FusedMatMulInputs;
using dt = dnnl::memory::data_type;
using tag = dnnl::memory::format_tag;

// `v` with leading dims of size 1 up to `rank` (their strides do not matter; the span of the view keeps oneDNN's
// checks of dense-enough strides content).
dnnl::memory::desc view_desc(const ir::StridedView& v, size_t rank, dt type = dt::f32) {
  dnnl::memory::dims dims(v.dims.begin(), v.dims.end()), strides(v.strides.begin(), v.strides.end());
  int64_t span = 1;
  for (size_t i = 0; i < v.dims.size(); ++i) span = std::max(span, v.dims[i] * v.strides[i]);
  while (dims.size() < rank) {
    dims.insert(dims.begin(), 1);
    strides.insert(strides.begin(), span);
  }
  return dnnl::memory::desc(dims, type, strides);
}

class FusedMatMulKernel final : public Kernel {
 public:
  static std::unique_ptr<Kernel> create(const KernelContext& ctx, std::string& reason);

  void run(const std::vector<Tensor>& inputs, std::vector<Tensor>& outputs) override {
    dnnl::stream& stream = cpu_stream();
    bind(src_mem_, inputs[In::kA].data<float>() + a_offset_);
    args_[DNNL_ARG_SRC] = src_mem_;
    if (!const_b_) {
      bind(wei_mem_, inputs[In::kB].data<float>() + b_offset_);
      args_[DNNL_ARG_WEIGHTS] = wei_mem_;
    }
    if (has_z_) {
      bind(z_mem_, inputs[In::kZ].raw());
      args_[DNNL_ARG_ATTR_MULTIPLE_POST_OP(0) | DNNL_ARG_SRC_1] = z_mem_;
    }
    bind(dst_mem_, outputs[0].raw());
    args_[DNNL_ARG_DST] = dst_mem_;
    prim_.execute(stream, args_);
    stream.wait();
  }

 private:
  dnnl::matmul prim_;
  dnnl::memory src_mem_, wei_mem_, z_mem_, dst_mem_;
  std::unordered_map<int, dnnl::memory> args_;
  int64_t a_offset_ = 0, b_offset_ = 0;
  bool const_b_ = false, has_z_ = false;
};

std::unique_ptr<Kernel> FusedMatMulKernel::create(const KernelContext& ctx, std::string& reason) {
  if (!all_float(ctx, {In::kA, In::kB, In::kBias, In::kZ}, reason)) return nullptr;
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
  if (s.a_vector || s.b_vector) {
    reason = "1-D operands are not implemented";
    return nullptr;
  }
  const size_t rank = s.r.size();
  if (rank > 6) {
    reason = "rank above 6";
    return nullptr;
  }
  if (s.r != s.product) {
    reason = "bias or Z broadcasts the product to " + shape_to_string(s.r);
    return nullptr;
  }
  const ir::StridedView av = ir::operand_view(a_shape, attrs.get_ints("select_a", {}), attrs.get_ints("perm_a", {}), owner);
  const ir::StridedView bv = ir::operand_view(b_shape, attrs.get_ints("select_b", {}), attrs.get_ints("perm_b", {}), owner);
  const ir::StridedView rv = ir::transposed_output_view(s.y, attrs.get_ints("perm_y", {}));
  const float alpha = attrs.get_float("alpha", 1.f);
  if (alpha == 0.f) {
    reason = "alpha is 0";
    return nullptr;
  }
  const bool const_b = ctx.inputs[In::kB].value != nullptr;
  if (has_bias && ctx.inputs[In::kBias].value == nullptr) {
    reason = "bias is not a constant";
    return nullptr;
  }
  // A bias that is a row of N is the matmul's bias; another constant addend a binary post-op like Z.
  const bool row_bias = has_bias && shape_numel(bias_shape) == s.n && !bias_shape.empty() && bias_shape.back() == s.n;
  const bool bias_post_op = has_bias && !row_bias;
  if ((has_z || bias_post_op) && !attrs.get_ints("perm_y", {}).empty()) {
    // oneDNN 2.6's brgemm matmul crashes (reads out of bounds) on a binary post-op with a strided destination.
    reason = "a transposed output with an added tensor (oneDNN 2.6 fails on binary post-ops into strided memory)";
    return nullptr;
  }

  const dnnl::memory::desc src_md = view_desc(av, rank);
  const dnnl::memory::desc wei_given = view_desc(bv, rank);
  dnnl::memory::dims wei_dims = wei_given.dims();
  const dnnl::memory::desc wei_md = const_b ? dnnl::memory::desc(wei_dims, dt::f32, tag::any) : wei_given;
  const dnnl::memory::desc dst_md = view_desc(rv, rank);
  dnnl::memory::dims bias_dims(rank, 1);
  bias_dims.back() = s.n;
  const dnnl::memory::desc bias_md = plain_desc(Shape(bias_dims.begin(), bias_dims.end()));
  auto aligned_desc = [&](const Shape& shape) { return plain_desc(with_leading_ones(shape, rank)); };

  dnnl::primitive_attr attr;
  if (alpha != 1.f) attr.set_output_scales(0, {alpha});
  dnnl::post_ops ops;
  dnnl::memory::desc z_md, addend_md;
  if (has_z) {
    z_md = aligned_desc(z_shape);
    ops.append_binary(dnnl::algorithm::binary_add, z_md);
  }
  if (bias_post_op) {
    addend_md = aligned_desc(bias_shape);
    ops.append_binary(dnnl::algorithm::binary_add, addend_md);
  }
  if (!append_activation(ops, ir::Activation::from_attributes(attrs, owner), reason)) return nullptr;
  attr.set_post_ops(ops);

  dnnl::matmul::primitive_desc pd;
  if (!try_create(
          [&] {
            pd = dnnl::matmul::primitive_desc(row_bias ? dnnl::matmul::desc(src_md, wei_md, bias_md, dst_md)
                                                       : dnnl::matmul::desc(src_md, wei_md, dst_md),
                                              attr, cpu_engine());
          },
          reason, "matmul")) {
    return nullptr;
  }
  auto k = std::make_unique<FusedMatMulKernel>();
  k->prim_ = dnnl::matmul(pd);
  k->a_offset_ = av.offset;
  k->b_offset_ = bv.offset;
  k->const_b_ = const_b;
  k->has_z_ = has_z;
  k->src_mem_ = dnnl::memory(src_md, cpu_engine(), DNNL_MEMORY_NONE);
  k->dst_mem_ = dnnl::memory(dst_md, cpu_engine(), DNNL_MEMORY_NONE);
  if (const_b) {
    k->args_[DNNL_ARG_WEIGHTS] =
        reorder_constant(ctx.inputs[In::kB].value->data<float>() + bv.offset, wei_given, pd.weights_desc());
  } else {
    k->wei_mem_ = dnnl::memory(wei_given, cpu_engine(), DNNL_MEMORY_NONE);
  }
  if (bias_post_op) {
    // Post-ops follow the output scale: the addend is added as it is.
    const int post_op = has_z ? 1 : 0;
    k->args_[DNNL_ARG_ATTR_MULTIPLE_POST_OP(post_op) | DNNL_ARG_SRC_1] =
        reorder_constant(ctx.inputs[In::kBias].value->raw(), addend_md, addend_md);
  }
  if (row_bias) {
    std::vector<float> bias(static_cast<size_t>(s.n));
    const float* b = ctx.inputs[In::kBias].value->data<float>();
    for (int64_t j = 0; j < s.n; ++j) bias[static_cast<size_t>(j)] = b[j] / alpha;
    k->args_[DNNL_ARG_BIAS] = reorder_constant(bias.data(), bias_md, pd.bias_desc());
  }
  if (has_z) k->z_mem_ = dnnl::memory(z_md, cpu_engine(), DNNL_MEMORY_NONE);
  return k;
}

}  // namespace

void register_fused_matmul_kernels(KernelRegistry& registry) {
  registry.add(KernelDef{std::string(ir::kFusedMatMulOp), std::string(ir::kQwacDomain), 1, INT_MAX, "dnnl", false,
                         &FusedMatMulKernel::create});
}

}  // namespace qwac::kernels::dnnl_impl
