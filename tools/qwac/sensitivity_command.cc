// `qwac sensitivity --config CFG [--output S.json] [--html S.html]`: which quantizer groups hurt the metric, ranked, without any
// search. Uses the config's AccuracyAwareQuantization params (or DefaultQuantization params with the accuracy
// defaults), engine.calibration_dataset for calibration (engine.dataset when absent) and engine.dataset for validation.
#include <cstdio>
#include <memory>

#include "command.h"
#include "qwac/resources.h"
#include "qwac/accuracy_control.h"
#include "qwac/config.h"
#include "qwac/error.h"
#include "qwac/file.h"
#include "qwac/logger.h"
#include "qwac/model.h"
#include "qwac/report_json.h"

namespace qwac::cli {
namespace {

struct SensitivityOptions {
  std::string config_path;
  std::string output_path;
  std::string html_path;
  int threads = -1;
  bool quiet = false;
  bool simulate = false;
};

int run_sensitivity(const SensitivityOptions& o) {
  if (o.threads < -1 || o.threads > kMaxThreads) {
    throw InvalidArgument("--threads must be in 0.." + std::to_string(kMaxThreads) + " (0 = all cores)");
  }
  const Config cfg = Config::load(o.config_path);
  std::vector<NamedPath> outputs;
  if (!o.output_path.empty()) outputs.push_back({"--output", o.output_path});
  if (!o.html_path.empty()) outputs.push_back({"--html", o.html_path});
  if (!outputs.empty()) check_output_paths(cfg.input_paths(), outputs);
  // AccuracyAwareQuantization params, or DefaultQuantization params with the accuracy defaults.
  const AccuracyControlParams params = cfg.compression().accuracy_control;
  const Model model = Model::load(cfg.model_path());
  cfg.validate_metrics(model);
  const LoadedDataset built = cfg.dataset(model);
  const LoadedDataset calibration = cfg.has_calibration_dataset() ? cfg.calibration_dataset(model) : built;
  ExecutionOptions ro;
  ro.batch_size = cfg.engine().batch_size;
  ro.threads = o.threads >= 0 ? o.threads : cfg.engine().threads;
  ro.use_dnnl = !cfg.engine().reference_kernels;
  ro.int8 = !o.simulate;
  ro.logger = make_stderr_logger(o.quiet ? LogLevel::kWarning : LogLevel::kInfo);
  ro.progress = make_console_progress(o.quiet);
  Report r = quantization_sensitivity(model, *calibration.dataset, *built.dataset, cfg.metrics(), params, ro);
  ReportFiles files;
  files.model_name = cfg.model_name();
  files.fp32_path = cfg.model_path();
  r.files = files;
  add_run_context(r, o.config_path);
  if (!o.output_path.empty()) write_file_atomically(o.output_path, report_to_json(r) + "\n");
  if (!o.html_path.empty()) write_html_report(r, o.html_path);

  const SensitivityReport& s = *r.sensitivity;
  for (const ControlledMetricReport& m : s.metrics) {
    std::printf("%s: fp32 %.4f, default int8 %.4f (drop %+.4f, bound %.4f)\n", m.name.c_str(), m.fp32,
                m.default_quantization, m.drop, m.bound);
  }
  std::printf("groups ranked by %s on the %lld worst samples (reverting the group alone):\n", s.ranked_metric.c_str(),
              static_cast<long long>(s.ranking_subset_size));
  std::printf("%4s %5s  %-12s %-12s %s\n", "rank", "group", "subset", "est. full", "ops");
  for (const SensitivityGroup& g : s.groups) {
    std::string ops;
    for (const OpPrecisionReport& op : g.ops) ops += (ops.empty() ? "" : ", ") + op.op + " (" + op.type + ")";
    std::string est = "-";
    for (const StepMetric& e : g.estimated) {
      if (e.name == s.ranked_metric) est = std::to_string(e.value);
    }
    std::printf("%4lld %5lld  %-12.6f %-12s %s\n", static_cast<long long>(g.rank), static_cast<long long>(g.group),
                g.score, est.c_str(), ops.c_str());
  }
  const auto total = s.timings_seconds.find("total");
  std::printf("time: %.2f s (%lld full and %lld subset validations)\n",
              total == s.timings_seconds.end() ? 0.0 : total->second, static_cast<long long>(s.full_validations),
              static_cast<long long>(s.subset_validations));
  return 0;
}

}  // namespace

Action add_sensitivity_command(CLI::App& app) {
  auto opts = std::make_shared<SensitivityOptions>();
  CLI::App* sub = app.add_subcommand("sensitivity", "Rank quantizer groups by the accuracy they cost (no search)");
  sub->add_option("--config", opts->config_path, "JSON config with a `compression` section (docs/config.md)")
      ->required();
  sub->add_option("--output", opts->output_path, "Write the ranking as JSON here");
  sub->add_option("--html", opts->html_path, "Write the ranking as one self-contained HTML page here (qwac report)");
  sub->add_option("--threads", opts->threads, "Inference threads, overriding engine.threads (0 = all cores)");
  sub->add_flag("--quiet", opts->quiet, "No progress output");
  sub->add_flag("--simulate", opts->simulate,
                "Score groups with the exact float simulation of the QDQ graph instead of the int8 kernels");
  return [opts] { return run_sensitivity(*opts); };
}

}  // namespace qwac::cli
