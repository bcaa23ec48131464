// MaxPool / AveragePool / GlobalMaxPool / GlobalAveragePool on oneDNN pooling_forward, computed in the layout the
// producer gave (blocked stays blocked).
#include "kernels/dnnl/dnnl_common.h"
#include "kernels/dnnl/dnnl_families.h"

namespace qwac::kernels::dnnl_impl {
namespace {

using alg = dnnl::algorithm;

enum class PoolKind { kMax, kAverage, kGlobalMax, kGlobalAverage };

std::unique_ptr<Kernel> create_pool(PoolKind kind, const KernelContext& ctx, std::string& reason) {
  const ir::Node& node = ctx.node;
  if (!all_float(ctx, {0}, reason)) return nullptr;
  if (ctx.outputs.size() > 1 && node.output(1) != nullptr) {
    reason = "the Indices output is not implemented";
    return nullptr;
  }
  const ir::TensorInfo& x = ctx.inputs.at(0);
  if (x.shape.size() < 3 || x.shape.size() > 5) {
    reason = "only 1D/2D/3D pooling is implemented";
    return nullptr;
  }
  const std::vector<int64_t> in_spatial(x.shape.begin() + 2, x.shape.end());
  const size_t n = in_spatial.size();
  const Shape& out_shape = ctx.outputs.at(0).shape;
  if (out_shape.size() != x.shape.size()) {
    reason = "output rank differs from input rank";
    return nullptr;
  }
  SpatialGeometry g;
  const bool global = kind == PoolKind::kGlobalMax || kind == PoolKind::kGlobalAverage;
  bool include_padding = false;
  if (global) {
    g.kernel = dnnl::memory::dims(in_spatial.begin(), in_spatial.end());
    g.strides = g.kernel;
    g.pad_begin = g.pad_end = dnnl::memory::dims(n, 0);
  } else {
    if (node.attrs.get_ints("dilations", std::vector<int64_t>(n, 1)) != std::vector<int64_t>(n, 1)) {
      reason = "dilated pooling is not implemented";
      return nullptr;
    }
    if (!forward_geometry(node, in_spatial, node.attrs.get_ints("kernel_shape"), g, reason)) return nullptr;
    include_padding = kind == PoolKind::kAverage && node.attrs.get_int("count_include_pad", 0) != 0;
    // The output size is the inferred one (ceil_mode included); the right padding grows to produce it. Extra
    // right padding is harmless for max and for averages that exclude padding, not for include-padding averages.
    for (size_t i = 0; i < n; ++i) {
      const int64_t out = out_shape[2 + i];
      const int64_t floor_out = (in_spatial[i] + g.pad_begin[i] + g.pad_end[i] - g.kernel[i]) / g.strides[i] + 1;
      if (floor_out > out) {
        reason = "output size inconsistent with the pooling geometry";
        return nullptr;
      }
      if (floor_out == out) continue;
      if (include_padding) {
        reason = "ceil_mode with count_include_pad is not implemented";
        return nullptr;
      }
      const int64_t needed = (out - 1) * g.strides[i] + g.kernel[i] - in_spatial[i] - g.pad_begin[i];
      g.pad_end[i] = needed;
      if (g.pad_begin[i] >= g.kernel[i] || g.pad_end[i] >= g.kernel[i]) {
        reason = "padding as large as the kernel is not implemented";
        return nullptr;
      }
    }
  }
  const alg algorithm = (kind == PoolKind::kMax || kind == PoolKind::kGlobalMax) ? alg::pooling_max
                        : include_padding                                       ? alg::pooling_avg_include_padding
                                                                                : alg::pooling_avg_exclude_padding;
  dnnl::memory::desc src_md;
  if (!given_desc(ctx, 0, src_md, reason)) return nullptr;
  const dnnl::memory::desc dst_any(to_dims(out_shape), dnnl::memory::data_type::f32, dnnl::memory::format_tag::any);
  dnnl::pooling_forward::primitive_desc pd;
  if (!try_create(
          [&] {
            pd = dnnl::pooling_forward::primitive_desc(
                dnnl::pooling_forward::desc(dnnl::prop_kind::forward_inference, algorithm, src_md, dst_any,
                                            g.strides, g.kernel, g.pad_begin, g.pad_end),
                cpu_engine());
          },
          reason, "pooling")) {
    return nullptr;
  }
  auto k = std::make_unique<PrimitiveKernel>();
  k->prim = dnnl::pooling_forward(pd);
  k->runtime_inputs.push_back({DNNL_ARG_SRC, 0, InputAdapter(src_md, pd.src_desc())});
  k->dst = dnnl::memory(pd.dst_desc(), cpu_engine(), DNNL_MEMORY_NONE);
  k->out_format = format_of(pd.dst_desc());
  return k;
}

KernelDef pool_def(const char* op_type, PoolKind kind) {
  return KernelDef{op_type, "", 1, INT_MAX, "dnnl", true, [kind](const KernelContext& ctx, std::string& reason) {
                     return create_pool(kind, ctx, reason);
                   }};
}

}  // namespace

void register_pool_kernels(KernelRegistry& registry) {
  registry.add(pool_def("MaxPool", PoolKind::kMax));
  registry.add(pool_def("AveragePool", PoolKind::kAverage));
  registry.add(pool_def("GlobalMaxPool", PoolKind::kGlobalMax));
  registry.add(pool_def("GlobalAveragePool", PoolKind::kGlobalAverage));
}

}  // namespace qwac::kernels::dnnl_impl
