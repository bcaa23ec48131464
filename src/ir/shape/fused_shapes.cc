// Shape inference for qwac's fused ops (ir/fused_ops.h). Each reuses the inference of the op it extends, so the
// fused and unfused graphs agree by construction, then checks what the fusion added.
#include <algorithm>
#include <string>

#include "ir/activation.h"
#include "ir/fused_ops.h"
#include "ir/op_schema.h"
#include "ir/shape/qwac_shapes.h"
#include "ir/shape/tensor_quantize_params.h"
#include "qwac/error.h"

namespace qwac::ir {
namespace {

// Conv semantics are unchanged from opset 11 on; the fused op is not versioned by the model's ONNX opset.
constexpr int64_t kConvOpset = 11;
constexpr size_t kResidualInput = 3;

// Parses the activation attributes (throws InvalidModel naming the node when they are not a known activation).
void check_activation(const InferContext& ctx) { Activation::from_attributes(ctx.attrs(), ctx.node().describe()); }

// True when `from` broadcasts into `to` without growing it (numpy rules, `to` unchanged).
bool broadcasts_into(const Shape& from, const Shape& to) {
  if (from.size() > to.size()) return false;
  for (size_t i = 0; i < from.size(); ++i) {
    const int64_t f = from[from.size() - 1 - i], t = to[to.size() - 1 - i];
    if (f != t && f != 1) return false;
  }
  return true;
}

}  // namespace

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

// QConv: the Conv of the dequantized tensors (Conv's inference on float views of X and W), then the output type
// of the trailing QuantizeLinear (y_zero_point's) or float.
std::vector<OutputInfo> infer_qconv(const InferContext& ctx) {
  using In = QConvInputs;
  const OpSchema* conv = builtin_op_registry().find("Conv", "");
  if (conv == nullptr) throw InternalError("QConv needs the Conv schema, which is not registered");
  const TensorInfo& x = ctx.input(In::kX);
  if (x.dtype != DType::kUInt8 && x.dtype != DType::kInt8 && x.dtype != DType::kFloat32) {
    ctx.fail("input X is " + std::string(dtype_name(x.dtype)) + ", expected uint8, int8 or float");
  }
  if (ctx.input(In::kW).dtype != DType::kInt8) {
    ctx.fail("weights W are " + std::string(dtype_name(ctx.input(In::kW).dtype)) + ", expected int8");
  }
  if (ctx.has_input(In::kXZeroPoint)) {
    const DType zp_type = ctx.input(In::kXZeroPoint).dtype;
    const bool ok =
        x.dtype == DType::kFloat32 ? zp_type == DType::kUInt8 || zp_type == DType::kInt8 : zp_type == x.dtype;
    if (!ok) {
      ctx.fail("x_zero_point is " + std::string(dtype_name(zp_type)) + ", expected " +
               (x.dtype == DType::kFloat32 ? std::string("uint8 or int8") : std::string(dtype_name(x.dtype))));
    }
  }
  if (ctx.has_input(In::kYScale) != ctx.has_input(In::kYZeroPoint)) {
    ctx.fail("y_scale and y_zero_point must be both present or both absent");
  }
  TensorInfo x_float = x;
  x_float.dtype = DType::kFloat32;
  x_float.value = nullptr;
  TensorInfo w_float = ctx.input(In::kW);
  w_float.dtype = DType::kFloat32;
  w_float.value = nullptr;
  std::vector<TensorInfo> conv_inputs = {x_float, w_float};
  if (ctx.has_input(In::kBias)) conv_inputs.push_back(ctx.input(In::kBias));
  std::vector<OutputInfo> outputs = conv->infer(InferContext(ctx.node(), kConvOpset, std::move(conv_inputs)));
  check_activation(ctx);
  if (ctx.has_input(In::kYZeroPoint)) {
    const DType y_type = ctx.input(In::kYZeroPoint).dtype;
    if (y_type != DType::kUInt8 && y_type != DType::kInt8) {
      ctx.fail("y_zero_point is " + std::string(dtype_name(y_type)) + ", expected uint8 or int8");
    }
    outputs.at(0).dtype = y_type;
  }
  return outputs;
}

// QLinearPool: the pooling op named by `pool` on a float view of X (its own inference, so the attributes are
// checked the same way), with y_zero_point's type.
std::vector<OutputInfo> infer_qlinear_pool(const InferContext& ctx) {
  using In = QLinearPoolInputs;
  constexpr int64_t kPoolOpset = 12;  // MaxPool's last change (8-bit inputs); no Indices output here
  const std::string pool = ctx.attrs().get_string("pool", "");
  if (std::find(kQLinearPoolKinds.begin(), kQLinearPoolKinds.end(), pool) == kQLinearPoolKinds.end()) {
    ctx.fail("attribute pool = '" + pool + "', expected MaxPool, AveragePool, GlobalAveragePool or GlobalMaxPool");
  }
  const OpSchema* schema = builtin_op_registry().find(pool, "");
  if (schema == nullptr) throw InternalError("QLinearPool needs the " + pool + " schema, which is not registered");
  const TensorInfo& x = ctx.input(In::kX);
  if (x.dtype != DType::kUInt8 && x.dtype != DType::kInt8) {
    ctx.fail("input X is " + std::string(dtype_name(x.dtype)) + ", expected uint8 or int8");
  }
  if (ctx.has_input(In::kXZeroPoint) && ctx.input(In::kXZeroPoint).dtype != x.dtype) {
    ctx.fail("x_zero_point is " + std::string(dtype_name(ctx.input(In::kXZeroPoint).dtype)) + ", expected " +
             std::string(dtype_name(x.dtype)));
  }
  for (size_t i : {In::kXScale, In::kYScale}) {
    if (ctx.input(i).dtype != DType::kFloat32 || shape_numel(ctx.input(i).shape) != 1) {
      ctx.fail(std::string(i == In::kXScale ? "x_scale" : "y_scale") + " must be a float scalar");
    }
  }
  const DType y_type = ctx.input(In::kYZeroPoint).dtype;
  if (y_type != DType::kUInt8 && y_type != DType::kInt8) {
    ctx.fail("y_zero_point is " + std::string(dtype_name(y_type)) + ", expected uint8 or int8");
  }
  TensorInfo x_float = x;
  x_float.dtype = DType::kFloat32;
  x_float.value = nullptr;
  std::vector<OutputInfo> outputs = schema->infer(InferContext(ctx.node(), kPoolOpset, {x_float}));
  outputs.resize(1);
  outputs[0].dtype = y_type;
  return outputs;
}

// QLayerNorm: LayerNormalization's own inference (opset 17) on a float view of X, with y_zero_point's type.
std::vector<OutputInfo> infer_qlayer_norm(const InferContext& ctx) {
  using In = QLayerNormInputs;
  constexpr int64_t kLayerNormOpset = 17;
  const OpSchema* schema = builtin_op_registry().find("LayerNormalization", "");
  if (schema == nullptr) throw InternalError("QLayerNorm needs the LayerNormalization schema, which is not registered");
  const TensorInfo& x = ctx.input(In::kX);
  if (ctx.has_input(In::kXZeroPoint) && ctx.input(In::kXZeroPoint).dtype != x.dtype) {
    ctx.fail("x_zero_point is " + std::string(dtype_name(ctx.input(In::kXZeroPoint).dtype)) + ", expected " +
             std::string(dtype_name(x.dtype)));
  }
  for (size_t i : {In::kXScale, In::kYScale}) {
    if (shape_numel(ctx.input(i).shape) != 1) {
      ctx.fail(std::string(i == In::kXScale ? "x_scale" : "y_scale") + " must be a float scalar");
    }
  }
  TensorInfo x_float = x;
  x_float.dtype = DType::kFloat32;
  x_float.value = nullptr;
  std::vector<TensorInfo> ln_inputs = {x_float, ctx.input(In::kScale)};
  if (ctx.has_input(In::kBias)) ln_inputs.push_back(ctx.input(In::kBias));
  std::vector<OutputInfo> outputs = schema->infer(InferContext(ctx.node(), kLayerNormOpset, std::move(ln_inputs)));
  outputs.resize(1);
  outputs[0].dtype = ctx.input(In::kYZeroPoint).dtype;
  return outputs;
}

// Activation: the element-wise activation of a float tensor.
std::vector<OutputInfo> infer_activation(const InferContext& ctx) {
  const TensorInfo& x = ctx.input(0);
  if (x.dtype != DType::kFloat32) ctx.fail("input X is " + std::string(dtype_name(x.dtype)) + ", expected float");
  if (!ctx.attrs().has("activation")) ctx.fail("attribute activation is missing");
  check_activation(ctx);
  return {{x.dtype, x.shape}};
}

}  // namespace qwac::ir
