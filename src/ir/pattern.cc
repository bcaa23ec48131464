#include "ir/pattern.h"

#include <algorithm>

namespace qwac::ir {

namespace {
std::string normalize_domain(const std::string& d) { return d == "ai.onnx" ? "" : d; }
}  // namespace

bool OpMatcher::matches(const Node& node) const {
  if (normalize_domain(node.domain()) != normalize_domain(domain)) return false;
  if (!op_types.empty() && std::find(op_types.begin(), op_types.end(), node.op_type()) == op_types.end()) {
    return false;
  }
  return !where || where(node);
}

OpMatcher op(const std::string& op_type, const std::string& domain) { return OpMatcher{{op_type}, domain, {}}; }
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

}  // namespace qwac::ir
