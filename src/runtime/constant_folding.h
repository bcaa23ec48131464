// Graph-level constant folding and type inference, for passes that need a model whose tensors are known:
// quantization canonicalizes with them so that weights reached through Reshape/Transpose/Cast... of initializers
// become plain initializers, and every value carries its dtype and (for the given input shapes) its shape.
#pragma once

#include <map>
#include <string>

#include "core/shape.h"
#include "ir/graph.h"

namespace qwac::runtime {

// Replaces every node whose inputs are all constants with its result, computed by the reference kernels exactly as
// Engine::compile folds: the outputs become initializers with the same value names, the node is removed and
// constants left unused are removed. Nodes that depend only on shapes (Shape, Size) are folded when
// `fold_shape_reads` and `input_shapes` (or the declared input shapes) fix the shapes they read; a model meant to be
// saved keeps them (fold_shape_reads = false), so a batch-1 declaration does not become a batch-1-only model. A node producing a graph output is kept (its consumers
// still fold). Never folds QuantizeLinear/DequantizeLinear (nor anything reading them: QDQ structure is kept) or
// random ops; a node without a reference kernel, or whose shapes are unknown, is left as is. Returns whether
// anything changed.
bool fold_constants(ir::Model& model, const std::map<std::string, Shape>& input_shapes = {},
                    bool fold_shape_reads = true);

// Fills Value::type (dtype and concrete shape) of every value by shape inference from the graph inputs' shapes
// (`input_shapes` overrides declared ones; symbolic dims without an override are InvalidArgument naming the input).
void infer_value_types(ir::Model& model, const std::map<std::string, Shape>& input_shapes = {});

}  // namespace qwac::runtime
