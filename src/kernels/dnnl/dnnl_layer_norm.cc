// LayerNormalization on oneDNN's layer normalization (forward inference, plain layout). ONNX normalizes over the
// dims X[axis:]; on plain memory that is the last dim of the 2-D view [prod(X[:axis]), prod(X[axis:])], which is
// what oneDNN normalizes over. Scale and bias broadcast to X[axis:] in ONNX; oneDNN wants one value per element of
// the normalized dims, so constant ones are expanded once at compile time. Declines when Scale or B is computed at
// run time, or when the Mean / InvStdDev outputs are used (the reference kernel computes them).
#include <algorithm>
#include <cstring>

#include "kernels/dnnl/dnnl_common.h"
#include "kernels/dnnl/dnnl_families.h"

namespace qwac::kernels::dnnl_impl {
namespace {

// `t` broadcast (numpy rules, trailing alignment) to `to` elements of the shape `to_shape`.
std::vector<float> expand_to(const Tensor& t, const Shape& to_shape) {
  const int64_t n = shape_numel(to_shape);
  std::vector<float> out(static_cast<size_t>(n));
  Shape from(to_shape.size() - t.shape().size(), 1);
  from.insert(from.end(), t.shape().begin(), t.shape().end());
  std::vector<int64_t> from_strides(from.size(), 0), to_strides(to_shape.size(), 1);
  int64_t stride = 1;
  for (size_t i = from.size(); i-- > 0;) {
    from_strides[i] = from[i] == 1 ? 0 : stride;
    stride *= from[i];
  }
  for (size_t i = to_shape.size(); i-- > 1;) to_strides[i - 1] = to_strides[i] * to_shape[i];
  const float* src = t.data<float>();
  for (int64_t flat = 0; flat < n; ++flat) {
    int64_t rem = flat, offset = 0;
    for (size_t d = 0; d < to_shape.size(); ++d) {
      offset += rem / to_strides[d] * from_strides[d];
      rem %= to_strides[d];
    }
    out[static_cast<size_t>(flat)] = src[offset];
  }
  return out;
}

std::unique_ptr<Kernel> create_layer_norm(const KernelContext& ctx, std::string& reason) {
  if (!all_float(ctx, {0, 1, 2}, reason)) return nullptr;
  for (size_t i = 1; i < ctx.node.num_outputs(); ++i) {
    if (ctx.node.output(i) != nullptr) {
      reason = "the Mean / InvStdDev outputs are not computed by this kernel";
      return nullptr;
    }
  }
  const Shape& x = ctx.inputs.at(0).shape;
  const int64_t rank = static_cast<int64_t>(x.size());
  const int64_t axis = normalize_axis(ctx.node.attrs.get_int("axis", -1), rank, ctx.node.describe() + " axis");
  const Shape normalized(x.begin() + axis, x.end());
  const int64_t inner = shape_numel(normalized), outer = shape_numel(x) / std::max<int64_t>(inner, 1);
  if (inner == 0 || outer == 0) {
    reason = "empty input";
    return nullptr;
  }
  const bool has_bias = ctx.inputs.size() > 2 && ctx.inputs[2].present();
  if (ctx.inputs[1].value == nullptr || (has_bias && ctx.inputs[2].value == nullptr)) {
    reason = "Scale or B is not a constant";
    return nullptr;
  }
  const float epsilon = ctx.node.attrs.get_float("epsilon", 1e-5f);
  const dnnl::memory::desc md = plain_desc({outer, inner});
  auto flags = dnnl::normalization_flags::use_scale;
  if (has_bias) flags |= dnnl::normalization_flags::use_shift;
  dnnl::layer_normalization_forward::primitive_desc pd;
  if (!try_create(
          [&] {
            pd = dnnl::layer_normalization_forward::primitive_desc(
                dnnl::layer_normalization_forward::desc(dnnl::prop_kind::forward_inference, md, epsilon, flags),
                cpu_engine());
          },
          reason, "layer normalization")) {
    return nullptr;
  }
  auto k = std::make_unique<PrimitiveKernel>();
  k->prim = dnnl::layer_normalization_forward(pd);
  k->runtime_inputs.push_back({DNNL_ARG_SRC, 0, InputAdapter(md, pd.src_desc())});
  const dnnl::memory::desc vec_md = plain_desc({inner});
  const std::vector<float> scale = expand_to(*ctx.inputs[1].value, normalized);
  k->args[DNNL_ARG_SCALE] = reorder_constant(scale.data(), vec_md, vec_md);
  if (has_bias) {
    const std::vector<float> shift = expand_to(*ctx.inputs[2].value, normalized);
    k->args[DNNL_ARG_SHIFT] = reorder_constant(shift.data(), vec_md, vec_md);
  }
  // Inference without global statistics: oneDNN computes them and may want scratch memory for them.
  if (pd.mean_desc().get_size() > 0) k->args[DNNL_ARG_MEAN] = dnnl::memory(pd.mean_desc(), cpu_engine());
  if (pd.variance_desc().get_size() > 0) k->args[DNNL_ARG_VARIANCE] = dnnl::memory(pd.variance_desc(), cpu_engine());
  k->dst = dnnl::memory(pd.dst_desc(), cpu_engine(), DNNL_MEMORY_NONE);
  return k;
}

}  // namespace

void register_layer_norm_kernels(KernelRegistry& registry) {
  // Every opset: see ir/shape/nn_shapes.cc (ONNX Runtime's convention for the op before opset 17).
  registry.add(KernelDef{"LayerNormalization", "", 1, INT_MAX, "dnnl", false, &create_layer_norm});
}

}  // namespace qwac::kernels::dnnl_impl
