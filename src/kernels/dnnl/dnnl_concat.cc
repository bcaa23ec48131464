// Concat on oneDNN concat: inputs may come in different oneDNN layouts (SqueezeNet's fire modules concatenate
// two convolution outputs along channels); the output layout is oneDNN's choice. Float, or uint8/int8 (the int8
// engine path concatenates the integers of inputs that share one quantizer, passes/qdq/qdq_rules.h).
#include "kernels/dnnl/dnnl_common.h"
#include "kernels/dnnl/dnnl_families.h"
#include "kernels/dnnl/dnnl_typed_input.h"

namespace qwac::kernels::dnnl_impl {
namespace {

std::unique_ptr<Kernel> create_concat(const KernelContext& ctx, std::string& reason) {
  const DType type = ctx.outputs.at(0).dtype;
  if (dnnl_data_type(type) == dnnl::memory::data_type::undef) {
    reason = "output is " + std::string(dtype_name(type)) + ", only float, uint8 and int8 are implemented";
    return nullptr;
  }
  const Shape& out_shape = ctx.outputs.at(0).shape;
  if (out_shape.empty() || out_shape.size() > 6) {
    reason = "rank must be 1..6";
    return nullptr;
  }
  const int64_t axis = normalize_axis(ctx.node.attrs.get_int("axis", 1), static_cast<int64_t>(out_shape.size()),
                                      ctx.node.describe() + " axis");
  std::vector<dnnl::memory::desc> srcs;
  std::vector<size_t> indices;
  for (size_t i = 0; i < ctx.inputs.size(); ++i) {
    if (ctx.inputs[i].dtype != type) {
      reason = "input " + std::to_string(i) + " is " + std::string(dtype_name(ctx.inputs[i].dtype)) + ", not " +
               std::string(dtype_name(type)) + " as the output";
      return nullptr;
    }
    if (ctx.inputs[i].shape.at(static_cast<size_t>(axis)) == 0) continue;  // empty inputs contribute nothing
    dnnl::memory::desc md;
    if (!given_typed_desc(ctx, i, md, reason)) return nullptr;
    srcs.push_back(md);
    indices.push_back(i);
  }
  if (srcs.empty()) {
    reason = "every input is empty";
    return nullptr;
  }
  const dnnl::memory::desc dst_any(to_dims(out_shape), dnnl_data_type(type), dnnl::memory::format_tag::any);
  dnnl::concat::primitive_desc pd;
  if (!try_create([&] { pd = dnnl::concat::primitive_desc(dst_any, static_cast<int>(axis), srcs, cpu_engine()); },
                  reason, "concat")) {
    return nullptr;
  }
  auto k = std::make_unique<PrimitiveKernel>();
  k->prim = dnnl::concat(pd);
  for (size_t j = 0; j < srcs.size(); ++j) {
    k->runtime_inputs.push_back({DNNL_ARG_MULTIPLE_SRC + static_cast<int>(j), indices[j],
                                 InputAdapter(srcs[j], pd.src_desc(static_cast<int>(j)))});
  }
  k->dst = dnnl::memory(pd.dst_desc(), cpu_engine(), DNNL_MEMORY_NONE);
  k->out_format = format_of(pd.dst_desc());
  return k;
}

}  // namespace

void register_concat_kernels(KernelRegistry& registry) {
  registry.add(KernelDef{"Concat", "", 4, INT_MAX, "dnnl", true, &create_concat});
}

}  // namespace qwac::kernels::dnnl_impl
