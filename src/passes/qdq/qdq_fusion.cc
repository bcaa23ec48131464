#include "passes/qdq/qdq_fusion.h"

#include <algorithm>
#include <set>
#include <unordered_set>

#include "ir/fused_ops.h"
#include "passes/qdq/qdq_match.h"
#include "passes/qdq/qdq_rules.h"

namespace qwac::passes {

QdqFusion::QdqFusion() : name_("qdq_fusion") {}

QdqFusion::QdqFusion(std::string name, std::vector<std::string> families)
    : name_(std::move(name)), families_(std::move(families)) {}

bool QdqFusion::run(ir::Model& model) {
  clear_notes();
  ir::Graph& g = *model.graph;
  const int64_t opset = model.opset("");
  const qdq::SelectContext select_ctx{g, opset};
  std::vector<PassNote> declined;   // in rule order, then topological order
  std::set<std::string> rewritten;  // names of the targets rewritten (the new op keeps the name)
  bool changed = false, created_qwac_op = false;
  for (const qdq::QdqRule& rule : qdq::qdq_rules()) {
    if (!families_.empty() && std::find(families_.begin(), families_.end(), rule.family) == families_.end()) continue;
    std::unordered_set<const ir::Node*> removed;  // nodes of the order below that a rewrite already deleted
    qdq::ActionContext action_ctx{g, opset, removed};
    for (ir::Node* n : g.topological_order()) {
      if (removed.count(n) || !rule.applies_to(*n)) continue;
      std::string why;
      const std::optional<qdq::NodeGroup> group = rule.selector->select(select_ctx, *n, why);
      if (!group) {
        if (!why.empty()) declined.push_back({n->name(), n->op_type(), why});
        continue;
      }
      const ir::Node* created = rule.action->apply(action_ctx, *group);
      rewritten.insert(created->name());
      created_qwac_op |= created->domain() == ir::kQwacDomain;
      changed = true;
    }
  }
  std::set<std::string> noted;
  for (PassNote& n : declined) {
    if (rewritten.count(n.node_name) || !noted.insert(n.node_name).second) continue;
    add_note(std::move(n));
  }
  if (created_qwac_op) qdq::import_qwac_domain(model);
  return changed;
}

}  // namespace qwac::passes
