#include "quant/smooth_quant.h"

#include <algorithm>
#include <cmath>
#include <functional>
#include <optional>

#include "quant/calibration.h"
#include "runtime/constant_folding.h"
#include "qwac/error.h"

namespace qwac::quant {
namespace {

// NNCF's clamp of the scales: a channel that never fires (max |X_j| = 0) or a dead weight row must not produce a
// zero or huge factor.
constexpr float kMinScale = 1e-5f;
constexpr float kMaxScale = 1e4f;

const Tensor* float_constant(const ir::Value* v) {
  if (v == nullptr || !v->is_constant() || v->constant->dtype() != DType::kFloat32) return nullptr;
  return &*v->constant;
}

// The weight of a MatMul/Gemm reading X as its first input, with how its rows map to X's channels: `k_major` =
// W is [K, N] (row j is input channel j), else [N, K] (Gemm transB = 1).
struct WeightView {
  const Tensor* w = nullptr;
  bool k_major = true;
  int64_t k() const { return k_major ? w->dim(0) : w->dim(1); }
  int64_t n() const { return k_major ? w->dim(1) : w->dim(0); }
  float& at(Tensor& t, int64_t j, int64_t c) const {
    return k_major ? t.data<float>()[j * n() + c] : t.data<float>()[c * k() + j];
  }
  float at(int64_t j, int64_t c) const {
    return k_major ? w->data<float>()[j * n() + c] : w->data<float>()[c * k() + j];
  }
};

// Why `use` cannot take a smoothed X (empty = it can), and its weight.
std::string weight_of(const ir::Use& use, WeightView& out) {
  const ir::Node& n = *use.node;
  if (!n.domain().empty() || (n.op_type() != "MatMul" && n.op_type() != "Gemm")) {
    return "the activation also feeds " + n.name() + " (" + n.op_type() + ")";
  }
  if (use.input_index != 0) return "the activation is not the first input of " + n.name();
  const Tensor* w = float_constant(n.input(1));
  if (w == nullptr || w->rank() != 2) return "no constant 2-D float weight";
  out.w = w;
  out.k_major = true;
  if (n.op_type() == "Gemm") {
    if (n.attrs.get_int("transA", 0) != 0) return "Gemm with transA";
    out.k_major = n.attrs.get_int("transB", 0) == 0;
  }
  return "";
}

// A constant that varies along X's last axis only: [.., 1, K]. A scalar would fold too, but turning it into a
// vector unmakes patterns runtimes fuse (GELU's `* 0.5`, whose output feeds the MLP's second MatMul), so it does
// not count.
bool per_last_axis(const Tensor& t, int64_t k) {
  return t.rank() >= 1 && t.dim(t.rank() - 1) == k && t.numel() == k && k > 1;
}

// The constant input of a binary Mul/Add and its index, when the other input is a computed tensor.
std::optional<int> constant_operand(const ir::Node& n, int64_t k) {
  for (int i = 0; i < 2; ++i) {
    const Tensor* c = float_constant(n.input(static_cast<size_t>(i)));
    if (c != nullptr && !n.input(static_cast<size_t>(1 - i))->is_constant() && per_last_axis(*c, k)) return i;
  }
  return std::nullopt;
}

bool only_consumer(const ir::Graph& g, const ir::Value* v, const ir::Node* n) {
  return v->uses().size() == 1 && v->uses().front().node == n && !g.is_graph_output(v);
}

// The producer of X that 1/s folds into, as the list of (node, constant input index) whose constants divide by s;
// empty with `why` set when there is none.
std::vector<std::pair<ir::Node*, int>> fold_points(const ir::Graph& g, const ir::Value& x, int64_t k,
                                                   std::string& why) {
  ir::Node* p = x.producer();
  if (p == nullptr) {
    why = "the activation is a graph input";
    return {};
  }
  if (p->domain().empty() && p->op_type() == "LayerNormalization") {
    const int64_t axis = p->attrs.get_int("axis", -1);
    const bool last = axis == -1 || (x.type.shape && axis == static_cast<int64_t>(x.type.shape->size()) - 1);
    std::vector<std::pair<ir::Node*, int>> out;
    for (int i : {1, 2}) {
      if (!p->has_input(static_cast<size_t>(i))) continue;
      const Tensor* c = float_constant(p->input(static_cast<size_t>(i)));
      if (c == nullptr || c->numel() != k) {
        why = "LayerNormalization " + p->name() + " has a computed or mis-shaped scale/bias";
        return {};
      }
      out.emplace_back(p, i);
    }
    if (!last || (p->num_outputs() > 1 && p->output(1) != nullptr)) {
      why = "LayerNormalization " + p->name() + " normalizes another axis or exports its statistics";
      return {};
    }
    return out;
  }
  if (p->domain().empty() && p->op_type() == "Mul") {
    if (auto i = constant_operand(*p, k)) return {{p, *i}};
  }
  if (p->domain().empty() && p->op_type() == "Add") {
    // Add(beta) after Mul(gamma): the tail of a written-out LayerNorm.
    if (auto bi = constant_operand(*p, k)) {
      ir::Value* a = p->input(static_cast<size_t>(1 - *bi));
      ir::Node* mul = a->producer();
      if (mul != nullptr && mul->domain().empty() && mul->op_type() == "Mul" && only_consumer(g, a, p)) {
        if (auto gi = constant_operand(*mul, k)) return {{mul, *gi}, {p, *bi}};
      }
    }
  }
  why = "its producer " + p->name() + " (" + p->op_type() +
        ") has no per-channel scale to fold 1/s into (an inserted Mul would cost the runtime a pass)";
  return {};
}

// Replaces input `i` of `n` with a fresh constant (the old one may be shared) holding `t`.
void set_constant_input(ir::Graph& g, ir::Node& n, int i, Tensor t) {
  ir::Value* old = n.input(static_cast<size_t>(i));
  ir::Value* v = g.add_constant(g.unique_name(old->name() + "_smoothed"), std::move(t));
  g.set_input(&n, static_cast<size_t>(i), v);
  if (old->uses().empty() && !g.is_graph_output(old) && !g.is_graph_input(old)) g.remove_value(old);
}

}  // namespace

SmoothQuantPlan plan_smooth_quant(const ir::Model& model) {
  const ir::Graph& g = *model.graph;
  SmoothQuantPlan plan;
  std::map<const ir::Value*, std::vector<const ir::Node*>> by_activation;
  for (const ir::Node* n : g.topological_order()) {
    if (!n->domain().empty() || (n->op_type() != "MatMul" && n->op_type() != "Gemm")) continue;
    WeightView w;
    const std::string why = weight_of({const_cast<ir::Node*>(n), 0}, w);
    if (!why.empty()) continue;  // not a weighted layer: nothing to smooth, nothing to report
    if (n->input(0)->is_constant()) continue;
    by_activation[n->input(0)].push_back(n);
  }
  auto skip_all = [&](const std::vector<const ir::Node*>& nodes, const std::string& why) {
    for (const ir::Node* n : nodes) plan.skipped.push_back({n->name(), why});
  };
  for (const ir::Node* n : g.topological_order()) {
    for (const ir::Value* x : n->outputs()) {
      auto it = by_activation.find(x);
      if (it == by_activation.end()) continue;
      const std::vector<const ir::Node*>& nodes = it->second;
      WeightView w0;
      weight_of({const_cast<ir::Node*>(nodes.front()), 0}, w0);
      const int64_t k = w0.k();
      std::string why;
      if (g.is_graph_output(x)) why = "the activation is also a graph output";
      for (const ir::Use& u : x->uses()) {
        WeightView w;
        if (why.empty()) why = weight_of(u, w);
        if (why.empty() && w.k() != k) why = "its MatMuls disagree on the channel count";
      }
      if (why.empty() && (!x->type.shape || x->type.shape->empty() || x->type.shape->back().size != k)) {
        why = "the activation's last axis is not the weights' " + std::to_string(k) + " input channels";
      }
      if (why.empty()) fold_points(g, *x, k, why);
      if (!why.empty()) {
        skip_all(nodes, why);
        continue;
      }
      SmoothQuantTarget t;
      t.activation = x->name();
      t.producer = x->producer()->name();
      for (const ir::Node* m : nodes) t.nodes.push_back(m->name());
      t.channels = k;
      t.rank = static_cast<int64_t>(x->type.shape->size());
      plan.targets.push_back(std::move(t));
    }
  }
  // Graph inputs feeding MatMuls directly have no producer: listed, never smoothed.
  for (const ir::Value* x : g.inputs()) {
    auto it = by_activation.find(x);
    if (it != by_activation.end()) skip_all(it->second, "the activation is a graph input");
  }
  return plan;
}

nlohmann::json apply_smooth_quant(ir::Model& model, const SmoothQuantPlan& plan,
                                  const std::map<std::string, std::vector<float>>& activation_abs_max, double alpha) {
  if (!(alpha >= 0.0 && alpha <= 1.0)) {
    throw InternalError("SmoothQuant alpha " + std::to_string(alpha) + " outside [0, 1]");
  }
  ir::Graph& g = *model.graph;
  nlohmann::json smoothed = nlohmann::json::array();
  for (const SmoothQuantTarget& t : plan.targets) {
    const std::vector<float>& amax = activation_abs_max.at(t.activation);
    if (static_cast<int64_t>(amax.size()) != t.channels) {
      throw InternalError("SmoothQuant statistics of '" + t.activation + "' have " + std::to_string(amax.size()) +
                          " channels, expected " + std::to_string(t.channels));
    }
    // Per input channel: the largest weight magnitude over every consumer (they all take the same s).
    std::vector<float> wmax(static_cast<size_t>(t.channels), 0.f);
    std::vector<ir::Node*> nodes;
    for (const std::string& name : t.nodes) {
      ir::Node* n = g.find_node(name);
      WeightView w;
      weight_of({n, 0}, w);
      for (int64_t j = 0; j < t.channels; ++j) {
        for (int64_t c = 0; c < w.n(); ++c) wmax[j] = std::max(wmax[j], std::fabs(w.at(j, c)));
      }
      nodes.push_back(n);
    }
    std::vector<float> s(static_cast<size_t>(t.channels));
    for (int64_t j = 0; j < t.channels; ++j) {
      const double v = std::pow(static_cast<double>(amax[j]), alpha) /
                       (std::pow(static_cast<double>(wmax[j]), 1.0 - alpha) + 1e-12);
      s[j] = std::clamp(static_cast<float>(v), kMinScale, kMaxScale);
      if (amax[j] == 0.f || wmax[j] == 0.f) s[j] = 1.f;
    }
    // Weights: row j times s_j.
    for (ir::Node* n : nodes) {
      WeightView w;
      weight_of({n, 0}, w);
      Tensor scaled(DType::kFloat32, w.w->shape());
      for (int64_t j = 0; j < t.channels; ++j) {
        for (int64_t c = 0; c < w.n(); ++c) w.at(scaled, j, c) = w.at(j, c) * s[j];
      }
      set_constant_input(g, *n, 1, std::move(scaled));
    }
    // The producer's per-channel constants divided by s (a scalar becomes a [K] vector).
    std::string why;
    for (const auto& [node, index] : fold_points(g, *g.value(t.activation), t.channels, why)) {
      const Tensor& c = *node->input(static_cast<size_t>(index))->constant;
      Tensor folded(DType::kFloat32, c.shape());
      for (int64_t j = 0; j < t.channels; ++j) folded.data<float>()[j] = c.data<float>()[j] / s[j];
      set_constant_input(g, *node, index, std::move(folded));
    }
    if (!why.empty()) throw InternalError("SmoothQuant target '" + t.activation + "' lost its fold point: " + why);
    const auto [lo, hi] = std::minmax_element(s.begin(), s.end());
    smoothed.push_back({{"activation", t.activation},
                        {"folded_into", t.producer},
                        {"nodes", t.nodes},
                        {"channels", t.channels},
                        {"scale_min", *lo},
                        {"scale_max", *hi}});
  }
  nlohmann::json skipped = nlohmann::json::array();
  for (const SmoothQuantSkip& s : plan.skipped) skipped.push_back({{"node", s.node}, {"reason", s.reason}});
  return {{"alpha", alpha}, {"smoothed", smoothed}, {"skipped", skipped}};
}

nlohmann::json smooth_quant(ir::Model& model, const Dataset& calibration, const std::map<std::string, Shape>& input_shapes,
                            double alpha, const RunOptions& options) {
  // The plan reads concrete shapes; the canonical model keeps only declared types (its batch stays symbolic), so
  // shapes are inferred on a copy for one sample.
  ir::Model typed = model.clone();
  runtime::infer_value_types(typed, input_shapes);
  const SmoothQuantPlan plan = plan_smooth_quant(typed);
  std::map<std::string, std::vector<float>> abs_max;
  if (!plan.targets.empty()) {
    // One FP32 pass over the calibration subset for the per-channel ranges of every smoothed activation.
    std::vector<ActivationStatsRequest> requests;
    for (size_t i = 0; i < plan.targets.size(); ++i) {
      StatisticsNeeds needs;
      needs.per_sample = false;
      needs.channel_axis = plan.targets[i].rank - 1;
      requests.push_back({static_cast<int>(i), {plan.targets[i].activation}, needs});
    }
    RunOptions o = options;
    const CalibrationStatistics stats = collect_statistics(model, calibration, requests, {}, o);
    for (size_t i = 0; i < plan.targets.size(); ++i) {
      const TensorStatistics& st = stats.activations.at(static_cast<int>(i));
      std::vector<float> m(st.channel_max().size());
      for (size_t j = 0; j < m.size(); ++j) m[j] = std::max(std::fabs(st.channel_min()[j]), std::fabs(st.channel_max()[j]));
      abs_max[plan.targets[i].activation] = std::move(m);
    }
  }
  return apply_smooth_quant(model, plan, abs_max, alpha);
}

}  // namespace qwac::quant
