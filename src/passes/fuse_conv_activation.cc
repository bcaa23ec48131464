#include "passes/fuse_conv_activation.h"

#include <algorithm>
#include <optional>
#include <unordered_set>

#include "ir/activation.h"
#include "ir/fused_ops.h"
#include "ir/pattern.h"
#include "passes/qdq/qdq_match.h"

namespace qwac::passes {
namespace {

bool fully_known(const std::optional<ir::SymbolicShape>& s) {
  return s && std::all_of(s->begin(), s->end(), [](const ir::Dim& d) { return d.size >= 0; });
}

// The Add's operand that is not `from`, if it qualifies as a residual.
ir::Value* residual_of(const ir::Node& add, const ir::Value* from) {
  if (add.num_inputs() != 2) return nullptr;
  ir::Value* other = add.input(0) == from ? add.input(1) : add.input(0);
  if (other == nullptr || other == from || other->is_constant()) return nullptr;
  if (other->type.dtype != DType::kUndefined && other->type.dtype != DType::kFloat32) return nullptr;
  if (fully_known(other->type.shape) && fully_known(from->type.shape) && *other->type.shape != *from->type.shape) {
    return nullptr;
  }
  return other;
}

bool is_float_conv(const ir::Node& conv) {
  if (conv.num_outputs() != 1 || conv.num_inputs() < 2) return false;
  for (const ir::Value* v : {conv.input(0), conv.input(1), conv.output(0)}) {
    if (v != nullptr && v->type.dtype != DType::kUndefined && v->type.dtype != DType::kFloat32) return false;
  }
  return true;
}

}  // namespace

bool FuseConvActivation::run(ir::Model& model) {
  ir::Graph& g = *model.graph;
  const int64_t opset = model.opset("");
  if (opset < 7) return false;  // Add before opset 7 has legacy broadcast attributes
  const ir::OpMatcher conv_matcher = ir::with(ir::op("Conv"), is_float_conv);
  const ir::OpMatcher add_matcher = ir::op("Add");
  const ir::OpMatcher act_matcher = qdq::activation_matcher(opset);

  std::unordered_set<const ir::Node*> removed;
  bool changed = false;
  for (ir::Node* conv : g.topological_order()) {
    if (removed.count(conv)) continue;
    std::optional<ir::ChainMatch> m =
        ir::match_chain(g, *conv, conv_matcher, {{add_matcher, true}, {act_matcher, true}});
    if (!m) continue;
    ir::Node* add = m->steps[0];
    ir::Node* act = m->steps[1];
    ir::Value* residual = add != nullptr ? residual_of(*add, conv->output(0)) : nullptr;
    if (add != nullptr && residual == nullptr) {
      // The Add is not a residual: fuse only an activation directly after the Conv.
      add = nullptr;
      act = ir::single_consumer(g, *conv, act_matcher);
    }
    if (add == nullptr && act == nullptr) continue;

    ir::Attributes attrs = conv->attrs;
    qdq::set_activation(attrs, act, opset);
    std::vector<ir::Value*> inputs = {conv->input(0), conv->input(1), conv->input(2)};
    if (residual != nullptr) inputs.push_back(residual);
    while (!inputs.empty() && inputs.back() == nullptr) inputs.pop_back();
    std::vector<ir::Node*> chain = {conv};
    if (add != nullptr) chain.push_back(add);
    if (act != nullptr) chain.push_back(act);
    qdq::replace_chain(g, chain, ir::kFusedConvOp, std::move(inputs), std::move(attrs), removed);
    changed = true;
  }
  if (changed) qdq::import_qwac_domain(model);
  return changed;
}

}  // namespace qwac::passes
