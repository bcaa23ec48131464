// Progress for the CLI: a redrawn bar with rate and ETA on a terminal; plain lines (every ~10 %) otherwise, so
// logs stay readable when stderr is a file or a CI console.
#pragma once

#include <memory>

#include "core/logger.h"

namespace qwac::cli {

std::shared_ptr<Progress> make_terminal_progress(bool quiet);

}  // namespace qwac::cli
