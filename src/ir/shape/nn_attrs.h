// Attribute getters for the NN op family that name the node in their errors ("Conv 'c1': attribute 'group' ...").
//
// ir::Attributes throws InvalidModel without knowing which node it belongs to; shape inference and the reference
// kernels both read attributes through these so every message points at the offending node.
#pragma once

#include <string>
#include <utility>
#include <vector>

#include "ir/graph.h"
#include "qwac/error.h"

namespace qwac::ir::nn {

template <typename Fn>
decltype(auto) with_node_context(const Node& node, Fn&& fn) {
  try {
    return fn(node.attrs);
  } catch (const InvalidModel& e) {
    throw InvalidModel(node.describe() + ": " + e.what());
  }
}

inline int64_t attr_int(const Node& node, const std::string& name, int64_t fallback) {
  return with_node_context(node, [&](const Attributes& a) { return a.get_int(name, fallback); });
}
inline float attr_float(const Node& node, const std::string& name, float fallback) {
  return with_node_context(node, [&](const Attributes& a) { return a.get_float(name, fallback); });
}
inline std::string attr_string(const Node& node, const std::string& name, const std::string& fallback) {
  return with_node_context(node, [&](const Attributes& a) { return a.get_string(name, fallback); });
}
inline std::vector<int64_t> attr_ints(const Node& node, const std::string& name,
                                      const std::vector<int64_t>& fallback) {
  return with_node_context(node, [&](const Attributes& a) { return a.get_ints(name, fallback); });
}
inline int64_t attr_int_required(const Node& node, const std::string& name) {
  return with_node_context(node, [&](const Attributes& a) { return a.get_int(name); });
}

}  // namespace qwac::ir::nn
