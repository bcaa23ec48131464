// The JSON form of the typed Report, as nlohmann::json values: the public renderer (qwac/report_json.h) dumps
// these, and the algorithms' JSON (which the typed Report is filled from at the API boundary, src/api/) is read
// with the same function, so one table of keys serves both directions.
#pragma once

#include <nlohmann/json.hpp>

#include "qwac/report.h"

namespace qwac::report {

nlohmann::json to_json(const Report& report);
// Lenient: unknown keys are ignored, missing ones keep the defaults (a report of an older qwac reads).
Report from_json(const nlohmann::json& j);

}  // namespace qwac::report
