// `qwac report REPORT.json [--output REPORT.html]`: renders a JSON report (`qwac quantize --report`,
// `qwac sensitivity --output`) as one self-contained HTML page (qwac/report_html.h); and the run context and HTML
// output the other commands share (command.h).
#include <cerrno>
#include <cstdio>
#include <cstring>
#include <ctime>
#include <fstream>
#include <memory>
#include <sstream>

#include "command.h"
#include "qwac/error.h"
#include "qwac/file.h"
#include "qwac/report_html.h"
#include "qwac/report_json.h"

namespace qwac::cli {
namespace {

std::string read_text(const std::string& path, const std::string& what) {
  std::ifstream in(path, std::ios::binary);
  if (!in) throw IoError("cannot read " + what + " '" + path + "': " + std::strerror(errno));
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

std::string utc_now() {
  const std::time_t t = std::time(nullptr);
  std::tm tm{};
  gmtime_r(&t, &tm);
  char buf[32];
  std::strftime(buf, sizeof(buf), "%Y-%m-%dT%H:%M:%SZ", &tm);
  return buf;
}

// REPORT.json -> REPORT.html beside it.
std::string default_html_path(const std::string& json_path) {
  const size_t slash = json_path.find_last_of('/');
  const size_t dot = json_path.find_last_of('.');
  const bool has_ext = dot != std::string::npos && (slash == std::string::npos || dot > slash);
  return (has_ext ? json_path.substr(0, dot) : json_path) + ".html";
}

struct ReportOptions {
  std::string input_path;
  std::string output_path;
};

int run_report(const ReportOptions& o) {
  const std::string out = o.output_path.empty() ? default_html_path(o.input_path) : o.output_path;
  check_output_paths({{"the report", o.input_path}}, {{"--output", out}});
  const Report r = report_from_json(read_text(o.input_path, "report"));
  write_html_report(r, out);
  std::printf("wrote %s\n", out.c_str());
  return 0;
}

}  // namespace

void add_run_context(Report& report, const std::string& config_path) {
  if (!report.files) report.files = ReportFiles{};
  report.files->config_path = config_path;
  report.files->created = utc_now();
  report.config_json = read_text(config_path, "config");
  report.versions = build_versions();
}

void write_html_report(const Report& report, const std::string& path) {
  write_file_atomically(path, report_to_html(report));
}

Action add_report_command(CLI::App& app) {
  auto opts = std::make_shared<ReportOptions>();
  CLI::App* sub = app.add_subcommand(
      "report", "Render a JSON report as one self-contained HTML page (headline, search curve, sensitivity, network)");
  sub->add_option("report", opts->input_path, "The JSON report (qwac quantize --report, qwac sensitivity --output)")
      ->required();
  sub->add_option("--output", opts->output_path, "Where to write the page (default: the report's path with .html)");
  return [opts] { return run_report(*opts); };
}

}  // namespace qwac::cli
