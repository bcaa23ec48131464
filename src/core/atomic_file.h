// Writing output files so that a failure never leaves a half-written file: the bytes go to a temp file beside the
// target, which is flushed to disk and then renamed over it.
#pragma once

#include <string>
#include <string_view>

namespace qwac {

// Throws IoError naming the path and the system error. Temp files an earlier killed write of the same path left
// behind are removed first (remove_stale_temp_files in core/output_paths.h).
void write_file_atomically(const std::string& path, std::string_view bytes);

// The hidden temp files of `filename` are named "<prefix><pid>.XXXXXX" in the target's folder, with
// prefix ".<filename>.tmp.": the pid tells a later run whether the writer is gone.
std::string temp_file_prefix(const std::string& filename);

}  // namespace qwac
