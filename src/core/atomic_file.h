// Atomic output files live in the public API (qwac/file.h: write_file_atomically). Temp files an earlier killed
// write of the same path left behind are removed first (remove_stale_temp_files in core/output_paths.h).
#pragma once

#include <string>

#include "qwac/file.h"

namespace qwac {

// The hidden temp files of `filename` are named "<prefix><pid>.XXXXXX" in the target's folder, with
// prefix ".<filename>.tmp.": the pid tells a later run whether the writer is gone.
std::string temp_file_prefix(const std::string& filename);

}  // namespace qwac
