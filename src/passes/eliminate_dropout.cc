#include "passes/eliminate_dropout.h"

namespace qwac::passes {
namespace {

bool is_inference_noop(const ir::Graph& g, const ir::Node& n) {
  if (!n.domain().empty() || n.num_inputs() < 1 || n.input(0) == nullptr || n.output(0) == nullptr) return false;
  if (n.op_type() == "Identity") return n.num_outputs() == 1;
  if (n.op_type() != "Dropout") return false;
  const ir::Value* mask = n.output(1);
  if (mask != nullptr && (!mask->uses().empty() || g.is_graph_output(mask))) return false;  // the mask is used
  if (n.attrs.get_int("is_test", 1) == 0) return false;               // opset < 7 training flag
  const ir::Value* training = n.input(2);
  if (training == nullptr) return true;
  if (!training->is_constant() || training->constant->dtype() != DType::kBool) return false;
  return !training->constant->data<bool>()[0];
}

}  // namespace

bool EliminateDropout::run(ir::Model& model) {
  ir::Graph& g = *model.graph;
  bool changed = false;
  for (ir::Node* n : g.nodes()) {
    if (!is_inference_noop(g, *n) || g.is_graph_output(n->output(0))) continue;
    ir::Value* in = n->input(0);
    ir::Value* out = n->output(0);
    ir::Value* mask = n->output(1);
    g.replace_all_uses(out, in);
    g.remove_node(n);
    g.remove_value(out);
    if (mask != nullptr) g.remove_value(mask);
    changed = true;
  }
  return changed;
}

}  // namespace qwac::passes
