// qwac's own opset adapters: how a default-domain node written for an older opset is rewritten when the model's
// opset is raised past a version where its op's definition changed (ONNX's docs/Changelog.md). One table row per
// (op, version): either compatible (the change only adds types or relaxes rules, so a node valid before means the
// same after) or an adapter that rewrites the node into the newer form with the same results.
//
// Why not ONNX's version converter (ONNX 1.12, Debian's): it needs the static shape of every Softmax input and
// asserts when one is unknown (the common case: real files declare no intermediate shapes), fails on any node of
// another domain, bakes the batch size into the Reshape it adds, drops Resize-10's asymmetric coordinates when it
// writes Resize-11 (whose default is half_pixel), and treats Hardmax 12 -> 13 as compatible although its axis
// semantics changed like Softmax's. Adapters here read shapes only where the rewrite depends on them, and then from
// qwac's own shape inference on the real input shapes (ValueTypes), falling back to a rank-independent form.
#pragma once

#include <cstdint>
#include <map>
#include <optional>
#include <span>
#include <stdexcept>
#include <string>
#include <string_view>

#include "ir/graph.h"

namespace qwac::onnxio {

// Concrete types of values by name for one sample, as qwac's shape inference computed them
// (runtime::infer_value_types); values absent here fall back to their declared type.
using ValueTypes = std::map<std::string, ir::TypeInfo>;

// Thrown by an adapter that cannot express a node in the newer opset with the same results. The message says why
// without naming the node (the driver prefixes it).
class AdaptDeclined : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

// What an adapter may read and create besides its node.
class AdaptContext {
 public:
  AdaptContext(ir::Graph& graph, const ValueTypes& types) : graph_(graph), types_(types) {}

  ir::Graph& graph() { return graph_; }
  // Inferred type of `v` when known, else its declared type (dtype kUndefined / no shape when unknown).
  ir::TypeInfo type_of(const ir::Value* v) const;
  std::optional<int64_t> rank_of(const ir::Value* v) const;
  // Contents of `v` when known without running the model: an initializer or a Constant node's `value`.
  const Tensor* constant_of(const ir::Value* v) const;
  // A new initializer named after `hint` (made unique).
  ir::Value* add_constant(const std::string& hint, Tensor data);
  // A node name not yet used in the graph, from `hint`.
  std::string unique_node_name(const std::string& hint) const;

 private:
  ir::Graph& graph_;
  const ValueTypes& types_;
};

// Rewrites `node` (valid at version - 1) into the form its op has at `version`. Returns the node that now stands
// for it (another one when the op is replaced, e.g. Upsample -> Resize). Helper nodes an adapter adds are written in
// their `version` form. Throws AdaptDeclined.
using AdaptFn = ir::Node* (*)(AdaptContext& ctx, ir::Node* node);

struct OpChange {
  std::string_view op_type;
  int64_t version;  // the default-domain opset at which op_type's schema changed (or was deprecated)
  AdaptFn adapt;    // nullptr: compatible, the node is kept as is
};

// The highest opset the table reaches: upgrades go up to it.
inline constexpr int64_t kMaxAdaptedOpset = 13;

// The row for (op_type, version); nullptr when qwac knows no adapter for that change.
const OpChange* find_op_change(std::string_view op_type, int64_t version);
std::span<const OpChange> op_changes();

}  // namespace qwac::onnxio
