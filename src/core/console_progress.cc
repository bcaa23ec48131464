// Console progress (qwac/logger.h make_console_progress): a redrawn bar with rate and ETA on a terminal; plain lines
// (every ~10 %) otherwise, so logs stay readable when stderr is a file or a CI console.
#include "qwac/logger.h"

#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <string>

namespace qwac {

namespace {

std::string format_seconds(double s) {
  char buf[32];
  if (s < 60) {
    std::snprintf(buf, sizeof buf, "%.0fs", s);
  } else if (s < 3600) {
    std::snprintf(buf, sizeof buf, "%dm%02ds", static_cast<int>(s) / 60, static_cast<int>(s) % 60);
  } else {
    std::snprintf(buf, sizeof buf, "%dh%02dm", static_cast<int>(s) / 3600, (static_cast<int>(s) % 3600) / 60);
  }
  return buf;
}

class TerminalProgress final : public Progress {
 public:
  explicit TerminalProgress(bool tty) : tty_(tty) {}

  void begin(std::string_view phase, int64_t total) override {
    phase_ = std::string(phase);
    total_ = total;
    done_ = 0;
    last_reported_decile_ = -1;
    start_ = last_draw_ = std::chrono::steady_clock::now();
    draw(true);
  }
  void advance(int64_t done) override {
    done_ = done;
    draw(false);
  }
  void end() override {
    draw(true);
    if (tty_) std::fputc('\n', stderr);
  }

 private:
  void draw(bool force) {
    const auto now = std::chrono::steady_clock::now();
    const double elapsed = std::chrono::duration<double>(now - start_).count();
    const double rate = elapsed > 0 ? static_cast<double>(done_) / elapsed : 0;
    const double eta = rate > 0 ? static_cast<double>(total_ - done_) / rate : 0;
    if (tty_) {
      if (!force && std::chrono::duration<double>(now - last_draw_).count() < 0.1) return;
      last_draw_ = now;
      constexpr int kWidth = 30;
      const int filled = total_ > 0 ? static_cast<int>(kWidth * done_ / total_) : 0;
      std::string bar(static_cast<size_t>(filled), '#');
      bar.resize(kWidth, '.');
      std::fprintf(stderr, "\r%s [%s] %lld/%lld  %.1f/s  elapsed %s  ETA %s   ", phase_.c_str(), bar.c_str(),
                   static_cast<long long>(done_), static_cast<long long>(total_), rate,
                   format_seconds(elapsed).c_str(), format_seconds(eta).c_str());
      std::fflush(stderr);
      return;
    }
    const int decile = total_ > 0 ? static_cast<int>(10 * done_ / total_) : 10;
    if (decile == last_reported_decile_) return;
    last_reported_decile_ = decile;
    std::fprintf(stderr, "%s %lld/%lld (%.1f/s, ETA %s)\n", phase_.c_str(), static_cast<long long>(done_),
                 static_cast<long long>(total_), rate, format_seconds(eta).c_str());
  }

  bool tty_;
  std::string phase_;
  int64_t total_ = 0, done_ = 0;
  int last_reported_decile_ = -1;
  std::chrono::steady_clock::time_point start_, last_draw_;
};

}  // namespace

std::shared_ptr<Progress> make_console_progress(bool quiet) {
  if (quiet) return make_null_progress();
  return std::make_shared<TerminalProgress>(isatty(STDERR_FILENO) != 0);
}

}  // namespace qwac
