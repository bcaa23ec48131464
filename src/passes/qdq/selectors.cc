#include "passes/qdq/selectors.h"

#include <algorithm>
#include <string>
#include <vector>

#include "ir/fused_ops.h"
#include "ir/pattern.h"
#include "passes/qdq/qdq_match.h"

namespace qwac::passes::qdq {
namespace {

constexpr const char* kNotInt8 = "not run in int8: ";

// The activation directly after `node` (single consumer, not a graph output) and the QuantizeLinear after that (or
// after `node` without an activation), each when present.
void find_activation_and_q(const SelectContext& ctx, const ir::Node& node, NodeGroup& group) {
  group.activation = ir::single_consumer(ctx.graph, node, activation_matcher(ctx.opset));
  group.q = ir::single_consumer(ctx.graph, group.activation != nullptr ? *group.activation : node,
                                ir::with(ir::op("QuantizeLinear"), output_quantize));
}

// ---------------------------------------------------------------------------------------------------------------
// Conv.

// Why a DequantizeLinear cannot be QConv's X input (per-tensor uint8/int8); empty when it can. Stricter than
// activation_dequantize_problem: without a zero point, the input's type must be known to be uint8.
std::string conv_input_problem(const ir::Node& dq) {
  std::string problem = activation_dequantize_problem(dq);
  if (problem.empty() && dq.input(2) == nullptr && dq.input(0)->type.dtype == DType::kUndefined) {
    problem = "it has no zero point and its input is " + std::string(dtype_name(DType::kUndefined)) + ", not uint8";
  }
  return problem;
}

// Why a DequantizeLinear cannot be QConv's W input (int8 constant, symmetric, per-tensor or per output channel);
// empty when it can.
std::string conv_weight_problem(const ir::Node& dq) {
  if (!plain_q_or_dq(dq, "DequantizeLinear")) {
    return "its DequantizeLinear is not a plain default-domain one (opset-21 block_size/output_dtype/saturate)";
  }
  const ir::Value* w = dq.input(0);
  const ir::Value* scale = dq.input(1);
  if (!w->is_constant()) return "the quantized weights are not a constant";
  if (w->constant->dtype() != DType::kInt8) {
    return "the quantized weights are " + std::string(dtype_name(w->constant->dtype())) + ", not int8";
  }
  if (w->constant->shape().size() < 3) return "the weights have rank " + std::to_string(w->constant->shape().size());
  if (scale == nullptr || !scale->is_constant() || scale->constant->dtype() != DType::kFloat32) {
    return "the weight scale is not a constant float tensor";
  }
  const int64_t out_channels = w->constant->shape()[0];
  if (scale->constant->numel() != 1) {
    const int64_t rank = static_cast<int64_t>(w->constant->shape().size());
    int64_t axis = dq.attrs.get_int("axis", kDefaultQuantizeAxis);
    if (axis < 0) axis += rank;
    if (axis != 0) return "the weight scale is per channel on axis " + std::to_string(axis) + ", not on axis 0";
    if (scale->constant->shape() != Shape{out_channels}) {
      return "the weight scale has " + std::to_string(scale->constant->numel()) + " values for " +
             std::to_string(out_channels) + " output channels";
    }
  }
  return symmetric_weight_problem(dq);
}

std::string conv_problem(const ir::Node& conv) {
  if (conv.num_inputs() < 2 || conv.num_inputs() > 3 || conv.num_outputs() != 1) {
    return "unexpected number of inputs or outputs";
  }
  const ir::Node* dq_x = conv.input(0) != nullptr ? conv.input(0)->producer() : nullptr;
  if (dq_x == nullptr || dq_x->op_type() != "DequantizeLinear") {
    return "input X is not the output of a DequantizeLinear (a float activation)";
  }
  if (std::string p = conv_input_problem(*dq_x); !p.empty()) {
    return "input X's DequantizeLinear '" + dq_x->name() + "': " + p;
  }
  const ir::Node* dq_w = conv.input(1) != nullptr ? conv.input(1)->producer() : nullptr;
  if (dq_w == nullptr || dq_w->op_type() != "DequantizeLinear") {
    return "weights W are not the output of a DequantizeLinear (float weights)";
  }
  if (std::string p = conv_weight_problem(*dq_w); !p.empty()) {
    return "weights' DequantizeLinear '" + dq_w->name() + "': " + p;
  }
  const ir::Value* bias = conv.input(2);
  if (bias != nullptr && bias->type.dtype != DType::kFloat32 && bias->type.dtype != DType::kUndefined) {
    return "bias is " + std::string(dtype_name(bias->type.dtype)) + ", not float";
  }
  return "";
}

// ---------------------------------------------------------------------------------------------------------------
// Gemm / MatMul.

// DQ(W): constant 2-D int8, symmetric, scale per-tensor or along `n_axis` (the output columns). Empty when it
// fits, else why not.
std::string matmul_weight_problem(const ir::Node& dq, int64_t n_axis) {
  if (!plain_q_or_dq(dq, "DequantizeLinear")) return "is not a plain DequantizeLinear";
  const ir::Value* w = dq.input(0);
  const ir::Value* scale = dq.input(1);
  if (!w->is_constant() || w->constant->dtype() != DType::kInt8 || w->constant->shape().size() != 2) {
    return "does not dequantize a constant 2-D int8 tensor";
  }
  if (scale == nullptr || !scale->is_constant() || scale->constant->dtype() != DType::kFloat32) {
    return "has no constant float scale";
  }
  if (scale->constant->numel() != 1) {
    int64_t axis = dq.attrs.get_int("axis", kDefaultQuantizeAxis);
    if (axis < 0) axis += 2;
    const int64_t n = w->constant->shape()[static_cast<size_t>(n_axis)];
    if (axis != n_axis || scale->constant->shape() != Shape{n}) return "has a scale that is not per output column";
  }
  const std::string problem = symmetric_weight_problem(dq);
  if (problem == kAsymmetricWeights) return "has a nonzero zero point";
  if (!problem.empty()) return "has a zero point that is not int8";
  return "";
}

// The constant behind C: C itself, or the constant its DequantizeLinear reads (folded by the engine).
const Tensor* bias_constant(const ir::Value* c) {
  if (c->is_constant()) return &*c->constant;
  const ir::Node* p = c->producer();
  if (p == nullptr || p->op_type() != "DequantizeLinear" || !is_default_domain(*p)) return nullptr;
  for (const ir::Value* v : p->inputs()) {
    if (v != nullptr && !v->is_constant()) return nullptr;
  }
  return &*p->input(0)->constant;
}

// A float constant (or DequantizeLinear of constants) of shape [n] or [1, n].
bool row_of(const ir::Value* c, int64_t n) {
  if (c == nullptr || (c->type.dtype != DType::kFloat32 && c->type.dtype != DType::kUndefined)) return false;
  const Tensor* t = bias_constant(c);
  if (t == nullptr || (c->is_constant() && t->dtype() != DType::kFloat32)) return false;
  return t->shape() == Shape{n} || t->shape() == Shape{1, n};
}

// ---------------------------------------------------------------------------------------------------------------
// Binary ops: the output quantizer.

bool quantizing_qconv(const ir::Use& u) {
  using QIn = ir::QConvInputs;
  const ir::Node& c = *u.node;
  return c.op_type() == ir::kQConvOp && c.domain() == ir::kQwacDomain && u.input_index == static_cast<int>(QIn::kX) &&
         constant_float_scalar(c.input(QIn::kXScale)) && constant_8bit_scalar(c.input(QIn::kXZeroPoint));
}

// How the float result `y` gets quantized when all its readers want it quantized with one scale and zero point: by
// a QuantizeLinear and/or by QConvs quantizing their float X. False (float output) otherwise.
bool output_quantizer(const ir::Graph& g, const ir::Value* y, NodeGroup& group) {
  if (g.is_graph_output(y) || y->uses().empty()) return false;
  ir::Node* q = nullptr;
  for (const ir::Use& u : y->uses()) {
    if (q == nullptr && u.input_index == 0 && output_quantize(*u.node)) q = u.node;
  }
  ir::Value* scale = q != nullptr ? q->input(1) : nullptr;
  ir::Value* zero_point = q != nullptr ? q->input(2) : nullptr;
  std::vector<ir::Node*> requantizing;
  for (const ir::Use& u : y->uses()) {
    if (u.node == q) continue;
    if (!quantizing_qconv(u)) return false;
    ir::Value* s = u.node->input(ir::QConvInputs::kXScale);
    ir::Value* z = u.node->input(ir::QConvInputs::kXZeroPoint);
    if (scale == nullptr) {
      scale = s;
      zero_point = z;
    } else if (!same_constant(s, scale) || !same_constant(z, zero_point)) {
      return false;
    }
    requantizing.push_back(u.node);
  }
  group.q = q;
  group.y_scale = scale;
  group.y_zero_point = zero_point;
  group.requantizing_consumers = std::move(requantizing);
  return true;
}

// ---------------------------------------------------------------------------------------------------------------
// DQ -> op -> Q.

std::string describe(const QuantParams& p) {
  return "scale " + std::to_string(p.scale) + ", zero point " + std::to_string(p.zero_point) + " (" +
         std::string(dtype_name(p.type)) + ")";
}

// The DequantizeLinear producing input `i` of `n` and its parameters; nullptr with a reason otherwise.
ir::Node* input_dequantize(const ir::Node& n, size_t i, QuantParams& params, std::string& why) {
  const ir::Value* v = n.input(i);
  ir::Node* dq = v != nullptr ? v->producer() : nullptr;
  if (dq == nullptr || dq->op_type() != "DequantizeLinear") {
    why = "input " + std::to_string(i) + " is not the output of a DequantizeLinear";
    return nullptr;
  }
  std::string reason;
  const std::optional<QuantParams> p = per_tensor_params(*dq, true, reason);
  if (!p) {
    why = "input " + std::to_string(i) + "'s DequantizeLinear '" + dq->name() + "': " + reason;
    return nullptr;
  }
  const DType x_type = dq->input(0)->type.dtype;
  if (x_type != DType::kUndefined && x_type != p->type) {
    why = "input " + std::to_string(i) + "'s DequantizeLinear reads " + std::string(dtype_name(x_type));
    return nullptr;
  }
  params = *p;
  return dq;
}

// Why the output of `n` is not read by exactly one QuantizeLinear.
std::string output_problem(const ir::Graph& g, const ir::Node& n) {
  const ir::Value* out = n.output(0);
  if (g.is_graph_output(out)) return "its output is a graph output";
  if (out->uses().size() != 1) {
    return "its output has " + std::to_string(out->uses().size()) + " consumers, not one QuantizeLinear";
  }
  const ir::Node& consumer = *out->uses()[0].node;
  return "its output goes to " + consumer.op_type() + " '" + consumer.name() + "', not to a QuantizeLinear";
}

// DQ on the data inputs (one set of parameters), `n`, one Q on its output: the group and both parameter sets, or
// nullopt with `why` (empty for an op between no quantizers).
std::optional<NodeGroup> dq_op_q(const SelectContext& ctx, ir::Node& n, bool all_inputs_data, QuantParams& x_params,
                                 QuantParams& y_params, std::string& why) {
  const size_t data_inputs = all_inputs_data ? n.num_inputs() : std::min<size_t>(1, n.num_inputs());
  // Is this op between quantizers at all? Ops of float regions are no candidates and get no note.
  bool touches_quantizer = false;
  for (size_t i = 0; i < data_inputs; ++i) {
    const ir::Node* p = n.input(i) != nullptr ? n.input(i)->producer() : nullptr;
    touches_quantizer |= p != nullptr && p->op_type() == "DequantizeLinear";
  }
  for (const ir::Value* out : n.outputs()) {
    if (out == nullptr) continue;
    for (const ir::Use& u : out->uses()) touches_quantizer |= u.node->op_type() == "QuantizeLinear";
  }
  if (!touches_quantizer || data_inputs == 0) return std::nullopt;

  NodeGroup group;
  group.target = &n;
  std::string problem;
  for (size_t i = 0; i < data_inputs && problem.empty(); ++i) {
    QuantParams p;
    ir::Node* dq = input_dequantize(n, i, p, problem);
    if (dq == nullptr) break;
    if (!group.dq_inputs.empty() && !(p == x_params)) {
      problem =
          "input " + std::to_string(i) + " is dequantized with " + describe(p) + ", input 0 with " + describe(x_params);
      break;
    }
    x_params = p;
    group.dq_inputs.push_back(dq);
  }
  for (size_t k = 1; k < n.num_outputs() && problem.empty(); ++k) {
    if (n.output(k) != nullptr) problem = "output " + std::to_string(k) + " (Indices) is used";
  }
  if (problem.empty()) {
    group.q = ir::single_consumer(ctx.graph, n, ir::op("QuantizeLinear"));
    if (group.q == nullptr) problem = output_problem(ctx.graph, n);
  }
  if (problem.empty()) {
    std::string reason;
    const std::optional<QuantParams> p = per_tensor_params(*group.q, false, reason);
    if (p) {
      y_params = *p;
    } else {
      problem = "the QuantizeLinear '" + group.q->name() + "' after it: " + reason;
    }
  }
  if (!problem.empty()) {
    why = kNotInt8 + problem;
    return std::nullopt;
  }
  return group;
}

}  // namespace

std::optional<NodeGroup> ConvSelector::select(const SelectContext& ctx, ir::Node& conv, std::string& why) const {
  if (std::string problem = conv_problem(conv); !problem.empty()) {
    why = kNotInt8 + problem;
    return std::nullopt;
  }
  NodeGroup group;
  group.target = &conv;
  group.dq_inputs = {conv.input(0)->producer(), conv.input(1)->producer()};
  group.bias = conv.input(2);
  find_activation_and_q(ctx, conv, group);
  return group;
}

std::optional<NodeGroup> MatMulSelector::select(const SelectContext& ctx, ir::Node& mm, std::string& why) const {
  const bool gemm = mm.op_type() == "Gemm";
  if (mm.num_outputs() != 1) return std::nullopt;
  const ir::OpMatcher any_dq = ir::op("DequantizeLinear");
  ir::Node* dq_x = ir::producer(mm, 0, any_dq);
  ir::Node* dq_w = ir::producer(mm, 1, any_dq);
  if (dq_x == nullptr && dq_w == nullptr) return std::nullopt;  // a float layer: nothing to say
  if (dq_x == nullptr || !activation_dequantize(*dq_x)) {
    why = "input A is not a DequantizeLinear of uint8/int8 with a constant scalar scale and zero point";
    return std::nullopt;
  }
  const bool trans_b = gemm && mm.attrs.get_int("transB", 0) != 0;
  if (gemm && (mm.attrs.get_int("transA", 0) != 0 || mm.attrs.get_float("alpha", 1.f) != 1.f ||
               (mm.has_input(2) && mm.attrs.get_float("beta", 1.f) != 1.f))) {
    why = "transA, alpha or beta is not the default";
    return std::nullopt;
  }
  if (dq_w == nullptr) {
    why = "input B is not a DequantizeLinear of constant int8 weights";
    return std::nullopt;
  }
  if (const std::string problem = matmul_weight_problem(*dq_w, trans_b ? 0 : 1); !problem.empty()) {
    why = "the weights' DequantizeLinear " + problem;
    return std::nullopt;
  }
  const int64_t n = dq_w->input(0)->constant->shape()[trans_b ? 0 : 1];
  NodeGroup group;
  group.target = &mm;
  group.dq_inputs = {dq_x, dq_w};
  group.bias = gemm ? mm.input(2) : nullptr;
  if (group.bias != nullptr && !row_of(group.bias, n)) {
    why = "C is not a constant float row of N values";
    return std::nullopt;
  }
  if (!gemm) {
    // MatMul -> Add of a constant row (how some exporters write a fully connected layer's bias).
    const ir::Value* mm_out = mm.output(0);
    ir::Node* bias_add = ir::single_consumer(ctx.graph, mm, ir::with(ir::op("Add"), [&](const ir::Node& add) {
                                               if (add.num_inputs() != 2 || add.num_outputs() != 1) return false;
                                               const ir::Value* c = add.input(add.input(0) == mm_out ? 1 : 0);
                                               return c != mm_out && row_of(c, n);
                                             }));
    if (bias_add != nullptr) {
      group.tail.push_back(bias_add);
      group.bias = bias_add->input(bias_add->input(0) == mm_out ? 1 : 0);
    }
  }
  find_activation_and_q(ctx, group.tail.empty() ? mm : *group.tail.back(), group);
  return group;
}

std::optional<NodeGroup> ActivationMatMulSelector::select(const SelectContext& ctx, ir::Node& mm,
                                                          std::string& why) const {
  if (mm.num_inputs() != 2 || mm.num_outputs() != 1) return std::nullopt;
  const ir::OpMatcher any_dq = ir::op("DequantizeLinear");
  ir::Node* dq_a = ir::producer(mm, 0, any_dq);
  ir::Node* dq_b = ir::producer(mm, 1, any_dq);
  if (dq_a == nullptr || dq_b == nullptr) return std::nullopt;  // a float operand: not this pattern
  if (dq_b->input(0)->is_constant() || dq_a->input(0)->is_constant()) return std::nullopt;  // weights: QGemm's
  for (size_t i = 0; i < 2; ++i) {
    const ir::Node* dq = i == 0 ? dq_a : dq_b;
    if (const std::string problem = activation_dequantize_problem(*dq); !problem.empty()) {
      why = std::string(kNotInt8) + "input " + std::to_string(i) + "'s DequantizeLinear: " + problem;
      return std::nullopt;
    }
  }
  NodeGroup group;
  group.target = &mm;
  group.dq_inputs = {dq_a, dq_b};
  const ir::Value* out = mm.output(0);
  // x * c (either side) or x / c (BERT's 1/sqrt(d) as a division) by a constant float scalar.
  ir::Node* scale = ir::single_consumer(ctx.graph, mm, ir::with(ir::ops({"Mul", "Div"}), [&](const ir::Node& n) {
                                          if (n.num_inputs() != 2 || n.num_outputs() != 1) return false;
                                          if (n.op_type() == "Div") {
                                            return n.input(0) == out && constant_float_scalar(n.input(1));
                                          }
                                          const ir::Value* c = n.input(n.input(0) == out ? 1 : 0);
                                          return c != out && constant_float_scalar(c);
                                        }));
  if (scale != nullptr) group.tail.push_back(scale);
  return group;
}

std::optional<NodeGroup> BinarySelector::select(const SelectContext& ctx, ir::Node& op, std::string& why) const {
  if (op.num_inputs() != 2 || op.num_outputs() != 1) return std::nullopt;
  const ir::OpMatcher any_dq = ir::op("DequantizeLinear");
  ir::Node* dq_a = ir::producer(op, 0, any_dq);
  ir::Node* dq_b = ir::producer(op, 1, any_dq);
  if (dq_a == nullptr && dq_b == nullptr) return std::nullopt;  // a float op: nothing to say
  for (size_t i = 0; i < 2; ++i) {
    const ir::Node* dq = i == 0 ? dq_a : dq_b;
    if (dq == nullptr || !activation_dequantize(*dq)) {
      why = "input " + std::to_string(i) +
            " is not a DequantizeLinear of uint8/int8 with a constant scalar scale and zero point";
      return std::nullopt;
    }
  }
  NodeGroup group;
  group.target = &op;
  group.dq_inputs = {dq_a, dq_b};
  group.activation = ir::single_consumer(ctx.graph, op, activation_matcher(ctx.opset));
  output_quantizer(ctx.graph, group.last()->output(0), group);
  return group;
}

std::optional<NodeGroup> DropQdqSelector::select(const SelectContext& ctx, ir::Node& n, std::string& why) const {
  QuantParams x_params, y_params;
  std::optional<NodeGroup> group = dq_op_q(ctx, n, all_inputs_data_, x_params, y_params, why);
  if (!group) return std::nullopt;
  if (!(y_params == x_params)) {
    why = std::string(kNotInt8) + "its output is requantized with " + describe(y_params) +
          ", its input dequantized with " + describe(x_params) + " (only pooling has a requantizing int8 kernel)";
    return std::nullopt;
  }
  return group;
}

std::optional<NodeGroup> SinkDequantizeSelector::select(const SelectContext& ctx, ir::Node& n, std::string&) const {
  if (n.num_inputs() == 0 || n.num_outputs() != 1 || n.output(0) == nullptr) return std::nullopt;
  std::string problem;
  QuantParams p;
  ir::Node* dq = input_dequantize(n, 0, p, problem);
  if (dq == nullptr || dq->input(0)->is_constant()) return std::nullopt;
  // A single QuantizeLinear reader is DropQdqSelector's case (it ran before, and declined only for other reasons:
  // requantization, which this rewrite would keep as Q(DQ(.)) anyway, so it is left alone).
  // Only when a QuantizeLinear reader requantizes with the same parameters (it vanishes): without one, moving the
  // DQ buys nothing, and a float Transpose/Gather chain before a MatMul is better left to FuseMatMul, which reads it
  // as a strided view at no cost.
  const std::vector<ir::Use>& uses = n.output(0)->uses();
  if (uses.size() == 1 && !ctx.graph.is_graph_output(n.output(0))) return std::nullopt;
  const bool requantized = std::any_of(uses.begin(), uses.end(), [&](const ir::Use& u) {
    std::string unused;
    const std::optional<QuantParams> q = u.node->op_type() == "QuantizeLinear"
                                             ? per_tensor_params(*u.node, true, unused)
                                             : std::nullopt;
    return q && *q == p;
  });
  if (!requantized) return std::nullopt;
  for (size_t i = 1; i < n.num_inputs(); ++i) {
    const ir::Value* v = n.input(i);
    if (v != nullptr && v->producer() != nullptr && v->producer()->op_type() == "DequantizeLinear") {
      return std::nullopt;  // a second dequantized data input (Concat): not a single-input mover
    }
  }
  NodeGroup group;
  group.target = &n;
  group.dq_inputs.push_back(dq);
  return group;
}

std::optional<NodeGroup> UnarySelector::select(const SelectContext& ctx, ir::Node& n, std::string& why) const {
  QuantParams x_params, y_params;
  return dq_op_q(ctx, n, false, x_params, y_params, why);
}

std::optional<NodeGroup> LayerNormSelector::select(const SelectContext& ctx, ir::Node& n, std::string& why) const {
  QuantParams x_params, y_params;
  std::optional<NodeGroup> group = dq_op_q(ctx, n, false, x_params, y_params, why);
  if (!group) return std::nullopt;
  const ir::Node* dq = group->dq_inputs.at(0);
  if (dq->input(0)->is_constant()) return std::nullopt;  // a constant LayerNorm input is folded
  if (group->q->num_inputs() < 3 || group->q->input(2) == nullptr) {
    why = std::string(kNotInt8) + "the QuantizeLinear '" + group->q->name() + "' after it has no zero point";
    return std::nullopt;
  }
  return group;
}

}  // namespace qwac::passes::qdq
