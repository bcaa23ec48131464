// Each CLI sub-command lives in its own file and registers itself on the CLI11 app through one function listed in
// main.cc. Commands use the public API only (include/qwac) and throw qwac::Error; main() turns it into one line and
// an exit code.
#pragma once

#include <CLI/CLI.hpp>

#include <functional>
#include <map>
#include <string>
#include <vector>

#include "qwac/report.h"
#include "qwac/shape.h"

namespace qwac::cli {

// A sub-command's action, run after parsing when the sub-command was chosen.
using Action = std::function<int()>;

Action add_inspect_command(CLI::App& app);
Action add_bench_command(CLI::App& app);
Action add_evaluate_command(CLI::App& app);
Action add_quantize_command(CLI::App& app);
Action add_sensitivity_command(CLI::App& app);
Action add_convert_command(CLI::App& app);
Action add_report_command(CLI::App& app);

// `--shape name=d0,d1,...` flags as input-shape overrides (InvalidArgument naming the malformed flag).
std::map<std::string, Shape> parse_shape_flags(const std::vector<std::string>& shape_flags);

// What a report of a CLI run adds to the algorithms' (report_command.cc): the config's path and text, when the report
// was written, the versions qwac was built with. IoError when the config cannot be read again.
void add_run_context(Report& report, const std::string& config_path);

// `--html FILE`: the report as one self-contained page, written atomically.
void write_html_report(const Report& report, const std::string& path);

}  // namespace qwac::cli
