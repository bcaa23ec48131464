// qwac public API: writing output files so that a failure never leaves a partial or overwritten file (what every
// file qwac writes goes through): the bytes go to a temporary file beside the target, which is flushed to disk and
// then renamed over it. And the output-path guard every entry point (the CLI, the Python module) runs before work.
#pragma once

#include <string>
#include <string_view>
#include <vector>

namespace qwac {

// Throws IoError naming the path and the system error. Temp files an earlier killed write of the same path left
// behind are removed first.
void write_file_atomically(const std::string& path, std::string_view bytes);

// A path given by the user, with the name they gave it by ("--output", "--report", "config model").
struct NamedPath {
  std::string what;
  std::string path;
};

// The output-path guard: call it once, before any expensive work, so that no run overwrites one of its own inputs
// or another of its outputs, and none fails at the end on an output folder that was never writable. Checks every
// output (list only the outputs the user asked for; an empty path is an InvalidArgument):
//  - its folder exists, is a folder and is writable (IoError naming the folder and the fix),
//  - it is not an existing folder (IoError),
//  - it is not the same file as any input or any other output, after resolving relative paths, "..", symbolic
//    links (of the file and of its folders) and hard links (InvalidArgument naming both).
// Then removes the temp files that an earlier run killed while writing one of these outputs left beside it.
void check_output_paths(const std::vector<NamedPath>& inputs, const std::vector<NamedPath>& outputs);

// Whether two paths name the same file (existing or not), by the rules above.
bool same_file(const std::string& a, const std::string& b);

}  // namespace qwac
