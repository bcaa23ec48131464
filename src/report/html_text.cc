#include "report/html_text.h"

#include <cmath>
#include <cstdio>

namespace qwac::report::html {

std::string escape(std::string_view text) {
  std::string out;
  out.reserve(text.size());
  for (const char c : text) {
    switch (c) {
      case '&': out += "&amp;"; break;
      case '<': out += "&lt;"; break;
      case '>': out += "&gt;"; break;
      case '"': out += "&quot;"; break;
      case '\'': out += "&#39;"; break;
      default: out += c;
    }
  }
  return out;
}

std::string fixed(double v, int decimals) {
  if (!std::isfinite(v)) return "n/a";
  char buf[64];
  std::snprintf(buf, sizeof(buf), "%.*f", decimals, v);
  return buf;
}

std::string metric(double v) {
  if (!std::isfinite(v)) return "n/a";
  const double a = std::abs(v);
  char buf[64];
  if (a != 0 && a < 1e-3) {
    std::snprintf(buf, sizeof(buf), "%.2g", v);
  } else if (a < 10) {
    std::snprintf(buf, sizeof(buf), "%.4f", v);
  } else {
    std::snprintf(buf, sizeof(buf), "%.2f", v);
  }
  return buf;
}

std::string signed_metric(double v) {
  if (!std::isfinite(v)) return "n/a";
  const std::string m = metric(v);
  return v >= 0 ? "+" + m : m;
}

std::string percent(double fraction, int decimals) {
  if (!std::isfinite(fraction)) return "n/a";
  return fixed(100.0 * fraction, decimals) + " %";
}

std::string seconds(double s) {
  if (!std::isfinite(s) || s < 0) return "n/a";
  char buf[64];
  if (s < 1) {
    std::snprintf(buf, sizeof(buf), "%.0f ms", s * 1000);
  } else if (s < 60) {
    std::snprintf(buf, sizeof(buf), "%.1f s", s);
  } else if (s < 3600) {
    const int m = static_cast<int>(s / 60);
    std::snprintf(buf, sizeof(buf), "%d min %02d s", m, static_cast<int>(s - 60 * m));
  } else {
    const int h = static_cast<int>(s / 3600);
    std::snprintf(buf, sizeof(buf), "%d h %02d min", h, static_cast<int>((s - 3600 * h) / 60));
  }
  return buf;
}

std::string bytes(int64_t n) {
  const double v = static_cast<double>(n);
  char buf[64];
  if (n < 1000) {
    std::snprintf(buf, sizeof(buf), "%lld B", static_cast<long long>(n));
  } else if (n < 1000 * 1000) {
    std::snprintf(buf, sizeof(buf), "%.1f KB", v / 1e3);
  } else if (n < 1000LL * 1000 * 1000) {
    std::snprintf(buf, sizeof(buf), "%.2f MB", v / 1e6);
  } else {
    std::snprintf(buf, sizeof(buf), "%.2f GB", v / 1e9);
  }
  return buf;
}

std::string coord(double v) {
  if (!std::isfinite(v)) return "0";
  char buf[64];
  std::snprintf(buf, sizeof(buf), "%.2f", v);
  std::string s = buf;
  // "12.50" -> "12.5", "12.00" -> "12": smaller pages for charts with thousands of points.
  while (!s.empty() && s.back() == '0') s.pop_back();
  if (!s.empty() && s.back() == '.') s.pop_back();
  return s == "-0" ? "0" : s;
}

}  // namespace qwac::report::html
