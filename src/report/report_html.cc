// The HTML renderer of the typed Report (qwac/report_html.h): one self-contained page, the second renderer of the
// structure report_json.cc writes as JSON. It reads only the typed Report (never JSON keys), draws its charts as
// inline SVG (svg_chart.h) and escapes every string the report carries (html_text.h). Large models stay usable:
// per-node data is aggregated by op type, the strip scrolls sideways, long tables sit in collapsed, scrolling
// sections and stop after HtmlReportOptions::max_table_rows rows.
#include <algorithm>
#include <cmath>
#include <map>
#include <optional>
#include <set>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "qwac/report.h"
#include "qwac/report_html.h"
#include "report/html_text.h"
#include "report/svg_chart.h"

namespace qwac {
namespace {

using report::html::Bar;
using report::html::BarChartSpec;
using report::html::ChartPoint;
using report::html::ChartRule;
using report::html::ChartSeries;
using report::html::LineChartSpec;
using report::html::Marker;
using report::html::Segment;
using report::html::StripNode;
using report::html::StripSpec;
using report::html::bytes;
using report::html::escape;
using report::html::fixed;
using report::html::metric;
using report::html::percent;
using report::html::seconds;
using report::html::signed_metric;

constexpr const char* kStyle = R"css(
:root{--int8:#3d9a50;--int16:#3b7dd8;--reverted:#e8710a;--float:#c9c9c9;--other:#eceff3;--fail:#c62828;--pass:#2e7d32}
*{box-sizing:border-box}
body{font:14px/1.45 system-ui,-apple-system,"Segoe UI",Roboto,"Helvetica Neue",Arial,sans-serif;margin:0;color:#1f2328;background:#f6f8fa}
main{max-width:1100px;margin:0 auto;padding:20px 24px 48px}
h1{font-size:22px;margin:0 0 4px}h2{font-size:17px;margin:28px 0 8px;border-bottom:1px solid #d0d7de;padding-bottom:4px}
h3{font-size:14px;margin:16px 0 6px}
.sub{color:#57606a;font-size:13px}
section{background:#fff;border:1px solid #d0d7de;border-radius:8px;padding:4px 18px 16px;margin-top:16px}
.cards{display:flex;flex-wrap:wrap;gap:10px;margin-top:10px}
.card{flex:1 1 160px;border:1px solid #d0d7de;border-radius:6px;padding:8px 12px;background:#fbfcfd}
.card .k{color:#57606a;font-size:12px}.card .v{font-size:20px;font-weight:600}.card .n{font-size:12px;color:#57606a}
.badge{display:inline-block;padding:2px 10px;border-radius:12px;font-weight:600;font-size:13px;color:#fff}
.ok{background:var(--pass)}.bad{background:var(--fail)}.neutral{background:#6e7781}
table{border-collapse:collapse;width:100%;font-size:13px}
th,td{text-align:left;padding:3px 8px;border-bottom:1px solid #eaeef2;vertical-align:top}
th{background:#f6f8fa;position:sticky;top:0}
td.num,th.num{text-align:right;font-variant-numeric:tabular-nums}
.scroll{max-height:420px;overflow:auto;border:1px solid #eaeef2}
.hscroll{overflow-x:auto;border:1px solid #eaeef2;padding:4px 0}
details{margin-top:10px}summary{cursor:pointer;color:#0969da}
pre{background:#f6f8fa;border:1px solid #eaeef2;padding:10px;overflow:auto;max-height:420px;font-size:12px}
code{font-size:12px}
.legend{display:flex;flex-wrap:wrap;gap:14px;font-size:12px;margin:6px 0}
.legend span::before{content:"";display:inline-block;width:12px;height:12px;margin-right:5px;vertical-align:-2px;border-radius:2px;background:var(--c)}
.chart text{font-size:12px;fill:#1f2328}.chart .tick{fill:#57606a;font-size:11px}.chart .axis-label{fill:#57606a}
.chart .grid{stroke:#eaeef2}.chart .axis{stroke:#8c959f}
.chart .line{fill:none;stroke-width:1.6}.chart .mark{stroke:#fff;stroke-width:1.2}
.chart .rule{stroke-dasharray:6 4;stroke-width:1.4}.chart .rule-label{font-size:11px}
.chart .r-bound{stroke:var(--fail)}.chart text.r-bound{fill:var(--fail);stroke:none}
.chart .r-fp32{stroke:#6e7781}.chart text.r-fp32{fill:#6e7781;stroke:none}
.chart .s-full.line{stroke:#0969da}.chart .mark.s-full{fill:#0969da}
.chart .mark.s-pass{fill:var(--pass)}.chart .mark.s-fail{fill:var(--fail)}
.chart .mark.s-early{fill:#fff;stroke:#8250df;stroke-width:1.6}.chart .mark.s-early-pass{fill:#fff;stroke:var(--pass);stroke-width:1.6}.chart .mark.s-early-fail{fill:#fff;stroke:var(--fail);stroke-width:1.6}
.chart .mark.s-rank{fill:#8c959f;opacity:.55}
.chart .highlight{fill:none;stroke:#1f2328;stroke-width:1.5}
.chart .point-label{font-size:10px;fill:#57606a}
.chart .bar{fill:#0969da}.chart .bar.neg{fill:#cf222e}.chart .bar.est{fill:#54aeff}
.chart .row-hover{fill:transparent}.chart .bar-row:hover .row-hover{fill:#f6f8fa}
.chart .bar-sublabel{font-size:10px;fill:#57606a}.chart .bar-value{font-size:11px;fill:#57606a}
.chart .seg{stroke:#fff;stroke-width:1}
.chart .cell.p-int8,.dot.p-int8{fill:var(--int8)}.chart .cell.p-int16,.dot.p-int16{fill:var(--int16)}
.chart .cell.p-reverted,.dot.p-reverted{fill:var(--reverted)}.chart .cell.p-float,.dot.p-float{fill:var(--float)}
.chart .cell.p-other{fill:var(--other)}.chart .dot.p-other{fill:#8c959f}
.chart .s-error{stroke:#57606a}.chart .col{fill:transparent}.chart .col:hover{fill:rgba(9,105,218,.12)}
.ph0{fill:#0969da}.ph1{fill:#54aeff}.ph2{fill:#8250df}.ph3{fill:#bf8700}.ph4{fill:#1a7f37}.ph5{fill:#cf222e}.ph6{fill:#6e7781}.ph7{fill:#e8710a}
)css";

// Legend colours of the time phases, in the order of the classes above.
constexpr const char* kPhaseColours[] = {"#0969da", "#54aeff", "#8250df", "#bf8700",
                                         "#1a7f37", "#cf222e", "#6e7781", "#e8710a"};

std::string td(const std::string& text, bool num = false) {
  return std::string(num ? "<td class=\"num\">" : "<td>") + escape(text) + "</td>";
}
std::string th(const std::string& text, bool num = false) {
  return std::string(num ? "<th class=\"num\">" : "<th>") + escape(text) + "</th>";
}

std::string card(const std::string& key, const std::string& value, const std::string& note = "") {
  return "<div class=\"card\"><div class=\"k\">" + escape(key) + "</div><div class=\"v\">" + escape(value) +
         "</div>" + (note.empty() ? "" : "<div class=\"n\">" + escape(note) + "</div>") + "</div>";
}

std::string join(const std::vector<std::string>& parts, const std::string& sep) {
  std::string out;
  for (size_t i = 0; i < parts.size(); ++i) out += (i ? sep : "") + parts[i];
  return out;
}

std::string join_ids(const std::vector<int64_t>& ids) {
  std::vector<std::string> s;
  for (int64_t i : ids) s.push_back(std::to_string(i));
  return join(s, ", ");
}

// ---------------------------------------------------------------------------------------------------------------
// What every op of the returned model runs in, and why an op stayed in float.

struct Precision {
  std::string css;    // p-int8, p-int16, p-reverted, p-float, p-other
  std::string label;  // "int8", "INT16", "float (reverted)", "float", "no quantizer"
  std::string why;    // for float ops
};

class PrecisionMap {
 public:
  explicit PrecisionMap(const Report& r) {
    const QuantizerSetReport& set = r.accuracy_control ? r.accuracy_control->final_set : r.quantization.set;
    for (const std::string& op : r.quantization.set.quantized_ops) order_.push_back(op);
    for (const FloatOpReport& f : r.quantization.set.float_ops) {
      order_.push_back(f.node);
      type_[f.node] = f.op_type;
    }
    for (const std::string& op : set.quantized_ops) at_[op] = {"p-int8", "int8", ""};
    for (const FloatOpReport& f : set.float_ops) {
      at_[f.node] = {"p-float", "float", f.reason};
      type_[f.node] = f.op_type;
    }
    if (r.accuracy_control) {
      for (const OpPrecisionReport& o : r.accuracy_control->reverted_ops) {
        at_[o.op] = {"p-reverted", o.precision.empty() ? "float" : o.precision,
                     "reverted by the accuracy search (it recovers the metric)"};
        type_[o.op] = o.type;
      }
      for (const OpPrecisionReport& o : r.accuracy_control->raised_ops) {
        at_[o.op] = {"p-int16", o.precision, "raised to a wider precision by the accuracy search"};
        type_[o.op] = o.type;
      }
    }
  }
  Precision of(const std::string& node) const {
    const auto it = at_.find(node);
    return it != at_.end() ? it->second
                           : Precision{"p-other", "no quantizer", "not a quantizable op: runs on what it is given"};
  }
  std::string type(const std::string& node) const {
    const auto it = type_.find(node);
    return it == type_.end() ? "" : it->second;
  }
  const std::vector<std::string>& quantizable_order() const { return order_; }

 private:
  std::map<std::string, Precision> at_;
  std::map<std::string, std::string> type_;
  std::vector<std::string> order_;
};

// ---------------------------------------------------------------------------------------------------------------

class Renderer {
 public:
  Renderer(const Report& r, const HtmlReportOptions& o) : r_(r), o_(o), precision_(r) {
    for (const GroupReport& g : r.quantization.set.groups) group_ops_[g.id] = g.ops;
    for (const QuantizerSetReport* s : {&r.quantization.set}) {
      for (const FloatOpReport& f : s->float_ops) op_type_[f.node] = f.op_type;
    }
    // Op types: the float ops, the sensitivity's and the search's op lists, the per-layer errors (quantized ops are
    // listed by name only).
    if (r.sensitivity) {
      for (const SensitivityGroup& g : r.sensitivity->groups) {
        for (const OpPrecisionReport& o : g.ops) op_type_[o.op] = o.type;
      }
    }
    if (r.accuracy_control) {
      for (const auto* ops : {&r.accuracy_control->reverted_ops, &r.accuracy_control->raised_ops}) {
        for (const OpPrecisionReport& o : *ops) op_type_[o.op] = o.type;
      }
    }
    if (r.layer_errors) {
      for (const LayerError& e : r.layer_errors->layers) op_type_[e.node] = e.op_type;
    }
  }

  std::string render() {
    const std::string model = r_.files && !r_.files->model_name.empty() ? r_.files->model_name : "model";
    const std::string title = o_.title.empty() ? "qwac report: " + model : o_.title;
    std::string p = "<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">"
                    "<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">"
                    "<meta name=\"generator\" content=\"qwac\"><title>" +
                    escape(title) + "</title><style>" + kStyle + "</style></head><body><main>\n";
    p += "<h1>" + escape(title) + "</h1><div class=\"sub\">" + escape(to_string(r_.algorithm));
    if (r_.files && !r_.files->created.empty()) p += " &middot; " + escape(r_.files->created);
    if (!r_.quantization.tool_version.empty()) {
      p += " &middot; " + escape(r_.quantization.tool_name + " " + r_.quantization.tool_version);
    }
    p += "</div>\n";
    p += headline();
    p += search_section();
    p += sensitivity_section();
    p += network_section();
    p += config_section();
    p += "</main></body></html>\n";
    return p;
  }

 private:
  // --- 1. the headline

  std::string metrics_table() {
    std::string t = "<table id=\"metrics\"><thead><tr>";
    if (r_.accuracy_control) {
      t += th("metric") + th("FP32", true) + th("default INT8", true) + th("final", true) + th("drop", true) +
           th("bound", true) + th("within") + "</tr></thead><tbody>";
      for (const ControlledMetricReport& m : r_.accuracy_control->metrics) {
        const bool ok = m.drop <= m.bound;
        t += "<tr>" + td(m.name) + td(metric(m.fp32), true) + td(metric(m.default_quantization), true) +
             td(m.final_value ? metric(*m.final_value) : "n/a", true) + td(signed_metric(m.drop), true) +
             td(metric(m.bound), true) + "<td><span class=\"badge " + (ok ? "ok\">yes" : "bad\">no") +
             "</span></td></tr>";
      }
    } else if (r_.sensitivity) {
      t += th("metric") + th("FP32", true) + th("default INT8", true) + th("drop", true) + th("bound", true) +
           "</tr></thead><tbody>";
      for (const ControlledMetricReport& m : r_.sensitivity->metrics) {
        t += "<tr>" + td(m.name) + td(metric(m.fp32), true) + td(metric(m.default_quantization), true) +
             td(signed_metric(m.drop), true) + td(metric(m.bound), true) + "</tr>";
      }
    } else if (!r_.evaluation.empty()) {
      t += th("metric") + th("FP32", true) + th("INT8", true) + th("drop", true) + th("relative drop", true) +
           "</tr></thead><tbody>";
      for (const EvaluatedMetric& m : r_.evaluation) {
        t += "<tr>" + td(m.name) + td(metric(m.fp32), true) + td(metric(m.quantized), true) +
             td(signed_metric(m.drop_absolute), true) + td(percent(m.drop_relative, 2), true) + "</tr>";
      }
    } else {
      return "<p class=\"sub\">No metric was measured (run <code>qwac quantize --evaluate</code> or an "
             "accuracy-aware config to see the FP32 and INT8 metrics).</p>";
    }
    return t + "</tbody></table>";
  }

  // Phases of the run and their seconds, in the order the run took them, and the total.
  std::pair<std::vector<std::pair<std::string, double>>, double> phases() const {
    std::vector<std::pair<std::string, double>> out;
    double total = 0;
    const std::map<std::string, double>* t = nullptr;
    if (r_.accuracy_control) t = &r_.accuracy_control->timings_seconds;
    if (r_.sensitivity) t = &r_.sensitivity->timings_seconds;
    if (t != nullptr) {
      static const char* kOrder[] = {"default_quantization", "fp32_validation", "initial_validation",
                                     "tune_hyperparams", "search"};
      std::set<std::string> used;
      for (const char* k : kOrder) {
        if (auto it = t->find(k); it != t->end()) out.emplace_back(k, it->second), used.insert(k);
      }
      for (const auto& [k, v] : *t) {
        if (k != "total" && !used.count(k)) out.emplace_back(k, v);
      }
      if (auto it = t->find("total"); it != t->end()) total = it->second;
    } else {
      const auto& q = r_.quantization.timings_seconds;
      for (const char* k : {"prepare", "statistics", "bias_correction", "materialize"}) {
        if (auto it = q.find(k); it != q.end()) out.emplace_back(k, it->second);
      }
      if (auto it = q.find("quantize_total"); it != q.end()) total = it->second;
    }
    double sum = 0;
    for (const auto& [k, v] : out) sum += v;
    if (total <= 0) total = sum;
    if (total - sum > 0.01 * total) out.emplace_back("other", total - sum);
    return {out, total};
  }

  std::string headline() {
    std::string s = "<section id=\"headline\"><h2>Headline</h2>";
    if (r_.accuracy_control) {
      const AccuracyControlReport& a = *r_.accuracy_control;
      s += std::string("<p><span class=\"badge ") + (a.reached ? "ok\">bound reached" : "bad\">bound NOT reached") +
           "</span> &nbsp;max drop " + escape(metric(a.params.max_drop)) + " (" + escape(a.params.drop_type) +
           "), search: " + escape(a.params.search) + "</p>";
      if (!a.summary.empty()) {
        // "24 of 126 quantized ops reverted: op (type), ..." -> the count; the ops are in the network section.
        const size_t colon = a.summary.find(':');
        s += "<p class=\"sub\">" +
             escape(colon == std::string::npos ? a.summary
                                               : a.summary.substr(0, colon) + " (listed under \"The network\")") +
             "</p>";
      }
    }
    s += metrics_table();
    s += "<div class=\"cards\">";
    if (r_.accuracy_control) {
      const AccuracyControlReport& a = *r_.accuracy_control;
      const auto in_int8 = static_cast<int64_t>(std::llround(a.int8_op_fraction * static_cast<double>(a.quantized_ops_total)));
      s += card("ops in INT8", std::to_string(in_int8) + " / " + std::to_string(a.quantized_ops_total),
                percent(a.int8_op_fraction) + " of the quantized ops");
      s += card("ops reverted to float", std::to_string(a.reverted_ops.size()),
                a.raised_ops.empty() ? "" : std::to_string(a.raised_ops.size()) + " raised to a wider precision");
      s += card("validations", std::to_string(a.full_validations) + " full",
                std::to_string(a.subset_validations) + " on subsets");
    } else {
      const QuantizerSetReport& set = r_.quantization.set;
      s += card("ops in INT8", std::to_string(set.quantized_ops.size()),
                std::to_string(set.float_ops.size()) + " quantizable op(s) left in float");
      s += card("quantizers", std::to_string(set.quantizers.size()), std::to_string(set.groups.size()) + " groups");
    }
    if (r_.files && r_.files->fp32_bytes > 0) {
      const ReportFiles& f = *r_.files;
      s += card("model size", bytes(f.fp32_bytes) + " \u2192 " + bytes(f.quantized_bytes),
                percent(static_cast<double>(f.quantized_bytes) / static_cast<double>(f.fp32_bytes)) + " of FP32");
    }
    const auto [ph, total] = phases();
    s += card("total time", seconds(total), r_.files && r_.files->peak_rss_mb > 0
                                                ? "peak memory " + fixed(r_.files->peak_rss_mb, 0) + " MB"
                                                : "");
    s += "</div>";
    if (!ph.empty() && total > 0) {
      std::vector<Segment> seg;
      std::vector<std::string> texts;
      std::string legend = "<div class=\"legend\">";
      for (size_t i = 0; i < ph.size(); ++i) {
        const std::string css = "ph" + std::to_string(i % 8);
        seg.push_back({ph[i].first, ph[i].second, css});
        texts.push_back(seconds(ph[i].second) + " (" + percent(ph[i].second / total) + ")");
        legend += std::string("<span style=\"--c:") + kPhaseColours[i % 8] + "\">" + escape(ph[i].first) + " " +
                  escape(texts.back()) + "</span>";
      }
      s += "<h3>Time by phase</h3>" + report::html::stacked_bar(seg, texts, 1000) + legend + "</div>";
      if (r_.accuracy_control && !r_.accuracy_control->search_stage_seconds.empty()) {
        std::vector<std::string> st;
        for (const auto& [k, v] : r_.accuracy_control->search_stage_seconds) st.push_back(k + " " + seconds(v));
        s += "<p class=\"sub\">search stages: " + escape(join(st, ", ")) + "</p>";
      }
    }
    return s + "</section>\n";
  }

  // --- 2. the accuracy search

  static const StepMetric* find_metric(const SearchStep& s, const std::string& name) {
    for (const StepMetric& m : s.metrics) {
      if (m.name == name) return &m;
    }
    return nullptr;
  }

  std::string search_chart(const ControlledMetricReport& m) {
    const AccuracyControlReport& a = *r_.accuracy_control;
    auto value_of_drop = [&](double d) { return m.higher_better ? m.fp32 - d : m.fp32 + d; };
    ChartSeries full{"s-full", {}, true, Marker::kCircle};
    ChartSeries early{"s-early", {}, false, Marker::kDiamond};
    ChartSeries ranked{"s-rank", {}, false, Marker::kCircle};
    double last_x = 0;
    for (const SearchStep& s : a.steps) {
      if (s.kind == StepKind::kRanking) {
        for (const RankingEntry& e : s.ranking) {
          for (const StepMetric& est : e.estimated) {
            if (est.name != m.name) continue;
            const double x = last_x + static_cast<double>(std::max<size_t>(1, e.unit.size()));
            ranked.points.push_back({x, est.value,
                                     "group " + std::to_string(e.group) + " reverted alone: " + metric(est.value) +
                                         " estimated from " + std::to_string(e.samples) + " ranking samples",
                                     "", ""});
          }
        }
        continue;
      }
      if (s.kind != StepKind::kValidation) continue;
      const StepMetric* v = find_metric(s, m.name);
      if (v == nullptr) continue;
      const double x = static_cast<double>(s.reverted_groups.size() + s.raised_groups.size());
      if (v->measure == DropMeasure::kMeasured) {
        last_x = x;
        full.points.push_back({x, v->value,
                               "#" + std::to_string(s.full_validation) + " " + s.what + ": " + metric(v->value) +
                                   " (drop " + signed_metric(v->drop) + ", " +
                                   (s.satisfied ? "within" : "beyond") + " the bound)",
                               "#" + std::to_string(s.full_validation), s.satisfied ? "s-pass" : "s-fail"});
      } else {
        const bool at_most = v->measure == DropMeasure::kAtMost;
        early.points.push_back(
            {x, value_of_drop(v->drop),
             "#" + std::to_string(s.full_validation) + " " + s.what + ": decided after " +
                 std::to_string(s.stopped_after_samples.value_or(0)) + " samples, drop " +
                 (at_most ? "at most " : "at least ") + metric(v->drop),
             "", at_most ? "s-early-pass" : "s-early-fail"});
      }
    }
    LineChartSpec spec;
    spec.aria_label = "accuracy search: " + m.name + " against the number of groups reverted";
    spec.x_label = "quantizer groups reverted to float (or raised)";
    spec.y_label = m.name;
    if (!ranked.points.empty()) spec.series.push_back(ranked);
    if (!early.points.empty()) spec.series.push_back(early);
    spec.series.push_back(full);
    spec.rules.push_back({m.fp32, "FP32 " + metric(m.fp32), "r-fp32"});
    spec.rules.push_back({value_of_drop(m.bound), "bound " + metric(value_of_drop(m.bound)), "r-bound"});
    if (m.final_value) {
      int64_t reverted = 0;
      for (const GroupReport& g : a.final_set.groups) reverted += g.enabled ? 0 : 1;
      spec.highlight = ChartPoint{static_cast<double>(reverted), *m.final_value,
                                  "returned model: " + metric(*m.final_value), "", ""};
    }
    return report::html::line_chart(spec);
  }

  std::string search_section() {
    if (!r_.accuracy_control) return "";
    const AccuracyControlReport& a = *r_.accuracy_control;
    std::string s = "<section id=\"search\"><h2>Accuracy search</h2>";
    s += "<div class=\"legend\"><span style=\"--c:var(--pass)\">full validation within the bound</span>"
         "<span style=\"--c:var(--fail)\">full validation beyond the bound</span>"
         "<span style=\"--c:#8250df\">validation decided early, at the bound its samples imply (green edge: "
         "drop at most, red: at least)</span>"
         "<span style=\"--c:#8c959f\">subset estimate: one group reverted alone (ranking)</span>"
         "<span style=\"--c:#1f2328\">ring: the returned model</span></div>";
    size_t shown = 0;
    for (const ControlledMetricReport& m : a.metrics) {
      if (shown++ == 3) break;  // more controlled metrics are in the table below
      s += "<h3>" + escape(m.name) + (m.higher_better ? " (higher is better)" : " (lower is better)") + "</h3>";
      s += search_chart(m);
    }
    // Every step, in order.
    std::string rows;
    size_t n = 0;
    for (const SearchStep& st : a.steps) {
      if (n++ >= o_.max_table_rows) break;
      if (st.kind == StepKind::kRanking) {
        rows += "<tr>" + td("") + td("ranking of " + std::to_string(st.ranking.size()) + " entries by " + st.metric +
                                     " on up to " + std::to_string(st.subset_size) + " samples" +
                                     (st.rounds.empty() ? "" : ", " + std::to_string(st.rounds.size()) + " round(s)")) +
                td("") + td("") + td("") + td("") + td(seconds(st.seconds), true) + "</tr>";
        continue;
      }
      std::vector<std::string> ms;
      for (const StepMetric& m : st.metrics) {
        switch (m.measure) {
          case DropMeasure::kMeasured: ms.push_back(m.name + " " + metric(m.value) + " (" + signed_metric(m.drop) + ")"); break;
          case DropMeasure::kAtMost: ms.push_back(m.name + " drop \u2264 " + metric(m.drop)); break;
          case DropMeasure::kAtLeast: ms.push_back(m.name + " drop \u2265 " + metric(m.drop)); break;
        }
      }
      rows += "<tr>" + td(st.kind == StepKind::kValidation ? "#" + std::to_string(st.full_validation) : "", true) +
              td(st.what) + td(std::to_string(st.reverted_groups.size()), true) + td(join(ms, "; ")) +
              "<td>" + (st.satisfied ? "<span class=\"badge ok\">yes</span>" : "<span class=\"badge bad\">no</span>") +
              "</td>" + td(st.stopped_after_samples ? std::to_string(*st.stopped_after_samples) : "all", true) +
              td(seconds(st.seconds), true) + "</tr>";
    }
    s += "<details><summary>every step of the search (" + std::to_string(a.steps.size()) +
         ")</summary><div class=\"scroll\"><table id=\"steps\"><thead><tr>" + th("#", true) + th("step") +
         th("reverted", true) + th("metrics (drop)") + th("within") + th("samples", true) + th("time", true) +
         "</tr></thead><tbody>" + rows + "</tbody></table></div></details>";
    return s + "</section>\n";
  }

  // --- 3. sensitivity

  std::string ops_text(int64_t group, size_t max_ops) const {
    const auto it = group_ops_.find(group);
    if (it == group_ops_.end()) return "";
    std::vector<std::string> parts;
    for (size_t i = 0; i < it->second.size() && i < max_ops; ++i) {
      const std::string& op = it->second[i];
      const auto t = op_type_.find(op);
      parts.push_back(t == op_type_.end() || t->second.empty() ? op : op + " (" + t->second + ")");
    }
    std::string s = join(parts, ", ");
    if (it->second.size() > max_ops) s += " +" + std::to_string(it->second.size() - max_ops) + " more";
    return s;
  }

  // "features.0.0/Conv, features.0.2/Mul": the last two parts of path-like names (torch exports), which tell ops
  // apart where the full names share a long prefix.
  std::string short_ops_text(int64_t group, size_t max_ops) const {
    const auto it = group_ops_.find(group);
    if (it == group_ops_.end()) return "";
    std::vector<std::string> parts;
    for (size_t i = 0; i < it->second.size() && i < max_ops; ++i) {
      const std::string& op = it->second[i];
      const size_t last = op.rfind('/');
      const size_t before = last == std::string::npos || last == 0 ? std::string::npos : op.rfind('/', last - 1);
      parts.push_back(before == std::string::npos ? op : op.substr(before + 1));
    }
    std::string s = join(parts, ", ");
    if (it->second.size() > max_ops) s += " +" + std::to_string(it->second.size() - max_ops);
    return s;
  }

  struct SensitivityRow {
    int64_t rank = 0, group = 0;
    double value = 0;           // recovered metric (or the score)
    std::optional<double> est;  // estimated full-set value
    double score = 0;
    int64_t samples = 0;
    std::vector<int64_t> unit;
  };

  std::string sensitivity_section() {
    std::vector<SensitivityRow> rows;
    std::string metric_name, how;
    bool recovered = false, base_known = true;
    if (r_.sensitivity) {
      const SensitivityReport& sr = *r_.sensitivity;
      metric_name = sr.ranked_metric;
      double base = 0;
      bool higher = true;
      for (const ControlledMetricReport& m : sr.metrics) {
        if (m.name == metric_name) base = m.default_quantization, higher = m.higher_better;
      }
      how = "each group reverted alone on top of the default quantization, evaluated on " +
            std::to_string(sr.ranking_subset_size) + " samples";
      for (const SensitivityGroup& g : sr.groups) {
        SensitivityRow row{g.rank, g.group, g.score, std::nullopt, g.score, 0, {}};
        for (const StepMetric& e : g.estimated) {
          if (e.name == metric_name) row.est = e.value;
        }
        if (row.est) row.value = higher ? *row.est - base : base - *row.est;
        rows.push_back(row);
      }
    } else if (r_.accuracy_control) {
      const AccuracyControlReport& a = *r_.accuracy_control;
      const SearchStep* ranking = nullptr;
      std::optional<double> base;
      for (const SearchStep& s : a.steps) {
        if (s.kind == StepKind::kRanking) {
          ranking = &s;
          break;
        }
      }
      if (ranking == nullptr) return "";
      metric_name = ranking->metric;
      bool higher = true;
      for (const ControlledMetricReport& m : a.metrics) {
        if (m.name == metric_name) higher = m.higher_better;
      }
      // The model the ranking started from: the last complete validation before it.
      for (const SearchStep& s : a.steps) {
        if (&s == ranking) break;
        if (s.kind != StepKind::kValidation) continue;
        const StepMetric* v = find_metric(s, metric_name);
        if (v != nullptr && v->measure == DropMeasure::kMeasured) base = v->value;
      }
      how = "each entry reverted alone on top of the model the search started from, on up to " +
            std::to_string(ranking->subset_size) + " ranking samples (" +
            ranking->ordered_by.value_or("by the metric") + ")";
      int64_t rank = 0;
      for (const RankingEntry& e : ranking->ranking) {
        SensitivityRow row{++rank, e.group, e.score, std::nullopt, e.score, e.samples, e.unit};
        for (const StepMetric& m : e.estimated) {
          if (m.name == metric_name) row.est = m.value;
        }
        if (row.est && base) row.value = higher ? *row.est - *base : *base - *row.est;
        base_known = base.has_value();
        rows.push_back(row);
      }
    } else {
      return "";
    }
    if (rows.empty()) return "";
    // Entries screened out with their block (round 0 of a blocked ranking) have no estimate of their own: the bars
    // show the recovered metric of the others; without any estimate, the ranking score of every entry.
    size_t without = 0;
    for (const SensitivityRow& row : rows) without += row.est ? 0 : 1;
    recovered = without < rows.size() && base_known;
    if (!recovered) {
      for (SensitivityRow& row : rows) row.value = row.score;
    }
    std::string s = "<section id=\"sensitivity\"><h2>Sensitivity of the quantizer groups</h2><p class=\"sub\">" +
                    escape(how) + ". " +
                    escape(recovered ? "Bars: the " + metric_name +
                                           " the revert recovers (estimated full-set value minus the starting "
                                           "model's), most helpful first."
                                     : "Bars: the ranking score (" + metric_name +
                                           " on the ranking samples; higher = reverting the group helps more).") +
                    "</p>";
    BarChartSpec spec;
    spec.aria_label = "sensitivity of the quantizer groups";
    spec.x_label = recovered ? metric_name + " recovered" : "ranking score";
    size_t drawn = 0;
    for (size_t i = 0; i < rows.size() && drawn < o_.max_bars; ++i) {
      const SensitivityRow& row = rows[i];
      if (recovered && !row.est) continue;
      ++drawn;
      const std::string ops = short_ops_text(row.group, 4);
      std::string label = "#" + std::to_string(row.rank) + " group " + std::to_string(row.group);
      if (row.unit.size() > 1) label += " +" + std::to_string(row.unit.size() - 1);
      spec.bars.push_back({label, ops, row.value, recovered ? signed_metric(row.value) : metric(row.value),
                           label + ": " + ops_text(row.group, 50) +
                               (row.est ? "\nestimated " + metric_name + " " + metric(*row.est) : "") +
                               "\nscore " + metric(row.score),
                           row.value < 0 ? "neg" : ""});
    }
    s += report::html::bar_chart(spec);
    if (drawn < rows.size()) {
      s += "<p class=\"sub\">" +
           escape(std::to_string(drawn) + " of " + std::to_string(rows.size()) + " entries are drawn" +
                  (recovered && without > 0 ? " (" + std::to_string(without) +
                                                  " were screened out with their block of groups and have no estimate "
                                                  "of their own)"
                                            : "") +
                  "; the table lists every one.") +
           "</p>";
    }
    std::string t;
    for (size_t i = 0; i < rows.size() && i < o_.max_table_rows; ++i) {
      const SensitivityRow& row = rows[i];
      t += "<tr>" + td(std::to_string(row.rank), true) + td(std::to_string(row.group), true) +
           td(row.unit.size() > 1 ? join_ids(row.unit) : "") + td(ops_text(row.group, 1000)) +
           td(metric(row.score), true) + td(row.est ? metric(*row.est) : "n/a", true) +
           td(recovered && row.est ? signed_metric(row.value) : "n/a", true) +
           td(row.samples > 0 ? std::to_string(row.samples) : "", true) + "</tr>";
    }
    s += "<details><summary>every ranked group (" + std::to_string(rows.size()) +
         ")</summary><div class=\"scroll\"><table id=\"ranking\"><thead><tr>" + th("rank", true) + th("group", true) +
         th("reverted with") + th("ops") + th("score", true) + th("estimated", true) + th("recovered", true) +
         th("samples", true) + "</tr></thead><tbody>" + t + "</tbody></table></div></details>";
    return s + "</section>\n";
  }

  // --- 4. the network: precision strip and per-layer error

  std::string network_section() {
    struct Node {
      std::string name, type;
      Precision p;
      const LayerError* error = nullptr;
    };
    std::vector<Node> nodes;
    if (r_.layer_errors) {
      for (const LayerError& e : r_.layer_errors->layers) nodes.push_back({e.node, e.op_type, precision_.of(e.node), &e});
    } else {
      for (const std::string& op : precision_.quantizable_order()) {
        const auto t = op_type_.find(op);
        nodes.push_back({op, t == op_type_.end() ? precision_.type(op) : t->second, precision_.of(op), nullptr});
      }
    }
    if (nodes.empty()) return "";
    std::string s = "<section id=\"network\"><h2>The network</h2><p class=\"sub\">";
    if (r_.layer_errors) {
      const LayerErrorReport& l = *r_.layer_errors;
      s += escape(std::to_string(nodes.size()) + " computing nodes in graph order, coloured by the precision they run "
                  "in. Under the strip: the SQNR of each node's output against the FP32 model's (" +
                  std::to_string(l.samples) + " samples of " + l.dataset + ", " + l.execution +
                  (l.seconds > 0 ? ", measured in " + seconds(l.seconds) : std::string()) + "); where it falls, error enters; float nodes carry the error of their inputs.");
    } else {
      s += escape(std::to_string(nodes.size()) + " quantizable ops, coloured by precision (the report holds no "
                  "per-layer error: `qwac quantize --report` or `--html` measures it).");
    }
    s += "</p><div class=\"legend\"><span style=\"--c:var(--int8)\">int8</span><span style=\"--c:var(--int16)\">wider "
         "integer (raised)</span><span style=\"--c:var(--reverted)\">float: reverted by the search</span>"
         "<span style=\"--c:var(--float)\">float: not quantized (see why)</span><span style=\"--c:var(--other)\">no "
         "quantizer (shape ops, ...)</span></div>";
    StripSpec strip;
    strip.aria_label = "the network coloured by precision";
    strip.value_label = r_.layer_errors ? "SQNR, dB" : "";
    strip.min_width = 1000;
    for (const Node& n : nodes) {
      StripNode sn;
      sn.css_class = n.p.css;
      sn.tooltip = n.name + " (" + n.type + "): " + n.p.label;
      if (!n.p.why.empty() && n.p.css != "p-int8") sn.tooltip += ": " + n.p.why;
      if (n.error != nullptr && n.error->sqnr_db) {
        sn.value = *n.error->sqnr_db;
        sn.tooltip += "\nSQNR " + fixed(*n.error->sqnr_db, 1) + " dB";
      }
      strip.nodes.push_back(std::move(sn));
    }
    s += "<div class=\"hscroll\">" + report::html::precision_strip(strip) + "</div>";

    // Aggregated by op type: what thousands of nodes come down to.
    struct Agg {
      int64_t count = 0, int8 = 0, wide = 0, reverted = 0, flt = 0, other = 0, with_error = 0;
      double sqnr_sum = 0, sqnr_min = INFINITY;
    };
    std::map<std::string, Agg> by_type;
    for (const Node& n : nodes) {
      Agg& a = by_type[n.type.empty() ? "?" : n.type];
      ++a.count;
      if (n.p.css == "p-int8") ++a.int8;
      else if (n.p.css == "p-int16") ++a.wide;
      else if (n.p.css == "p-reverted") ++a.reverted;
      else if (n.p.css == "p-float") ++a.flt;
      else ++a.other;
      if (n.error != nullptr && n.error->sqnr_db) {
        ++a.with_error;
        a.sqnr_sum += *n.error->sqnr_db;
        a.sqnr_min = std::min(a.sqnr_min, *n.error->sqnr_db);
      }
    }
    std::string t;
    for (const auto& [type, a] : by_type) {
      t += "<tr>" + td(type) + td(std::to_string(a.count), true) + td(std::to_string(a.int8), true) +
           td(std::to_string(a.wide), true) + td(std::to_string(a.reverted), true) + td(std::to_string(a.flt), true) +
           td(std::to_string(a.other), true) +
           td(a.with_error ? fixed(a.sqnr_sum / static_cast<double>(a.with_error), 1) : "", true) +
           td(a.with_error ? fixed(a.sqnr_min, 1) : "", true) + "</tr>";
    }
    s += "<h3>By op type</h3><div class=\"scroll\"><table id=\"optypes\"><thead><tr>" + th("op type") +
         th("nodes", true) + th("int8", true) + th("raised", true) + th("reverted", true) + th("float", true) +
         th("no quantizer", true) + th("mean SQNR dB", true) + th("min SQNR dB", true) + "</tr></thead><tbody>" + t +
         "</tbody></table></div>";

    // The worst layers, then every node.
    if (r_.layer_errors) {
      std::vector<const Node*> worst;
      for (const Node& n : nodes) {
        if (n.error != nullptr && n.error->sqnr_db) worst.push_back(&n);
      }
      std::stable_sort(worst.begin(), worst.end(),
                       [](const Node* a, const Node* b) { return *a->error->sqnr_db < *b->error->sqnr_db; });
      worst.resize(std::min<size_t>(worst.size(), 12));
      std::string w;
      for (const Node* n : worst) {
        w += "<tr>" + td(n->name) + td(n->type) + td(n->p.label) + td(fixed(*n->error->sqnr_db, 1), true) +
             td(metric(n->error->nmse.value_or(NAN)), true) + "</tr>";
      }
      if (!w.empty()) {
        s += "<h3>Lowest SQNR</h3><table id=\"worst\"><thead><tr>" + th("node") + th("op") + th("precision") +
             th("SQNR dB", true) + th("NMSE", true) + "</tr></thead><tbody>" + w + "</tbody></table>";
      }
    }
    std::string all;
    for (size_t i = 0; i < nodes.size() && i < o_.max_table_rows; ++i) {
      const Node& n = nodes[i];
      all += "<tr>" + td(std::to_string(i), true) + td(n.name) + td(n.type) + td(n.p.label) +
             td(n.p.css == "p-int8" ? "" : n.p.why) +
             td(n.error != nullptr && n.error->sqnr_db ? fixed(*n.error->sqnr_db, 1) : "", true) +
             td(n.error != nullptr && n.error->nmse ? metric(*n.error->nmse) : "", true) +
             td(n.error != nullptr ? metric(n.error->max_abs_error) : "", true) + "</tr>";
    }
    if (nodes.size() > o_.max_table_rows) {
      all += "<tr><td colspan=\"8\">" +
             escape("... and " + std::to_string(nodes.size() - o_.max_table_rows) +
                    " more nodes (the JSON report lists every one)") +
             "</td></tr>";
    }
    s += "<details><summary>every node (" + std::to_string(nodes.size()) +
         ")</summary><div class=\"scroll\"><table id=\"nodes\"><thead><tr>" + th("#", true) + th("node") + th("op") +
         th("precision") + th("why not int8") + th("SQNR dB", true) + th("NMSE", true) + th("max |error|", true) +
         "</tr></thead><tbody>" + all + "</tbody></table></div></details>";
    return s + "</section>\n";
  }

  // --- 5. configuration and versions

  static std::string kv_rows(const std::vector<std::pair<std::string, std::string>>& kv) {
    std::string t;
    for (const auto& [k, v] : kv) t += "<tr>" + td(k) + td(v) + "</tr>";
    return t;
  }

  std::string config_section() {
    std::string s = "<section id=\"config\"><h2>Configuration and versions</h2>";
    const QuantizationSettingsReport& p = r_.quantization.params;
    std::vector<std::pair<std::string, std::string>> kv = {
        {"target device", p.target_device},
        {"preset", p.preset},
        {"model type", p.model_type},
        {"calibration", r_.quantization.calibration.dataset + " (" +
                            std::to_string(r_.quantization.calibration.samples) + " samples)"},
        {"weights granularity", p.weights_granularity},
        {"bias correction", p.bias_correction + " (" +
                                std::to_string(r_.quantization.bias_correction.corrected.size()) + " ops corrected)"},
        {"export profile", p.export_profile},
        {"opset", std::to_string(r_.quantization.canonicalization.original_opset) + " \u2192 " +
                      std::to_string(r_.quantization.canonicalization.opset)},
    };
    if (const std::optional<SmoothQuantReport>& sq = r_.quantization.smooth_quant) {
      kv.push_back({"SmoothQuant", "alpha " + metric(sq->alpha) + ", " + std::to_string(sq->smoothed.size()) +
                                       " MatMul input(s) smoothed, " + std::to_string(sq->skipped.size()) +
                                       " MatMul(s) left alone"});
    }
    if (r_.accuracy_control) {
      const AccuracyControlSettingsReport& a = r_.accuracy_control->params;
      kv.push_back({"max drop", metric(a.max_drop) + " (" + a.drop_type + ")"});
      kv.push_back({"search", a.search + ", restore mode " + a.restore_mode});
      kv.push_back({"ranking subset", std::to_string(a.ranking_subset_size) + " samples"});
      std::vector<std::string> rungs;
      for (const PrecisionRungReport& rr : a.precision_ladder) rungs.push_back(rr.name);
      if (!rungs.empty()) kv.push_back({"precision ladder", join(rungs, " \u2192 ") + " \u2192 float"});
    }
    if (r_.files) {
      kv.push_back({"FP32 model", r_.files->fp32_path});
      if (!r_.files->output_path.empty()) kv.push_back({"quantized model", r_.files->output_path});
      if (!r_.files->config_path.empty()) kv.push_back({"config file", r_.files->config_path});
    }
    s += "<table id=\"settings\"><tbody>" + kv_rows(kv) + "</tbody></table>";
    if (!r_.quantization.canonicalization.changes.empty()) {
      s += "<h3>Model preparation</h3><ul>";
      for (const std::string& c : r_.quantization.canonicalization.changes) s += "<li>" + escape(c) + "</li>";
      s += "</ul>";
    }
    if (!r_.versions.empty()) {
      std::vector<std::pair<std::string, std::string>> v(r_.versions.begin(), r_.versions.end());
      s += "<h3>Versions</h3><table id=\"versions\"><tbody>" + kv_rows(v) + "</tbody></table>";
    }
    if (!r_.config_json.empty()) {
      s += "<details><summary>the config the run was given</summary><pre id=\"config-json\">" +
           escape(config_text()) + "</pre></details>";
    }
    return s + "</section>\n";
  }

  // The config as the JSON report stores it (an object, keys sorted), so a page rendered from a run and one rendered
  // from its JSON report are the same bytes; a text that is not JSON is shown as it is.
  std::string config_text() const {
    const nlohmann::json j = nlohmann::json::parse(r_.config_json, nullptr, false);
    return j.is_discarded() ? r_.config_json : j.dump(2);
  }

  const Report& r_;
  const HtmlReportOptions& o_;
  PrecisionMap precision_;
  std::map<int64_t, std::vector<std::string>> group_ops_;
  std::map<std::string, std::string> op_type_;
};

}  // namespace

std::string report_to_html(const Report& report, const HtmlReportOptions& options) {
  return Renderer(report, options).render();
}

}  // namespace qwac
