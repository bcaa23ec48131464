// The charts of the HTML report as inline SVG, drawn here (no script, no external library): a line chart (the
// accuracy search), horizontal bars (sensitivity), a stacked bar (time by phase) and the network strip with a
// per-layer value plot under it. Styling comes from CSS classes the page defines (report_html.cc), so the charts
// follow one palette; every mark carries a <title> tooltip. Text given here is escaped here.
#pragma once

#include <optional>
#include <string>
#include <vector>

namespace qwac::report::html {

// Ticks at 1, 2 or 5 x 10^k steps covering [lo, hi], about `target` of them.
std::vector<double> nice_ticks(double lo, double hi, int target);

struct ChartPoint {
  double x = 0, y = 0;
  std::string tooltip;
  std::string label;      // drawn beside the marker ("#3"), may be empty
  std::string css_class;  // the marker's class (overrides the series')
};

enum class Marker { kCircle, kDiamond, kNone };

struct ChartSeries {
  std::string css_class;  // "s-full", "s-est", ...: stroke / fill of line and markers
  std::vector<ChartPoint> points;
  bool line = true;       // joined in order of x
  Marker marker = Marker::kCircle;
};

struct ChartRule {  // a horizontal reference line across the plot
  double y = 0;
  std::string label;
  std::string css_class;
};

struct LineChartSpec {
  std::string aria_label;
  std::string x_label, y_label;
  std::vector<ChartSeries> series;
  std::vector<ChartRule> rules;
  std::optional<ChartPoint> highlight;  // a ring around one point (the returned model)
  bool integer_x = true;
  int width = 1000, height = 340;
};

std::string line_chart(const LineChartSpec& spec);

struct Bar {
  std::string label;     // left of the bar (truncated to fit, full text in the tooltip)
  std::string sublabel;  // smaller second line (the ops a group covers)
  double value = 0;
  std::string value_text;  // drawn at the bar's end
  std::string tooltip;
  std::string css_class;
};

struct BarChartSpec {
  std::string aria_label;
  std::string x_label;
  std::vector<Bar> bars;
  int width = 1000;
};

std::string bar_chart(const BarChartSpec& spec);

struct Segment {
  std::string label;
  double value = 0;
  std::string css_class;
};

// One bar of width `width` split into the segments' shares (each with a tooltip "label: value_text").
std::string stacked_bar(const std::vector<Segment>& segments, const std::vector<std::string>& value_texts, int width);

struct StripNode {
  std::string css_class;  // precision class ("p-int8", ...)
  std::string tooltip;
  std::optional<double> value;  // plotted under the strip (SQNR), when measured
};

struct StripSpec {
  std::string aria_label;
  std::string value_label;  // the plot's y axis ("SQNR, dB"); no plot when no node has a value
  std::vector<StripNode> nodes;
  int min_width = 1000;
};

// One column per node, in order; wider than `min_width` when there are many nodes (the page scrolls it).
std::string precision_strip(const StripSpec& spec);

}  // namespace qwac::report::html
