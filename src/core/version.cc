#include "qwac/version.h"

namespace qwac {

const char* version() noexcept { return QWAC_VERSION; }

}  // namespace qwac
