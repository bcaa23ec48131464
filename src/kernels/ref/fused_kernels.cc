// Reference kernels of qwac's fused ops, by composition: the reference kernel of the base op computes into the
// output, then the residual and the activation are applied in place. Being the oracle, this stays simple.
#include <algorithm>

#include "ir/activation.h"
#include "ir/fused_ops.h"
#include "kernels/ref/activation.h"
#include "kernels/ref/ref_families.h"

namespace qwac::kernels::ref {
namespace {

constexpr int64_t kConvOpset = 11;
constexpr size_t kResidualInput = 3;

class FusedConvKernel final : public Kernel {
 public:
  static std::unique_ptr<Kernel> create(const KernelContext& ctx, std::string& reason) {
    const ir::Node& node = ctx.node;
    if (ctx.outputs.empty() || ctx.outputs[0].dtype != DType::kFloat32) {
      reason = "only float FusedConv is implemented";
      return nullptr;
    }
    const ir::Activation act = ir::Activation::from_attributes(node.attrs, node.describe());
    auto k = std::make_unique<FusedConvKernel>();
    k->activation_ = act;
    // A private single-node graph holding the plain Conv the reference Conv kernel is built for.
    k->graph_ = std::make_unique<ir::Graph>();
    std::vector<ir::Value*> conv_inputs;
    for (size_t i = 0; i < std::min<size_t>(node.num_inputs(), kResidualInput); ++i) {
      conv_inputs.push_back(node.has_input(i) ? k->graph_->add_value("in" + std::to_string(i)) : nullptr);
    }
    ir::Node* conv = k->graph_->add_node("Conv", conv_inputs, {k->graph_->add_value("out")}, node.name());
    conv->attrs = node.attrs;
    conv->attrs.erase("activation");
    conv->attrs.erase("activation_params");
    std::vector<ir::TensorInfo> inputs(ctx.inputs.begin(),
                                       ctx.inputs.begin() + std::min(ctx.inputs.size(), kResidualInput));
    KernelSelection sel =
        reference_kernel_registry().select("Conv", "", kConvOpset, [&](const KernelDef&) {
          return KernelContext{*conv, kConvOpset, inputs, {ctx.outputs[0]}, {}, ctx.num_threads};
        });
    if (!sel.kernel) {
      reason = "no reference Conv kernel for this case";
      for (const std::string& d : sel.declines) reason += "; " + d;
      return nullptr;
    }
    k->conv_ = std::move(sel.kernel);
    k->has_residual_ = ctx.inputs.size() > kResidualInput && ctx.inputs[kResidualInput].present();
    if (k->has_residual_) {
      if (ctx.inputs[kResidualInput].dtype != DType::kFloat32) {
        reason = "residual must be float";
        return nullptr;
      }
      k->residual_shape_ = ctx.inputs[kResidualInput].shape;
      k->out_shape_ = ctx.outputs[0].shape;
    }
    return k;
  }

  void run(const std::vector<Tensor>& inputs, std::vector<Tensor>& outputs) override {
    std::vector<Tensor> conv_inputs(inputs.begin(), inputs.begin() + std::min(inputs.size(), kResidualInput));
    conv_->run(conv_inputs, outputs);
    float* y = outputs[0].data<float>();
    const int64_t n = outputs[0].numel();
    if (has_residual_) add_residual(inputs[kResidualInput].data<float>(), y);
    apply_activation(activation_, y, n);
  }

 private:
  // y += broadcast(z), z broadcasting unidirectionally into y's shape.
  void add_residual(const float* z, float* y) const {
    const size_t rank = out_shape_.size();
    const Shape z_full = with_leading_ones(residual_shape_, rank);
    const std::vector<int64_t> z_strides = shape_strides(z_full);
    const int64_t n = shape_numel(out_shape_);
    std::vector<int64_t> index(rank, 0);
    for (int64_t i = 0; i < n; ++i) {
      int64_t zi = 0;
      for (size_t d = 0; d < rank; ++d) zi += z_full[d] == 1 ? 0 : index[d] * z_strides[d];
      y[i] += z[zi];
      for (size_t d = rank; d-- > 0;) {
        if (++index[d] < out_shape_[d]) break;
        index[d] = 0;
      }
    }
  }

  std::unique_ptr<ir::Graph> graph_;  // owns the Conv node conv_ was created for
  std::unique_ptr<Kernel> conv_;
  ir::Activation activation_;
  bool has_residual_ = false;
  Shape residual_shape_, out_shape_;
};

// com.qwac Activation: the oracle over a float tensor.
class ActivationKernel final : public Kernel {
 public:
  static std::unique_ptr<Kernel> create(const KernelContext& ctx, std::string& reason) {
    if (ctx.inputs.at(0).dtype != DType::kFloat32) {
      reason = "only float Activation is implemented";
      return nullptr;
    }
    auto k = std::make_unique<ActivationKernel>();
    k->activation_ = ir::Activation::from_attributes(ctx.node.attrs, ctx.node.describe());
    return k;
  }

  void run(const std::vector<Tensor>& inputs, std::vector<Tensor>& outputs) override {
    const int64_t n = inputs[0].numel();
    std::copy_n(inputs[0].data<float>(), n, outputs[0].data<float>());
    apply_activation(activation_, outputs[0].data<float>(), n);
  }

 private:
  ir::Activation activation_;
};

}  // namespace

void register_fused_kernels(KernelRegistry& registry) {
  registry.add(KernelDef{std::string(ir::kActivationOp), std::string(ir::kQwacDomain), 1, INT_MAX, "ref", false,
                         &ActivationKernel::create});
  registry.add(KernelDef{std::string(ir::kFusedConvOp), std::string(ir::kQwacDomain), 1, INT_MAX, "ref", false,
                         &FusedConvKernel::create});
}

}  // namespace qwac::kernels::ref
