// A small structural pattern matcher for graph rewrites: match a node by op type(s) and a predicate, then walk to
// its single consumer or to its producers, each step again by op type(s) and predicate. Used by the fusion passes
// and the quantization passes; it only reads the graph.
//
// The single-consumer walk applies ONNX Runtime's standard safety checks for fusing a node into its consumer:
// the intermediate value has exactly one use and is not a graph output (otherwise removing it would change what
// the graph computes or exposes).
#pragma once

#include <functional>
#include <optional>
#include <string>
#include <vector>

#include "ir/graph.h"

namespace qwac::ir {

using NodePredicate = std::function<bool(const Node&)>;

// Which nodes a pattern step accepts: one of `op_types` in `domain` (empty op_types = any op) satisfying `where`.
struct OpMatcher {
  std::vector<std::string> op_types;
  std::string domain;  // "" = ONNX default domain ("ai.onnx" is treated the same)
  NodePredicate where;  // optional

  bool matches(const Node& node) const;
};

// Shorthands: op("Relu"), ops({"Relu", "Clip"}), op("Add").with(pred).
OpMatcher op(const std::string& op_type, const std::string& domain = "");
OpMatcher ops(std::vector<std::string> op_types, const std::string& domain = "");
OpMatcher with(OpMatcher m, NodePredicate where);

// The value's only consumer, when it has exactly one use, is not a graph output, and the consumer matches.
Node* single_consumer(const Graph& graph, const Value* value, const OpMatcher& matcher);
// Same for output `output_index` of `node`.
Node* single_consumer(const Graph& graph, const Node& node, const OpMatcher& matcher, size_t output_index = 0);
// The producer of input `input_index` of `node` when it exists and matches (constants and graph inputs have none).
Node* producer(const Node& node, size_t input_index, const OpMatcher& matcher);

// A chain root -> consumer -> consumer ..., each step following output 0 through single_consumer. Optional steps
// that do not match are skipped (their slot in the result is nullptr); a required step that does not match fails
// the whole match.
struct ChainStep {
  OpMatcher matcher;
  bool optional = false;
};
struct ChainMatch {
  Node* root = nullptr;
  std::vector<Node*> steps;  // one slot per ChainStep, nullptr for skipped optional steps
  Node* last() const;        // the last matched node (root when every step was skipped)
};
std::optional<ChainMatch> match_chain(const Graph& graph, Node& root, const OpMatcher& root_matcher,
                                      const std::vector<ChainStep>& steps);

}  // namespace qwac::ir
