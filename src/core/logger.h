// Logger and progress interfaces. They are passed in (never global): the CLI installs a terminal logger, tests a
// silent one, the Python module a callback.
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

// Progress of one phase of work, reported per unit ("statistics 120/300").
class Progress {
 public:
  virtual ~Progress() = default;
  virtual void begin(std::string_view phase, int64_t total) = 0;
  virtual void advance(int64_t done) = 0;  // absolute count done so far
  virtual void end() = 0;
};

std::shared_ptr<Progress> make_null_progress();

}  // namespace qwac
