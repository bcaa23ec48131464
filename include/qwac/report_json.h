// qwac public API: the JSON renderer of the typed Report (qwac/report.h), i.e. what `qwac quantize --report`
// writes. The schema is versioned (`schema_version`, kReportSchemaVersion); its keys are listed in docs/report.md.
#pragma once

#include <string>

#include "qwac/report.h"

namespace qwac {

// The report as JSON text (`indent` spaces per level; -1 = one line), ending without a newline.
std::string report_to_json(const Report& report, int indent = 2);

// Reads a report written by report_to_json (keys this version does not know are ignored). InvalidArgument when the
// text is not JSON or not a qwac report, or when its schema_version is newer than kReportSchemaVersion.
Report report_from_json(const std::string& text);

}  // namespace qwac
