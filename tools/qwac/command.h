// Each CLI sub-command lives in its own file and registers itself on the CLI11 app through one function listed in
// main.cc. Commands throw qwac::Error; main() turns it into one line and an exit code.
#pragma once

#include <CLI/CLI.hpp>

#include <functional>
#include <map>
#include <string>
#include <vector>

#include "core/shape.h"
#include "ir/graph.h"

namespace qwac::cli {

// A sub-command's action, run after parsing when the sub-command was chosen.
using Action = std::function<int()>;

Action add_inspect_command(CLI::App& app);
Action add_bench_command(CLI::App& app);
Action add_evaluate_command(CLI::App& app);
Action add_quantize_command(CLI::App& app);
Action add_sensitivity_command(CLI::App& app);
Action add_convert_command(CLI::App& app);

// Concrete input shapes for a model: declared shapes with dim 0 replaced by `batch` (when batch > 0 and the
// input has rank >= 1), then `--shape name=d0,d1,...` overrides. Symbolic dims left are an InvalidArgument
// naming the input and suggesting --shape.
std::map<std::string, Shape> resolve_input_shapes(const ir::Model& model, int64_t batch,
                                                  const std::vector<std::string>& shape_overrides);

// "float[1,3,224,224]", symbolic dims by name ("float[batch,10]"), "?" for unknown ones: a value type for humans.
std::string describe_type(const ir::TypeInfo& t);

}  // namespace qwac::cli
