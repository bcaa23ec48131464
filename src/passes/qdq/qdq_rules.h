// The QDQ rule table: which selector finds node groups around which ops and which action rewrites them, one row
// per rule, in the order they are applied (one sweep over the graph per rule). ONNX Runtime's
// qdq_selector_action_transformer.cc is the model. A new integer op for a QDQ pattern is a row here (plus its
// kernels); a new graph shape around an existing op is a selector.
#pragma once

#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "passes/qdq/actions.h"
#include "passes/qdq/selectors.h"

namespace qwac::passes::qdq {

struct QdqRule {
  std::string family;                 // the historical pass it belongs to: "int8_ops", "conv", "add", "mul", "layer_norm", "gemm"
  std::vector<std::string> op_types;  // default-domain target ops
  std::shared_ptr<const Selector> selector;
  std::shared_ptr<const Action> action;

  bool applies_to(const ir::Node& n) const;
};

// The table, in application order.
const std::vector<QdqRule>& qdq_rules();

}  // namespace qwac::passes::qdq
