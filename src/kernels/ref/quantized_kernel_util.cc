#include "kernels/ref/quantized_kernel_util.h"

namespace qwac::kernels::ref {

std::unique_ptr<Kernel> reference_float_kernel(const std::string& op, const KernelContext& float_ctx,
                                               std::string& reason) {
  std::string tried;
  for (const KernelDef* def : reference_kernel_registry().candidates(op, "", float_ctx.opset)) {
    std::string why;
    if (std::unique_ptr<Kernel> k = def->create(float_ctx, why)) {
      reason.clear();
      return k;
    }
    tried += (tried.empty() ? "" : "; ") + why;
  }
  reason = "no reference float " + op + " for this case (" + tried + ")";
  return nullptr;
}

}  // namespace qwac::kernels::ref
