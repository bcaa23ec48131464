// A small builder of test graphs (default domain, opset 13 unless given): float inputs of a given shape and single-output nodes
// named after their op, shared by the pass and kernel tests.
#pragma once

#include <cstdint>
#include <memory>
#include <random>
#include <string>
#include <type_traits>
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
  // QuantizeLinear -> DequantizeLinear of `x` with a scalar scale and a zero point of type Z (uint8_t or int8_t;
  // an int literal means uint8_t): constants "<name>_s", "<name>_z", nodes "<name>_q", "<name>_dq". The integer
  // tensor (Q's output) through `quantized` when given.
  template <typename Z>
    requires(std::is_same_v<Z, uint8_t> || std::is_same_v<Z, int8_t>)
  ir::Value* qdq(const std::string& name, ir::Value* x, float scale, Z zp, ir::Value** quantized = nullptr) {
    ir::Value* s = g->add_constant(name + "_s", Tensor::from_values<float>({}, &scale));
    ir::Value* z = g->add_constant(name + "_z", Tensor::from_values<Z>({}, &zp));
    ir::Value* q = node("QuantizeLinear", {x, s, z}, name + "_q");
    q->type.dtype = kDTypeOf<Z>;
    if (quantized != nullptr) *quantized = q;
    return node("DequantizeLinear", {q, s, z}, name + "_dq");
  }
  ir::Value* qdq(const std::string& name, ir::Value* x, float scale, int zp, ir::Value** quantized = nullptr) {
    return qdq(name, x, scale, static_cast<uint8_t>(zp), quantized);
  }
};

}  // namespace qwac::testing
