// A small structural pattern matcher for graph rewrites, in two forms; both only read the graph.
//   - Chains: match a node by op type(s) and a predicate, then walk to its single consumer or to its producers, each
//     step again by op type(s) and predicate (the fusion and quantization passes).
//   - DAG patterns with named captures (Pattern, match_pattern): a value may be read by several pattern nodes, as x
//     in x * HardSigmoid(x), which a chain cannot express (the recognizer passes, passes/recognize_activations.h).
//
// The single-consumer walk applies ONNX Runtime's standard safety checks for fusing a node into its consumer:
// the intermediate value has exactly one use and is not a graph output (otherwise removing it would change what
// the graph computes or exposes).
#pragma once

#include <functional>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "ir/graph.h"

namespace qwac::ir {

using NodePredicate = std::function<bool(const Node&)>;

// OpMatcher::domain that accepts a node of any domain (e.g. an activation: an ONNX op or com.qwac Activation).
inline constexpr const char* kAnyDomain = "*";

// Which nodes a pattern step accepts: one of `op_types` in `domain` (empty op_types = any op) satisfying `where`.
struct OpMatcher {
  std::vector<std::string> op_types;
  std::string domain;   // "" = ONNX default domain ("ai.onnx" is treated the same); kAnyDomain = every domain
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

// ---------------------------------------------------------------------------------------------------------------
// DAG patterns.

using ValuePredicate = std::function<bool(const Value&)>;

// A pattern over single-output nodes, written from its inputs to its root (the last node declared):
//   Pattern p;
//   p.input("x");
//   p.node("gate", op("HardSigmoid"), {"x"});
//   p.node("y", op("Mul"), {"x", "gate"}, /*commutative=*/true);   // matches x * HardSigmoid(x)
// An input name stands for one graph value wherever it appears (a capture); a node name for the output 0 of the
// node matched to it.
class Pattern {
 public:
  // An external value the pattern reads, optionally with a condition (e.g. a constant scalar of some value).
  Pattern& input(std::string name, ValuePredicate where = {});
  // A node matching `matcher` whose inputs, in order, are the named values (inputs or earlier nodes; the graph node
  // must have exactly that many inputs, omitted trailing optional inputs not counted, unless `more_inputs`: then
  // the named ones are its first inputs and the matcher judges the others, e.g. Clip's constant bounds).
  // `commutative`: a two-input node may match its inputs in either order.
  Pattern& node(std::string name, OpMatcher matcher, std::vector<std::string> inputs, bool commutative = false,
                bool more_inputs = false);
  const std::string& root() const;

  struct InputDef {
    std::string name;
    ValuePredicate where;
  };
  struct NodeDef {
    std::string name;
    OpMatcher matcher;
    std::vector<std::string> inputs;
    bool commutative = false;
    bool more_inputs = false;
  };
  const std::vector<InputDef>& inputs() const { return inputs_; }
  const std::vector<NodeDef>& nodes() const { return nodes_; }

 private:
  std::vector<InputDef> inputs_;
  std::vector<NodeDef> nodes_;
};

struct PatternMatch {
  std::map<std::string, Node*> nodes;    // pattern node name -> graph node
  std::map<std::string, Value*> values;  // pattern input name -> graph value
  Node* node(const std::string& name) const { return nodes.at(name); }
  Value* value(const std::string& name) const { return values.at(name); }
  // The matched nodes in the pattern's declaration order (inputs first, root last).
  std::vector<Node*> ordered(const Pattern& pattern) const;
};

// Matches `pattern` with its root at `root`. Every value between pattern nodes must be read only by matched nodes
// and not be a graph output (so the match can be replaced as a whole; the root's output may go anywhere), and no
// graph node is matched twice. Tries every order of commutative inputs (full backtracking).
std::optional<PatternMatch> match_pattern(const Graph& graph, const Pattern& pattern, Node& root);

// A constant float scalar (any shape of one element) within `tolerance` (relative) of `expected`.
ValuePredicate scalar_near(float expected, float tolerance = 1e-4f);

}  // namespace qwac::ir
