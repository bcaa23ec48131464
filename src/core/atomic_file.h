// Atomic output files live in the public API (qwac/file.h).
#pragma once

#include "qwac/file.h"
