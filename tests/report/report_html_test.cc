// The HTML page against the report it came from: the sections are there, the values of the report appear in them,
// the markup is balanced (an unclosed tag from a name with '<' would show), every string is escaped, and large
// models stay bounded. A hand-built report with hostile names, and the report of a real accuracy-aware run on the
// bundled demo (mnist-cntk) through the typed Report, as `qwac quantize --html` renders it.
#include <gtest/gtest.h>

#include <regex>
#include <set>
#include <vector>

#include "accuracy/accuracy_control.h"
#include "data/idx_dataset.h"
#include "onnx/model_io.h"
#include "qwac/report_html.h"
#include "report/html_text.h"
#include "report/report_json.h"
#include "report/svg_chart.h"

namespace qwac {
namespace {

const std::string kDemo = std::string(QWAC_SOURCE_DIR) + "/examples/data/";

size_t count(const std::string& text, const std::string& what) {
  size_t n = 0;
  for (size_t at = text.find(what); at != std::string::npos; at = text.find(what, at + what.size())) ++n;
  return n;
}

// Every opened element is closed in order (void elements and self-closed ones aside); returns the first problem.
std::string check_balanced(const std::string& html) {
  static const std::set<std::string> kVoid = {"meta", "br", "hr", "img", "input", "link"};
  std::vector<std::string> stack;
  size_t i = 0;
  while ((i = html.find('<', i)) != std::string::npos) {
    const size_t end = html.find('>', i);
    if (end == std::string::npos) return "unterminated tag at " + std::to_string(i);
    const std::string tag = html.substr(i + 1, end - i - 1);
    i = end + 1;
    if (tag.empty() || tag[0] == '!') continue;
    if (tag[0] == '/') {
      const std::string name = tag.substr(1);
      if (stack.empty() || stack.back() != name) {
        return "</" + name + "> closes <" + (stack.empty() ? std::string("nothing") : stack.back()) + ">";
      }
      stack.pop_back();
      continue;
    }
    const std::string name = tag.substr(0, tag.find_first_of(" \t\n/"));
    if (tag.back() == '/' || kVoid.count(name)) continue;
    stack.push_back(name);
    if (name == "style") {  // raw text up to its end tag
      i = html.find("</style>", i);
      if (i == std::string::npos) return "unterminated <style>";
    }
  }
  return stack.empty() ? "" : "<" + stack.back() + "> never closed";
}

Report hostile_report() {
  Report r;
  r.algorithm = ReportAlgorithm::kAccuracyAwareQuantization;
  r.quantization.tool_version = "0.1.0";
  r.quantization.params.target_device = "ANY";
  r.quantization.set.quantized_ops = {"conv<1>&\"a\"", "gemm_2"};
  r.quantization.set.float_ops = {{"soft<max>", "Softmax", "ignored_scope: \"types\" & <Softmax>"}};
  r.quantization.set.groups = {{0, "g0", {0, 1}, {"conv<1>&\"a\""}, true}, {1, "g1", {2}, {"gemm_2"}, false}};
  AccuracyControlReport a;
  a.metrics = {{"acc<top1>", 0.9891, 0.9712, std::nullopt, 0.9850, 0.0041, 0.005, true}};
  a.params.max_drop = 0.005;
  a.params.drop_type = "absolute";
  a.params.search = "bisection";
  a.reached = true;
  a.quantized_ops_total = 2;
  a.int8_op_fraction = 0.5;
  a.full_validations = 2;
  a.reverted_ops = {{"gemm_2", "Gemm", "float"}};
  a.final_set = r.quantization.set;
  a.final_set.quantized_ops = {"conv<1>&\"a\""};
  a.timings_seconds = {{"default_quantization", 2.0}, {"search", 6.0}, {"total", 9.0}};
  SearchStep s0;
  s0.what = "default quantization";
  s0.full_validation = 1;
  s0.metrics = {{"acc<top1>", 0.9712, 0.0179}};
  SearchStep rank;
  rank.kind = StepKind::kRanking;
  rank.what = "ranking";
  rank.metric = "acc<top1>";
  rank.subset_size = 100;
  rank.ranking = {{1, 0.8, 100, {}, std::nullopt, std::nullopt, {{"acc<top1>", 0.9805, 0.0086}}},
                  {0, 0.7, 100, {}, std::nullopt, std::nullopt, {{"acc<top1>", 0.9690, 0.0201}}}};
  SearchStep early;
  early.what = "revert the top 0 ranked group(s)";
  early.full_validation = 2;
  early.metrics = {{"acc<top1>", 0, 0.011, DropMeasure::kAtLeast}};
  early.stopped_after_samples = 120;
  SearchStep s1;
  s1.what = "revert the top 1 ranked group(s)";
  s1.full_validation = 3;
  s1.metrics = {{"acc<top1>", 0.9850, 0.0041}};
  s1.satisfied = true;
  s1.reverted_groups = {1};
  a.steps = {s0, rank, early, s1};
  r.accuracy_control = a;
  r.files = ReportFiles{"net<&>", "in.onnx", "out.onnx", 4000000, 1000000, 120.0, "cfg.json", "2026-12-07T19:00:00Z"};
  LayerErrorReport l;
  l.dataset = "mnist <test>";
  l.samples = 8;
  l.execution = "QDQ simulation";
  l.layers = {{"conv<1>&\"a\"", "Conv", "t0", 1e-3, 30.0, 0.5},
              {"gemm_2", "Gemm", "t1", 2e-2, 16.99, 1.5},
              {"soft<max>", "Softmax", "t2", std::nullopt, std::nullopt, 0}};
  r.layer_errors = l;
  r.config_json = "{\"model\": \"<script>alert(1)</script>\"}";
  r.versions = {{"qwac", "0.1.0"}, {"oneDNN", "2.6.0"}};
  return r;
}

TEST(ReportHtml, SectionsValuesAndEscaping) {
  const Report r = hostile_report();
  const std::string html = report_to_html(r);
  EXPECT_EQ(check_balanced(html), "");
  for (const char* id : {"id=\"headline\"", "id=\"search\"", "id=\"sensitivity\"", "id=\"network\"",
                         "id=\"config\"", "id=\"metrics\"", "id=\"steps\"", "id=\"ranking\"", "id=\"nodes\"",
                         "id=\"versions\"", "id=\"config-json\""}) {
    EXPECT_NE(html.find(id), std::string::npos) << id;
  }
  // Self-contained: no script, no external resource.
  EXPECT_EQ(html.find("<script"), std::string::npos);
  EXPECT_EQ(html.find("src="), std::string::npos);
  EXPECT_EQ(html.find("href="), std::string::npos);
  EXPECT_EQ(html.find("@import"), std::string::npos);
  // Names are escaped wherever they appear, never raw.
  EXPECT_EQ(html.find("conv<1>"), std::string::npos);
  EXPECT_EQ(html.find("acc<top1>"), std::string::npos);
  EXPECT_EQ(html.find("net<&>"), std::string::npos);
  EXPECT_NE(html.find("conv&lt;1&gt;&amp;&quot;a&quot;"), std::string::npos);
  EXPECT_NE(html.find("acc&lt;top1&gt;"), std::string::npos);
  EXPECT_NE(html.find("&lt;script&gt;alert(1)&lt;/script&gt;"), std::string::npos);
  EXPECT_NE(html.find("ignored_scope: &quot;types&quot; &amp; &lt;Softmax&gt;"), std::string::npos);
  // The headline's values.
  for (const char* v : {"0.9891", "0.9712", "0.9850", "+0.0041", "0.0050", "bound reached", "1 / 2", "50.0 %",
                        "4.00 MB", "1.00 MB", "25.0 % of FP32", "9.0 s", "2.0 s", "6.0 s", "other"}) {
    EXPECT_NE(html.find(v), std::string::npos) << v;
  }
  // The search: both full validations labelled, the early one drawn as the bound it implies (0.9891 - 0.011).
  EXPECT_NE(html.find(">#1<"), std::string::npos);
  EXPECT_NE(html.find(">#3<"), std::string::npos);
  EXPECT_NE(html.find("decided after 120 samples, drop at least 0.0110"), std::string::npos);
  EXPECT_NE(html.find("bound 0.9841"), std::string::npos);  // 0.9891 - 0.005
  EXPECT_NE(html.find("returned model: 0.9850"), std::string::npos);
  // Sensitivity: recovered = estimate - the default quantization's 0.9712.
  EXPECT_NE(html.find("+0.0093"), std::string::npos);
  EXPECT_NE(html.find("-0.0022"), std::string::npos);
  // The network: a cell per layer in its precision, the SQNR, the reason a node stayed float.
  EXPECT_EQ(count(html, "class=\"cell p-int8\""), 1u);
  EXPECT_EQ(count(html, "class=\"cell p-reverted\""), 1u);
  EXPECT_EQ(count(html, "class=\"cell p-float\""), 1u);
  EXPECT_NE(html.find("SQNR 17.0 dB"), std::string::npos);
  EXPECT_NE(html.find("2.6.0"), std::string::npos);
}

TEST(ReportHtml, ThousandsOfNodesStayBounded) {
  Report r = hostile_report();
  r.layer_errors->layers.clear();
  for (int i = 0; i < 5000; ++i) {
    r.layer_errors->layers.push_back({"n" + std::to_string(i), i % 2 ? "Conv" : "Relu", "t", 1e-3, 30.0 + i % 7, 0});
  }
  HtmlReportOptions o;
  o.max_table_rows = 300;
  const std::string html = report_to_html(r, o);
  EXPECT_EQ(check_balanced(html), "");
  EXPECT_EQ(count(html, "class=\"cell "), 5000u);  // one strip cell per node (the strip scrolls)
  EXPECT_NE(html.find("... and 4700 more nodes"), std::string::npos);
  EXPECT_EQ(count(html, "class=\"dot "), 0u);  // beyond 400 nodes, the line alone
  EXPECT_LT(html.size(), 3u * 1000 * 1000);
  // Aggregated by op type.
  EXPECT_NE(html.find("<td>Conv</td><td class=\"num\">2500</td>"), std::string::npos);
}

TEST(ReportHtml, TextAndTicks) {
  using namespace report::html;
  EXPECT_EQ(escape("a<b>&\"c'"), "a&lt;b&gt;&amp;&quot;c&#39;");
  EXPECT_EQ(coord(12.5), "12.5");
  EXPECT_EQ(coord(-0.001), "0");
  EXPECT_EQ(metric(0.98765), "0.9877");
  EXPECT_EQ(signed_metric(0.0041), "+0.0041");
  EXPECT_EQ(seconds(125), "2 min 05 s");
  EXPECT_EQ(bytes(1500000), "1.50 MB");
  const std::vector<double> t = nice_ticks(0.961, 0.992, 5);
  ASSERT_GE(t.size(), 3u);
  EXPECT_GE(t.front(), 0.961);
  EXPECT_LE(t.back(), 0.992 + 1e-12);
  EXPECT_NEAR(t[1] - t[0], 0.01, 1e-12);  // 0.97, 0.98, 0.99
}

// A real run: the search's steps and ranking, rendered through the typed Report.
TEST(ReportHtml, RendersAnAccuracyAwareRun) {
  ir::Model model = onnxio::load_model(kDemo + "mnist-cntk/model.onnx");
  data::IdxOptions io;
  io.images_path = kDemo + "mnist-test-1000/t10k-images-idx3-ubyte.gz";
  io.labels_path = kDemo + "mnist-test-1000/t10k-labels-idx1-ubyte.gz";
  io.input_name = model.graph->inputs().at(0)->name();
  std::vector<int64_t> first(100);
  for (size_t i = 0; i < first.size(); ++i) first[i] = static_cast<int64_t>(i);
  const DatasetPtr data = make_subset(std::make_shared<data::IdxDataset>(io), first);
  // The mean logit of the true class: any quantization moves it, so max_drop 0 forces a search.
  ValidationFunction logit{"true_class_logit", true, [](CompiledModel& m, const Dataset& d) {
                             ValidationOutput out;
                             for (int64_t i = 0; i < d.size(); ++i) {
                               const Sample s = d.get(i);
                               const double v = m.infer(s.inputs).tensors.front().data<float>()[s.annotation.label];
                               out.per_sample.push_back(v);
                               out.value += v / static_cast<double>(d.size());
                             }
                             return out;
                           }};
  AccuracyControlConfig p;
  p.max_drop = 0.0;
  p.ranking_subset_size = 40;
  p.base.stat_subset_size = 40;
  RunOptions ro;
  ro.batch_size = 1;
  const AccuracyControlOutput out = quantize_with_accuracy_control(model, *data, *data, logit, p, ro);
  const Report r = report::from_json(out.report);
  ASSERT_TRUE(r.accuracy_control.has_value());
  const std::string html = report_to_html(r);
  EXPECT_EQ(check_balanced(html), "");
  const AccuracyControlReport& a = *r.accuracy_control;
  int validations = 0, ranked = 0;
  for (const SearchStep& s : a.steps) {
    if (s.kind == StepKind::kValidation && !s.metrics.empty() && s.metrics[0].measure == DropMeasure::kMeasured) {
      EXPECT_NE(html.find(">#" + std::to_string(s.full_validation) + "<"), std::string::npos) << s.what;
      ++validations;
    }
    if (s.kind == StepKind::kRanking) {
      for (const RankingEntry& e : s.ranking) {
        EXPECT_NE(html.find("<td class=\"num\">" + std::to_string(e.group) + "</td>"), std::string::npos);
        EXPECT_FALSE(e.estimated.empty()) << "group " << e.group << " has no estimate";
        ++ranked;
      }
    }
  }
  EXPECT_GT(validations, 1);
  EXPECT_GT(ranked, 0);
  EXPECT_NE(html.find(report::html::metric(a.metrics[0].fp32)), std::string::npos);
  EXPECT_NE(html.find(report::html::metric(a.metrics[0].default_quantization)), std::string::npos);
  EXPECT_EQ(count(html, "class=\"cell "), r.quantization.set.quantized_ops.size() + r.quantization.set.float_ops.size());
}

}  // namespace
}  // namespace qwac
