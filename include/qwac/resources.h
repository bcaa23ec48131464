// qwac public API: resource limits checked before work or allocation, so that a hostile or damaged input (an
// initializer declaring 2^40 elements, a PNG header declaring 30000x30000 pixels, a config asking for 100000
// threads) ends with one line naming the object instead of minutes of work and an out-of-memory kill.
//
// The memory budget is the most bytes one input may make qwac allocate at once (one tensor, one decoded image, one
// array). It is a property of the process, like its rlimits, from which its default comes: the smallest of the
// physical memory, RLIMIT_AS / RLIMIT_DATA (`ulimit -v`) and the cgroup's memory.max. The environment variable
// QWAC_MEMORY_LIMIT (read once, e.g. "4G", "512M", "1000000") or set_memory_budget() (the CLI's --memory-limit,
// the Python module's qwac.set_memory_limit) lower or raise it.
#pragma once

#include <cstdint>
#include <optional>
#include <string>

namespace qwac {

// The budget in bytes (never 0).
uint64_t memory_budget();
// Overrides the budget for the rest of the process; 0 restores the default. Call it at a boundary (CLI main, the
// Python module), before work starts.
void set_memory_budget(uint64_t bytes);

// "512 B", "3.2 MiB", "2.7 GiB".
std::string describe_bytes(uint64_t bytes);
// "4G", "512M", "64k", "1000000" (binary multiples; optional "B"/"iB" suffix). nullopt when malformed or zero.
std::optional<uint64_t> parse_byte_size(const std::string& text);

// The largest thread, stream or loader count qwac accepts: far above any useful value on one machine, far below
// what makes the OpenMP runtime abort while creating threads.
inline constexpr int64_t kMaxThreads = 1024;

}  // namespace qwac
