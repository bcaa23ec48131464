#include "quant/qdq_materialize.h"

#include <algorithm>
#include <cmath>
#include <limits>
#include <map>
#include <set>
#include <string_view>
#include <unordered_map>

#include "ir/contrib_ops.h"
#include "quant/export_rewrites.h"
#include "quant/quant_params.h"
#include "qwac/error.h"

namespace qwac::quant {
namespace {

constexpr int64_t kPerTensorOpset = 10;   // QuantizeLinear / DequantizeLinear exist
constexpr int64_t kPerChannelOpset = 13;  // 1-D scale with `axis`

// Ops whose bias is quantized to int32 when their input 0 and weight input 1 are quantized: input 2 of the op, or
// (bias_in_next_add) the constant operand of the Add that alone reads the op's output: MatMul + Add, as exporters
// write a linear layer. ONNX Runtime fuses MatMul + Add into a Gemm before its QDQ selectors run, and its QDQ Gemm
// selector needs every input from a DequantizeLinear: with a float bias and no output QuantizeLinear (a MatMul whose
// output feeds float glue: GELU, attention's V) the Gemm stays float and dequantizes its weight at every run
// (BERT-style encoder: fc1 and V, 4 of 6 linear layers per block).
struct BiasOp {
  std::string_view op_type;
  bool bias_must_be_1d;
  bool bias_in_next_add = false;
};
constexpr BiasOp kBiasOps[] = {
    {"Conv", false}, {"ConvTranspose", false}, {"Gemm", true}, {"MatMul", true, /*bias_in_next_add=*/true}};
constexpr int kBiasInput = 2;

// Where the bias of `n` is read: (reader, input index), or {nullptr, -1} when it has none of the op's form.
std::pair<ir::Node*, int> bias_slot(const ir::Graph& g, ir::Node* n, const BiasOp& op) {
  if (!op.bias_in_next_add) return {n, n->input(kBiasInput) != nullptr ? kBiasInput : -1};
  ir::Value* y = n->output(0);
  if (y == nullptr || g.is_graph_output(y) || y->uses().size() != 1) return {nullptr, -1};
  ir::Node* add = y->uses().front().node;
  if (add->op_type() != "Add" || !add->domain().empty() || add->num_inputs() != 2) return {nullptr, -1};
  const int other = y->uses().front().input_index == 0 ? 1 : 0;
  return {add, other};
}

std::string unique_node_name(const ir::Graph& g, const std::string& hint) {
  if (g.find_node(hint) == nullptr) return hint;
  for (size_t i = 1;; ++i) {
    std::string candidate = hint + "_" + std::to_string(i);
    if (g.find_node(candidate) == nullptr) return candidate;
  }
}

bool is_per_channel(const QuantParams& p) { return p.axis >= 0; }

// Scale (float) and zero-point (p.dtype) constants of one quantizer, shared by all its Q/DQ pairs.
struct QdqConstants {
  ir::Value* scale = nullptr;
  ir::Value* zero_point = nullptr;
  int64_t axis = -1;
  std::string domain;  // "" or com.microsoft for 16-bit types (ir/contrib_ops.h)
};

bool is_sixteen_bit(DType t) { return t == DType::kInt16 || t == DType::kUInt16; }

Tensor zero_point_tensor(const QuantParams& p, const Shape& shape) {
  Tensor zp(p.dtype, shape);
  dispatch_dtype(p.dtype, [&](auto tag) {
    using Q = decltype(tag);
    if constexpr (std::is_integral_v<Q> && !std::is_same_v<Q, bool>) {
      Q* dst = zp.data<Q>();
      for (size_t i = 0; i < p.zero_point.size(); ++i) dst[i] = static_cast<Q>(p.zero_point[i]);
    } else {
      throw InternalError("zero-point type " + std::string(dtype_name(p.dtype)) + " is not an integer type");
    }
  });
  return zp;
}

QdqConstants make_constants(ir::Graph& g, const QuantParams& p, const std::string& base) {
  const Shape shape = is_per_channel(p) ? Shape{static_cast<int64_t>(p.scale.size())} : Shape{};
  QdqConstants c;
  c.scale = g.add_constant(g.unique_name(base + "_scale"), Tensor::from_values<float>(shape, p.scale.data()));
  c.zero_point = g.add_constant(g.unique_name(base + "_zero_point"), zero_point_tensor(p, shape));
  c.axis = p.axis;
  if (is_sixteen_bit(p.dtype)) c.domain = std::string(ir::kMicrosoftDomain);
  return c;
}

ir::Value* add_typed_value(ir::Graph& g, const std::string& hint, DType dtype, const ir::TypeInfo& like) {
  ir::Value* v = g.add_value(g.unique_name(hint));
  v->type = like;
  v->type.dtype = dtype;
  return v;
}

ir::Node* add_qdq_node(ir::Graph& g, const std::string& op, ir::Value* x, const QdqConstants& c, ir::Value* y,
                       const std::string& name) {
  ir::Node* n = g.add_node(op, {x, c.scale, c.zero_point}, {y}, unique_node_name(g, name), c.domain);
  if (c.axis >= 0) n->attrs.set("axis", c.axis);
  return n;
}

// x -> QuantizeLinear -> DequantizeLinear; returns the DQ output (float, typed like x).
ir::Value* add_qdq(ir::Graph& g, ir::Value* x, const QdqConstants& c, DType q_type) {
  const std::string& s = x->name();
  ir::Value* q = add_typed_value(g, s + "_QuantizeLinear_Output", q_type, x->type);
  add_qdq_node(g, "QuantizeLinear", x, c, q, s + "_QuantizeLinear");
  ir::Value* dq = add_typed_value(g, s + "_DequantizeLinear_Output", x->type.dtype, x->type);
  add_qdq_node(g, "DequantizeLinear", q, c, dq, s + "_DequantizeLinear");
  return dq;
}

// Integer initializer + DequantizeLinear for a constant weight; returns the DQ output.
ir::Value* add_compressed_weight(ir::Graph& g, ir::Value* w, const QuantParams& p, const QdqConstants& c,
                                 QuantizedWeightCache* cache) {
  const std::string& s = w->name();
  ir::Value* q = g.add_constant(g.unique_name(s + "_quantized"),
                                cache != nullptr ? cache->quantize(*w->constant, p) : quantize_tensor(*w->constant, p));
  ir::Value* dq = add_typed_value(g, s + "_DequantizeLinear_Output", DType::kFloat32, w->type);
  add_qdq_node(g, "DequantizeLinear", q, c, dq, s + "_DequantizeLinear");
  return dq;
}

bool is_float_or_unknown(const ir::Value* v) {
  return v->type.dtype == DType::kFloat32 || v->type.dtype == DType::kUndefined;
}

// The nodes between a quantizer's sources and its edges. Walking up from each edge's input through producers
// (float data only: shape sub-graphs are not on any path) until a source is reached; placement guarantees the
// nodes in between are quantize-agnostic, because it stops at the first non-agnostic producer and makes its
// output a source.
class QuantizerPaths {
 public:
  QuantizerPaths(const ir::Graph& g, const Quantizer& q) {
    for (const std::string& s : q.sources) sources_.insert(g.value(s));
    for (const QuantizedEdge& e : q.edges) {
      ir::Node* n = g.find_node(e.node);
      if (n == nullptr) {
        throw InvalidModel("quantizer '" + q.name + "': quantized op '" + e.node + "' is not in the graph");
      }
      ir::Value* v = n->input(static_cast<size_t>(e.input_index));
      if (v == nullptr || !leads_to_source(v)) {
        throw InvalidModel("quantizer '" + q.name + "': input " + std::to_string(e.input_index) + " of " +
                           n->describe() + " does not read any of its sources (the model differs from the one "
                           "the quantizers were placed on)");
      }
      edges_.insert({n, e.input_index});
      collect(v);
    }
  }

  bool is_source(const ir::Value* v) const { return sources_.count(v) != 0; }
  bool is_path_node(const ir::Node* n) const { return nodes_.count(n) != 0; }
  bool is_edge(const ir::Node* n, int input) const { return edges_.count({n, input}) != 0; }
  // A use that reads the quantized value: a quantized edge or an input of a path node that leads to a source.
  bool on_path(const ir::Use& u) {
    if (is_edge(u.node, u.input_index)) return true;
    return is_path_node(u.node) && leads_to_source(u.node->input(static_cast<size_t>(u.input_index)));
  }
  const std::set<const ir::Node*>& nodes() const { return nodes_; }

  bool leads_to_source(const ir::Value* v) {
    if (is_source(v)) return true;
    auto it = leads_.find(v);
    if (it != leads_.end()) return it->second;
    leads_[v] = false;  // guards against revisiting; graphs are acyclic
    bool leads = false;
    if (const ir::Node* p = v->producer(); p != nullptr && !v->is_constant() && is_float_or_unknown(v)) {
      for (const ir::Value* in : p->inputs()) {
        if (in != nullptr && is_float_or_unknown(in) && leads_to_source(in)) leads = true;
      }
    }
    leads_[v] = leads;
    return leads;
  }

 private:
  void collect(const ir::Value* v) {
    if (is_source(v)) return;
    const ir::Node* p = v->producer();
    if (p == nullptr || !nodes_.insert(p).second) return;
    for (const ir::Value* in : p->inputs()) {
      if (in != nullptr && leads_to_source(in)) collect(in);
    }
  }

  std::set<const ir::Value*> sources_;
  std::set<const ir::Node*> nodes_;
  std::set<std::pair<const ir::Node*, int>> edges_;
  std::unordered_map<const ir::Value*, bool> leads_;
};

// Inserts one quantizer's Q/DQ pairs and rewires the inputs on its paths.
// The parameters as written to the file: an 8-bit signed activation quantizer over the full range [-128, 127] is
// stored as uint8 with zero-point + 128 when the profile asks for unsigned activations. Every real value maps to the
// same real value (q' = q + 128, (q' - (z + 128)) * s = (q - z) * s); ONNX Runtime on x86 fuses Conv/MatMul only with
// uint8 activations.
QuantParams stored_params(const Quantizer& q, const MaterializeOptions& options) {
  QuantParams p = *q.params;
  const bool shift = options.profile != nullptr && options.profile->unsigned_activations &&
                     q.kind == QuantizerKind::kActivation && p.dtype == DType::kInt8 && p.qmin == -128 && p.qmax == 127;
  if (!shift) return p;
  p.dtype = DType::kUInt8;
  for (int32_t& z : p.zero_point) z += 128;
  p.qmin = 0;
  p.qmax = 255;
  return p;
}

class QuantizerMaterializer {
 public:
  QuantizerMaterializer(ir::Graph& g, const Quantizer& q, const MaterializeOptions& options)
      : g_(g), q_(q), stored_(stored_params(q, options)), p_(stored_), options_(options), paths_(g, q) {}

  void run() {
    // Most quantizers sit right on their edges (no path node): skip the graph-wide sort for them, it dominated the
    // cost of building a model (once per quantizer; the accuracy search builds a model per candidate).
    const std::vector<ir::Node*> order = paths_.nodes().empty() ? std::vector<ir::Node*>() : g_.topological_order();
    constants_ = make_constants(g_, p_, q_.sources.front());
    for (const std::string& s : q_.sources) quantize_source(g_.value(s));
    for (ir::Node* n : order) {
      if (paths_.is_path_node(n)) materialize_path_node(n);
    }
    // Edges last: their input is the quantized version of the value they read (a source's or a path node's DQ).
    for (const QuantizedEdge& e : q_.edges) {
      ir::Node* n = g_.find_node(e.node);
      const size_t i = static_cast<size_t>(e.input_index);
      auto it = quantized_.find(n->input(i));
      if (it != quantized_.end()) g_.set_input(n, i, it->second);
    }
  }

 private:
  bool has_on_path_use(const ir::Value* v) {
    return std::any_of(v->uses().begin(), v->uses().end(), [&](const ir::Use& u) { return paths_.on_path(u); });
  }

  void quantize_source(ir::Value* s) {
    if (!has_on_path_use(s)) return;
    ir::Value* dq = nullptr;
    if (s->is_constant() && q_.kind == QuantizerKind::kWeight && options_.compress_weights) {
      dq = add_compressed_weight(g_, s, p_, constants_, options_.weight_cache.get());
    } else {
      dq = add_qdq(g_, s, constants_, p_.dtype);
    }
    quantized_[s] = dq;
  }

  // The path node reads the quantized inputs. When some consumer outside the paths also reads its output, that
  // consumer must keep float values: the node is duplicated and only the copy reads the quantized inputs.
  void materialize_path_node(ir::Node* n) {
    bool float_users = false;
    for (ir::Value* o : n->outputs()) {
      if (o == nullptr) continue;
      if (g_.is_graph_output(o)) float_users = true;
      for (const ir::Use& u : o->uses()) float_users = float_users || !paths_.on_path(u);
    }
    ir::Node* target = n;
    std::map<const ir::Value*, ir::Value*> out_of;  // original output -> the output that carries the path
    if (float_users) {
      std::vector<ir::Value*> outputs;
      for (ir::Value* o : n->outputs()) {
        ir::Value* copy =
            o == nullptr ? nullptr : add_typed_value(g_, o->name() + "_quantized_path", o->type.dtype, o->type);
        outputs.push_back(copy);
        if (o != nullptr) out_of[o] = copy;
      }
      target = g_.add_node(n->op_type(), n->inputs(), outputs, unique_node_name(g_, n->name() + "_quantized_path"),
                           n->domain());
      target->attrs = n->attrs;
    } else {
      for (ir::Value* o : n->outputs()) {
        if (o != nullptr) out_of[o] = o;
      }
    }
    for (size_t i = 0; i < n->num_inputs(); ++i) {
      auto it = quantized_.find(n->input(i));
      if (it != quantized_.end()) g_.set_input(target, i, it->second);
    }
    // Per-channel parameters would need their axis remapped through the op: requantize per-tensor only.
    const bool requantize = options_.requantize_after_agnostic && !is_per_channel(p_);
    for (auto& [original, carried] : out_of) {
      if (!has_on_path_use(original)) continue;
      ir::Value* q = requantize ? add_qdq(g_, carried, constants_, p_.dtype) : carried;
      // Downstream path nodes and edges are rewired to `q` when they are visited.
      quantized_[original] = q;
    }
  }

  ir::Graph& g_;
  const Quantizer& q_;
  const QuantParams stored_;
  const QuantParams& p_;
  const MaterializeOptions& options_;
  QuantizerPaths paths_;
  QdqConstants constants_;
  std::map<const ir::Value*, ir::Value*> quantized_;  // value on a path -> the value its path consumers read
};

// 16-bit quantizers are written as ONNX Runtime's com.microsoft Q/DQ (opset-13 semantics, ir/contrib_ops.h): ONNX
// has 16-bit Q/DQ only from opset 21, which Debian's ONNX 1.12 cannot check or convert to.
void check_opset(const ir::Model& m, const Quantizer& q) {
  const QuantParams& p = *q.params;
  const int64_t opset = m.opset("");
  const bool sixteen = is_sixteen_bit(p.dtype);
  const int64_t needed = sixteen || is_per_channel(p) ? kPerChannelOpset : kPerTensorOpset;
  if (opset < needed) {
    const std::string what = sixteen                ? "16-bit QuantizeLinear/DequantizeLinear (com.microsoft)"
                             : is_per_channel(p) ? "per-channel QuantizeLinear/DequantizeLinear"
                                                 : "QuantizeLinear/DequantizeLinear";
    throw InvalidModel("quantizer '" + q.name + "': " + what + " needs default-domain opset >= " +
                       std::to_string(needed) + ", the model has opset " + std::to_string(opset) +
                       "; the model opset must be upgraded first");
  }
}

const Quantizer* active_quantizer(const QuantizerSet& set, const std::string& node, int input) {
  const int id = set.quantizer_for_edge({node, input});
  if (id < 0) return nullptr;
  const Quantizer& q = set.at(id);
  return q.enabled && q.params ? &q : nullptr;
}

// The MatMul reads a constant 2-D weight [K, N] through its DequantizeLinear and `bias` is [N].
bool row_bias_of_matmul(const ir::Node& mm, const Quantizer& qw, const Tensor& bias) {
  if (qw.kind != QuantizerKind::kWeight || bias.rank() != 1) return false;
  const ir::Value* w = mm.input(1);
  const ir::Node* dq = w != nullptr ? w->producer() : nullptr;
  const ir::Value* wq = dq != nullptr && dq->op_type() == "DequantizeLinear" ? dq->input(0) : w;
  if (wq == nullptr || !wq->is_constant() || wq->constant->rank() != 2) return false;
  return wq->constant->dim(1) == bias.numel();
}

// Bias -> int32 initializer + DequantizeLinear(scale = s_x * s_w, zero-point 0), ORT's layout. `reader` reads the
// bias at input `slot` (the op itself, or the Add after a MatMul).
void quantize_bias(ir::Graph& g, ir::Node* n, ir::Node* reader, int slot, const BiasOp& op, const QuantizerSet& set,
                   Logger* logger) {
  ir::Value* b = reader->input(static_cast<size_t>(slot));
  if (b == nullptr || !b->is_constant() || b->constant->dtype() != DType::kFloat32) return;
  if (set.quantizer_for_edge({reader->name(), slot}) >= 0) return;  // quantized as an ordinary input
  const Quantizer* qx = active_quantizer(set, n->name(), 0);
  const Quantizer* qw = active_quantizer(set, n->name(), 1);
  if (qx == nullptr || qw == nullptr) return;
  const Tensor& bias = *b->constant;
  // An Add after a MatMul is a bias only when the MatMul has a constant weight [K, N] and the operand is a row of N
  // values (anything else, e.g. an Add broadcasting a scalar or adding along another axis, stays as written).
  if (op.bias_in_next_add && !row_bias_of_matmul(*n, *qw, bias)) return;
  auto skip = [&](const std::string& why) {
    if (logger != nullptr) logger->warning(n->describe() + ": bias '" + b->name() + "' kept float: " + why);
  };
  if (op.bias_must_be_1d && bias.rank() != 1) return skip("the bias is not 1-D (shape " + bias.describe() + ")");
  if (qx->params->scale.size() != 1) return skip("its input is quantized per channel");
  const int64_t channels = bias.numel();
  const std::vector<float>& sw = qw->params->scale;
  if (sw.size() != 1 && static_cast<int64_t>(sw.size()) != channels) {
    return skip("the weight has " + std::to_string(sw.size()) + " scales for " + std::to_string(channels) +
                " bias values");
  }
  const float sx = qx->params->scale[0];
  const bool per_channel = sw.size() != 1;
  std::vector<float> scale(sw.size());
  for (size_t c = 0; c < sw.size(); ++c) scale[c] = sx * sw[c];
  Tensor q(DType::kInt32, bias.shape());
  int32_t* dst = q.data<int32_t>();
  const float* src = bias.data<float>();
  for (int64_t i = 0; i < channels; ++i) {
    const float s = scale[per_channel ? static_cast<size_t>(i) : 0];
    const double v = std::nearbyint(static_cast<double>(src[i]) / static_cast<double>(s));
    if (!(std::fabs(v) <= static_cast<double>(std::numeric_limits<int32_t>::max())) || s <= 0.f) {
      return skip("value " + std::to_string(src[i]) + " at index " + std::to_string(i) + " divided by scale " +
                  std::to_string(s) + " overflows int32");
    }
    dst[i] = static_cast<int32_t>(v);
  }
  const std::string& name = b->name();
  const Shape scale_shape = per_channel ? Shape{static_cast<int64_t>(scale.size())} : Shape{};
  QdqConstants c;
  c.scale = g.add_constant(g.unique_name(name + "_quantized_scale"),
                           Tensor::from_values<float>(scale_shape, scale.data()));
  c.zero_point = g.add_constant(g.unique_name(name + "_quantized_zero_point"), Tensor(DType::kInt32, scale_shape));
  c.axis = per_channel ? 0 : -1;
  ir::Value* qb = g.add_constant(g.unique_name(name + "_quantized"), q);
  ir::Value* dq = add_typed_value(g, name + "_DequantizeLinear_Output", DType::kFloat32, b->type);
  add_qdq_node(g, "DequantizeLinear", qb, c, dq, name + "_DequantizeLinear");
  g.set_input(reader, static_cast<size_t>(slot), dq);
}

void remove_unused_constants(ir::Graph& g, const std::vector<ir::Value*>& candidates) {
  for (ir::Value* v : candidates) {
    if (v->uses().empty() && !g.is_graph_output(v) && !g.is_graph_input(v)) g.remove_value(v);
  }
}

}  // namespace

ir::Model materialize_qdq(const ir::Model& canonical, const QuantizerSet& set, const MaterializeOptions& options,
                          Logger* logger) {
  ir::Model m = canonical.clone();
  ir::Graph& g = *m.graph;
  std::vector<const Quantizer*> active;
  for (const Quantizer& q : set.quantizers) {
    if (!q.enabled) continue;
    if (!q.params) {
      if (logger != nullptr) {
        logger->warning("quantizer '" + q.name + "' has no parameters (no statistics); left float");
      }
      continue;
    }
    if (q.sources.empty() || q.edges.empty()) {
      throw InternalError("quantizer '" + q.name + "' has " + std::to_string(q.sources.size()) + " sources and " +
                          std::to_string(q.edges.size()) + " edges (expected at least one of each)");
    }
    check_opset(m, q);
    active.push_back(&q);
    if (is_sixteen_bit(q.params->dtype) && m.opset(std::string(ir::kMicrosoftDomain)) == 0) {
      m.opset_imports.push_back(ir::OpsetImport{std::string(ir::kMicrosoftDomain), ir::kMicrosoftOpsetVersion});
    }
  }

  // Constants that may become unused once their consumers read the quantized copies.
  std::vector<ir::Value*> replaced;
  for (const Quantizer* q : active) {
    QuantizerMaterializer(g, *q, options).run();
    for (const std::string& s : q->sources) {
      if (ir::Value* v = g.value(s); v->is_constant()) replaced.push_back(v);
    }
  }
  if (options.quantize_bias) {
    for (ir::Node* n : g.topological_order()) {
      if (!n->domain().empty()) continue;
      for (const BiasOp& op : kBiasOps) {
        if (n->op_type() != op.op_type) continue;
        const auto [reader, slot] = bias_slot(g, n, op);
        if (reader == nullptr || slot < 0) continue;
        ir::Value* b = reader->input(static_cast<size_t>(slot));
        quantize_bias(g, n, reader, slot, op, set, logger);
        if (b != nullptr && reader->input(static_cast<size_t>(slot)) != b) replaced.push_back(b);
      }
    }
  }
  std::sort(replaced.begin(), replaced.end());
  replaced.erase(std::unique(replaced.begin(), replaced.end()), replaced.end());
  remove_unused_constants(g, replaced);
  if (options.profile != nullptr) {
    for (const std::string& note : apply_lowerings(g, *options.profile)) {
      if (logger != nullptr) logger->debug("export profile " + options.profile->name + ": " + note);
    }
    if (options.profile->float_unfused_weights) {
      const size_t n = dequantize_unfused_constants(g, *options.profile);
      if (n > 0 && logger != nullptr) {
        logger->debug("export profile " + options.profile->name + ": " + std::to_string(n) +
                      " constant(s) stored in float: the runtime would dequantize them at every run");
      }
    }
  }
  g.verify();
  return m;
}

}  // namespace qwac::quant
