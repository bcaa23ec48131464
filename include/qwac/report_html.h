// qwac public API: the HTML renderer of the typed Report (qwac/report.h), what `qwac report` and `--html` write.
//
// One self-contained page (inline CSS and inline SVG charts drawn by qwac; no script, no network, no font) with:
// the headline (metrics before and after, drop against the bound, ops in int8 and reverted, model size, time by
// phase), the accuracy search as a curve,
// the sensitivity of the quantizer groups as bars, the network as a strip coloured by precision with the per-layer
// error under it, and the configuration and versions. Every string from the report is escaped.
#pragma once

#include <cstddef>
#include <string>

#include "qwac/report.h"

namespace qwac {

struct HtmlReportOptions {
  std::string title;          // empty = "qwac report: <model name>"
  size_t max_bars = 40;       // sensitivity bars drawn (the table lists every group)
  size_t max_table_rows = 2000;  // rows of a per-node table before the rest is summarized in one line
};

std::string report_to_html(const Report& report, const HtmlReportOptions& options = {});

}  // namespace qwac
