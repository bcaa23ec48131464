// BatchNormalization (inference, running statistics) on oneDNN batch_normalization_forward with global stats.
// Usually folded into the preceding Conv by a pass; this kernel covers the BNs that remain.
#include <algorithm>

#include "kernels/dnnl/dnnl_common.h"
#include "kernels/dnnl/dnnl_families.h"

namespace qwac::kernels::dnnl_impl {
namespace {

std::unique_ptr<Kernel> create_batchnorm(const KernelContext& ctx, std::string& reason) {
  const ir::Node& node = ctx.node;
  if (!all_float(ctx, {0, 1, 2, 3, 4}, reason)) return nullptr;
  if (ctx.outputs.size() > 1 && std::any_of(node.outputs().begin() + 1, node.outputs().end(),
                                            [](const ir::Value* v) { return v != nullptr; })) {
    reason = "training-mode outputs (mean/var) are not implemented";
    return nullptr;
  }
  if (node.attrs.get_int("training_mode", 0) != 0 || (ctx.opset < 9 && node.attrs.get_int("spatial", 1) == 0)) {
    reason = "training mode / non-spatial BatchNormalization is not implemented";
    return nullptr;
  }
  const ir::TensorInfo& x = ctx.inputs.at(0);
  if (x.shape.size() < 2 || x.shape.size() > 5) {
    reason = "rank must be 2..5";
    return nullptr;
  }
  const int64_t c = x.shape[1];
  for (size_t i = 1; i <= 4; ++i) {
    if (ctx.inputs.size() <= i || ctx.inputs[i].value == nullptr || ctx.inputs[i].value->numel() != c) {
      reason = "scale/bias/mean/var must be constant vectors of length C";
      return nullptr;
    }
  }
  dnnl::memory::desc src_md;
  if (!given_desc(ctx, 0, src_md, reason)) return nullptr;
  const float epsilon = node.attrs.get_float("epsilon", 1e-5f);
  const auto flags = dnnl::normalization_flags::use_global_stats | dnnl::normalization_flags::use_scale |
                     dnnl::normalization_flags::use_shift;
  dnnl::batch_normalization_forward::primitive_desc pd;
  if (!try_create(
          [&] {
            pd = dnnl::batch_normalization_forward::primitive_desc(
                dnnl::batch_normalization_forward::desc(dnnl::prop_kind::forward_inference, src_md, epsilon, flags),
                cpu_engine());
          },
          reason, "batch normalization")) {
    return nullptr;
  }
  auto k = std::make_unique<PrimitiveKernel>();
  k->prim = dnnl::batch_normalization_forward(pd);
  k->runtime_inputs.push_back({DNNL_ARG_SRC, 0, InputAdapter(src_md, pd.src_desc())});
  const dnnl::memory::desc vec = plain_desc({c});
  const int args[] = {DNNL_ARG_SCALE, DNNL_ARG_SHIFT, DNNL_ARG_MEAN, DNNL_ARG_VARIANCE};
  for (size_t i = 0; i < 4; ++i) k->args[args[i]] = reorder_constant(ctx.inputs[i + 1].value->raw(), vec, vec);
  k->dst = dnnl::memory(pd.dst_desc(), cpu_engine(), DNNL_MEMORY_NONE);
  k->out_format = format_of(pd.dst_desc());
  return k;
}

}  // namespace

void register_batchnorm_kernels(KernelRegistry& registry) {
  registry.add(KernelDef{"BatchNormalization", "", 1, INT_MAX, "dnnl", true, &create_batchnorm});
}

}  // namespace qwac::kernels::dnnl_impl
