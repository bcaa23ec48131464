#include "quant/placement.h"

#include <algorithm>
#include <functional>
#include <map>
#include <numeric>
#include <set>
#include <tuple>

#include "qwac/error.h"

namespace qwac::quant {
namespace {

// Agnostic ops whose every input carries data (the joined tensors). The other agnostic ops pass data through
// input 0 only; their remaining inputs are shapes, indices, pads or a pad value, which are never quantized.
const std::set<std::string> kAllInputsCarryData = {"Concat"};

// Weight channel axes that depend on the node's attributes: the config gives the axis for the attribute's
// non-default form. Gemm: B is [K, N] unless transB = 1, when it is [N, K] (the config's axis 0).
using AxisRule = std::function<int64_t(const ir::Node&, int64_t configured)>;
const std::map<std::string, AxisRule>& axis_rules() {
  static const std::map<std::string, AxisRule> kRules = {
      {"Gemm", [](const ir::Node& n, int64_t axis) { return n.attrs.get_int("transB", 0) != 0 ? axis : 1 - axis; }},
  };
  return kRules;
}

bool default_domain(const ir::Node& n) { return n.domain().empty() || n.domain() == "ai.onnx"; }

DType dtype_of(const ir::Value& v) { return v.is_constant() ? v.constant->dtype() : v.type.dtype; }

std::string describe_dtype(const ir::Value& v) {
  const DType t = dtype_of(v);
  return t == DType::kUndefined ? "of unknown type" : std::string(dtype_name(t));
}

// One op input that will read a quantized value.
struct EdgeInfo {
  const ir::Node* node = nullptr;
  size_t rank = 0;                      // topological index of `node`
  int input_index = 0;
  std::vector<const ir::Value*> sources;
  bool constant = false;                // the input itself is a constant: a weight
  bool weight_input = false;            // listed in the op's weight_inputs
  int64_t axis = -1;                    // per-channel axis of a constant weight, -1 when it has none
  bool quantized_op = true;             // `node` is a quantized op (false: a float reader of an output quantizer)
  std::string producer;                 // output quantizers: the quantized op whose output this reads
};

int check_bits(int bits, const std::string& where) {
  if (bits != 8 && bits != 16) {
    throw InvalidConfig(where + ": " + std::to_string(bits) + " bits is not supported; expected 8 or 16");
  }
  return bits;
}

QuantizerSpec resolve_weight_spec(const HwConfig& hw, const PlacementOptions& options) {
  QuantizerSpec spec = hw.weights.at(options.preset);
  if (options.weight_bits) spec.bits = check_bits(*options.weight_bits, "weights.bits");
  if (options.weight_mode && *options.weight_mode != spec.mode) {
    spec.mode = *options.weight_mode;
    const bool sym = spec.mode == QuantMode::kSymmetric;
    spec.narrow_range = sym;
    spec.is_signed = sym;  // asymmetric weights use the unsigned range with a zero-point
    spec.signedness_from_range = false;
  }
  const auto& allowed = hw.weight_granularities;
  spec.granularity = std::find(allowed.begin(), allowed.end(), options.weight_granularity) != allowed.end()
                         ? options.weight_granularity
                         : allowed.front();
  spec.axis = -1;
  return spec;
}

QuantizerSpec resolve_activation_spec(const HwConfig& hw, const PlacementOptions& options) {
  QuantizerSpec spec = hw.activations.at(options.preset);
  if (options.activation_bits) spec.bits = check_bits(*options.activation_bits, "activations.bits");
  if (options.activation_mode && *options.activation_mode != spec.mode) {
    spec.mode = *options.activation_mode;
    const bool sym = spec.mode == QuantMode::kSymmetric;
    spec.narrow_range = false;
    spec.is_signed = sym;
    spec.signedness_from_range = sym;  // symmetric activations go unsigned when the range is >= 0
  }
  spec.axis = spec.granularity == Granularity::kPerChannel ? 1 : -1;  // NCHW channels
  return spec;
}

class Placer {
 public:
  Placer(const ir::Graph& graph, const HwConfig& hw, const PlacementOptions& options)
      : graph_(graph), hw_(hw), options_(options), matcher_(options.ignored_scope, graph),
        agnostic_(hw.agnostic.begin(), hw.agnostic.end()), quantizable_(quantizable_ops(hw, options.profile)),
        fusions_(honoured_fusions(hw, options.profile)) {
    order_ = graph.topological_order();
    for (size_t i = 0; i < order_.size(); ++i) rank_[order_[i]] = i;
    for (size_t i = 0; i < graph.inputs().size(); ++i) input_position_[graph.inputs()[i]] = i;
    find_fusions();
    find_kept_float();
    find_model_type_ignored();
  }

  QuantizerSet run() {
    const QuantizerSpec weight_spec = resolve_weight_spec(hw_, options_);
    const QuantizerSpec activation_spec = resolve_activation_spec(hw_, options_);
    std::vector<EdgeInfo> edges;
    for (const ir::Node* n : order_) collect_edges(*n, edges);
    if (options_.profile != nullptr && options_.profile->output_quantizers) add_output_edges(edges);

    // Union-find over sources: the sources reached from one edge are one quantizer; edges that share a source
    // share it.
    std::map<const ir::Value*, size_t> index;
    std::vector<size_t> parent;
    auto find = [&](size_t x) {
      while (parent[x] != x) x = parent[x] = parent[parent[x]];
      return x;
    };
    for (const EdgeInfo& e : edges) {
      for (const ir::Value* s : e.sources) {
        if (index.emplace(s, parent.size()).second) parent.push_back(parent.size());
      }
      for (size_t i = 1; i < e.sources.size(); ++i) parent[find(index[e.sources[i]])] = find(index[e.sources[0]]);
    }
    std::map<size_t, std::vector<const EdgeInfo*>> by_root;
    for (const EdgeInfo& e : edges) by_root[find(index[e.sources.front()])].push_back(&e);

    std::vector<Quantizer> quantizers;
    for (auto& [root, members] : by_root) {
      quantizers.push_back(make_quantizer(members, weight_spec, activation_spec));
    }
    // Ids in topological order of each quantizer's first source, then of its first edge.
    std::stable_sort(quantizers.begin(), quantizers.end(), [&](const Quantizer& a, const Quantizer& b) {
      return order_key(a) < order_key(b);
    });

    QuantizerSet set;
    set.float_ops = std::move(float_ops_);
    for (size_t i = 0; i < quantizers.size(); ++i) {
      quantizers[i].id = static_cast<int>(i);
      set.quantizers.push_back(std::move(quantizers[i]));
    }
    std::set<std::string> quantized;
    for (const EdgeInfo& e : edges) {
      if (e.quantized_op) quantized.insert(e.node->name());
    }
    std::vector<std::string> topo_names;
    for (const ir::Node* n : order_) {
      topo_names.push_back(n->name());
      if (quantized.count(n->name()) != 0) set.quantized_ops.push_back(n->name());
    }
    set.build_groups(topo_names);
    return set;
  }

 private:
  bool is_agnostic(const ir::Node& n) const { return default_domain(n) && agnostic_.count(n.op_type()) != 0; }

  // Walks up from `v` through agnostic ops, collecting the sources. False (with `why`) when a non-float value is
  // met: such an input is not quantized.
  bool walk_up(const ir::Value* v, std::set<const ir::Value*>& seen, std::vector<const ir::Value*>& sources,
               std::string& why) const {
    if (!seen.insert(v).second) return true;
    if (dtype_of(*v) != DType::kFloat32) {
      why = "'" + v->name() + "' is " + describe_dtype(*v) + ", not float32";
      return false;
    }
    const ir::Node* p = v->producer();
    if (v->is_constant() || p == nullptr || !is_agnostic(*p)) {
      sources.push_back(v);
      return true;
    }
    const size_t data_inputs = kAllInputsCarryData.count(p->op_type()) != 0 ? p->num_inputs() : 1;
    bool any = false;
    for (size_t i = 0; i < data_inputs; ++i) {
      const ir::Value* in = p->input(i);
      if (in == nullptr) continue;
      any = true;
      if (!walk_up(in, seen, sources, why)) return false;
    }
    if (!any) sources.push_back(v);
    return true;
  }

  int64_t weight_axis(const ir::Node& n, const QuantizableOp& q, const Tensor& w) const {
    int64_t axis = q.weight_channel_axis;
    auto rule = axis_rules().find(n.op_type());
    if (rule != axis_rules().end()) axis = rule->second(n, axis);
    const int64_t rank = w.rank();
    if (rank < 2) return -1;  // a vector has no channel axis distinct from its elements
    if (axis < 0) axis += rank;
    return axis >= 0 && axis < rank ? axis : -1;
  }

  void add_float_op(const ir::Node& n, std::string reason) {
    float_ops_.push_back({n.name(), n.op_type(), std::move(reason)});
  }

  void collect_edges(const ir::Node& n, std::vector<EdgeInfo>& edges) {
    if (!default_domain(n)) return;
    auto it = quantizable_.find(n.op_type());
    if (it == quantizable_.end()) return;
    const QuantizableOp& q = it->second;
    if (std::optional<std::string> why = matcher_.match(n)) {
      add_float_op(n, "ignored scope: " + *why);
      return;
    }
    if (model_type_float(n)) {
      add_float_op(n, "model_type " + options_.model_type->name + " keeps " + n.op_type() + " in float");
      return;
    }
    if (auto ignored = model_type_ignored_.find(&n); ignored != model_type_ignored_.end()) {
      add_float_op(n, ignored->second);
      return;
    }
    if (auto kept = kept_float_.find(&n); kept != kept_float_.end()) {
      add_float_op(n, kept->second);
      return;
    }
    if (auto fused = fused_into_.find(&n); fused != fused_into_.end()) {
      add_float_op(n, "inside fusion '" + fused->second + "': the runtime executes it with the op before it, so no "
                      "quantizer goes inside");
      return;
    }
    std::vector<int> listed = q.activation_inputs;
    listed.insert(listed.end(), q.weight_inputs.begin(), q.weight_inputs.end());
    std::sort(listed.begin(), listed.end());
    listed.erase(std::unique(listed.begin(), listed.end()), listed.end());

    int computed = 0;
    std::string constants;
    for (int i : listed) {
      const ir::Value* v = n.input(static_cast<size_t>(i));
      if (v == nullptr) continue;
      if (v->is_constant()) {
        constants += (constants.empty() ? "'" : ", '") + v->name() + "'";
      } else {
        ++computed;
      }
    }
    if (computed < q.min_non_constant_inputs) {
      add_float_op(n, "only " + std::to_string(computed) + " computed input(s) (constant: " +
                          (constants.empty() ? std::string("none") : constants) + "); " + hw_.target_device +
                          " quantizes " + n.op_type() + " only with at least " +
                          std::to_string(q.min_non_constant_inputs));
      return;
    }

    std::string failures;
    size_t placed = 0;
    for (int i : listed) {
      const ir::Value* v = n.input(static_cast<size_t>(i));
      if (v == nullptr) continue;
      EdgeInfo e;
      e.node = &n;
      e.rank = rank_.at(&n);
      e.input_index = i;
      std::string why;
      if (v->is_constant()) {
        if (dtype_of(*v) != DType::kFloat32) {
          why = "'" + v->name() + "' is " + describe_dtype(*v) + ", not float32";
        } else {
          e.sources = {v};
          e.constant = true;
          e.weight_input = std::find(q.weight_inputs.begin(), q.weight_inputs.end(), i) != q.weight_inputs.end();
          e.axis = e.weight_input ? weight_axis(n, q, *v->constant) : -1;
        }
      } else {
        std::set<const ir::Value*> seen;
        if (!walk_up(v, seen, e.sources, why)) e.sources.clear();
      }
      if (e.sources.empty()) {
        failures += (failures.empty() ? "" : "; ") + std::string("input ") + std::to_string(i) + ": " + why;
        continue;
      }
      edges.push_back(std::move(e));
      ++placed;
    }
    if (placed == 0) {
      add_float_op(n, "no float32 input to quantize" + (failures.empty() ? std::string() : " (" + failures + ")"));
    }
  }

  // Activation fusions the runtime honours, matched at every node output: remembers each pattern's output by its
  // input, and the pattern's nodes (none of them is quantized as an op of its own).
  void find_fusions() {
    if (fusions_.empty()) return;
    for (const ir::Node* n : order_) {
      for (const ir::Value* v : n->outputs()) {
        if (v == nullptr || fused_into_.count(n) != 0) continue;
        std::optional<PatternMatch> m = match_activation(graph_, fusions_, *v);
        if (!m) continue;
        activation_output_[v] = m->output();
        for (const auto& [id, node] : m->nodes) fused_into_.emplace(node, m->pattern->name);
      }
    }
  }

  // The profile's keep_float rules: such an op stays float, and so does an activation after it that the float
  // runtime fuses into it (any device fusion: ORT's float Conv takes Relu, HardSigmoid, hard-swish... as one kernel).
  void find_kept_float() {
    if (options_.profile == nullptr || options_.profile->keep_float.empty()) return;
    std::vector<const FusionPattern*> all;
    for (const FusionPattern& f : hw_.fusions) all.push_back(&f);
    for (const ir::Node* n : order_) {
      if (!default_domain(*n)) continue;
      for (const KeepFloatRule& rule : options_.profile->keep_float) {
        if (rule.op_type != n->op_type() || !keeps_float(*n, rule)) continue;
        kept_float_[n] = "kept float for " + options_.profile->name + ": " + rule.reason;
        if (n->num_outputs() > 0 && n->output(0) != nullptr) {
          if (std::optional<PatternMatch> m = match_activation(graph_, all, *n->output(0))) {
            for (const auto& [id, node] : m->nodes) {
              kept_float_[node] = "fused with " + n->describe() + ", which is kept float for " +
                                  options_.profile->name;
            }
          }
        }
        break;
      }
    }
  }

  // The model type's ignored patterns (NNCF's): every node of a match stays float, whatever it is.
  void find_model_type_ignored() {
    if (options_.model_type == nullptr) return;
    for (const ir::Node* n : order_) {
      if (!default_domain(*n)) continue;
      for (const FusionPattern& p : options_.model_type->ignored_patterns) {
        std::optional<PatternMatch> m = match_pattern(graph_, p, *n);
        if (!m) continue;
        for (const auto& [id, node] : m->nodes) {
          model_type_ignored_.emplace(node, "model_type " + options_.model_type->name + ": in ignored pattern '" +
                                                p.name + "' (anchored at " + n->describe() + ")");
        }
      }
    }
  }

  bool keeps_float(const ir::Node& n, const KeepFloatRule& rule) const {
    const ir::Value* x = n.input(0);
    if (rule.graph_input_only && (x == nullptr || !graph_.is_graph_input(x))) return false;
    if (rule.max_input_channels > 0) {
      const ir::Value* w = n.input(1);
      if (w == nullptr || !w->is_constant() || w->constant->rank() < 2) return false;
      const int64_t channels = w->constant->dim(1) * n.attrs.get_int("group", 1);
      if (channels > rule.max_input_channels) return false;
    }
    return true;
  }

  // The value a quantized op's output quantizer goes on: after an honoured activation fusion (Conv -> Relu: the
  // Relu's output), following chained fusions.
  const ir::Value* fused_output(const ir::Value* v) const {
    for (auto it = activation_output_.find(v); it != activation_output_.end(); it = activation_output_.find(v)) {
      v = it->second;
    }
    return v;
  }

  // Readers of `v`: the op inputs that read it, through agnostic ops (walked along their data inputs).
  void readers(const ir::Value* v, std::vector<std::pair<const ir::Node*, int>>& out,
               std::set<const ir::Value*>& seen) const {
    if (!seen.insert(v).second) return;
    for (const ir::Use& u : v->uses()) {
      const ir::Node* c = u.node;
      const bool data_input = kAllInputsCarryData.count(c->op_type()) != 0 || u.input_index == 0;
      if (is_agnostic(*c) && data_input) {
        for (const ir::Value* o : c->outputs()) {
          if (o != nullptr && dtype_of(*o) == DType::kFloat32) readers(o, out, seen);
        }
      } else {
        out.emplace_back(c, u.input_index);
      }
    }
  }

  // Output quantizers (export profiles with output_quantizers): for every quantized op whose profile entry asks for
  // one, a quantizer on its (fused) output read by every reader. kOptional: only when a quantized op reads it.
  void add_output_edges(std::vector<EdgeInfo>& edges) {
    std::set<std::pair<const ir::Node*, int>> existing;
    std::set<const ir::Node*> quantized;
    for (const EdgeInfo& e : edges) {
      existing.emplace(e.node, e.input_index);
      quantized.insert(e.node);
    }
    std::vector<EdgeInfo> added;
    for (const ir::Node* n : order_) {
      if (quantized.count(n) == 0) continue;
      const QuantizableOp& q = quantizable_.at(n->op_type());
      if (q.output == OutputQuantizer::kNone || n->num_outputs() == 0 || n->output(0) == nullptr) continue;
      const ir::Value* out = fused_output(n->output(0));
      if (dtype_of(*out) != DType::kFloat32) continue;
      std::vector<std::pair<const ir::Node*, int>> reads;
      std::set<const ir::Value*> seen;
      readers(out, reads, seen);
      const bool read_by_quantized_op = std::any_of(reads.begin(), reads.end(), [&](const auto& r) {
        return existing.count(r) != 0;
      });
      if (reads.empty() || (q.output == OutputQuantizer::kOptional && !read_by_quantized_op)) continue;
      for (const auto& [reader, input] : reads) {
        if (existing.count({reader, input}) != 0) continue;
        if (matcher_.match(*reader)) continue;  // an ignored op keeps reading float
        existing.emplace(reader, input);
        EdgeInfo e;
        e.node = reader;
        e.rank = rank_.at(reader);
        e.input_index = input;
        e.sources = {out};
        e.quantized_op = false;
        e.producer = n->name();
        added.push_back(std::move(e));
      }
    }
    for (EdgeInfo& e : added) edges.push_back(std::move(e));
  }

  // (major, minor, name) position of a source: graph inputs first, then each produced value at its producer's
  // place; a constant just before the first op that reads it through a quantized edge.
  std::tuple<size_t, int64_t, std::string> source_key(const ir::Value* v) const {
    if (v->producer() != nullptr) {
      return {1 + rank_.at(v->producer()), v->producer_output_index(), v->name()};
    }
    auto in = input_position_.find(v);
    if (in != input_position_.end()) return {0, static_cast<int64_t>(in->second), v->name()};
    return {1 + constant_rank_.at(v), -1, v->name()};
  }

  std::tuple<size_t, int64_t, std::string, size_t, int> order_key(const Quantizer& q) const {
    const auto [major, minor, name] = source_key(graph_.value(q.sources.front()));
    const ir::Node* first = graph_.find_node(q.edges.front().node);
    return {major, minor, name, rank_.at(first), q.edges.front().input_index};
  }

  Quantizer make_quantizer(std::vector<const EdgeInfo*> members, const QuantizerSpec& weight_spec,
                           const QuantizerSpec& activation_spec) {
    std::sort(members.begin(), members.end(), [](const EdgeInfo* a, const EdgeInfo* b) {
      return std::tie(a->rank, a->input_index) < std::tie(b->rank, b->input_index);
    });
    std::vector<const ir::Value*> sources;
    for (const EdgeInfo* e : members) {
      for (const ir::Value* s : e->sources) {
        if (std::find(sources.begin(), sources.end(), s) != sources.end()) continue;
        sources.push_back(s);
        if (s->producer() == nullptr && input_position_.count(s) == 0) constant_rank_.emplace(s, e->rank);
      }
    }
    std::sort(sources.begin(), sources.end(),
              [&](const ir::Value* a, const ir::Value* b) { return source_key(a) < source_key(b); });

    Quantizer q;
    const bool weight = std::all_of(members.begin(), members.end(), [](const EdgeInfo* e) { return e->constant; });
    q.kind = weight ? QuantizerKind::kWeight : QuantizerKind::kActivation;
    for (const ir::Value* s : sources) q.sources.push_back(s->name());
    for (const EdgeInfo* e : members) q.edges.push_back({e->node->name(), e->input_index});
    if (weight) {
      q.spec = weight_spec;
      // Per-channel needs one axis that every reader agrees on (a weight shared by ops that want different axes
      // gets one per-tensor quantizer: each source has exactly one quantizer).
      const int64_t axis = members.front()->axis;
      const bool agree = std::all_of(members.begin(), members.end(), [&](const EdgeInfo* e) { return e->axis == axis; });
      if (q.spec.granularity == Granularity::kPerChannel && axis >= 0 && agree) {
        q.spec.axis = axis;
      } else {
        q.spec.granularity = Granularity::kPerTensor;
        q.spec.axis = -1;
      }
    } else {
      q.spec = activation_spec;
      if (options_.model_type != nullptr && options_.model_type->symmetric_activation_matmul &&
          std::all_of(members.begin(), members.end(), [](const EdgeInfo* e) { return reads_two_computed(*e); })) {
        // Both operands of attention's MatMuls: symmetric (unsigned when the range is >= 0, as after Softmax).
        q.spec.mode = QuantMode::kSymmetric;
        q.spec.narrow_range = false;
        q.spec.is_signed = true;
        q.spec.signedness_from_range = true;
      }
    }
    for (const EdgeInfo* e : members) {
      if (!e->producer.empty()) q.producer = e->producer;
    }
    if (q.producer.empty() && q.kind == QuantizerKind::kActivation && profile_outputs()) {
      // An input quantizer on a quantized op's output is that op's output quantizer as well.
      for (const std::string& s : q.sources) {
        const ir::Node* p = graph_.value(s)->producer();
        if (p != nullptr && quantized_producer(*p)) q.producer = p->name();
      }
    }
    q.name = quantizer_name(q, members);
    return q;
  }

  bool profile_outputs() const { return options_.profile != nullptr && options_.profile->output_quantizers; }
  bool quantized_producer(const ir::Node& p) const {
    return default_domain(p) && quantizable_.count(p.op_type()) != 0 && fused_into_.count(&p) == 0 &&
           !model_type_float(p) && model_type_ignored_.count(&p) == 0;
  }
  bool model_type_float(const ir::Node& n) const {
    return options_.model_type != nullptr && default_domain(n) && options_.model_type->float_op_types.count(n.op_type());
  }
  // A quantized MatMul input whose node has two computed (non-constant) inputs.
  static bool reads_two_computed(const EdgeInfo& e) {
    const ir::Node& n = *e.node;
    return e.quantized_op && n.op_type() == "MatMul" && n.num_inputs() == 2 && n.input(0) != nullptr &&
           n.input(1) != nullptr && !n.input(0)->is_constant() && !n.input(1)->is_constant();
  }

  static std::string quantizer_name(const Quantizer& q, const std::vector<const EdgeInfo*>& members) {
    const EdgeInfo& first = *members.front();
    const std::string more_edges = members.size() > 1 ? " (+" + std::to_string(members.size() - 1) + ")" : "";
    if (q.kind == QuantizerKind::kWeight) {
      const std::string what = first.weight_input ? " weight" : " input " + std::to_string(first.input_index);
      return first.node->describe() + what + more_edges;
    }
    std::string name = "activation '" + q.sources.front() + "'";
    if (q.sources.size() > 1) {
      name += " (+" + std::to_string(q.sources.size() - 1) + " source" + (q.sources.size() > 2 ? "s" : "") + ")";
    }
    return name + " -> " + first.node->describe() + more_edges;
  }

  const ir::Graph& graph_;
  const HwConfig& hw_;
  const PlacementOptions& options_;
  IgnoredScopeMatcher matcher_;
  std::set<std::string> agnostic_;
  std::vector<ir::Node*> order_;
  std::map<const ir::Node*, size_t> rank_;
  std::map<const ir::Value*, size_t> input_position_;
  std::map<const ir::Value*, size_t> constant_rank_;  // first reading edge's node rank, for constant sources
  std::vector<FloatOp> float_ops_;
  const std::map<std::string, QuantizableOp>& quantizable_;
  std::vector<const FusionPattern*> fusions_;
  std::map<const ir::Value*, const ir::Value*> activation_output_;  // fused activation: input -> pattern output
  std::map<const ir::Node*, std::string> fused_into_;              // node inside an honoured fusion -> its name
  std::map<const ir::Node*, std::string> kept_float_;              // ops the profile keeps float -> reason
  std::map<const ir::Node*, std::string> model_type_ignored_;      // nodes of the model type's ignored patterns
};

}  // namespace

QuantizerSet place_quantizers(const ir::Model& canonical, const HwConfig& hw, const PlacementOptions& options) {
  if (!canonical.graph) throw InvalidModel("place_quantizers: the model has no graph");
  if (std::find(hw.presets.begin(), hw.presets.end(), options.preset) == hw.presets.end()) {
    std::string allowed;
    for (Preset p : hw.presets) allowed += (allowed.empty() ? "" : ", ") + preset_name(p);
    throw InvalidConfig("preset: target device " + hw.target_device + " does not support preset \"" +
                        preset_name(options.preset) + "\"; supported: " + allowed);
  }
  return Placer(*canonical.graph, hw, options).run();
}

}  // namespace qwac::quant
