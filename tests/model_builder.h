// A small builder of test graphs (default domain, opset 13 unless given): float inputs of a given shape and single-output nodes
// named after their op, shared by the pass and kernel tests.
#pragma once

#include <memory>
#include <random>
#include <string>
#include <vector>

#include "ir/graph.h"

namespace qwac::testing {

struct ModelBuilder {
  ir::Model model;
  ir::Graph* g;
  std::mt19937 rng;
  explicit ModelBuilder(unsigned seed = 17, int64_t opset = 13) : rng(seed) {
    model.ir_version = 8;
    model.opset_imports = {{"", opset}};
    model.graph = std::make_unique<ir::Graph>();
    g = model.graph.get();
  }
  ir::Value* input(const std::string& name, const Shape& shape) {
    ir::Value* v = g->add_value(name);
    v->type.dtype = DType::kFloat32;
    ir::SymbolicShape s;
    for (int64_t d : shape) s.push_back({d, ""});
    v->type.shape = s;
    g->add_input(v);
    return v;
  }
  // One node with one output named "<name>_out".
  ir::Value* node(const std::string& op, const std::vector<ir::Value*>& inputs, const std::string& name) {
    ir::Value* y = g->add_value(name + "_out");
    g->add_node(op, inputs, {y}, name);
    return y;
  }
};

}  // namespace qwac::testing
