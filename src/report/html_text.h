// Text for the HTML report: escaping (every string from a model, a dataset or a config can hold anything: node
// names with '<', '&' or quotes are common in converted models) and the number formats the page uses.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

namespace qwac::report::html {

// Escapes &, <, >, " and ' (safe in element content and in quoted attribute values, also inside inline SVG).
std::string escape(std::string_view text);

// "0.9891" for values in [-10, 10], "31.42" above, "1.2e-05" for tiny ones; "n/a" when not finite.
std::string metric(double v);
// A drop or difference with its sign: "+0.0012", "-0.0100".
std::string signed_metric(double v);
// "12.3 %" of a fraction (0.123).
std::string percent(double fraction, int decimals = 1);
// "850 ms", "12.4 s", "3 min 05 s", "1 h 02 min".
std::string seconds(double s);
// "12.3 KB", "4.56 MB" (decimal units, as `qwac quantize` prints them).
std::string bytes(int64_t n);
// Fixed decimals ("3.14"), "n/a" when not finite.
std::string fixed(double v, int decimals);
// A number as an SVG coordinate (two decimals, no exponent).
std::string coord(double v);

}  // namespace qwac::report::html
