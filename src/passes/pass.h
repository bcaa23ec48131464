// A graph rewrite. run() edits the model in place and returns whether it changed anything. One pass per file;
// the ordered lists live in passes/pass_list.h.
#pragma once

#include <string>
#include <utility>
#include <vector>

#include "ir/graph.h"

namespace qwac::passes {

// Why a pass left alone a node it looks for (a Conv whose weights are not an int8 DequantizeLinear, a MaxPool whose
// output is requantized with another scale, ...). The engine shows notes in its plan (`qwac inspect --plan`), so a
// user sees which parts of a QDQ model stay in float and why.
struct PassNote {
  std::string node_name;
  std::string op_type;
  std::string reason;
};

class Pass {
 public:
  virtual ~Pass() = default;
  virtual std::string name() const = 0;
  virtual bool run(ir::Model& model) = 0;

  // Notes of the last run() (a pass clears them when it starts).
  const std::vector<PassNote>& notes() const { return notes_; }

 protected:
  void clear_notes() { notes_.clear(); }
  void note(const ir::Node& n, std::string reason) { notes_.push_back({n.name(), n.op_type(), std::move(reason)}); }
  void add_note(PassNote n) { notes_.push_back(std::move(n)); }

 private:
  std::vector<PassNote> notes_;
};

}  // namespace qwac::passes
