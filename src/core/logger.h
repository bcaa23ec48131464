// Logger and progress interfaces live in the public API (qwac/logger.h).
#pragma once

#include "qwac/logger.h"
