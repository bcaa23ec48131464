#include "quant/fusion_pattern.h"

#include <algorithm>
#include <set>

#include "core/json_options.h"
#include "qwac/error.h"

namespace qwac::quant {
namespace {

bool default_domain(const ir::Node& n) { return n.domain().empty() || n.domain() == "ai.onnx"; }

const PatternNode* find_node(const FusionPattern& p, const std::string& id) {
  for (const PatternNode& n : p.nodes) {
    if (n.id == id) return &n;
  }
  return nullptr;
}

// Backtracking matcher: binds pattern node ids to graph nodes and capture names to values.
class Matcher {
 public:
  Matcher(const ir::Graph& graph, const FusionPattern& pattern) : graph_(graph), pattern_(pattern) {}

  std::optional<PatternMatch> run(const ir::Node& output_node) {
    PatternMatch m;
    m.pattern = &pattern_;
    if (!bind_node(*find_node(pattern_, pattern_.output), output_node, m)) return std::nullopt;
    if (!internal_values_stay_inside(m)) return std::nullopt;
    return m;
  }

 private:
  bool bind_node(const PatternNode& pn, const ir::Node& gn, PatternMatch& m) const {
    if (!default_domain(gn)) return false;
    if (std::find(pn.op_types.begin(), pn.op_types.end(), gn.op_type()) == pn.op_types.end()) return false;
    auto bound = m.nodes.find(pn.id);
    if (bound != m.nodes.end()) return bound->second == &gn;
    for (const auto& [id, node] : m.nodes) {
      if (node == &gn) return false;  // one graph node per pattern node
    }
    if (gn.num_inputs() < pn.inputs.size()) return false;
    m.nodes[pn.id] = &gn;
    std::vector<std::vector<size_t>> orders = {{}};
    for (size_t i = 0; i < pn.inputs.size(); ++i) orders[0].push_back(i);
    if (pn.commutative) orders.push_back({1, 0});
    for (const std::vector<size_t>& order : orders) {
      PatternMatch trial = m;
      bool ok = true;
      for (size_t i = 0; i < pn.inputs.size() && ok; ++i) ok = bind_input(pn.inputs[i], gn.input(order[i]), trial);
      if (ok) {
        m = std::move(trial);
        return true;
      }
    }
    m.nodes.erase(pn.id);
    return false;
  }

  bool bind_input(const std::string& name, const ir::Value* v, PatternMatch& m) const {
    if (v == nullptr) return false;
    if (const PatternNode* pn = find_node(pattern_, name)) {
      const ir::Node* producer = v->producer();
      return producer != nullptr && v->producer_output_index() == 0 && bind_node(*pn, *producer, m);
    }
    auto [it, inserted] = m.captures.emplace(name, v);
    return inserted || it->second == v;
  }

  // Values produced inside the pattern, except its output, feed only pattern nodes and are not graph outputs.
  bool internal_values_stay_inside(const PatternMatch& m) const {
    std::set<const ir::Node*> inside;
    for (const auto& [id, n] : m.nodes) inside.insert(n);
    for (const auto& [id, n] : m.nodes) {
      if (id == pattern_.output) continue;
      for (const ir::Value* o : n->outputs()) {
        if (o == nullptr) continue;
        if (graph_.is_graph_output(o)) return false;
        for (const ir::Use& u : o->uses()) {
          if (inside.count(u.node) == 0) return false;
        }
      }
    }
    return true;
  }

  const ir::Graph& graph_;
  const FusionPattern& pattern_;
};

}  // namespace

std::vector<std::string> FusionPattern::captures() const {
  std::vector<std::string> out;
  for (const PatternNode& n : nodes) {
    for (const std::string& in : n.inputs) {
      if (find_node(*this, in) == nullptr && std::find(out.begin(), out.end(), in) == out.end()) out.push_back(in);
    }
  }
  return out;
}

FusionPattern parse_fusion_pattern(const nlohmann::json& j, const std::string& where) {
  JsonOptions o(j, where);
  FusionPattern p;
  o.require("name", p.name);
  o.read("after", p.after);
  o.require("output", p.output);
  const nlohmann::json* nodes = o.section("nodes");
  if (nodes == nullptr || !nodes->is_array() || nodes->empty()) {
    throw InvalidConfig(o.path("nodes") + ": expected a non-empty array of {\"id\", \"op\", \"inputs\"}");
  }
  o.finish();
  if (p.name.empty()) throw InvalidConfig(o.path("name") + ": expected a non-empty name");
  std::set<std::string> ids;
  for (size_t i = 0; i < nodes->size(); ++i) {
    const std::string at = o.path("nodes") + "[" + std::to_string(i) + "]";
    JsonOptions no((*nodes)[i], at);
    PatternNode n;
    no.require("id", n.id);
    no.require("op", n.op_types);
    no.require("inputs", n.inputs);
    no.read("commutative", n.commutative);
    no.finish();
    if (n.id.empty() || !ids.insert(n.id).second) {
      throw InvalidConfig(at + ".id: \"" + n.id + "\" is empty or used twice");
    }
    if (n.op_types.empty()) throw InvalidConfig(at + ".op: expected at least one op type");
    if (n.inputs.empty()) throw InvalidConfig(at + ".inputs: expected at least one input");
    if (n.commutative && n.inputs.size() != 2) {
      throw InvalidConfig(at + ".commutative: only a node with two inputs can be commutative (it has " +
                          std::to_string(n.inputs.size()) + ")");
    }
    for (const std::string& in : n.inputs) {
      if (in == n.id) throw InvalidConfig(at + ".inputs: node \"" + n.id + "\" reads its own output");
      // A node input must be an earlier node: that keeps the pattern acyclic.
      const bool later = std::any_of(nodes->begin() + static_cast<std::ptrdiff_t>(i) + 1, nodes->end(),
                                     [&](const nlohmann::json& x) { return x.is_object() && x.value("id", "") == in; });
      if (later) {
        throw InvalidConfig(at + ".inputs: \"" + in + "\" is a node listed after \"" + n.id +
                            "\"; list the nodes in topological order");
      }
    }
    p.nodes.push_back(std::move(n));
  }
  if (find_node(p, p.output) == nullptr) {
    throw InvalidConfig(o.path("output") + ": \"" + p.output + "\" is not the id of a node of the pattern");
  }
  if (p.captures().empty()) throw InvalidConfig(where + ": the pattern has no input (a name that is not a node id)");
  return p;
}

std::optional<PatternMatch> match_pattern(const ir::Graph& graph, const FusionPattern& pattern,
                                          const ir::Node& output_node) {
  return Matcher(graph, pattern).run(output_node);
}

std::optional<PatternMatch> match_activation(const ir::Graph& graph, const std::vector<const FusionPattern*>& patterns,
                                             const ir::Value& x) {
  if (graph.is_graph_output(&x) || x.uses().empty()) return std::nullopt;
  for (const FusionPattern* p : patterns) {
    const std::vector<std::string> caps = p->captures();
    if (caps.size() != 1) continue;
    if (!p->after.empty()) {
      const ir::Node* producer = x.producer();
      if (producer == nullptr || !default_domain(*producer) ||
          std::find(p->after.begin(), p->after.end(), producer->op_type()) == p->after.end()) {
        continue;
      }
    }
    // Candidates for the output node: nodes within the pattern's depth below x.
    std::vector<const ir::Node*> frontier, candidates;
    std::set<const ir::Node*> seen;
    for (const ir::Use& u : x.uses()) frontier.push_back(u.node);
    for (size_t depth = 0; depth < p->nodes.size() && !frontier.empty(); ++depth) {
      std::vector<const ir::Node*> next;
      for (const ir::Node* n : frontier) {
        if (!seen.insert(n).second) continue;
        candidates.push_back(n);
        for (const ir::Value* o : n->outputs()) {
          if (o == nullptr) continue;
          for (const ir::Use& u : o->uses()) next.push_back(u.node);
        }
      }
      frontier = std::move(next);
    }
    for (const ir::Node* c : candidates) {
      std::optional<PatternMatch> m = match_pattern(graph, *p, *c);
      if (!m || m->captures.at(caps[0]) != &x) continue;
      // Every reader of x is inside the pattern: another reader would need x unfused.
      const bool only_pattern = std::all_of(x.uses().begin(), x.uses().end(), [&](const ir::Use& u) {
        return std::any_of(m->nodes.begin(), m->nodes.end(), [&](const auto& kv) { return kv.second == u.node; });
      });
      if (only_pattern) return m;
    }
  }
  return std::nullopt;
}

}  // namespace qwac::quant
