// Unary activations on oneDNN eltwise_forward. They compute in whatever layout the producer gave (the output
// keeps it), so a Conv -> Relu -> MaxPool chain never leaves oneDNN's blocked layout.
#include <limits>

#include "kernels/dnnl/dnnl_common.h"
#include "kernels/dnnl/dnnl_families.h"

namespace qwac::kernels::dnnl_impl {
namespace {

using alg = dnnl::algorithm;

struct EltwiseParams {
  alg algorithm;
  float alpha = 0.f, beta = 0.f;
};
// Reads the op's parameters from the node; false with a reason when they are not compile-time constants.
using ParamsFn = bool (*)(const KernelContext&, EltwiseParams&, std::string&);

struct EltwiseOp {
  const char* op_type;
  int64_t since_version;
  ParamsFn params;
};

bool clip_params(const KernelContext& ctx, EltwiseParams& p, std::string& reason) {
  p.algorithm = alg::eltwise_clip;
  p.alpha = -std::numeric_limits<float>::max();
  p.beta = std::numeric_limits<float>::max();
  if (ctx.opset < 11) {
    p.alpha = ctx.node.attrs.get_float("min", p.alpha);
    p.beta = ctx.node.attrs.get_float("max", p.beta);
    return true;
  }
  for (size_t i = 1; i <= 2; ++i) {
    if (i >= ctx.inputs.size() || !ctx.inputs[i].present()) continue;
    if (ctx.inputs[i].value == nullptr || ctx.inputs[i].dtype != DType::kFloat32 || ctx.inputs[i].value->numel() != 1) {
      reason = "Clip bounds must be constant float scalars";
      return false;
    }
    (i == 1 ? p.alpha : p.beta) = ctx.inputs[i].value->data<float>()[0];
  }
  return true;
}

const EltwiseOp kEltwiseOps[] = {
    {"Relu", 6, [](const KernelContext&, EltwiseParams& p, std::string&) { p = {alg::eltwise_relu}; return true; }},
    {"LeakyRelu", 6,
     [](const KernelContext& c, EltwiseParams& p, std::string&) {
       p = {alg::eltwise_relu, c.node.attrs.get_float("alpha", 0.01f)};
       return true;
     }},
    {"Sigmoid", 6,
     [](const KernelContext&, EltwiseParams& p, std::string&) { p = {alg::eltwise_logistic}; return true; }},
    {"Tanh", 6, [](const KernelContext&, EltwiseParams& p, std::string&) { p = {alg::eltwise_tanh}; return true; }},
    {"Elu", 6,
     [](const KernelContext& c, EltwiseParams& p, std::string&) {
       p = {alg::eltwise_elu, c.node.attrs.get_float("alpha", 1.f)};
       return true;
     }},
    {"HardSwish", 14,
     [](const KernelContext&, EltwiseParams& p, std::string&) { p = {alg::eltwise_hardswish}; return true; }},
    {"Clip", 6, clip_params},
    {"Exp", 6, [](const KernelContext&, EltwiseParams& p, std::string&) { p = {alg::eltwise_exp}; return true; }},
    {"Abs", 6, [](const KernelContext&, EltwiseParams& p, std::string&) { p = {alg::eltwise_abs}; return true; }},
};

std::unique_ptr<Kernel> create_eltwise(const EltwiseOp& op, const KernelContext& ctx, std::string& reason) {
  if (!all_float(ctx, {0}, reason)) return nullptr;
  EltwiseParams p;
  if (!op.params(ctx, p, reason)) return nullptr;
  dnnl::memory::desc src_md;
  if (!given_desc(ctx, 0, src_md, reason)) return nullptr;
  auto k = std::make_unique<PrimitiveKernel>();
  dnnl::eltwise_forward::primitive_desc pd;
  if (!try_create(
          [&] {
            pd = dnnl::eltwise_forward::primitive_desc(
                dnnl::eltwise_forward::desc(dnnl::prop_kind::forward_inference, p.algorithm, src_md, p.alpha, p.beta),
                cpu_engine());
          },
          reason, "eltwise")) {
    return nullptr;
  }
  k->prim = dnnl::eltwise_forward(pd);
  k->runtime_inputs.push_back({DNNL_ARG_SRC, 0, InputAdapter(src_md, pd.src_desc())});
  k->dst = dnnl::memory(pd.dst_desc(), cpu_engine(), DNNL_MEMORY_NONE);
  k->out_format = format_of(pd.dst_desc());
  return k;
}

}  // namespace

void register_eltwise_kernels(KernelRegistry& registry) {
  for (const EltwiseOp& op : kEltwiseOps) {
    registry.add(KernelDef{op.op_type, "", op.since_version, INT_MAX, "dnnl", true,
                           [&op](const KernelContext& ctx, std::string& reason) {
                             return create_eltwise(op, ctx, reason);
                           }});
  }
}

}  // namespace qwac::kernels::dnnl_impl
