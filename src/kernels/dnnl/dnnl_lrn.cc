// LRN on oneDNN lrn_forward (across channels). ONNX: y = x / (bias + alpha/size * sum_window x^2)^beta with the
// window [c - floor((size-1)/2), c + ceil((size-1)/2)]; oneDNN's across-channel LRN divides alpha by local_size
// the same way, but centres its window symmetrically, so only odd sizes agree.
#include "kernels/dnnl/dnnl_common.h"
#include "kernels/dnnl/dnnl_families.h"

namespace qwac::kernels::dnnl_impl {
namespace {

std::unique_ptr<Kernel> create_lrn(const KernelContext& ctx, std::string& reason) {
  if (!all_float(ctx, {0}, reason)) return nullptr;
  const ir::Node& node = ctx.node;
  const int64_t size = node.attrs.get_int("size");
  if (size % 2 == 0) {
    reason = "even LRN size " + std::to_string(size) + " (asymmetric window)";
    return nullptr;
  }
  if (ctx.inputs.at(0).shape.size() < 3 || ctx.inputs.at(0).shape.size() > 5) {
    reason = "rank must be 3..5";
    return nullptr;
  }
  dnnl::memory::desc src_md;
  if (!given_desc(ctx, 0, src_md, reason)) return nullptr;
  dnnl::lrn_forward::primitive_desc pd;
  if (!try_create(
          [&] {
            pd = dnnl::lrn_forward::primitive_desc(
                dnnl::lrn_forward::desc(dnnl::prop_kind::forward_inference, dnnl::algorithm::lrn_across_channels,
                                        src_md, size, node.attrs.get_float("alpha", 1e-4f),
                                        node.attrs.get_float("beta", 0.75f), node.attrs.get_float("bias", 1.f)),
                cpu_engine());
          },
          reason, "LRN")) {
    return nullptr;
  }
  auto k = std::make_unique<PrimitiveKernel>();
  k->prim = dnnl::lrn_forward(pd);
  k->runtime_inputs.push_back({DNNL_ARG_SRC, 0, InputAdapter(src_md, pd.src_desc())});
  k->dst = dnnl::memory(pd.dst_desc(), cpu_engine(), DNNL_MEMORY_NONE);
  k->out_format = format_of(pd.dst_desc());
  return k;
}

}  // namespace

void register_lrn_kernels(KernelRegistry& registry) {
  registry.add(KernelDef{"LRN", "", 1, INT_MAX, "dnnl", true, &create_lrn});
}

}  // namespace qwac::kernels::dnnl_impl
