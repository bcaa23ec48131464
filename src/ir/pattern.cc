#include "ir/pattern.h"

#include <algorithm>
#include <cmath>

#include "qwac/error.h"

namespace qwac::ir {

namespace {
std::string normalize_domain(const std::string& d) {
  return d == "ai.onnx" ? "" : d;
}
}  // namespace

bool OpMatcher::matches(const Node& node) const {
  if (domain != kAnyDomain && normalize_domain(node.domain()) != normalize_domain(domain)) return false;
  if (!op_types.empty() && std::find(op_types.begin(), op_types.end(), node.op_type()) == op_types.end()) {
    return false;
  }
  return !where || where(node);
}

OpMatcher op(const std::string& op_type, const std::string& domain) {
  return OpMatcher{{op_type}, domain, {}};
}
OpMatcher ops(std::vector<std::string> op_types, const std::string& domain) {
  return OpMatcher{std::move(op_types), domain, {}};
}
OpMatcher with(OpMatcher m, NodePredicate where) {
  if (m.where) {
    m.where = [first = std::move(m.where), second = std::move(where)](const Node& n) { return first(n) && second(n); };
  } else {
    m.where = std::move(where);
  }
  return m;
}

Node* single_consumer(const Graph& graph, const Value* value, const OpMatcher& matcher) {
  if (value == nullptr || value->uses().size() != 1 || graph.is_graph_output(value)) return nullptr;
  Node* consumer = value->uses().front().node;
  return matcher.matches(*consumer) ? consumer : nullptr;
}

Node* single_consumer(const Graph& graph, const Node& node, const OpMatcher& matcher, size_t output_index) {
  return single_consumer(graph, node.output(output_index), matcher);
}

Node* producer(const Node& node, size_t input_index, const OpMatcher& matcher) {
  const Value* v = node.input(input_index);
  if (v == nullptr || v->producer() == nullptr) return nullptr;
  return matcher.matches(*v->producer()) ? v->producer() : nullptr;
}

Node* ChainMatch::last() const {
  for (size_t i = steps.size(); i-- > 0;) {
    if (steps[i] != nullptr) return steps[i];
  }
  return root;
}

std::optional<ChainMatch> match_chain(const Graph& graph, Node& root, const OpMatcher& root_matcher,
                                      const std::vector<ChainStep>& steps) {
  if (!root_matcher.matches(root)) return std::nullopt;
  ChainMatch m;
  m.root = &root;
  for (const ChainStep& step : steps) {
    Node* next = single_consumer(graph, *m.last(), step.matcher);
    if (next == nullptr && !step.optional) return std::nullopt;
    m.steps.push_back(next);
  }
  return m;
}

// ---------------------------------------------------------------------------------------------------------------
// DAG patterns.

Pattern& Pattern::input(std::string name, ValuePredicate where) {
  inputs_.push_back({std::move(name), std::move(where)});
  return *this;
}

Pattern& Pattern::node(std::string name, OpMatcher matcher, std::vector<std::string> inputs, bool commutative,
                       bool more_inputs) {
  for (const std::string& in : inputs) {
    const bool known = std::any_of(inputs_.begin(), inputs_.end(), [&](const InputDef& d) { return d.name == in; }) ||
                       std::any_of(nodes_.begin(), nodes_.end(), [&](const NodeDef& d) { return d.name == in; });
    if (!known) throw InternalError("pattern node '" + name + "' reads '" + in + "', which is not declared before it");
  }
  if (commutative && inputs.size() != 2) throw InternalError("pattern node '" + name + "': commutative needs 2 inputs");
  nodes_.push_back({std::move(name), std::move(matcher), std::move(inputs), commutative, more_inputs});
  return *this;
}

const std::string& Pattern::root() const {
  if (nodes_.empty()) throw InternalError("empty pattern");
  return nodes_.back().name;
}

std::vector<Node*> PatternMatch::ordered(const Pattern& pattern) const {
  std::vector<Node*> out;
  for (const Pattern::NodeDef& d : pattern.nodes()) out.push_back(nodes.at(d.name));
  return out;
}

namespace {

// One obligation of the search: pattern value `name` is graph value `value`.
struct Goal {
  std::string name;
  Value* value;
};

class PatternSolver {
 public:
  PatternSolver(const Graph& graph, const Pattern& pattern) : graph_(graph), pattern_(pattern) {}

  bool solve(std::vector<Goal> goals, PatternMatch state, PatternMatch& out) const {
    if (goals.empty()) {
      if (!closed(state)) return false;
      out = std::move(state);
      return true;
    }
    const Goal goal = goals.back();
    goals.pop_back();
    if (const Pattern::InputDef* in = find_input(goal.name)) {
      auto bound = state.values.find(goal.name);
      if (bound != state.values.end())
        return bound->second == goal.value && solve(std::move(goals), std::move(state), out);
      if (goal.value == nullptr || (in->where && !in->where(*goal.value))) return false;
      state.values[goal.name] = goal.value;
      return solve(std::move(goals), std::move(state), out);
    }
    const Pattern::NodeDef& def = *find_node(goal.name);
    if (goal.value == nullptr || goal.value->producer() == nullptr || goal.value->producer_output_index() != 0) {
      return false;
    }
    Node* node = goal.value->producer();
    auto bound = state.nodes.find(goal.name);
    if (bound != state.nodes.end()) return bound->second == node && solve(std::move(goals), std::move(state), out);
    for (const auto& [name, n] : state.nodes) {
      if (n == node) return false;  // one graph node, two pattern nodes
    }
    const size_t live = live_inputs(*node);
    if (!def.matcher.matches(*node) || live < def.inputs.size() || (live > def.inputs.size() && !def.more_inputs)) {
      return false;
    }
    for (size_t k = 1; k < node->num_outputs(); ++k) {
      if (node->output(k) != nullptr && !node->output(k)->uses().empty()) return false;
    }
    const int orders = def.commutative ? 2 : 1;
    for (int order = 0; order < orders; ++order) {
      PatternMatch next = state;
      next.nodes[goal.name] = node;
      std::vector<Goal> more = goals;
      for (size_t i = 0; i < def.inputs.size(); ++i) {
        const size_t from = order == 0 ? i : def.inputs.size() - 1 - i;
        more.push_back({def.inputs[i], node->input(from)});
      }
      if (solve(std::move(more), std::move(next), out)) return true;
    }
    return false;
  }

 private:
  // Number of inputs without the omitted trailing optional ones.
  static size_t live_inputs(const Node& n) {
    size_t count = n.num_inputs();
    while (count > 0 && n.input(count - 1) == nullptr) --count;
    return count;
  }

  const Pattern::InputDef* find_input(const std::string& name) const {
    for (const Pattern::InputDef& d : pattern_.inputs()) {
      if (d.name == name) return &d;
    }
    return nullptr;
  }
  const Pattern::NodeDef* find_node(const std::string& name) const {
    for (const Pattern::NodeDef& d : pattern_.nodes()) {
      if (d.name == name) return &d;
    }
    return nullptr;
  }

  // Every value between matched nodes stays inside the match.
  bool closed(const PatternMatch& m) const {
    if (m.nodes.size() != pattern_.nodes().size()) return false;
    for (const auto& [name, node] : m.nodes) {
      if (name == pattern_.root()) continue;
      const Value* out = node->output(0);
      if (graph_.is_graph_output(out)) return false;
      for (const Use& u : out->uses()) {
        const bool inside =
            std::any_of(m.nodes.begin(), m.nodes.end(), [&](const auto& entry) { return entry.second == u.node; });
        if (!inside) return false;
      }
    }
    return true;
  }

  const Graph& graph_;
  const Pattern& pattern_;
};

}  // namespace

std::optional<PatternMatch> match_pattern(const Graph& graph, const Pattern& pattern, Node& root) {
  if (root.num_outputs() < 1 || root.output(0) == nullptr) return std::nullopt;
  PatternMatch out;
  if (!PatternSolver(graph, pattern).solve({{pattern.root(), root.output(0)}}, {}, out)) return std::nullopt;
  return out;
}

ValuePredicate scalar_near(float expected, float tolerance) {
  return [expected, tolerance](const Value& v) {
    if (!v.is_constant() || v.constant->dtype() != DType::kFloat32 || v.constant->numel() != 1) return false;
    const float x = v.constant->data<float>()[0];
    return std::fabs(x - expected) <= tolerance * std::max(1.f, std::fabs(expected));
  };
}

}  // namespace qwac::ir
