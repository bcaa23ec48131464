// The output-path guard: called once at the start of a command (CLI) or API entry, before any expensive work, so
// that no run overwrites one of its own inputs or another of its outputs, and none fails at the end on an output
// folder that was never writable.
#pragma once

#include <string>

#include "qwac/file.h"  // NamedPath, check_output_paths, same_file

namespace qwac {

// Removes the hidden temp files of write_file_atomically() for `path` whose writing process no longer exists
// (kill -9 during a write leaves one). Returns how many were removed; errors are ignored (best effort).
int remove_stale_temp_files(const std::string& path);

}  // namespace qwac
