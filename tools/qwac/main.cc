// qwac command line: parses flags, runs one sub-command, and maps qwac::Error to one line and an exit code.
#include <CLI/CLI.hpp>

#include <cstdio>
#include <exception>

#include "command.h"
#include "qwac/error.h"
#include "qwac/version.h"

int main(int argc, char** argv) {
  CLI::App app{"qwac: quantize ONNX models to 8 bits with accuracy control"};
  app.set_version_flag("--version", std::string("qwac ") + qwac::version());
  app.require_subcommand(1);
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
  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    return app.exit(e);
  }
  try {
    for (auto& [sub, action] : commands) {
      if (sub->parsed()) return action();
    }
    return 0;
  } catch (const qwac::Error& e) {
    std::fprintf(stderr, "qwac: %s: %s\n", qwac::error_kind_name(e.kind()), e.what());
    return e.exit_code();
  } catch (const std::bad_alloc&) {
    std::fprintf(stderr, "qwac: out of memory (try a smaller --batch)\n");
    return static_cast<int>(qwac::ErrorKind::kInternal);
  } catch (const std::exception& e) {
    std::fprintf(stderr, "qwac: internal error: %s\n", e.what());
    return static_cast<int>(qwac::ErrorKind::kInternal);
  }
}
