// qwac's own ops (domain "com.qwac", opset 1), each defined once, as ONNX Runtime's contrib op definitions are:
// named inputs with their allowed element types, attributes with their defaults, what the op computes, and its
// shape function. The definitions register the ops' shape inference (ir/op_schema.h) with generic checks in front
// (required inputs present, no extra inputs, element types allowed, activation attributes valid). They exist only
// inside the engine's private copy of a model, created by the engine passes (passes/pass_list.h); the input
// positions used in code are the constants of ir/fused_ops.h.
#pragma once

#include <string_view>
#include <vector>

#include "core/dtype.h"
#include "ir/op_schema.h"

namespace qwac::ir {

struct QwacInputDef {
  std::string_view name;
  std::vector<DType> types;  // allowed element types
  bool optional = false;
  std::string_view doc;
};

struct QwacAttributeDef {
  std::string_view name;
  std::string_view type;           // "int", "ints", "float", "floats", "string"
  std::string_view default_value;  // as text; empty = required (or "absent" when documented so)
  std::string_view doc;
};

struct QwacOpDef {
  std::string_view op_type;
  std::string_view doc;  // what Y is
  // The ONNX op whose attributes it takes as well, all with that op's meaning and defaults ("" = none).
  std::string_view attributes_of;
  std::vector<QwacInputDef> inputs;
  std::vector<QwacAttributeDef> attributes;
  bool takes_activation = false;  // attributes activation / activation_params (ir/activation.h)
  ShapeInferenceFn infer;         // the op-specific checks and the output types and shapes
};

// Every com.qwac op, in a fixed order.
const std::vector<QwacOpDef>& qwac_op_defs();
// The definition of `op_type`; nullptr when com.qwac has no such op.
const QwacOpDef* find_qwac_op_def(std::string_view op_type);

}  // namespace qwac::ir
