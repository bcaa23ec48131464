// Resource limits checked *before* work or allocation, so that a hostile or damaged input (an initializer declaring
// 2^40 elements, a PNG header declaring 30000x30000 pixels, a config asking for 100000 threads) ends with one line
// naming the object instead of minutes of work and an out-of-memory kill.
//
// The memory budget is the most bytes one input may make qwac allocate at once (one tensor, one decoded image, one
// array). It is a property of the process, like its rlimits, from which its default comes: the smallest of the
// physical memory, RLIMIT_AS / RLIMIT_DATA (`ulimit -v`) and the cgroup's memory.max. The environment variable
// QWAC_MEMORY_LIMIT (read once, e.g. "4G", "512M", "1000000") or set_memory_budget() (the CLI's --memory-limit)
// lower or raise it.
#pragma once

#include <cstdint>
#include <initializer_list>
#include <optional>
#include <string>

#include "qwac/resources.h"  // memory_budget, set_memory_budget, describe_bytes, parse_byte_size, kMaxThreads

namespace qwac {

// Whether `bytes` fits the budget.
bool fits_memory_budget(uint64_t bytes);
// " (memory budget 7.6 GiB: raise it with --memory-limit or QWAC_MEMORY_LIMIT)": the tail of a refusal message.
std::string memory_budget_hint();

// Returns the heap's free pages to the system (glibc's malloc_trim; nothing elsewhere). Called between the accuracy
// search's phases: each one frees what it built (variant engines, tapped activations), but glibc keeps the freed
// chunks mapped, so the process's resident size would stay at the largest phase's plus fragmentation.
void release_free_heap();

// a * b * ... without overflow: nullopt when the product exceeds 2^63 - 1 or a factor is negative.
std::optional<uint64_t> checked_product(std::initializer_list<int64_t> factors);

}  // namespace qwac
