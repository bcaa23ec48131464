// A graph rewrite. run() edits the model in place and returns whether it changed anything. One pass per file;
// the ordered lists live in passes/pass_list.h.
#pragma once

#include <string>

#include "ir/graph.h"

namespace qwac::passes {

class Pass {
 public:
  virtual ~Pass() = default;
  virtual std::string name() const = 0;
  virtual bool run(ir::Model& model) = 0;
};

}  // namespace qwac::passes
