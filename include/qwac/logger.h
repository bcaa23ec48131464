// qwac public API: logger and progress interfaces. They are passed in (never global): the CLI installs a terminal
// logger and progress, tests silent ones, the Python module callbacks.
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <string_view>

namespace qwac {

enum class LogLevel : int { kDebug = 0, kInfo = 1, kWarning = 2, kError = 3, kSilent = 4 };

class Logger {
 public:
  virtual ~Logger() = default;
  virtual void log(LogLevel level, std::string_view message) = 0;
  void debug(std::string_view m) { log(LogLevel::kDebug, m); }
  void info(std::string_view m) { log(LogLevel::kInfo, m); }
  void warning(std::string_view m) { log(LogLevel::kWarning, m); }
};

// Writes "[qwac] level: message" lines to stderr for messages at or above `min_level`.
std::shared_ptr<Logger> make_stderr_logger(LogLevel min_level);
// Drops everything (tests, library defaults).
std::shared_ptr<Logger> make_null_logger();

// Progress of one phase of work, reported per unit ("statistics 120/300"). Called from the thread that runs the
// phase (one phase at a time), never concurrently.
class Progress {
 public:
  virtual ~Progress() = default;
  virtual void begin(std::string_view phase, int64_t total) = 0;
  virtual void advance(int64_t done) = 0;  // absolute count done so far
  virtual void end() = 0;
};

std::shared_ptr<Progress> make_null_progress();

// What the CLI shows on stderr: on a terminal, a bar redrawn in place with the rate and ETA
// ("evaluate [#####.....] 120/300  41.2/s  elapsed 3s  ETA 4s"); otherwise (a file, a CI log) plain lines every
// ~10 %. `quiet` = make_null_progress().
std::shared_ptr<Progress> make_console_progress(bool quiet = false);

}  // namespace qwac
