#include "kernels/kernel.h"

#include <algorithm>

#include "kernels/vec/vec_families.h"
#include "qwac/error.h"

namespace qwac::kernels {

namespace {

// oneDNN 2.6 divides by zero (SIGFPE) when a primitive is created for a tensor with a zero-size dimension or with
// 2^31 elements or more (both found by the fuzz suite: an empty weight, an input dimension of 0 or 2^40). Such
// nodes go to the reference kernels, which loop zero times or are stopped by the memory budget when their buffers
// are allocated. Returns the reason, or "" when oneDNN can take the node.
std::string onednn_shape_problem(const KernelContext& ctx) {
  constexpr uint64_t kMaxElements = uint64_t{1} << 31;
  auto problem = [&](const Shape& shape) -> std::string {
    if (std::find(shape.begin(), shape.end(), 0) != shape.end()) return "a tensor has a zero-size dimension";
    uint64_t n = 1;
    for (int64_t d : shape) {
      if (d < 0 || static_cast<uint64_t>(d) >= kMaxElements || n * static_cast<uint64_t>(d) >= kMaxElements) {
        return "a tensor has 2^31 elements or more";
      }
      n *= static_cast<uint64_t>(d);
    }
    return "";
  };
  for (const ir::TensorInfo& t : ctx.inputs) {
    if (!t.present()) continue;
    if (std::string p = problem(t.shape); !p.empty()) return p;
  }
  for (const ir::OutputInfo& t : ctx.outputs) {
    if (std::string p = problem(t.shape); !p.empty()) return p;
  }
  return "";
}

}  // namespace

void KernelRegistry::add(KernelDef def) {
  if (!def.create) throw InternalError("kernel def for " + def.op_type + " has no factory");
  if (def.domain == "ai.onnx") def.domain.clear();
  defs_.push_back(std::move(def));
}

std::vector<const KernelDef*> KernelRegistry::candidates(const std::string& op_type, const std::string& domain,
                                                         int64_t opset) const {
  const std::string dom = domain == "ai.onnx" ? "" : domain;
  std::vector<const KernelDef*> out;
  for (const KernelDef& d : defs_) {
    // Ops outside the default domain (qwac's fused ops) are not versioned by the model's opset.
    const bool in_range = !dom.empty() || (opset >= d.since_version && opset <= d.until_version);
    if (d.op_type == op_type && d.domain == dom && in_range) out.push_back(&d);
  }
  return out;
}

KernelSelection KernelRegistry::select(const std::string& op_type, const std::string& domain, int64_t opset,
                                       const std::function<KernelContext(const KernelDef&)>& make_context) const {
  KernelSelection selection;
  for (const KernelDef* def : candidates(op_type, domain, opset)) {
    std::string reason;
    KernelContext ctx = make_context(*def);
    if (def->impl.rfind("dnnl", 0) == 0) {
      if (const std::string problem = onednn_shape_problem(ctx); !problem.empty()) {
        selection.declines.push_back(def->impl + ": " + problem + " (oneDNN cannot take it)");
        continue;
      }
    }
    std::unique_ptr<Kernel> k = def->create(ctx, reason);
    if (k) {
      selection.kernel = std::move(k);
      selection.impl = def->impl;
      return selection;
    }
    selection.declines.push_back(def->impl + ": " + (reason.empty() ? "declined" : reason));
  }
  return selection;
}

const KernelRegistry& reference_kernel_registry() {
  static const KernelRegistry registry = [] {
    KernelRegistry r;
    register_reference_kernels(r);
    return r;
  }();
  return registry;
}

const KernelRegistry& default_kernel_registry() {
  static const KernelRegistry registry = [] {
    KernelRegistry r;
    register_dnnl_kernels(r);
    register_vectorized_kernels(r);
    register_reference_kernels(r);
    return r;
  }();
  return registry;
}

}  // namespace qwac::kernels
