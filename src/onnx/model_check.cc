#include "onnx/model_check.h"

#include <onnx/onnx_pb.h>

#include <map>
#include <set>
#include <string>
#include <vector>

#include "qwac/error.h"

namespace qwac::onnxio {
namespace {

// What an integer attribute (or each element of an integer-list attribute) must satisfy.
enum class Bound { kPositive, kNonNegative };

struct AttributeRule {
  std::vector<const char*> ops;  // default-domain op types
  const char* attribute;
  Bound bound;
};

// Integer attributes that ONNX's shape inference divides by, or that size an output, for the ops that have them.
// One row per fact; a new op with such an attribute is one more row.
const std::vector<AttributeRule>& attribute_rules() {
  static const std::vector<const char*> kConvLike = {"Conv", "ConvTranspose", "ConvInteger", "QLinearConv",
                                                     "DeformConv"};
  static const std::vector<const char*> kPools = {"MaxPool", "AveragePool", "LpPool", "MaxUnpool"};
  static const std::vector<const char*> kWindowed = {"Conv",    "ConvTranspose", "ConvInteger", "QLinearConv",
                                                     "DeformConv", "MaxPool",    "AveragePool", "LpPool",
                                                     "MaxUnpool", "Col2Im"};
  static const std::vector<AttributeRule> rules = {
      {kWindowed, "strides", Bound::kPositive},
      {kWindowed, "dilations", Bound::kPositive},
      {kWindowed, "kernel_shape", Bound::kPositive},
      {kConvLike, "group", Bound::kPositive},
      {{"DeformConv"}, "offset_group", Bound::kPositive},
      {kPools, "pads", Bound::kNonNegative},
      {{"ConvTranspose"}, "output_padding", Bound::kNonNegative},
      {{"ConvTranspose"}, "output_shape", Bound::kNonNegative},
      {{"MaxRoiPool"}, "pooled_shape", Bound::kPositive},
      {{"RoiAlign"}, "output_height", Bound::kPositive},
      {{"RoiAlign"}, "output_width", Bound::kPositive},
      {{"RoiAlign"}, "sampling_ratio", Bound::kNonNegative},
      {{"SpaceToDepth", "DepthToSpace"}, "blocksize", Bound::kPositive},
      {{"LRN"}, "size", Bound::kPositive},
      {{"LpPool", "LpNormalization"}, "p", Bound::kPositive},
  };
  return rules;
}

bool is_default_domain(const std::string& domain) { return domain.empty() || domain == "ai.onnx"; }

std::string node_what(const onnx::NodeProto& n, int index) {
  return n.op_type() + " '" + (n.name().empty() ? n.op_type() + "_" + std::to_string(index) : n.name()) + "'";
}

void check_value(const onnx::NodeProto& n, int index, const AttributeRule& rule, int64_t v) {
  const bool ok = rule.bound == Bound::kPositive ? v >= 1 : v >= 0;
  if (ok) return;
  throw InvalidModel(node_what(n, index) + " attribute '" + rule.attribute + "' holds " + std::to_string(v) +
                     "; expected " + (rule.bound == Bound::kPositive ? "values >= 1" : "values >= 0") +
                     " (fix or re-export the model)");
}

void check_node(const onnx::NodeProto& n, int index) {
  if (!is_default_domain(n.domain())) return;
  for (const AttributeRule& rule : attribute_rules()) {
    bool applies = false;
    for (const char* op : rule.ops) applies = applies || n.op_type() == op;
    if (!applies) continue;
    for (const onnx::AttributeProto& a : n.attribute()) {
      if (a.name() != rule.attribute) continue;
      if (a.has_i()) check_value(n, index, rule, a.i());
      for (int64_t v : a.ints()) check_value(n, index, rule, v);
    }
  }
}

// Every tensor a node reads and every graph output is defined exactly once (graph input, initializer or node
// output). qwac's import says the same later; ONNX's version converter, which runs first on old opsets, dereferences
// a null value for an undefined graph output (SIGSEGV, found by the libFuzzer campaign).
void check_definitions(const onnx::GraphProto& graph) {
  std::set<std::string> defined;
  for (const auto& in : graph.input()) defined.insert(in.name());
  for (const auto& init : graph.initializer()) defined.insert(init.name());
  for (int i = 0; i < graph.node_size(); ++i) {
    for (const std::string& out : graph.node(i).output()) {
      if (out.empty()) continue;
      if (!defined.insert(out).second) {
        throw InvalidModel("output '" + out + "' of " + node_what(graph.node(i), i) +
                           " is already defined (every tensor must have a single definition)");
      }
    }
  }
  for (int i = 0; i < graph.node_size(); ++i) {
    for (const std::string& in : graph.node(i).input()) {
      if (!in.empty() && defined.count(in) == 0) {
        throw InvalidModel(node_what(graph.node(i), i) + " input '" + in +
                           "' is neither a graph input, an initializer nor a node output");
      }
    }
  }
  for (const auto& out : graph.output()) {
    if (defined.count(out.name()) == 0) {
      throw InvalidModel("graph output '" + out.name() + "' is neither a graph input, an initializer nor a node output");
    }
  }
}

}  // namespace

void check_model_proto(const onnx::ModelProto& proto) {
  std::map<std::string, int64_t> versions;
  for (const auto& op : proto.opset_import()) {
    const bool is_default = is_default_domain(op.domain());
    const auto [it, inserted] = versions.emplace(is_default ? std::string() : op.domain(), op.version());
    if (!inserted) {
      throw InvalidModel("model imports " +
                         (is_default ? std::string("the default domain ('' / 'ai.onnx')") : "domain '" + op.domain() + "'") +
                         " twice in opset_import (versions " + std::to_string(it->second) + " and " +
                         std::to_string(op.version()) + "); keep one entry per domain");
    }
  }
  const onnx::GraphProto& graph = proto.graph();
  if (graph.output_size() == 0) {
    throw InvalidModel("graph '" + graph.name() + "' declares no outputs; a model must have at least one");
  }
  for (int i = 0; i < graph.node_size(); ++i) check_node(graph.node(i), i);
  check_definitions(graph);
}

}  // namespace qwac::onnxio
