// Wall-clock seconds for phase timings in reports.
#pragma once

#include <chrono>

namespace qwac {

using SteadyClock = std::chrono::steady_clock;

inline double seconds_since(SteadyClock::time_point start) {
  return std::chrono::duration<double>(SteadyClock::now() - start).count();
}

}  // namespace qwac
