// QLookup (com.qwac, ir/fused_ops.h), the oracle: Y[i] = Table[byte of X[i]], one element at a time, on plain
// tensors. The table is whatever the op's input holds (the engine folds it from the chain the op replaced,
// passes/qdq/lookup_fusion.h).
#include <cstring>

#include "ir/fused_ops.h"
#include "kernels/ref/quantized_kernel_util.h"
#include "kernels/ref/ref_families.h"

namespace qwac::kernels::ref {
namespace {

using In = ir::QLookupInputs;

class QLookupRefKernel final : public Kernel {
 public:
  static std::unique_ptr<Kernel> create(const KernelContext& ctx, std::string& reason) {
    if (!plain_inputs(ctx, "QLookup", reason)) return nullptr;
    auto k = std::make_unique<QLookupRefKernel>();
    k->element_size_ = static_cast<int64_t>(dtype_size(ctx.outputs.at(0).dtype));
    return k;
  }

  void run(const std::vector<Tensor>& in, std::vector<Tensor>& out) override {
    const auto* x = static_cast<const uint8_t*>(in[In::kX].raw());
    const auto* table = static_cast<const char*>(in[In::kTable].raw());
    char* y = static_cast<char*>(out[0].raw());
    const int64_t n = in[In::kX].numel();
    for (int64_t i = 0; i < n; ++i) {
      std::memcpy(y + i * element_size_, table + static_cast<int64_t>(x[i]) * element_size_,
                  static_cast<size_t>(element_size_));
    }
  }

 private:
  int64_t element_size_ = 1;
};

}  // namespace

void register_qlookup_kernels(KernelRegistry& registry) {
  registry.add(KernelDef{std::string(ir::kQLookupOp), std::string(ir::kQwacDomain), 1, INT_MAX, "ref", false,
                         &QLookupRefKernel::create});
}

}  // namespace qwac::kernels::ref
