// Unary activations on oneDNN eltwise_forward: every ONNX op the activation table knows (ir/activation.h) and
// com.qwac Activation, through the one oneDNN mapping (dnnl_activation.h), plus Exp and Abs. They compute in
// whatever layout the producer gave (the output keeps it), so a Conv -> Relu -> MaxPool chain never leaves oneDNN's
// blocked layout. An activation of several eltwise steps (HardSigmoid: linear, then clip) runs them in place.
#include <limits>

#include "ir/activation.h"
#include "ir/fused_ops.h"
#include "kernels/dnnl/dnnl_activation.h"
#include "kernels/dnnl/dnnl_common.h"
#include "kernels/dnnl/dnnl_families.h"

namespace qwac::kernels::dnnl_impl {
namespace {

// The activation of the node: from its attributes, or for Clip from opset 11 on from the bound inputs' values
// known at compile time (they may be computed from constants); false with a reason when not known.
bool activation_of(const KernelContext& ctx, ir::Activation& act, std::string& reason) {
  if (ctx.node.op_type() == "Clip" && ctx.node.domain().empty() && ctx.opset >= 11) {
    act = {ir::ActivationKind::kClip, std::numeric_limits<float>::lowest(), std::numeric_limits<float>::max()};
    for (size_t i = 1; i <= 2; ++i) {
      if (i >= ctx.inputs.size() || !ctx.inputs[i].present()) continue;
      const ir::TensorInfo& b = ctx.inputs[i];
      if (b.value == nullptr || b.dtype != DType::kFloat32 || b.value->numel() != 1) {
        reason = "Clip bounds must be constant float scalars";
        return false;
      }
      (i == 1 ? act.alpha : act.beta) = b.value->data<float>()[0];
    }
    return true;
  }
  const std::optional<ir::Activation> parsed = ir::activation_from_node(ctx.node, ctx.opset);
  if (!parsed) {
    reason = "not an activation with parameters known at compile time";
    return false;
  }
  act = *parsed;
  return true;
}

// A chain of eltwise primitives: the first reads the input, the others update the output in place.
class EltwiseChainKernel final : public Kernel {
 public:
  void run(const std::vector<Tensor>& inputs, std::vector<Tensor>& outputs) override {
    dnnl::stream& stream = cpu_stream();
    const dnnl::memory& src = src_.bind(inputs[0].raw(), stream);
    bind(dst_, outputs[0].raw());
    for (size_t i = 0; i < prims_.size(); ++i) {
      prims_[i].execute(stream, {{DNNL_ARG_SRC, i == 0 ? src : dst_}, {DNNL_ARG_DST, dst_}});
    }
    stream.wait();
  }
  BlockedFormatPtr output_format(size_t) const override { return out_format_; }

  std::vector<dnnl::eltwise_forward> prims_;
  InputAdapter src_;
  dnnl::memory dst_;
  BlockedFormatPtr out_format_;
};

std::unique_ptr<Kernel> create_eltwise(const std::vector<EltwiseStep>& steps, const KernelContext& ctx,
                                       std::string& reason) {
  if (!all_float(ctx, {0}, reason)) return nullptr;
  if (steps.empty()) {
    reason = "no eltwise step";
    return nullptr;
  }
  dnnl::memory::desc src_md;
  if (!given_desc(ctx, 0, src_md, reason)) return nullptr;
  auto k = std::make_unique<EltwiseChainKernel>();
  dnnl::memory::desc md = src_md;
  for (const EltwiseStep& step : steps) {
    dnnl::eltwise_forward::primitive_desc pd;
    if (!try_create(
            [&] {
              pd = dnnl::eltwise_forward::primitive_desc(
                  dnnl::eltwise_forward::desc(dnnl::prop_kind::forward_inference, step.algorithm, md, step.alpha,
                                              step.beta),
                  cpu_engine());
            },
            reason, "eltwise")) {
      return nullptr;
    }
    if (k->prims_.empty()) {
      k->src_ = InputAdapter(src_md, pd.src_desc());
      md = pd.dst_desc();
    }
    k->prims_.emplace_back(pd);
  }
  k->dst_ = dnnl::memory(md, cpu_engine(), DNNL_MEMORY_NONE);
  k->out_format_ = format_of(md);
  return k;
}

std::unique_ptr<Kernel> create_activation(const KernelContext& ctx, std::string& reason) {
  ir::Activation act;
  std::vector<EltwiseStep> steps;
  if (!activation_of(ctx, act, reason) || !eltwise_steps(act, steps, reason)) return nullptr;
  if (act.none()) {
    reason = "no activation";
    return nullptr;
  }
  return create_eltwise(steps, ctx, reason);
}

struct EltwiseOp {
  std::string op_type;
  std::string domain;
  int64_t since_version;
  KernelFactory create;
};

std::vector<EltwiseOp> eltwise_ops() {
  std::vector<EltwiseOp> ops;
  // Every activation ONNX has an op for, and qwac's own standalone Activation.
  for (size_t k = 1; k < ir::kActivationKindCount; ++k) {
    const ir::ActivationFacts& f = ir::activation_facts(static_cast<ir::ActivationKind>(k));
    if (!f.onnx_op.empty()) ops.push_back({std::string(f.onnx_op), "", f.since_opset, &create_activation});
  }
  ops.push_back({std::string(ir::kActivationOp), std::string(ir::kQwacDomain), 1, &create_activation});
  auto single = [](dnnl::algorithm a) -> KernelFactory {
    return [a](const KernelContext& ctx, std::string& reason) { return create_eltwise({{a}}, ctx, reason); };
  };
  ops.push_back({"Exp", "", 6, single(dnnl::algorithm::eltwise_exp)});
  ops.push_back({"Abs", "", 6, single(dnnl::algorithm::eltwise_abs)});
  return ops;
}

}  // namespace

void register_eltwise_kernels(KernelRegistry& registry) {
  for (const EltwiseOp& op : eltwise_ops()) {
    registry.add(KernelDef{op.op_type, op.domain, op.since_version, INT_MAX, "dnnl", true, op.create});
  }
}

}  // namespace qwac::kernels::dnnl_impl
