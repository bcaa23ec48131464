// qwac public API: writing output files so that a failure never leaves a partial or overwritten file (what every
// file qwac writes goes through): the bytes go to a temporary file beside the target, which is flushed to disk and
// then renamed over it.
#pragma once

#include <string>
#include <string_view>

namespace qwac {

// Throws IoError naming the path and the system error.
void write_file_atomically(const std::string& path, std::string_view bytes);

}  // namespace qwac
