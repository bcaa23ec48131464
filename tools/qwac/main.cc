// qwac command line: parses flags, runs one sub-command, and maps qwac::Error to one line and an exit code.
#include <CLI/CLI.hpp>

#include <cstdio>
#include <exception>

#include "command.h"
#include "qwac/resources.h"
#include "qwac/error.h"
#include "qwac/version.h"

int main(int argc, char** argv) {
  CLI::App app{"qwac: quantize ONNX models to 8 bits with accuracy control"};
  app.set_version_flag("--version", std::string("qwac ") + qwac::version());
  app.require_subcommand(1);
  app.fallthrough();  // global options may follow the sub-command
  std::string memory_limit;
  app.add_option("--memory-limit", memory_limit,
                 "Memory budget, e.g. 4G: the most qwac's tensors may hold at once and one decoded image or array may "
                 "take (default: the physical memory, ulimit -v or the cgroup limit; also QWAC_MEMORY_LIMIT)");
  std::vector<std::pair<CLI::App*, qwac::cli::Action>> commands;
  auto add = [&](qwac::cli::Action (*adder)(CLI::App&)) {
    const size_t before = app.get_subcommands({}).size();
    qwac::cli::Action action = adder(app);
    commands.emplace_back(app.get_subcommands({})[before], std::move(action));
  };
  add(qwac::cli::add_inspect_command);
  add(qwac::cli::add_bench_command);
  add(qwac::cli::add_evaluate_command);
  add(qwac::cli::add_quantize_command);
  add(qwac::cli::add_sensitivity_command);
  add(qwac::cli::add_convert_command);
  add(qwac::cli::add_report_command);
  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    if (e.get_exit_code() == 0) return app.exit(e);  // --help, --version
    // CLI11's own exit codes (104, 106...) are not the documented ones: a bad argument is 2, with one line.
    std::fprintf(stderr, "qwac: InvalidArgument: %s (see qwac --help)\n", e.what());
    return static_cast<int>(qwac::ErrorKind::kInvalidArgument);
  }
  try {
    if (!memory_limit.empty()) {
      const auto bytes = qwac::parse_byte_size(memory_limit);
      if (!bytes) throw qwac::InvalidArgument("--memory-limit '" + memory_limit + "': expected a size such as 4G or 512M");
      qwac::set_memory_budget(*bytes);
    }
    for (auto& [sub, action] : commands) {
      if (sub->parsed()) return action();
    }
    return 0;
  } catch (const qwac::Error& e) {
    std::fprintf(stderr, "qwac: %s: %s\n", qwac::error_kind_name(e.kind()), e.what());
    return e.exit_code();
  } catch (const std::bad_alloc&) {
    std::fprintf(stderr, "qwac: out of memory (try a smaller engine.batch_size or fewer streams)\n");
    return static_cast<int>(qwac::ErrorKind::kInternal);
  } catch (const std::exception& e) {
    std::fprintf(stderr, "qwac: internal error: %s\n", e.what());
    return static_cast<int>(qwac::ErrorKind::kInternal);
  }
}
