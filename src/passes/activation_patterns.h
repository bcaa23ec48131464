// The decompositions of activations that exporters write, one row each: a DAG pattern (ir/pattern.h) whose input
// "x" is the activation's input and whose root computes activation(x), and the activation it computes. Read by
// passes/recognize_activations.h; placement and export can read the same rows.
#pragma once

#include <functional>
#include <optional>
#include <string>
#include <vector>

#include "ir/activation.h"
#include "ir/pattern.h"

namespace qwac::passes {

struct ActivationPattern {
  std::string name;  // "x * HardSigmoid(x)", for notes and tests
  ir::Pattern pattern;
  // The activation a match computes (constants checked by the pattern's predicates), or nullopt when the match's
  // parameters do not describe it.
  std::function<std::optional<ir::Activation>(const ir::PatternMatch&, int64_t opset)> activation;
};

// Every row, in the order they are tried: the ones whose result other rows read first (hard-sigmoid forms before
// x * HardSigmoid(x)).
const std::vector<ActivationPattern>& activation_patterns();

}  // namespace qwac::passes
