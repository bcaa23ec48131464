// Which values an integer graph input may take, read from how the graph uses it, so that random inputs (`qwac bench`,
// the `random` dataset) exercise a model the way real data does:
//   - indices of a Gather from a constant table (token ids into an embedding; position or segment ids), reached
//     directly or through Cast / Unsqueeze / Reshape / Squeeze / Flatten / Identity / Expand / Slice: [0, rows - 1]
//     of the smallest such table;
//   - otherwise an input whose name says it is a mask ("mask" in any case, as ONNX Runtime's benchmark tools read
//     it): ones, i.e. every position attended to.
// nullopt when the graph tells nothing (the caller keeps its own default).
#pragma once

#include <optional>
#include <string>

#include "ir/graph.h"

namespace qwac::ir {

struct IntegerInputRange {
  int64_t low = 0, high = 0;  // inclusive
  std::string why;            // "indices into 'tok.weight' (30522 rows)", "a mask: all ones"
};

std::optional<IntegerInputRange> integer_input_range(const Value& input);

}  // namespace qwac::ir
