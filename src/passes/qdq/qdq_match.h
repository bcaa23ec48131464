// Matching and rewriting helpers shared by the QDQ rules (passes/qdq/selectors.h, actions.h), FuseQuantizeDequantize
// and FuseConvActivation: what a per-tensor 8-bit DequantizeLinear / QuantizeLinear the int8 kernels can compute
// exactly looks like, fusable activations, replacing a matched chain by one fused node, and removal of the nodes and
// constants a fusion leaves without consumers.
#pragma once

#include <optional>
#include <string>
#include <string_view>
#include <unordered_set>
#include <utility>
#include <vector>

#include "ir/graph.h"
#include "ir/pattern.h"

namespace qwac::passes::qdq {

inline constexpr int64_t kDefaultQuantizeAxis = 1;  // QuantizeLinear / DequantizeLinear `axis` default
inline constexpr const char* kAsymmetricWeights = "the weights are asymmetric (a nonzero zero point)";

bool is_default_domain(const ir::Node& n);
bool is_8bit(DType t);
bool constant_float_scalar(const ir::Value* v);
bool constant_8bit_scalar(const ir::Value* v);
// The first opset-21 attribute (block_size, output_dtype, saturate) a Q / DQ uses, which no fused op models;
// nullptr when it uses none.
const char* extended_attribute(const ir::Node& n);
// A default-domain `op_type` (DequantizeLinear / QuantizeLinear) with one output and none of the opset-21
// attributes (block_size, output_dtype, saturate) the fused ops do not model.
bool plain_q_or_dq(const ir::Node& n, const char* op_type);
// Why `dq` is not a DequantizeLinear of uint8/int8 activations with a constant float scalar scale and a constant
// scalar zero point of the input's type (or none, which means uint8; an input of unknown type is accepted then);
// empty when it is.
std::string activation_dequantize_problem(const ir::Node& dq);
bool activation_dequantize(const ir::Node& dq);
// QuantizeLinear to 8 bits with a constant float scalar scale and a constant uint8/int8 scalar zero point.
bool output_quantize(const ir::Node& q);
// Matches the nodes that compute an activation of ir/activation.h with parameters known at compile time (an ONNX
// activation op, or com.qwac Activation).
ir::OpMatcher activation_matcher(int64_t opset);
// Sets the "activation" and "activation_params" attributes of a fused op for `act` (a node activation_matcher
// accepts); nothing when `act` is nullptr.
void set_activation(ir::Attributes& attrs, const ir::Node* act, int64_t opset);
// Why the zero point of a weights' DequantizeLinear is not absent or all zeros of type int8 (symmetric int8
// weights); kAsymmetricWeights for nonzero values; empty when it is.
std::string symmetric_weight_problem(const ir::Node& dq);

// Per-tensor quantization parameters of a Q or DQ.
struct QuantParams {
  float scale = 0.f;
  DType type = DType::kUInt8;
  int32_t zero_point = 0;
  bool operator==(const QuantParams&) const = default;
};
// The parameters of a default-domain Q/DQ without the opset-21 attributes, with a constant positive float scalar
// scale and a constant 8-bit scalar zero point (absent allowed when `zp_optional`: uint8 0); nullopt with `why`.
std::optional<QuantParams> per_tensor_params(const ir::Node& n, bool zp_optional, std::string& why);

// Same value, or constants with identical type, shape and bytes.
bool same_constant(const ir::Value* a, const ir::Value* b);
// The QuantizeLinear of a float tensor that produced `dq`'s input with the same scale and zero point, if any: a
// fused op can read that float tensor and quantize it itself.
ir::Node* float_source_quantize(const ir::Node& dq);

// Replaces `chain` (a node, then each next node the single consumer of the one before) by one com.qwac `op_type`
// node named as chain[0] with `inputs` and `attrs`, writing `out`, or the last node's output when `out` is nullptr
// (the caller made `out` and rewired the readers of the last output; it goes with the chain). The chain is unlinked
// from its end back and recorded in `removed`; the constants only its later nodes read (activation bounds, quantizer
// parameters, a bias row) go too. Returns the new node.
ir::Node* replace_chain(ir::Graph& g, const std::vector<ir::Node*>& chain, std::string_view op_type,
                        std::vector<ir::Value*> inputs, ir::Attributes attrs,
                        std::unordered_set<const ir::Node*>& removed, ir::Value* out = nullptr);

// Removes constant `v` once nothing reads it.
void remove_if_dead_constant(ir::Graph& g, ir::Value* v);
// remove_if_dead_constant for each of `values` (duplicates and nullptr allowed).
void remove_dead_constants(ir::Graph& g, std::vector<ir::Value*> values);
// Removes a single-output node whose output lost its last consumer, and the constants only it read; records it in
// `removed` (the passes iterate over a node order computed before the rewrites).
void remove_if_dead(ir::Graph& g, ir::Node* n, std::unordered_set<const ir::Node*>& removed);
// Adds the com.qwac opset import the fused ops need, once.
void import_qwac_domain(ir::Model& model);

}  // namespace qwac::passes::qdq
