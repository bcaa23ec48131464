#include "core/resource_limits.h"

#if defined(__GLIBC__)
#include <malloc.h>
#endif

#include <sys/resource.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cctype>
#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <limits>

namespace qwac {
namespace {

constexpr uint64_t kUnlimited = std::numeric_limits<uint64_t>::max();

uint64_t physical_memory() {
  const long pages = ::sysconf(_SC_PHYS_PAGES);
  const long page_size = ::sysconf(_SC_PAGE_SIZE);
  if (pages <= 0 || page_size <= 0) return kUnlimited;
  return static_cast<uint64_t>(pages) * static_cast<uint64_t>(page_size);
}

uint64_t rlimit_bytes(int resource) {
  rlimit r{};
  if (::getrlimit(resource, &r) != 0 || r.rlim_cur == RLIM_INFINITY) return kUnlimited;
  return static_cast<uint64_t>(r.rlim_cur);
}

// cgroup v2 limit of this process's group ("max" = none); containers set it.
uint64_t cgroup_memory_max() {
  std::ifstream f("/sys/fs/cgroup/memory.max");
  std::string text;
  if (!(f >> text) || text == "max") return kUnlimited;
  const auto v = parse_byte_size(text);
  return v ? *v : kUnlimited;
}

uint64_t default_budget() {
  if (const char* env = std::getenv("QWAC_MEMORY_LIMIT")) {
    if (const auto v = parse_byte_size(env)) return *v;
    std::fprintf(stderr, "[qwac] warning: ignoring QWAC_MEMORY_LIMIT='%s' (expected e.g. 4G, 512M)\n", env);
  }
  uint64_t budget = std::min({physical_memory(), rlimit_bytes(RLIMIT_AS), rlimit_bytes(RLIMIT_DATA),
                              cgroup_memory_max()});
  return budget == kUnlimited ? (uint64_t{1} << 40) : budget;
}

std::atomic<uint64_t> g_override{0};

}  // namespace

uint64_t memory_budget() {
  const uint64_t o = g_override.load(std::memory_order_relaxed);
  if (o != 0) return o;
  static const uint64_t kDefault = default_budget();
  return kDefault;
}

void set_memory_budget(uint64_t bytes) { g_override.store(bytes, std::memory_order_relaxed); }

bool fits_memory_budget(uint64_t bytes) { return bytes <= memory_budget(); }

std::string memory_budget_hint() {
  return " (memory budget " + describe_bytes(memory_budget()) +
         ": raise it with --memory-limit or QWAC_MEMORY_LIMIT if this is intended)";
}

std::string describe_bytes(uint64_t bytes) {
  static const char* const kUnits[] = {"B", "KiB", "MiB", "GiB", "TiB", "PiB", "EiB"};
  double v = static_cast<double>(bytes);
  size_t unit = 0;
  while (v >= 1024.0 && unit + 1 < std::size(kUnits)) {
    v /= 1024.0;
    ++unit;
  }
  char buf[48];
  if (unit == 0) {
    std::snprintf(buf, sizeof(buf), "%llu B", static_cast<unsigned long long>(bytes));
  } else {
    std::snprintf(buf, sizeof(buf), "%.1f %s", v, kUnits[unit]);
  }
  return buf;
}

std::optional<uint64_t> parse_byte_size(const std::string& text) {
  size_t i = 0;
  uint64_t value = 0;
  while (i < text.size() && std::isdigit(static_cast<unsigned char>(text[i]))) {
    const uint64_t digit = static_cast<uint64_t>(text[i] - '0');
    if (value > (kUnlimited - digit) / 10) return std::nullopt;
    value = value * 10 + digit;
    ++i;
  }
  if (i == 0) return std::nullopt;
  std::string suffix = text.substr(i);
  for (char& c : suffix) c = static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
  for (const char* tail : {"IB", "B"}) {
    const std::string t(tail);
    if (suffix.size() >= t.size() && suffix.compare(suffix.size() - t.size(), t.size(), t) == 0 &&
        (suffix.size() > t.size() || t == "B")) {
      suffix.resize(suffix.size() - t.size());
      break;
    }
  }
  int shift = 0;
  if (suffix == "K") shift = 10;
  else if (suffix == "M") shift = 20;
  else if (suffix == "G") shift = 30;
  else if (suffix == "T") shift = 40;
  else if (!suffix.empty()) return std::nullopt;
  if (value == 0 || value > (kUnlimited >> shift)) return std::nullopt;
  return value << shift;
}

std::optional<uint64_t> checked_product(std::initializer_list<int64_t> factors) {
  constexpr uint64_t kMax = static_cast<uint64_t>(std::numeric_limits<int64_t>::max());
  uint64_t p = 1;
  for (int64_t f : factors) {
    if (f < 0) return std::nullopt;
    const auto u = static_cast<uint64_t>(f);
    if (u != 0 && p > kMax / u) return std::nullopt;
    p *= u;
  }
  return p;
}

void release_free_heap() {
#if defined(__GLIBC__)
  malloc_trim(0);
#endif
}

}  // namespace qwac
