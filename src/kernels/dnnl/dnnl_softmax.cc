// Softmax / LogSoftmax on oneDNN (plain layout). Opset < 13 coerces the input to 2-D [prod(d<axis), prod(d>=axis)]
// and normalizes over the second dim, which on plain memory is a softmax over the last axis of that 2-D view.
#include "kernels/dnnl/dnnl_common.h"
#include "kernels/dnnl/dnnl_families.h"

namespace qwac::kernels::dnnl_impl {
namespace {

std::unique_ptr<Kernel> create_softmax(bool log, const KernelContext& ctx, std::string& reason) {
  if (!all_float(ctx, {0}, reason)) return nullptr;
  const Shape& shape = ctx.inputs.at(0).shape;
  if (shape.empty() || shape_numel(shape) == 0) {
    reason = "scalar or empty input";
    return nullptr;
  }
  const int64_t rank = static_cast<int64_t>(shape.size());
  const int64_t axis = normalize_axis(ctx.node.attrs.get_int("axis", ctx.opset < 13 ? 1 : -1), rank,
                                      ctx.node.describe() + " axis");
  Shape view = shape;
  int dnnl_axis = static_cast<int>(axis);
  if (ctx.opset < 13) {
    int64_t outer = 1, inner = 1;
    for (int64_t i = 0; i < rank; ++i) (i < axis ? outer : inner) *= shape[static_cast<size_t>(i)];
    view = {outer, inner};
    dnnl_axis = 1;
  }
  const dnnl::memory::desc md = plain_desc(view);
  auto k = std::make_unique<PrimitiveKernel>();
  const auto prop = dnnl::prop_kind::forward_inference;
  bool ok = false;
  if (log) {
    ok = try_create(
        [&] {
          dnnl::logsoftmax_forward::primitive_desc pd(dnnl::logsoftmax_forward::desc(prop, md, dnnl_axis),
                                                      cpu_engine());
          k->prim = dnnl::logsoftmax_forward(pd);
        },
        reason, "logsoftmax");
  } else {
    ok = try_create(
        [&] {
          dnnl::softmax_forward::primitive_desc pd(dnnl::softmax_forward::desc(prop, md, dnnl_axis), cpu_engine());
          k->prim = dnnl::softmax_forward(pd);
        },
        reason, "softmax");
  }
  if (!ok) return nullptr;
  k->runtime_inputs.push_back({DNNL_ARG_SRC, 0, InputAdapter(md, md)});
  k->dst = dnnl::memory(md, cpu_engine(), DNNL_MEMORY_NONE);
  return k;
}

}  // namespace

void register_softmax_kernels(KernelRegistry& registry) {
  registry.add(KernelDef{"Softmax", "", 1, INT_MAX, "dnnl", false, [](const KernelContext& c, std::string& r) {
                           return create_softmax(false, c, r);
                         }});
  registry.add(KernelDef{"LogSoftmax", "", 1, INT_MAX, "dnnl", false, [](const KernelContext& c, std::string& r) {
                           return create_softmax(true, c, r);
                         }});
}

}  // namespace qwac::kernels::dnnl_impl
