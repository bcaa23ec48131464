// The output-path guard: called once at the start of a command (CLI) or API entry, before any expensive work, so
// that no run overwrites one of its own inputs or another of its outputs, and none fails at the end on an output
// folder that was never writable.
#pragma once

#include <string>
#include <vector>

namespace qwac {

// A path given by the user, with the name they gave it by ("--output", "--report", "config model").
struct NamedPath {
  std::string what;
  std::string path;
};

// Checks every output (list only the outputs the user asked for; an empty path is an InvalidArgument):
//  - its folder exists, is a folder and is writable (IoError naming the folder and the fix),
//  - it is not an existing folder (IoError),
//  - it is not the same file as any input or any other output, after resolving relative paths, "..", symbolic
//    links (of the file and of its folders) and hard links (InvalidArgument naming both flags).
// Then removes the temp files that an earlier run killed while writing one of these outputs left beside it.
void check_output_paths(const std::vector<NamedPath>& inputs, const std::vector<NamedPath>& outputs);

// Whether two paths name the same file (existing or not), by the rules above.
bool same_file(const std::string& a, const std::string& b);

// Removes the hidden temp files of write_file_atomically() for `path` whose writing process no longer exists
// (kill -9 during a write leaves one). Returns how many were removed; errors are ignored (best effort).
int remove_stale_temp_files(const std::string& path);

}  // namespace qwac
