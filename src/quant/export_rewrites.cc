#include "quant/export_rewrites.h"

#include <algorithm>
#include <cmath>
#include <functional>
#include <map>
#include <optional>
#include <set>
#include <unordered_set>
#include <variant>

#include "passes/qdq/actions.h"
#include "passes/qdq/qdq_match.h"
#include "passes/qdq/selectors.h"
#include "qwac/error.h"

namespace qwac::quant {
namespace {

bool is_op(const ir::Node* n, const char* op_type) {
  return n != nullptr && n->op_type() == op_type && (n->domain().empty() || n->domain() == "ai.onnx");
}

const Tensor* constant_of(const ir::Value* v) { return v != nullptr && v->is_constant() ? &*v->constant : nullptr; }

// Element i of an integer or float tensor as double (scalars and per-channel vectors of Q/DQ parameters).
double element(const Tensor& t, int64_t i) {
  double out = 0;
  dispatch_dtype(t.dtype(), [&](auto tag) {
    using T = decltype(tag);
    if constexpr (std::is_arithmetic_v<T>) {
      out = static_cast<double>(t.data<T>()[i]);
    } else {
      throw InternalError("export rewrite: unexpected element type " + std::string(dtype_name(t.dtype())));
    }
  });
  return out;
}

// A scalar (or one-element) float constant, or nullopt.
std::optional<float> scalar_float(const ir::Value* v) {
  const Tensor* t = constant_of(v);
  if (t == nullptr || t->dtype() != DType::kFloat32 || t->numel() != 1) return std::nullopt;
  return t->data<float>()[0];
}

ir::Value* add_float_value(ir::Graph& g, const std::string& hint, const ir::TypeInfo& like) {
  ir::Value* v = g.add_value(g.unique_name(hint));
  v->type = like;
  v->type.dtype = DType::kFloat32;
  return v;
}

std::string unique_node_name(const ir::Graph& g, const std::string& hint) {
  if (g.find_node(hint) == nullptr) return hint;
  for (size_t i = 1;; ++i) {
    std::string candidate = hint + "_" + std::to_string(i);
    if (g.find_node(candidate) == nullptr) return candidate;
  }
}

void remove_if_unused(ir::Graph& g, ir::Value* v) {
  if (v != nullptr && v->uses().empty() && !g.is_graph_output(v) && !g.is_graph_input(v) && v->producer() == nullptr) {
    g.remove_value(v);
  }
}

// --- hard_sigmoid_as_add / hard_swish_as_add_mul ------------------------------------------------------------------

// A DequantizeLinear whose 8-bit type is uint8 (an absent zero-point means uint8): ONNX Runtime's binary QLinear
// selectors want one type on every input and the output.
bool uint8_dequantize(const ir::Node* dq) {
  if (!is_op(dq, "DequantizeLinear")) return false;
  const ir::Value* zp = dq->input(2);
  if (zp == nullptr) return constant_of(dq->input(0)) == nullptr || constant_of(dq->input(0))->dtype() == DType::kUInt8;
  return zp->type.dtype == DType::kUInt8 || (constant_of(zp) != nullptr && constant_of(zp)->dtype() == DType::kUInt8);
}

// The only reader of `y` when it is input 0 of a QuantizeLinear (and `y` is not a graph output).
ir::Node* single_quantize_reader(const ir::Graph& g, const ir::Value* y) {
  if (y == nullptr || g.is_graph_output(y) || y->uses().size() != 1) return nullptr;
  ir::Node* q = y->uses().front().node;
  return is_op(q, "QuantizeLinear") && y->uses().front().input_index == 0 ? q : nullptr;
}

// x + beta/alpha with the constant as an exact uint8 DequantizeLinear: (1 - 0) * c for c >= 0, (0 - 1) * (-c)
// otherwise. Returns the sum.
ir::Value* add_offset(ir::Graph& g, ir::Value* x, float c, const std::string& base) {
  const uint8_t cq = c >= 0.f ? 1 : 0, cz = c >= 0.f ? 0 : 1;
  const float cs = c == 0.f ? 1.f : std::fabs(c);
  ir::Value* cq_v = g.add_constant(g.unique_name(base + "_offset_quantized"), Tensor::from_values<uint8_t>({}, &cq));
  ir::Value* cs_v = g.add_constant(g.unique_name(base + "_offset_scale"), Tensor::from_values<float>({}, &cs));
  ir::Value* cz_v = g.add_constant(g.unique_name(base + "_offset_zero_point"), Tensor::from_values<uint8_t>({}, &cz));
  ir::Value* offset = add_float_value(g, base + "_offset", ir::TypeInfo{});
  offset->type.shape = ir::SymbolicShape{};
  g.add_node("DequantizeLinear", {cq_v, cs_v, cz_v}, {offset}, unique_node_name(g, base + "_offset_DequantizeLinear"));
  ir::Value* shifted = add_float_value(g, base + "_shifted", x->type);
  g.add_node("Add", {x, offset}, {shifted}, unique_node_name(g, base + "_as_Add"));
  return shifted;
}

ir::Value* scalar_constant(ir::Graph& g, const std::string& hint, float v) {
  return g.add_constant(g.unique_name(hint), Tensor::from_values<float>({}, &v));
}

ir::Value* uint8_constant(ir::Graph& g, const std::string& hint, uint8_t v) {
  return g.add_constant(g.unique_name(hint), Tensor::from_values<uint8_t>({}, &v));
}

size_t hard_sigmoid_as_add(ir::Graph& g) {
  size_t rewritten = 0;
  for (ir::Node* hs : g.topological_order()) {
    if (!is_op(hs, "HardSigmoid")) continue;
    ir::Value* x = hs->input(0);
    ir::Value* y = hs->output(0);
    if (x == nullptr || !uint8_dequantize(x->producer())) continue;
    ir::Node* q = single_quantize_reader(g, y);
    if (q == nullptr) continue;
    const std::optional<float> s = scalar_float(q->input(1));
    const Tensor* zp = constant_of(q->input(2));
    // uint8 with zero-point 0 (an absent zero-point is uint8 0): the saturation at 0 is the clip at 0.
    if (!s || *s <= 0.f || (zp != nullptr && (zp->dtype() != DType::kUInt8 || zp->numel() != 1 || element(*zp, 0) != 0))) {
      continue;
    }
    const float alpha = hs->attrs.get_float("alpha", 0.2f), beta = hs->attrs.get_float("beta", 0.5f);
    // The saturation at 255 must not exceed the clip at 1.
    if (!(alpha > 0.f) || static_cast<double>(*s) * 255.0 > 1.0 + 1e-6) continue;
    ir::Value* shifted = add_offset(g, x, beta / alpha, hs->name());
    ir::Value* old_scale = q->input(1);
    g.set_input(q, 0, shifted);
    g.set_input(q, 1, scalar_constant(g, hs->name() + "_shifted_scale", *s / alpha));
    g.remove_node(hs);
    if (y->uses().empty() && !g.is_graph_output(y)) g.remove_value(y);
    remove_if_unused(g, old_scale);
    ++rewritten;
  }
  return rewritten;
}

// DQ(x) -> HardSwish -> Q  becomes  DQ(x) * DQ_h(Q_h(DQ(x) + 3)) -> Q with the hard-sigmoid factor on a fixed uint8
// grid [0, 1] (scale 1/255, zero-point 0, written as Q(scale 6/255) of x + 3 as above). The one number that changes
// is the factor, rounded to a multiple of 1/255 (at most 0.2 % of x): ONNX Runtime then runs QLinearAdd +
// QLinearMul instead of HardSigmoid and Mul in float (it has no HardSwish kernel and expands the function).
size_t hard_swish_as_add_mul(ir::Graph& g) {
  constexpr float kAlpha = 1.f / 6.f, kBeta = 0.5f, kFactorScale = 1.f / 255.f;
  size_t rewritten = 0;
  for (ir::Node* hs : g.topological_order()) {
    if (!is_op(hs, "HardSwish")) continue;
    ir::Value* x = hs->input(0);
    ir::Value* y = hs->output(0);
    if (x == nullptr || !uint8_dequantize(x->producer()) || single_quantize_reader(g, y) == nullptr) continue;
    const std::string base = hs->name();
    ir::Value* shifted = add_offset(g, x, kBeta / kAlpha, base);
    ir::Value* zero = uint8_constant(g, base + "_factor_zero_point", 0);
    ir::Value* factor_q = g.add_value(g.unique_name(base + "_factor_quantized"));
    factor_q->type = x->type;
    factor_q->type.dtype = DType::kUInt8;
    g.add_node("QuantizeLinear", {shifted, scalar_constant(g, base + "_factor_shifted_scale", kFactorScale / kAlpha), zero},
               {factor_q}, unique_node_name(g, base + "_factor_QuantizeLinear"));
    ir::Value* factor = add_float_value(g, base + "_factor", x->type);
    g.add_node("DequantizeLinear", {factor_q, scalar_constant(g, base + "_factor_scale", kFactorScale), zero}, {factor},
               unique_node_name(g, base + "_factor_DequantizeLinear"));
    ir::Value* product = add_float_value(g, base + "_product", y->type);
    g.add_node("Mul", {x, factor}, {product}, unique_node_name(g, base + "_as_Mul"));
    g.replace_all_uses(y, product);
    g.remove_node(hs);
    g.remove_value(y);
    ++rewritten;
  }
  return rewritten;
}

// --- pad_depthwise_channels ---------------------------------------------------------------------------------------

// The DequantizeLinear producing `v` when `v` has one reader, its data and scale are constants and its
// zero-point is absent or all zero; nullptr otherwise.
ir::Node* private_constant_dequantize(const ir::Graph& g, const ir::Value* v) {
  if (v == nullptr || g.is_graph_output(v) || v->uses().size() != 1) return nullptr;
  ir::Node* dq = v->producer();
  if (!is_op(dq, "DequantizeLinear") || constant_of(dq->input(0)) == nullptr || constant_of(dq->input(1)) == nullptr) {
    return nullptr;
  }
  if (const ir::Value* zp = dq->input(2); zp != nullptr) {
    const Tensor* z = constant_of(zp);
    if (z == nullptr) return nullptr;
    for (int64_t i = 0; i < z->numel(); ++i) {
      if (element(*z, i) != 0) return nullptr;
    }
  }
  return dq;
}

// ONNX Runtime's (MLAS) symmetric int8 depthwise kernel takes channel counts that are multiples of 16 only; other
// counts fall back to a generic kernel 1.5-2.4x slower than the float one (MobileNetV3-Small 224: 72, 88 and 120
// channels), while 144, 240 and 576 channels run at 0.7-1x the float time.
constexpr int64_t kDepthwiseChannelAlign = 16;

bool is_depthwise(const ir::Node* n) {
  if (!is_op(n, "Conv") || n->input(1) == nullptr) return false;
  const int64_t group = n->attrs.get_int("group", 1);
  const Tensor* wc = constant_of(n->input(1));
  const ir::Node* wdq = n->input(1)->producer();
  if (wc == nullptr && is_op(wdq, "DequantizeLinear")) wc = constant_of(wdq->input(0));
  return group > 1 && wc != nullptr && wc->rank() >= 3 && wc->dim(0) == group && wc->dim(1) == 1;
}

// Input `i` of `n` is a parameter (Q/DQ scale and zero-point, Clip bounds), not data.
bool parameter_input(const ir::Node& n, size_t i) {
  return i > 0 && (n.op_type() == "QuantizeLinear" || n.op_type() == "DequantizeLinear" || n.op_type() == "Clip");
}

// Ops whose channels map one to one from input to output (any number of inputs in the region, parameters
// scalar): the region of a depthwise convolution's channels grows through them.
bool channel_transparent(const ir::Node* n) {
  static const char* const kOps[] = {"QuantizeLinear",   "DequantizeLinear", "Relu",      "Clip", "HardSigmoid",
                                     "HardSwish",        "Sigmoid",          "LeakyRelu", "Add",  "Mul",
                                     "GlobalAveragePool"};
  if (n == nullptr || !(n->domain().empty() || n->domain() == "ai.onnx") || n->num_outputs() != 1) return false;
  if (std::none_of(std::begin(kOps), std::end(kOps), [&](const char* op) { return n->op_type() == op; })) return false;
  // Q/DQ per tensor only; constant operands of Add/Mul scalar.
  for (size_t i = 0; i < n->num_inputs(); ++i) {
    const ir::Value* in = n->input(i);
    if (in == nullptr) continue;
    const Tensor* c = constant_of(in);
    const bool param = parameter_input(*n, i);
    if (param && (c == nullptr || c->numel() != 1)) return false;
    if (!param && c != nullptr) return false;  // a constant data operand (even a scalar: its DQ is not constant)
  }
  return true;
}

// A scalar DequantizeLinear of a constant (the offset of hard_sigmoid_as_add): a per-tensor operand, not a region
// member.
bool scalar_operand(const ir::Value* v) {
  if (v == nullptr) return false;
  if (const Tensor* c = constant_of(v)) return c->numel() == 1;
  const ir::Node* p = v->producer();
  return is_op(p, "DequantizeLinear") && constant_of(p->input(0)) != nullptr && constant_of(p->input(0))->numel() == 1;
}

// `t` with dimension `axis` grown to `size`, the new entries zero, or copies of the last old entry when
// `repeat_last` (scales: the bias scale stays the input scale times the weight scale; with scales 1 in the new
// channels ONNX Runtime 1.30 left those convolutions in float).
Tensor pad_axis(const Tensor& t, int64_t axis, int64_t size, bool repeat_last) {
  Shape shape = t.shape();
  const int64_t old = shape[static_cast<size_t>(axis)];
  shape[static_cast<size_t>(axis)] = size;
  Tensor out(t.dtype(), shape);
  int64_t outer = 1, inner = static_cast<int64_t>(dtype_size(t.dtype()));
  for (int64_t d = 0; d < axis; ++d) outer *= t.dim(d);
  for (int64_t d = axis + 1; d < t.rank(); ++d) inner *= t.dim(d);
  const auto* src = static_cast<const std::byte*>(t.raw());
  auto* dst = static_cast<std::byte*>(out.raw());
  for (int64_t o = 0; o < outer; ++o) {
    std::copy(src + o * old * inner, src + (o + 1) * old * inner, dst + o * size * inner);
    for (int64_t i = old; repeat_last && old > 0 && i < size; ++i) {
      std::copy(src + (o * old + old - 1) * inner, src + (o * old + old) * inner, dst + (o * size + i) * inner);
    }
  }
  return out;
}

// Can pad_parameter grow this Conv input (absent, a float constant with no other reader, or a private
// DequantizeLinear of a constant with zero zero-points)?
bool can_pad_parameter(const ir::Graph& g, const ir::Value* v) {
  if (v == nullptr) return true;
  if (constant_of(v) != nullptr) return v->uses().size() == 1;
  return private_constant_dequantize(g, v) != nullptr;
}

// Grows a Conv input (weight or bias) along `axis` to `size`: a float constant with zeros, a DequantizeLinear of a
// constant with zero codes and, when its axis is `axis`, per-channel scales (and zero-points) grown too.
void pad_parameter(ir::Graph& g, ir::Node* conv, size_t input, int64_t axis, int64_t size) {
  ir::Value* v = conv->input(input);
  if (v == nullptr) return;
  auto replace = [&](ir::Node* n, size_t i, Tensor t, const std::string& hint) {
    ir::Value* old = n->input(i);
    g.set_input(n, i, g.add_constant(g.unique_name(hint), std::move(t)));
    remove_if_unused(g, old);
  };
  if (const Tensor* c = constant_of(v)) {
    replace(conv, input, pad_axis(*c, axis, size, false), v->name() + "_padded");
    return;
  }
  ir::Node* dq = v->producer();
  const Tensor& q = *constant_of(dq->input(0));
  int64_t dq_axis = dq->attrs.get_int("axis", 1);
  if (dq_axis < 0) dq_axis += q.rank();
  replace(dq, 0, pad_axis(q, axis, size, false), dq->input(0)->name() + "_padded");
  if (dq_axis == axis) {
    for (size_t i = 1; i < 3 && i < dq->num_inputs(); ++i) {
      const Tensor* p = constant_of(dq->input(i));
      if (p != nullptr && p->numel() > 1) {
        replace(dq, i, pad_axis(*p, 0, size, i == 1), dq->input(i)->name() + "_padded");
      }
    }
  }
  if (v->type.shape && static_cast<int64_t>(v->type.shape->size()) > axis) {
    (*v->type.shape)[static_cast<size_t>(axis)].size = size;
  }
}

// The values carrying one depthwise convolution's channels, from the convolutions that write them (their output
// channels grow) to those that read them (their input channels grow), with the depthwise convolutions and
// channel-wise ops between; nullopt when the region meets anything else (a graph input or output, a reshape, a
// residual Add with a value from outside...).
struct ChannelRegion {
  std::set<ir::Value*> values;
  std::set<ir::Node*> producers, consumers, depthwise;
};

std::optional<ChannelRegion> channel_region(const ir::Graph& g, ir::Node* dw, int64_t channels) {
  ChannelRegion r;
  std::vector<ir::Value*> todo{dw->input(0), dw->output(0)};
  r.depthwise.insert(dw);
  // A declared shape must show the channels; an undeclared one is accepted: every convolution at the region's
  // border is checked by its weight shape, and a value of other channels can only enter through such a border.
  auto channels_ok = [&](const ir::Value* v) {
    return !v->type.shape || v->type.shape->size() < 2 || (*v->type.shape)[1].size < 0 ||
           (*v->type.shape)[1].size == channels;
  };
  // The weight's dimension `axis` (through its DequantizeLinear), or -1.
  auto weight_dim = [](const ir::Node* conv, int64_t axis) -> int64_t {
    const ir::Value* w = conv->input(1);
    const Tensor* t = constant_of(w);
    if (t == nullptr && w != nullptr && is_op(w->producer(), "DequantizeLinear"))
      t = constant_of(w->producer()->input(0));
    return t != nullptr && t->rank() > axis ? t->dim(axis) : -1;
  };
  while (!todo.empty()) {
    ir::Value* v = todo.back();
    todo.pop_back();
    if (v == nullptr || !r.values.insert(v).second) continue;
    if (g.is_graph_output(v) || g.is_graph_input(v) || constant_of(v) != nullptr || !channels_ok(v)) {
      return std::nullopt;
    }
    ir::Node* p = v->producer();
    if (p == nullptr) return std::nullopt;
    if (is_depthwise(p) && p->attrs.get_int("group", 1) == channels) {
      r.depthwise.insert(p);
      todo.push_back(p->input(0));
    } else if (is_op(p, "Conv")) {
      if (p->attrs.get_int("group", 1) != 1 || weight_dim(p, 0) != channels) return std::nullopt;
      r.producers.insert(p);
    } else if (channel_transparent(p)) {
      for (size_t i = 0; i < p->num_inputs(); ++i) {
        if (!parameter_input(*p, i) && p->input(i) != nullptr && !scalar_operand(p->input(i))) {
          todo.push_back(p->input(i));
        }
      }
    } else {
      return std::nullopt;
    }
    for (const ir::Use& u : v->uses()) {
      if (is_depthwise(u.node) && u.input_index == 0 && u.node->attrs.get_int("group", 1) == channels) {
        r.depthwise.insert(u.node);
        todo.push_back(u.node->output(0));
      } else if (is_op(u.node, "Conv") && u.input_index == 0) {
        if (u.node->attrs.get_int("group", 1) != 1 || weight_dim(u.node, 1) != channels) return std::nullopt;
        r.consumers.insert(u.node);
      } else if (channel_transparent(u.node)) {
        todo.push_back(u.node->output(0));
      } else {
        return std::nullopt;
      }
    }
  }
  // Every weight and bias must be paddable, and a Conv cannot both write and read the region.
  for (ir::Node* n : r.consumers) {
    if (r.producers.count(n) != 0 || !can_pad_parameter(g, n->input(1))) return std::nullopt;
  }
  for (std::set<ir::Node*>* set : {&r.producers, &r.depthwise}) {
    for (ir::Node* n : *set) {
      if (!can_pad_parameter(g, n->input(1)) || (n->num_inputs() > 2 && !can_pad_parameter(g, n->input(2)))) {
        return std::nullopt;
      }
    }
  }
  return r;
}

// Depthwise convolutions whose channel count is not a multiple of kDepthwiseChannelAlign get zero channels up to
// the next multiple, with the convolutions that write and read them: the writers' new output channels have zero
// weights and bias, so they are exactly 0, stay 0 through the channel-wise ops (Relu, hard-swish, SE scale, all
// map 0 to 0 or multiply by it), and the readers' new input channels have zero weights. Every number of the
// original channels is unchanged.
size_t pad_depthwise_channels(ir::Graph& g) {
  size_t rewritten = 0;
  std::set<const ir::Node*> done;
  const std::vector<ir::Node*> order = g.topological_order();
  std::map<const ir::Node*, size_t> position;
  for (size_t i = 0; i < order.size(); ++i) position[order[i]] = i;
  // A region's nodes in graph order: the new initializers are created (and saved) in the same order on every run,
  // whatever addresses the nodes have.
  auto in_order = [&](const std::set<ir::Node*>& nodes) {
    std::vector<ir::Node*> v(nodes.begin(), nodes.end());
    std::sort(v.begin(), v.end(), [&](const ir::Node* a, const ir::Node* b) { return position[a] < position[b]; });
    return v;
  };
  for (ir::Node* dw : order) {
    if (!is_depthwise(dw) || done.count(dw) != 0) continue;
    const int64_t channels = dw->attrs.get_int("group", 1);
    if (channels % kDepthwiseChannelAlign == 0) continue;
    std::optional<ChannelRegion> r = channel_region(g, dw, channels);
    if (!r) continue;
    const int64_t padded = (channels + kDepthwiseChannelAlign - 1) / kDepthwiseChannelAlign * kDepthwiseChannelAlign;
    for (ir::Node* n : in_order(r->depthwise)) {
      done.insert(n);
      pad_parameter(g, n, 1, 0, padded);
      if (n->num_inputs() > 2) pad_parameter(g, n, 2, 0, padded);
      n->attrs.set("group", padded);
    }
    for (ir::Node* n : in_order(r->producers)) {
      pad_parameter(g, n, 1, 0, padded);
      if (n->num_inputs() > 2) pad_parameter(g, n, 2, 0, padded);
    }
    for (ir::Node* n : in_order(r->consumers)) pad_parameter(g, n, 1, 1, padded);
    for (ir::Value* v : r->values) {
      if (v->type.shape && v->type.shape->size() >= 2) (*v->type.shape)[1].size = padded;
    }
    rewritten += r->depthwise.size();
  }
  return rewritten;
}

// Data movers on the integers wherever a DequantizeLinear (per tensor, of a computed tensor) feeds them, since
// op(DQ(x)) == DQ(op(x)) exactly:
//  1. DQ(x) -> mover -> {Q with DQ's parameters, float readers}: the mover on the integers, one DQ after it for the
//     float readers, the Q gone (the engine's rule, passes/qdq SinkDequantize*, applied to the exported graph);
//  2. DQ(x) -> mover -> Q with DQ's parameters, its only reader: the mover on the integers, DQ and Q gone (ONNX
//     Runtime's own DropQDQ rule, which its transpose optimizer defeats when it moves the Transposes of attention's
//     qkv split first: ORT 1.30 then runs a DQ -> Q pair over the whole qkv tensor in every block);
//  3. DQ(x) -> single-reader movers -> Gather of constant indices (attention's V taken from the qkv tensor): the
//     chain on the integers and the DQ after the Gather, so only the gathered third is dequantized;
//  4. then movers with the same inputs and attributes (the qkv tensor's Transpose for Q/K and for V) become one.
size_t movers_on_integers(ir::Graph& g) {
  static const std::unordered_set<std::string> kMovers = {"Reshape", "Flatten", "Squeeze", "Unsqueeze", "Transpose",
                                                          "Gather"};
  const passes::qdq::SinkDequantizeSelector select_sink;
  const passes::qdq::DropQdqSelector select_drop(/*all_inputs_data=*/false);
  const passes::qdq::SinkDequantize sink;
  const passes::qdq::DropQdq drop;
  std::unordered_set<const ir::Node*> removed;
  const passes::qdq::SelectContext select_ctx{g, 0};  // neither reads the opset
  passes::qdq::ActionContext action_ctx{g, 0, removed};
  auto is_mover = [&](const ir::Node* n) {
    return n != nullptr && n->domain().empty() && kMovers.count(n->op_type()) != 0;
  };
  size_t rewritten = 0;
  for (ir::Node* n : g.topological_order()) {
    if (removed.count(n) || !is_mover(n)) continue;
    std::string why;
    if (std::optional<passes::qdq::NodeGroup> group = select_sink.select(select_ctx, *n, why)) {
      sink.apply(action_ctx, *group);
      ++rewritten;
    } else if ((group = select_drop.select(select_ctx, *n, why)) && !group->dq_inputs.at(0)->input(0)->is_constant()) {
      drop.apply(action_ctx, *group);
      ++rewritten;
    }
  }
  removed.clear();
  for (ir::Node* gather : g.topological_order()) {
    if (removed.count(gather) || !is_op(gather, "Gather") || !gather->domain().empty() ||
        constant_of(gather->input(1)) == nullptr) {
      continue;
    }
    // The chain of single-reader movers up from the Gather to a DequantizeLinear.
    std::vector<ir::Node*> chain = {gather};
    ir::Node* p = gather->input(0) != nullptr ? gather->input(0)->producer() : nullptr;
    auto private_output = [&](const ir::Node* n) {
      return n->num_outputs() == 1 && n->output(0)->uses().size() == 1 && !g.is_graph_output(n->output(0));
    };
    while (is_mover(p) && !is_op(p, "Gather") && private_output(p)) {
      chain.insert(chain.begin(), p);
      p = p->input(0) != nullptr ? p->input(0)->producer() : nullptr;
    }
    if (!is_op(p, "DequantizeLinear") || !private_output(p) || p->input(0)->is_constant()) continue;
    std::string why;
    if (!passes::qdq::per_tensor_params(*p, true, why)) continue;
    for (ir::Node* n : chain) {
      passes::qdq::NodeGroup group;
      group.target = n;
      group.dq_inputs = {n->input(0)->producer()};
      sink.apply(action_ctx, group);
    }
    ++rewritten;
  }
  // Integer and integer-list attributes only (what movers have); anything else counts as different.
  auto same_attributes = [](const ir::Node& a, const ir::Node& b) {
    if (a.attrs.all().size() != b.attrs.all().size()) return false;
    for (const auto& [name, value] : a.attrs.all()) {
      auto it = b.attrs.all().find(name);
      if (it == b.attrs.all().end()) return false;
      const auto* i = std::get_if<int64_t>(&value);
      const auto* v = std::get_if<std::vector<int64_t>>(&value);
      if (i != nullptr && std::get_if<int64_t>(&it->second) != nullptr && *i == std::get<int64_t>(it->second)) continue;
      if (v != nullptr && std::get_if<std::vector<int64_t>>(&it->second) != nullptr &&
          *v == std::get<std::vector<int64_t>>(it->second)) {
        continue;
      }
      return false;
    }
    return true;
  };
  removed.clear();
  for (ir::Node* n : g.topological_order()) {
    if (removed.count(n) || !is_mover(n) || n->num_outputs() != 1 || n->input(0) == nullptr) continue;
    const std::vector<ir::Use> readers = n->input(0)->uses();
    for (const ir::Use& u : readers) {
      ir::Node* m = u.node;
      if (m == n || removed.count(m) || u.input_index != 0 || m->op_type() != n->op_type() || !m->domain().empty() ||
          m->inputs() != n->inputs() || m->num_outputs() != 1 || g.is_graph_output(m->output(0)) ||
          !same_attributes(*m, *n)) {
        continue;
      }
      ir::Value* dup = m->output(0);
      g.replace_all_uses(dup, n->output(0));
      removed.insert(m);
      g.remove_node(m);
      g.remove_value(dup);
      ++rewritten;
    }
  }
  return rewritten;
}

// --- attention_scale_into_dequantize -------------------------------------------------------------------------------

// DQ(a) @ DQ(b) -> Mul or Div by a positive scalar constant c (attention's 1/sqrt(d) after Q x K^T): c goes into
// the scale of a's DequantizeLinear (a private copy when it has other readers) and the Mul/Div goes away; the same
// product up to the float rounding of s_a * c. ONNX Runtime fuses the MatMul into MatMulIntegerToFloat, whose
// output scale then carries c, instead of running the Mul as a separate pass over the scores (ORT fuses such a Mul
// into the float MatMul of the FP32 file, but not after a MatMulIntegerToFloat).
size_t attention_scale_into_dequantize(ir::Graph& g) {
  size_t rewritten = 0;
  for (ir::Node* mm : g.topological_order()) {
    if (!is_op(mm, "MatMul") || !mm->domain().empty() || mm->num_inputs() != 2) continue;
    ir::Node* dq_a = mm->input(0) != nullptr ? mm->input(0)->producer() : nullptr;
    ir::Node* dq_b = mm->input(1) != nullptr ? mm->input(1)->producer() : nullptr;
    if (!is_op(dq_a, "DequantizeLinear") || !is_op(dq_b, "DequantizeLinear") || dq_a->input(0)->is_constant() ||
        dq_b->input(0)->is_constant()) {
      continue;
    }
    std::string why;
    if (!passes::qdq::per_tensor_params(*dq_a, true, why) || !passes::qdq::per_tensor_params(*dq_b, true, why)) {
      continue;
    }
    ir::Value* y = mm->output(0);
    if (y == nullptr || g.is_graph_output(y) || y->uses().size() != 1) continue;
    ir::Node* op = y->uses().front().node;
    if (!(is_op(op, "Mul") || (is_op(op, "Div") && y->uses().front().input_index == 0)) || op->num_inputs() != 2) {
      continue;
    }
    const std::optional<float> c = scalar_float(op->input(op->input(0) == y ? 1 : 0));
    if (!c || !(*c > 0.f) || !std::isfinite(*c)) continue;
    const float factor = is_op(op, "Div") ? 1.f / *c : *c;
    const std::optional<float> s_a = scalar_float(dq_a->input(1));
    if (!s_a || !(*s_a * factor > 0.f) || !std::isfinite(*s_a * factor)) continue;
    ir::Value* out = op->output(0);
    if (out == nullptr || g.is_graph_output(out)) continue;
    // a's dequantization with the scale s_a * c, private to this MatMul.
    ir::Value* scale = scalar_constant(g, dq_a->input(1)->name() + "_times_attention_scale", *s_a * factor);
    std::vector<ir::Value*> dq_inputs = {dq_a->input(0), scale};
    if (dq_a->num_inputs() > 2 && dq_a->input(2) != nullptr) dq_inputs.push_back(dq_a->input(2));
    ir::Value* a = add_float_value(g, mm->input(0)->name() + "_scaled", mm->input(0)->type);
    ir::Node* scaled = g.add_node("DequantizeLinear", dq_inputs, {a}, unique_node_name(g, dq_a->name() + "_scaled"));
    scaled->attrs = dq_a->attrs;
    ir::Value* old_a = mm->input(0);
    g.set_input(mm, 0, a);
    if (old_a->uses().empty() && !g.is_graph_output(old_a)) {
      std::vector<ir::Value*> inputs(dq_a->inputs().begin(), dq_a->inputs().end());
      g.remove_node(dq_a);
      g.remove_value(old_a);
      for (ir::Value* v : inputs) remove_if_unused(g, v);
    }
    // The Mul/Div's readers read the MatMul.
    std::vector<ir::Value*> op_inputs(op->inputs().begin(), op->inputs().end());
    g.replace_all_uses(out, y);
    g.remove_node(op);
    g.remove_value(out);
    for (ir::Value* v : op_inputs) {
      if (v != y) remove_if_unused(g, v);
    }
    ++rewritten;
  }
  return rewritten;
}

using Lowering = std::function<size_t(ir::Graph&)>;
const std::map<std::string, Lowering>& lowerings() {
  static const std::map<std::string, Lowering> kLowerings = {{"attention_scale_into_dequantize",
                                                              attention_scale_into_dequantize},
                                                             {"hard_sigmoid_as_add", hard_sigmoid_as_add},
                                                             {"hard_swish_as_add_mul", hard_swish_as_add_mul},
                                                             {"pad_depthwise_channels", pad_depthwise_channels},
                                                             {"movers_on_integers", movers_on_integers}};
  return kLowerings;
}

// --- float weights where the runtime does not fuse ----------------------------------------------------------------

bool fused_by_runtime(const ir::Graph& g, const ir::Node& reader, const ExportProfile& profile);

// `add` is the bias Add of a MatMul the runtime runs in int8: the runtime fuses MatMul + Add into one Gemm before it
// looks for QDQ groups (ONNX Runtime's MatMulAddFusion), so a DequantizeLinear bias is part of that int8 Gemm.
bool bias_add_of_fused_matmul(const ir::Graph& g, const ir::Node& add, const ExportProfile& profile) {
  if (!is_op(&add, "Add") || add.num_inputs() != 2) return false;
  for (const ir::Value* in : add.inputs()) {
    const ir::Node* mm = in != nullptr ? in->producer() : nullptr;
    if (is_op(mm, "MatMul") && in->uses().size() == 1 && !g.is_graph_output(in) && fused_by_runtime(g, *mm, profile)) {
      return true;
    }
  }
  return false;
}

// Would the profile's runtime turn `reader` into an int8 kernel (see the header)?
bool fused_by_runtime(const ir::Graph& g, const ir::Node& reader, const ExportProfile& profile) {
  if (!(reader.domain().empty() || reader.domain() == "ai.onnx")) return false;
  if (bias_add_of_fused_matmul(g, reader, profile)) return true;
  auto it = profile.quantizable.find(reader.op_type());
  if (it == profile.quantizable.end()) return false;
  for (const ir::Value* in : reader.inputs()) {
    if (in != nullptr && !is_op(in->producer(), "DequantizeLinear")) return false;
  }
  if (it->second.output != OutputQuantizer::kRequired) return true;
  const ir::Value* out = reader.output(0);
  if (out == nullptr) return false;
  // A Relu/Clip right after the op is absorbed when the QuantizeLinear after it saturates at least as much.
  if (out->uses().size() == 1 && !g.is_graph_output(out)) {
    const ir::Node* next = out->uses().front().node;
    if (is_op(next, "Relu") || is_op(next, "Clip")) out = next->output(0);
  }
  return out != nullptr && !g.is_graph_output(out) && out->uses().size() == 1 &&
         is_op(out->uses().front().node, "QuantizeLinear");
}

// The float result of DequantizeLinear(q, scale, zero_point) with the node's axis.
Tensor dequantize_constant(const ir::Node& dq) {
  const Tensor& q = *constant_of(dq.input(0));
  const Tensor& scale = *constant_of(dq.input(1));
  const Tensor* zp = constant_of(dq.input(2));
  Tensor out(DType::kFloat32, q.shape());
  const int64_t n = q.numel();
  int64_t axis = dq.attrs.get_int("axis", 1);
  if (axis < 0) axis += q.rank();
  const bool per_channel = scale.numel() > 1;
  int64_t inner = 1, channels = 1;
  if (per_channel) {
    if (axis < 0 || axis >= q.rank() || q.dim(axis) != scale.numel()) {
      throw InvalidModel(dq.describe() + ": " + std::to_string(scale.numel()) + " scales for axis " +
                         std::to_string(axis) + " of a " + q.describe() + " tensor");
    }
    channels = q.dim(axis);
    for (int64_t d = axis + 1; d < q.rank(); ++d) inner *= q.dim(d);
  }
  float* dst = out.data<float>();
  for (int64_t i = 0; i < n; ++i) {
    const int64_t c = per_channel ? (i / inner) % channels : 0;
    const double z = zp != nullptr ? element(*zp, c) : 0.0;
    dst[i] = static_cast<float>((element(q, i) - z) * element(scale, c));
  }
  return out;
}

}  // namespace

std::vector<std::string> known_lowerings() {
  std::vector<std::string> out;
  for (const auto& [name, fn] : lowerings()) out.push_back(name);
  return out;
}

std::vector<std::string> apply_lowerings(ir::Graph& graph, const ExportProfile& profile) {
  std::vector<std::string> notes;
  for (const std::string& name : profile.lowerings) {
    auto it = lowerings().find(name);
    if (it == lowerings().end()) {
      std::string known;
      for (const std::string& k : known_lowerings()) known += (known.empty() ? "\"" : ", \"") + k + "\"";
      throw InvalidConfig("export profile '" + profile.name + "': unknown lowering \"" + name + "\"; known: " + known);
    }
    const size_t n = it->second(graph);
    if (n > 0) notes.push_back(name + ": " + std::to_string(n) + " rewritten");
  }
  return notes;
}

size_t dequantize_unfused_constants(ir::Graph& graph, const ExportProfile& profile) {
  size_t replaced = 0;
  for (ir::Node* dq : graph.topological_order()) {
    if (!is_op(dq, "DequantizeLinear") || constant_of(dq->input(0)) == nullptr ||
        constant_of(dq->input(1)) == nullptr || (dq->input(2) != nullptr && constant_of(dq->input(2)) == nullptr)) {
      continue;
    }
    ir::Value* out = dq->output(0);
    if (out == nullptr || graph.is_graph_output(out)) continue;
    std::vector<ir::Use> unfused;
    for (const ir::Use& u : out->uses()) {
      if (!fused_by_runtime(graph, *u.node, profile)) unfused.push_back(u);
    }
    if (unfused.empty()) continue;
    ir::Value* value = graph.add_constant(graph.unique_name(out->name() + "_float"), dequantize_constant(*dq));
    value->type = out->type;
    value->type.dtype = DType::kFloat32;
    for (const ir::Use& u : unfused) graph.set_input(u.node, static_cast<size_t>(u.input_index), value);
    ++replaced;
    if (out->uses().empty()) {
      std::vector<ir::Value*> inputs(dq->inputs().begin(), dq->inputs().end());
      graph.remove_node(dq);
      graph.remove_value(out);
      for (ir::Value* v : inputs) remove_if_unused(graph, v);
    }
  }
  return replaced;
}

}  // namespace qwac::quant
