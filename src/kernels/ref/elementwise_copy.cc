// Identity and Dropout (inference) reference kernels: the output is a copy of the input.
#include <cstring>
#include <string>

#include "kernels/kernel.h"
#include "kernels/ref/elementwise_common.h"
#include "kernels/ref/ref_families.h"

namespace qwac::kernels::ref {
namespace {

void copy_bytes(const Tensor& src, Tensor& dst) {
  if (src.nbytes() != dst.nbytes()) {
    throw InternalError("copy kernel: input " + src.describe() + " and output " + dst.describe() + " differ in size");
  }
  if (src.nbytes() != 0 && src.raw() != dst.raw()) std::memcpy(dst.raw(), src.raw(), src.nbytes());
}

class IdentityKernel final : public Kernel {
 public:
  void run(const std::vector<Tensor>& inputs, std::vector<Tensor>& outputs) override {
    copy_bytes(inputs[0], outputs[0]);
  }
};

std::unique_ptr<Kernel> make_identity(const KernelContext& ctx, std::string& reason) {
  if (dtype_size(ctx.inputs.at(0).dtype) == 0) {
    reason = unsupported_dtype_reason(ctx, ctx.inputs.at(0).dtype);
    return nullptr;
  }
  return std::make_unique<IdentityKernel>();
}

// Reads a scalar input as double (ratio: float types; training_mode: bool).
double scalar_value(const Tensor& t) {
  return dispatch_dtype(t.dtype(), [&](auto tag) { return static_cast<double>(t.data<decltype(tag)>()[0]); });
}

// Dropout in inference: output = input, mask = all true (all ones of T before opset 10). Training mode
// (opset >= 12, training_mode input true) with a non-zero ratio would need random masks: UnsupportedOp. With ratio
// 0 training mode is an identity too.
class DropoutKernel final : public Kernel {
 public:
  explicit DropoutKernel(const KernelContext& ctx) : node_(ctx.node.describe()), opset_(ctx.opset) {}

  void run(const std::vector<Tensor>& inputs, std::vector<Tensor>& outputs) override {
    if (opset_ >= 12 && inputs.size() > 2 && !inputs[2].empty() && scalar_value(inputs[2]) != 0.0) {
      const double ratio = inputs.size() > 1 && !inputs[1].empty() ? scalar_value(inputs[1]) : 0.5;
      if (ratio != 0.0) {
        throw UnsupportedOp(node_ + ": training_mode is true with ratio " + std::to_string(ratio) +
                            "; only inference (training_mode false, or ratio 0) is supported");
      }
    }
    copy_bytes(inputs[0], outputs[0]);
    if (outputs.size() > 1 && !outputs[1].empty()) {
      Tensor& mask = outputs[1];
      dispatch_dtype(mask.dtype(), [&](auto tag) {
        using M = decltype(tag);
        M* p = mask.data<M>();
        for (int64_t i = 0, n = mask.numel(); i < n; ++i) p[i] = static_cast<M>(1);
      });
    }
  }

 private:
  std::string node_;
  int64_t opset_;
};

std::unique_ptr<Kernel> make_dropout(const KernelContext& ctx, std::string& reason) {
  const DType dt = ctx.inputs.at(0).dtype;
  if (!has_computational_type(dt)) {
    reason = unsupported_dtype_reason(ctx, dt);
    return nullptr;
  }
  // Known at compile time to be training with a non-zero ratio: decline now, naming why.
  if (ctx.opset >= 12 && ctx.inputs.size() > 2 && ctx.inputs[2].value != nullptr &&
      scalar_value(*ctx.inputs[2].value) != 0.0) {
    const bool ratio_known = ctx.inputs.size() > 1 && ctx.inputs[1].present() ? ctx.inputs[1].value != nullptr : true;
    const double ratio = ctx.inputs.size() > 1 && ctx.inputs[1].value != nullptr ? scalar_value(*ctx.inputs[1].value)
                                                                                   : 0.5;
    if (ratio_known && ratio != 0.0) {
      reason = ctx.node.describe() + ": training_mode is true with ratio " + std::to_string(ratio) +
               "; only inference Dropout is supported";
      return nullptr;
    }
  }
  return std::make_unique<DropoutKernel>(ctx);
}

}  // namespace

void register_elementwise_copy_kernels(KernelRegistry& registry) {
  registry.add(KernelDef{"Identity", "", 1, INT_MAX, "ref", false, &make_identity});
  registry.add(KernelDef{"Dropout", "", 7, INT_MAX, "ref", false, &make_dropout});
}

}  // namespace qwac::kernels::ref
