#include "passes/fold_constant_nodes.h"

#include "ir/shape/tensor_params.h"

namespace qwac::passes {

bool FoldConstantNodes::run(ir::Model& model) {
  clear_notes();
  ir::Graph& g = *model.graph;
  bool changed = false;
  for (ir::Node* n : g.nodes()) {
    if (n->op_type() != "Constant" || !(n->domain().empty() || n->domain() == "ai.onnx")) continue;
    if (n->num_outputs() != 1 || n->output(0) == nullptr || g.is_graph_output(n->output(0))) continue;
    ir::Value* out = n->output(0);
    const Tensor value = ir::constant_attribute_value(*n);  // throws InvalidModel naming the node when malformed
    g.remove_node(n);  // `out` stays, without a producer: an initializer under the same name
    out->constant = value;
    out->type.dtype = value.dtype();
    ir::SymbolicShape shape;
    for (int64_t d : value.shape()) shape.push_back(ir::Dim{d, ""});
    out->type.shape = shape;
    changed = true;
  }
  return changed;
}

}  // namespace qwac::passes
