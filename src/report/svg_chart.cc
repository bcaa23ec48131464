#include "report/svg_chart.h"

#include <algorithm>
#include <cmath>
#include <limits>
#include <numeric>

#include "report/html_text.h"

namespace qwac::report::html {
namespace {

// Approximate advance of one character at the charts' 12 px sans-serif: enough to keep labels in their column.
constexpr double kCharWidth = 6.6;

struct Scale {
  double d0 = 0, d1 = 1, r0 = 0, r1 = 1;
  double operator()(double v) const { return d1 == d0 ? r0 : r0 + (v - d0) * (r1 - r0) / (d1 - d0); }
};

std::string truncate(const std::string& s, double max_px) {
  const auto max_chars = static_cast<size_t>(std::max(1.0, max_px / kCharWidth));
  if (s.size() <= max_chars) return s;
  size_t cut = max_chars > 1 ? max_chars - 1 : 1;
  while (cut > 0 && (static_cast<unsigned char>(s[cut]) & 0xC0) == 0x80) --cut;  // not inside a UTF-8 sequence
  return s.substr(0, cut) + "\u2026";
}

std::string tick_text(double v, double step) {
  if (std::abs(v) < step * 1e-6) v = 0;
  int decimals = 0;
  while (decimals < 6 && std::abs(step * std::pow(10.0, decimals) - std::round(step * std::pow(10.0, decimals))) > 1e-6) {
    ++decimals;
  }
  return fixed(v, decimals);
}

std::string title(const std::string& tooltip) {
  return tooltip.empty() ? std::string() : "<title>" + escape(tooltip) + "</title>";
}

std::string svg_open(int width, int height, const std::string& css_class, const std::string& aria) {
  return "<svg xmlns=\"http://www.w3.org/2000/svg\" class=\"" + css_class + "\" width=\"" + std::to_string(width) +
         "\" height=\"" + std::to_string(height) + "\" viewBox=\"0 0 " + std::to_string(width) + " " +
         std::to_string(height) + "\" role=\"img\" aria-label=\"" + escape(aria) + "\">";
}

std::string text(double x, double y, const std::string& s, const std::string& css_class,
                 const std::string& anchor = "start") {
  return "<text x=\"" + coord(x) + "\" y=\"" + coord(y) + "\" class=\"" + css_class + "\" text-anchor=\"" + anchor +
         "\">" + escape(s) + "</text>";
}

std::string line(double x1, double y1, double x2, double y2, const std::string& css_class) {
  return "<line x1=\"" + coord(x1) + "\" y1=\"" + coord(y1) + "\" x2=\"" + coord(x2) + "\" y2=\"" + coord(y2) +
         "\" class=\"" + css_class + "\"/>";
}

std::string rect(double x, double y, double w, double h, const std::string& css_class, const std::string& inner = "") {
  const std::string head = "<rect x=\"" + coord(x) + "\" y=\"" + coord(y) + "\" width=\"" + coord(std::max(0.0, w)) +
                           "\" height=\"" + coord(std::max(0.0, h)) + "\" class=\"" + css_class + "\"";
  return inner.empty() ? head + "/>" : head + ">" + inner + "</rect>";
}

std::string marker(Marker m, double x, double y, const std::string& css_class, const std::string& tooltip) {
  switch (m) {
    case Marker::kCircle:
      return "<circle cx=\"" + coord(x) + "\" cy=\"" + coord(y) + "\" r=\"5\" class=\"" + css_class + "\">" +
             title(tooltip) + "</circle>";
    case Marker::kDiamond: {
      const double r = 5.5;
      return "<path d=\"M" + coord(x) + " " + coord(y - r) + "L" + coord(x + r) + " " + coord(y) + "L" + coord(x) +
             " " + coord(y + r) + "L" + coord(x - r) + " " + coord(y) + "Z\" class=\"" + css_class + "\">" +
             title(tooltip) + "</path>";
    }
    case Marker::kNone: break;
  }
  return "";
}

// A value domain with some room around the data; [lo - 1, hi + 1] style widening when it is a single value.
std::pair<double, double> padded(double lo, double hi, double share) {
  if (!(lo < hi)) {
    const double w = std::max(std::abs(lo) * 0.01, 1e-3);
    return {lo - w, hi + w};
  }
  const double pad = (hi - lo) * share;
  return {lo - pad, hi + pad};
}

}  // namespace

std::vector<double> nice_ticks(double lo, double hi, int target) {
  std::vector<double> out;
  if (!std::isfinite(lo) || !std::isfinite(hi) || !(lo < hi) || target < 1) return out;
  const double raw = (hi - lo) / target;
  const double mag = std::pow(10.0, std::floor(std::log10(raw)));
  double step = mag;
  for (const double f : {1.0, 2.0, 5.0, 10.0}) {
    step = f * mag;
    if (raw <= step) break;
  }
  for (double v = std::ceil(lo / step - 1e-9) * step; v <= hi + step * 1e-9; v += step) out.push_back(v);
  return out;
}

std::string line_chart(const LineChartSpec& spec) {
  constexpr double kLeft = 64, kRight = 20, kTop = 16, kBottom = 48;
  double x0 = std::numeric_limits<double>::infinity(), x1 = -x0, y0 = x0, y1 = -x0;
  auto see = [&](double x, double y) {
    x0 = std::min(x0, x), x1 = std::max(x1, x), y0 = std::min(y0, y), y1 = std::max(y1, y);
  };
  for (const ChartSeries& s : spec.series) {
    for (const ChartPoint& p : s.points) see(p.x, p.y);
  }
  if (spec.highlight) see(spec.highlight->x, spec.highlight->y);
  if (!std::isfinite(x0)) return "";
  for (const ChartRule& r : spec.rules) y0 = std::min(y0, r.y), y1 = std::max(y1, r.y);
  const auto [ylo, yhi] = padded(y0, y1, 0.08);
  const double xlo = spec.integer_x ? x0 - 0.5 : padded(x0, x1, 0.04).first;
  const double xhi = spec.integer_x ? x1 + 0.5 : padded(x0, x1, 0.04).second;
  const double W = spec.width, H = spec.height;
  const Scale sx{xlo, xhi, kLeft, W - kRight}, sy{ylo, yhi, H - kBottom, kTop};

  std::string o = svg_open(spec.width, spec.height, "chart", spec.aria_label);
  // grid and axes
  const std::vector<double> yt = nice_ticks(ylo, yhi, 5);
  const double ystep = yt.size() > 1 ? yt[1] - yt[0] : 1;
  for (const double v : yt) {
    o += line(kLeft, sy(v), W - kRight, sy(v), "grid");
    o += text(kLeft - 6, sy(v) + 4, tick_text(v, ystep), "tick", "end");
  }
  std::vector<double> xt;
  if (spec.integer_x && xhi - xlo <= 21) {
    for (double v = std::ceil(xlo); v <= xhi; v += 1) xt.push_back(v);
  } else {
    for (const double v : nice_ticks(xlo, xhi, 8)) {
      if (!spec.integer_x || v == std::round(v)) xt.push_back(v);
    }
  }
  const double xstep = xt.size() > 1 ? xt[1] - xt[0] : 1;
  for (const double v : xt) {
    o += line(sx(v), H - kBottom, sx(v), H - kBottom + 4, "axis");
    o += text(sx(v), H - kBottom + 17, tick_text(v, xstep), "tick", "middle");
  }
  o += line(kLeft, kTop, kLeft, H - kBottom, "axis");
  o += line(kLeft, H - kBottom, W - kRight, H - kBottom, "axis");
  o += text((kLeft + W - kRight) / 2, H - 8, spec.x_label, "axis-label", "middle");
  o += "<text transform=\"translate(14 " + coord((kTop + H - kBottom) / 2) +
       ") rotate(-90)\" class=\"axis-label\" text-anchor=\"middle\">" + escape(spec.y_label) + "</text>";
  // reference lines
  for (const ChartRule& r : spec.rules) {
    o += line(kLeft, sy(r.y), W - kRight, sy(r.y), "rule " + r.css_class);
    o += text(W - kRight - 4, sy(r.y) - 5, r.label, "rule-label " + r.css_class, "end");
  }
  // series
  for (const ChartSeries& s : spec.series) {
    if (s.line && s.points.size() > 1) {
      std::vector<ChartPoint> sorted = s.points;
      std::stable_sort(sorted.begin(), sorted.end(), [](const ChartPoint& a, const ChartPoint& b) { return a.x < b.x; });
      o += "<polyline class=\"line " + s.css_class + "\" points=\"";
      for (const ChartPoint& p : sorted) o += coord(sx(p.x)) + "," + coord(sy(p.y)) + " ";
      o += "\"/>";
    }
    for (const ChartPoint& p : s.points) {
      o += marker(s.marker, sx(p.x), sy(p.y), "mark " + (p.css_class.empty() ? s.css_class : p.css_class), p.tooltip);
      if (!p.label.empty()) o += text(sx(p.x) + 7, sy(p.y) - 7, p.label, "point-label");
    }
  }
  if (spec.highlight) {
    o += "<circle cx=\"" + coord(sx(spec.highlight->x)) + "\" cy=\"" + coord(sy(spec.highlight->y)) +
         "\" r=\"10\" class=\"highlight\">" + title(spec.highlight->tooltip) + "</circle>";
  }
  return o + "</svg>";
}

std::string bar_chart(const BarChartSpec& spec) {
  if (spec.bars.empty()) return "";
  bool two_lines = false;
  double lo = 0, hi = 0;
  for (const Bar& b : spec.bars) {
    two_lines = two_lines || !b.sublabel.empty();
    lo = std::min(lo, b.value), hi = std::max(hi, b.value);
  }
  if (lo == hi) hi = lo + 1;
  constexpr double kLabel = 280, kTop = 8, kBottom = 40, kValueRoom = 80;
  const double row = two_lines ? 34 : 22;
  const double W = spec.width;
  const double H = kTop + row * static_cast<double>(spec.bars.size()) + kBottom;
  const Scale sx{lo, hi, kLabel + 8, W - kValueRoom};
  std::string o = svg_open(spec.width, static_cast<int>(H), "chart bars", spec.aria_label);
  const std::vector<double> ticks = nice_ticks(lo, hi, 6);
  const double step = ticks.size() > 1 ? ticks[1] - ticks[0] : 1;
  for (const double v : ticks) {
    o += line(sx(v), kTop, sx(v), H - kBottom, "grid");
    o += text(sx(v), H - kBottom + 16, tick_text(v, step), "tick", "middle");
  }
  o += text((sx(lo) + sx(hi)) / 2, H - 6, spec.x_label, "axis-label", "middle");
  for (size_t i = 0; i < spec.bars.size(); ++i) {
    const Bar& b = spec.bars[i];
    const double y = kTop + row * static_cast<double>(i);
    const double a = sx(std::min(0.0, b.value)), z = sx(std::max(0.0, b.value));
    o += "<g class=\"bar-row\">" + title(b.tooltip);
    o += rect(0, y, W, row, "row-hover");
    o += rect(a, y + 3, std::max(1.0, z - a), row - 6 - (two_lines ? 8 : 0), "bar " + b.css_class);
    o += text(kLabel, y + 14, truncate(b.label, kLabel - 4), "bar-label", "end");
    if (!b.sublabel.empty()) o += text(kLabel, y + 28, truncate(b.sublabel, kLabel - 4), "bar-sublabel", "end");
    o += text(z + 4, y + 14, b.value_text, "bar-value");
    o += "</g>";
  }
  o += line(sx(0), kTop, sx(0), H - kBottom, "axis");
  return o + "</svg>";
}

std::string stacked_bar(const std::vector<Segment>& segments, const std::vector<std::string>& value_texts, int width) {
  double total = 0;
  for (const Segment& s : segments) total += std::max(0.0, s.value);
  if (total <= 0) return "";
  constexpr double kHeight = 26;
  std::string o = svg_open(width, static_cast<int>(kHeight), "chart stacked", "time by phase");
  double x = 0;
  for (size_t i = 0; i < segments.size(); ++i) {
    const Segment& s = segments[i];
    const double w = std::max(0.0, s.value) / total * width;
    const std::string tip = s.label + ": " + (i < value_texts.size() ? value_texts[i] : fixed(s.value, 2));
    o += rect(x, 0, w, kHeight, "seg " + s.css_class, title(tip));
    x += w;
  }
  return o + "</svg>";
}

std::string precision_strip(const StripSpec& spec) {
  const size_t n = spec.nodes.size();
  if (n == 0) return "";
  constexpr double kLeft = 60, kRight = 14, kStripTop = 6, kStripHeight = 26, kPlotTop = 52, kPlotHeight = 170,
                   kAxisRoom = 42;
  // Small networks fill the width; large ones get 2 px per node and scroll.
  const double cell = std::clamp((spec.min_width - kLeft - kRight) / static_cast<double>(n), 2.0, 60.0);
  const double W = std::max<double>(spec.min_width, kLeft + cell * static_cast<double>(n) + kRight);
  double v0 = std::numeric_limits<double>::infinity(), v1 = -v0;
  for (const StripNode& s : spec.nodes) {
    if (s.value && std::isfinite(*s.value)) v0 = std::min(v0, *s.value), v1 = std::max(v1, *s.value);
  }
  const bool plot = std::isfinite(v0) && !spec.value_label.empty();
  const double H = plot ? kPlotTop + kPlotHeight + kAxisRoom : kStripTop + kStripHeight + kAxisRoom;
  const double bottom = plot ? kPlotTop + kPlotHeight : kStripTop + kStripHeight;
  auto cx = [&](size_t i) { return kLeft + cell * (static_cast<double>(i) + 0.5); };

  std::string o = svg_open(static_cast<int>(W), static_cast<int>(H), "chart strip", spec.aria_label);
  for (size_t i = 0; i < n; ++i) {
    o += rect(kLeft + cell * static_cast<double>(i), kStripTop, cell > 3 ? cell - 1 : cell, kStripHeight,
              "cell " + spec.nodes[i].css_class);
  }
  o += text(kLeft - 6, kStripTop + 17, "ops", "tick", "end");
  if (plot) {
    const auto [lo, hi] = padded(std::min(0.0, v0), v1, 0.06);
    const Scale sy{lo, hi, kPlotTop + kPlotHeight, kPlotTop};
    const std::vector<double> ticks = nice_ticks(lo, hi, 5);
    const double step = ticks.size() > 1 ? ticks[1] - ticks[0] : 1;
    for (const double v : ticks) {
      o += line(kLeft, sy(v), W - kRight, sy(v), "grid");
      o += text(kLeft - 6, sy(v) + 4, tick_text(v, step), "tick", "end");
    }
    o += line(kLeft, kPlotTop, kLeft, bottom, "axis");
    o += "<text transform=\"translate(14 " + coord(kPlotTop + kPlotHeight / 2) +
         ") rotate(-90)\" class=\"axis-label\" text-anchor=\"middle\">" + escape(spec.value_label) + "</text>";
    o += "<polyline class=\"line s-error\" points=\"";
    for (size_t i = 0; i < n; ++i) {
      const auto& v = spec.nodes[i].value;
      if (v && std::isfinite(*v)) o += coord(cx(i)) + "," + coord(sy(*v)) + " ";
    }
    o += "\"/>";
    constexpr size_t kMaxMarkers = 400;  // beyond, dots would merge into the line
    if (n <= kMaxMarkers) {
      for (size_t i = 0; i < n; ++i) {
        const auto& v = spec.nodes[i].value;
        if (v && std::isfinite(*v) && spec.nodes[i].css_class != "p-none") {
          o += "<circle cx=\"" + coord(cx(i)) + "\" cy=\"" + coord(sy(*v)) + "\" r=\"3\" class=\"dot " +
               spec.nodes[i].css_class + "\"/>";
        }
      }
    }
  }
  o += line(kLeft, bottom, W - kRight, bottom, "axis");
  const std::vector<double> xt = nice_ticks(0, static_cast<double>(n - 1), std::max(2, static_cast<int>(W / 90)));
  for (const double v : xt) {
    if (v != std::round(v) || v < 0) continue;
    o += line(cx(static_cast<size_t>(v)), bottom, cx(static_cast<size_t>(v)), bottom + 4, "axis");
    o += text(cx(static_cast<size_t>(v)), bottom + 17, std::to_string(std::llround(v)), "tick", "middle");
  }
  o += text(kLeft, H - 6, "node, in graph order (hover for its name, precision and error)", "axis-label");
  // Hover targets last (on top): one transparent column per node over the strip and the plot.
  for (size_t i = 0; i < n; ++i) {
    o += rect(kLeft + cell * static_cast<double>(i), kStripTop, cell, bottom - kStripTop, "col",
              title(spec.nodes[i].tooltip));
  }
  return o + "</svg>";
}

}  // namespace qwac::report::html
