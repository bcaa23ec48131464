#include "passes/recognize_activations.h"

#include <algorithm>
#include <unordered_set>

#include "ir/activation.h"
#include "ir/fused_ops.h"
#include "passes/activation_patterns.h"
#include "passes/qdq/qdq_match.h"

namespace qwac::passes {
namespace {

// Replaces the matched nodes by `op_type` (domain `domain`) reading `x`, named as the root, writing its output.
void replace_match(ir::Graph& g, const ir::Pattern& pattern, const ir::PatternMatch& m, const std::string& op_type,
                   const std::string& domain, ir::Attributes attrs, std::unordered_set<const ir::Node*>& removed) {
  const std::vector<ir::Node*> nodes = m.ordered(pattern);
  ir::Node* root = nodes.back();
  ir::Value* out = root->output(0);
  const std::string name = root->name();
  std::vector<ir::Value*> read;   // constants the match read
  std::vector<ir::Value*> inner;  // values between the matched nodes
  for (ir::Node* n : nodes) {
    for (ir::Value* v : n->inputs()) read.push_back(v);
    if (n != root) inner.push_back(n->output(0));
  }
  for (size_t i = nodes.size(); i-- > 0;) {
    removed.insert(nodes[i]);
    g.remove_node(nodes[i]);
  }
  for (ir::Value* v : inner) g.remove_value(v);
  // The values between matched nodes are freed above; only what the match read from outside may be a constant
  // left without readers.
  std::erase_if(read, [&](ir::Value* v) { return std::find(inner.begin(), inner.end(), v) != inner.end(); });
  ir::Node* act = g.add_node(op_type, {m.value("x")}, {out}, name, domain);
  act->attrs = std::move(attrs);
  qdq::remove_dead_constants(g, std::move(read));
}

}  // namespace

bool RecognizeActivations::run(ir::Model& model) {
  clear_notes();
  ir::Graph& g = *model.graph;
  const int64_t opset = model.opset("");
  bool changed = false, created_qwac_op = false;
  for (bool again = true; again;) {
    again = false;
    // One order per sweep, not per row: sorting the graph for each of the rows was most of this pass's time (and of
    // compiling a ranking variant in the accuracy search). A root that an earlier row of the sweep created is not in
    // the order; the next sweep, which runs whenever a row matched, sees it. Every node a row deletes is in
    // `removed`, so a stale entry (or a new node at its address) is skipped.
    const std::vector<ir::Node*> order = g.topological_order();
    std::unordered_set<const ir::Node*> removed;
    for (const ActivationPattern& row : activation_patterns()) {
      for (ir::Node* root : order) {
        if (removed.count(root)) continue;
        const std::optional<ir::PatternMatch> m = ir::match_pattern(g, row.pattern, *root);
        if (!m) continue;
        const std::optional<ir::Activation> act = row.activation(*m, opset);
        if (!act) continue;
        const ir::ActivationFacts& facts = ir::activation_facts(act->kind);
        ir::Attributes attrs;
        if (target_ == Target::kOnnx) {
          if (facts.onnx_op.empty() || opset < facts.since_opset) continue;  // no ONNX op at this opset
          if (facts.num_params > 0) attrs.set(std::string(facts.params[0]), act->alpha);
          if (facts.num_params > 1) attrs.set(std::string(facts.params[1]), act->beta);
          replace_match(g, row.pattern, *m, std::string(facts.onnx_op), "", std::move(attrs), removed);
        } else {
          act->to_attributes(attrs);
          replace_match(g, row.pattern, *m, std::string(ir::kActivationOp), std::string(ir::kQwacDomain),
                        std::move(attrs), removed);
          created_qwac_op = true;
        }
        changed = again = true;
      }
    }
  }
  if (created_qwac_op) qdq::import_qwac_domain(model);
  return changed;
}

}  // namespace qwac::passes
