// Removes inference no-ops: Identity, and Dropout whose mask output is absent or unused in inference mode (no
// training_mode input, or a constant false one). The consumers read the node's input directly. A node whose
// output is a graph output is kept (the output name must not change).
#pragma once

#include "passes/pass.h"

namespace qwac::passes {

class EliminateDropout final : public Pass {
 public:
  std::string name() const override { return "eliminate_dropout"; }
  bool run(ir::Model& model) override;
};

}  // namespace qwac::passes
