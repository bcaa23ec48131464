// Matching helpers shared by the int8 fusion passes of element-wise and matrix ops (FuseQdqAdd, FuseQdqGemm): what
// a per-tensor 8-bit DequantizeLinear / QuantizeLinear the int8 kernels can compute exactly looks like, fusable
// activations, and removal of the quantize nodes a fusion leaves without consumers.
#pragma once

#include <optional>
#include <unordered_set>
#include <vector>

#include "ir/graph.h"

namespace qwac::passes::qdq {

bool is_default_domain(const ir::Node& n);
bool is_8bit(DType t);
bool constant_float_scalar(const ir::Value* v);
bool constant_8bit_scalar(const ir::Value* v);
// A default-domain `op_type` (DequantizeLinear / QuantizeLinear) with one output and none of the opset-21
// attributes (block_size, output_dtype, saturate) the fused ops do not model.
bool plain_q_or_dq(const ir::Node& n, const char* op_type);
// DequantizeLinear of uint8/int8 activations with a constant float scalar scale and a constant scalar zero point of
// the input's type (or none, which means uint8).
bool activation_dequantize(const ir::Node& dq);
// QuantizeLinear to 8 bits with a constant float scalar scale and a constant uint8/int8 scalar zero point.
bool output_quantize(const ir::Node& q);
// The bounds of a Relu ({}) or of a Clip whose bounds are known at compile time ({min, max}); nullopt otherwise.
std::optional<std::vector<float>> activation_params(const ir::Node& n, int64_t opset);
// Same value, or constants with identical type, shape and bytes.
bool same_constant(const ir::Value* a, const ir::Value* b);
// The QuantizeLinear of a float tensor that produced `dq`'s input with the same scale and zero point, if any: a
// fused op can read that float tensor and quantize it itself.
ir::Node* float_source_quantize(const ir::Node& dq);

// Removes constant `v` once nothing reads it.
void remove_if_dead_constant(ir::Graph& g, ir::Value* v);
// Removes a single-output node whose output lost its last consumer, and the constants only it read; records it in
// `removed` (the passes iterate over a node order computed before the rewrites).
void remove_if_dead(ir::Graph& g, ir::Node* n, std::unordered_set<const ir::Node*>& removed);
// Adds the com.qwac opset import the fused ops need, once.
void import_qwac_domain(ir::Model& model);

}  // namespace qwac::passes::qdq
