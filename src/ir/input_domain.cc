#include "ir/input_domain.h"

#include <algorithm>
#include <cctype>
#include <set>
#include <vector>

namespace qwac::ir {
namespace {

// Ops that pass integer values through unchanged along input 0 (a view, a copy or a change of integer width).
const std::set<std::string>& passthrough_ops() {
  static const std::set<std::string> kOps = {"Cast",    "Unsqueeze", "Reshape", "Squeeze",
                                             "Flatten", "Identity",  "Expand",  "Slice"};
  return kOps;
}

bool is_default_domain(const Node& n) { return n.domain().empty() || n.domain() == "ai.onnx"; }

// Rows of the smallest constant table `v` indexes (through pass-through ops); -1 when it indexes none.
int64_t smallest_table(const Value* v, std::set<const Value*>& seen, std::string& table) {
  if (!seen.insert(v).second) return -1;
  int64_t best = -1;
  for (const Use& u : v->uses()) {
    const Node& n = *u.node;
    if (!is_default_domain(n)) continue;
    int64_t rows = -1;
    std::string name;
    if (n.op_type() == "Gather" && u.input_index == 1 && n.input(0) != nullptr && n.input(0)->is_constant()) {
      const Tensor& data = *n.input(0)->constant;
      const int64_t axis = n.attrs.get_int("axis", 0);
      const int64_t a = axis < 0 ? axis + data.rank() : axis;
      if (a >= 0 && a < data.rank()) {
        rows = data.shape()[static_cast<size_t>(a)];
        name = n.input(0)->name();
      }
    } else if (passthrough_ops().count(n.op_type()) != 0 && u.input_index == 0) {
      if (n.op_type() == "Cast") {  // a cast to float is no index any more
        const int64_t to = n.attrs.get_int("to", 0);
        if (to == 1 || to == 10 || to == 11 || to == 16) continue;
      }
      for (const Value* o : n.outputs()) {
        if (o == nullptr) continue;
        std::string inner;
        const int64_t r = smallest_table(o, seen, inner);
        if (r >= 0 && (rows < 0 || r < rows)) {
          rows = r;
          name = inner;
        }
      }
    }
    if (rows >= 0 && (best < 0 || rows < best)) {
      best = rows;
      table = name;
    }
  }
  return best;
}

bool names_a_mask(const std::string& name) {
  std::string lower = name;
  std::transform(lower.begin(), lower.end(), lower.begin(), [](unsigned char c) { return std::tolower(c); });
  return lower.find("mask") != std::string::npos;
}

}  // namespace

std::optional<IntegerInputRange> integer_input_range(const Value& input) {
  std::set<const Value*> seen;
  std::string table;
  const int64_t rows = smallest_table(&input, seen, table);
  if (rows > 0) {
    return IntegerInputRange{0, rows - 1, "indices into '" + table + "' (" + std::to_string(rows) + " rows)"};
  }
  if (names_a_mask(input.name())) return IntegerInputRange{1, 1, "a mask: all ones"};
  return std::nullopt;
}

}  // namespace qwac::ir
