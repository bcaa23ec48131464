// Turns every default-domain Constant node into an initializer of the same name: the recognizer and fusion passes
// read scales, epsilons and exponents as constant values (Value::constant), which exporters often write as Constant
// nodes. The engine would fold them at compile time anyway, after the passes; canonicalize's constant folding does
// the same before placement. A Constant whose output is a graph output is kept (an output needs a producer).
#pragma once

#include "passes/pass.h"

namespace qwac::passes {

class FoldConstantNodes final : public Pass {
 public:
  std::string name() const override { return "fold_constant_nodes"; }
  bool run(ir::Model& model) override;
};

}  // namespace qwac::passes
