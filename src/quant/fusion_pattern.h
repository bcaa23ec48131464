// Fusion patterns as data (NNCF's fused patterns): small DAGs of ops that a runtime executes as one kernel, read from
// the target-device configs (src/quant/hw_configs/*.json, "fusions"). Placement puts no quantizer on a value inside a
// matched pattern: the quantizer that would sit on the pattern's input moves to its output.
//
// A pattern is a list of nodes with ids; a node's inputs name either another node of the pattern or a free capture
// (any other name, e.g. "x"): every use of one capture name must bind the same value. The `output` node anchors the
// match. Example, hard-swish as PyTorch exports it below opset 14:
//
//   {"name": "hswish", "after": ["Conv", "Gemm"], "output": "y",
//    "nodes": [{"id": "h", "op": ["HardSigmoid"], "inputs": ["x"]},
//              {"id": "y", "op": ["Mul"], "inputs": ["x", "h"], "commutative": true}]}
//
// Activation patterns (the kind placement uses) have exactly one capture, the activation's input; `after` restricts
// the producer of that input (empty = any producer, a graph input included). A match also requires that every value
// produced inside the pattern except the output is read only inside it and is not a graph output (the standard
// fusion safety checks), and that the input is read only by the pattern: a second reader would need the unfused value.
// Only ONNX default-domain nodes match.
//
// (The engine's DAG matcher, ir/pattern.h, serves graph rewrites; this one serves placement and is data-driven. When
// both exist they should share the matching core.)
#pragma once

#include <map>
#include <optional>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "ir/graph.h"

namespace qwac::quant {

struct PatternNode {
  std::string id;
  std::vector<std::string> op_types;   // alternatives
  std::vector<std::string> inputs;     // node ids or capture names, positional
  bool commutative = false;            // two inputs that may appear in either order (Mul, Add)
};

struct FusionPattern {
  std::string name;
  std::vector<std::string> after;      // producer op types of the single capture (activation patterns); empty = any
  std::vector<PatternNode> nodes;      // topologically ordered: a node's node-inputs are listed before it
  std::string output;                  // id of the node whose output is the pattern's output

  // Capture names in order of first use.
  std::vector<std::string> captures() const;
};

struct PatternMatch {
  const FusionPattern* pattern = nullptr;
  std::map<std::string, const ir::Node*> nodes;     // by pattern node id
  std::map<std::string, const ir::Value*> captures; // by capture name
  const ir::Node* output_node() const { return nodes.at(pattern->output); }
  const ir::Value* output() const { return output_node()->output(0); }
};

// Parses one pattern (strict; InvalidConfig naming `where`): unknown ids, cycles, an output that is not a node, a
// commutative node without two inputs, an empty op list.
FusionPattern parse_fusion_pattern(const nlohmann::json& j, const std::string& where);

// Matches `pattern` anchored at `output_node` (the candidate for pattern.output); nullopt when it does not match.
std::optional<PatternMatch> match_pattern(const ir::Graph& graph, const FusionPattern& pattern,
                                          const ir::Node& output_node);

// The activation pattern (one capture) applied to value `x`: the first of `patterns` that matches with its capture
// bound to `x` and whose `after` accepts x's producer. nullopt when none does.
std::optional<PatternMatch> match_activation(const ir::Graph& graph, const std::vector<const FusionPattern*>& patterns,
                                             const ir::Value& x);

}  // namespace qwac::quant
