// Shape inference for qwac's fused ops (ir/fused_ops.h). Each reuses the inference of the op it extends, so the
// fused and unfused graphs agree by construction, then checks what the fusion added.
#include <string>

#include "ir/fused_ops.h"
#include "ir/op_schema.h"
#include "ir/shape/tensor_quantize_params.h"
#include "qwac/error.h"

namespace qwac::ir {
namespace {

// Conv semantics are unchanged from opset 11 on; the fused op is not versioned by the model's ONNX opset.
constexpr int64_t kConvOpset = 11;
constexpr size_t kResidualInput = 3;

void check_activation(const InferContext& ctx) {
  if (!ctx.attrs().has("activation")) return;
  const std::string& name = ctx.attrs().get_string("activation");
  const FusedActivationFacts* facts = find_fused_activation(name);
  if (facts == nullptr) ctx.fail("activation '" + name + "' is not one of the fusable activations");
  const std::vector<float> params = ctx.attrs().get_floats("activation_params", {});
  if (!params.empty() && params.size() != facts->num_params) {
    ctx.fail("activation_params has " + std::to_string(params.size()) + " values, " + name + " takes " +
             std::to_string(facts->num_params));
  }
}

// True when `from` broadcasts into `to` without growing it (numpy rules, `to` unchanged).
bool broadcasts_into(const Shape& from, const Shape& to) {
  if (from.size() > to.size()) return false;
  for (size_t i = 0; i < from.size(); ++i) {
    const int64_t f = from[from.size() - 1 - i], t = to[to.size() - 1 - i];
    if (f != t && f != 1) return false;
  }
  return true;
}

std::vector<OutputInfo> infer_fused_conv(const InferContext& ctx) {
  const OpSchema* conv = builtin_op_registry().find("Conv", "");
  if (conv == nullptr) throw InternalError("FusedConv needs the Conv schema, which is not registered");
  std::vector<TensorInfo> conv_inputs;
  for (size_t i = 0; i < std::min<size_t>(ctx.num_inputs(), kResidualInput); ++i) {
    conv_inputs.push_back(ctx.has_input(i) ? ctx.input(i) : TensorInfo{});
  }
  std::vector<OutputInfo> outputs = conv->infer(InferContext(ctx.node(), kConvOpset, std::move(conv_inputs)));
  check_activation(ctx);
  if (ctx.has_input(kResidualInput)) {
    const TensorInfo& z = ctx.input(kResidualInput);
    if (z.dtype != outputs.at(0).dtype) {
      ctx.fail("residual input Z is " + std::string(dtype_name(z.dtype)) + ", expected the Conv output type " +
               std::string(dtype_name(outputs[0].dtype)));
    }
    if (!broadcasts_into(z.shape, outputs[0].shape)) {
      ctx.fail("residual input Z of shape " + shape_to_string(z.shape) + " does not broadcast to the Conv output " +
               shape_to_string(outputs[0].shape));
    }
  }
  return outputs;
}

// FakeQuantize takes QuantizeLinear's inputs and layout rules (per-axis as in opset 13) and gives the float output
// DequantizeLinear would.
constexpr int64_t kQuantizeOpset = 13;

std::vector<OutputInfo> infer_fake_quantize(const InferContext& ctx) {
  const TensorInfo& x = ctx.input(0);
  if (x.dtype != DType::kFloat32) {
    ctx.fail("input X is " + std::string(dtype_name(x.dtype)) + ", expected float");
  }
  std::vector<TensorInfo> inputs;
  for (size_t i = 0; i < ctx.num_inputs(); ++i) inputs.push_back(ctx.has_input(i) ? ctx.input(i) : TensorInfo{});
  const InferContext q(ctx.node(), kQuantizeOpset, std::move(inputs));
  quant_layout(q);
  if (ctx.has_input(2) && !is_quantized_dtype(ctx.input(2).dtype)) {
    ctx.fail("zero point is " + std::string(dtype_name(ctx.input(2).dtype)) +
             ", expected int8, uint8, int16 or uint16");
  }
  return {{DType::kFloat32, x.shape}};
}

}  // namespace

void register_fused_shapes(OpRegistry& registry) {
  registry.add(OpSchema{std::string(kFusedConvOp), std::string(kQwacDomain), 1, &infer_fused_conv});
  registry.add(OpSchema{std::string(kFakeQuantizeOp), std::string(kQwacDomain), 1, &infer_fake_quantize});
}

}  // namespace qwac::ir
