#include "core/logger.h"

#include <cstdio>
#include <mutex>

namespace qwac {
namespace {

constexpr const char* kLevelNames[] = {"debug", "info", "warning", "error", "silent"};

class StderrLogger final : public Logger {
 public:
  explicit StderrLogger(LogLevel min_level) : min_level_(min_level) {}
  void log(LogLevel level, std::string_view message) override {
    if (level < min_level_) return;
    std::lock_guard<std::mutex> lock(mutex_);
    std::fprintf(stderr, "[qwac] %s: %.*s\n", kLevelNames[static_cast<int>(level)], static_cast<int>(message.size()),
                 message.data());
  }

 private:
  LogLevel min_level_;
  std::mutex mutex_;
};

class NullLogger final : public Logger {
 public:
  void log(LogLevel, std::string_view) override {}
};

class NullProgress final : public Progress {
 public:
  void begin(std::string_view, int64_t) override {}
  void advance(int64_t) override {}
  void end() override {}
};

}  // namespace

std::shared_ptr<Logger> make_stderr_logger(LogLevel min_level) { return std::make_shared<StderrLogger>(min_level); }
std::shared_ptr<Logger> make_null_logger() { return std::make_shared<NullLogger>(); }
std::shared_ptr<Progress> make_null_progress() { return std::make_shared<NullProgress>(); }

}  // namespace qwac
