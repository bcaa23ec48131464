// `qwac quantize --config CFG --output OUT.onnx [--report R.json] [--html R.html] [--evaluate]`: default 8-bit quantization of the
// config's model on its dataset, written as a QDQ ONNX model with a JSON report of every decision.
#include <sys/resource.h>

#include <cmath>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <functional>
#include <memory>
#include <sstream>

#include "command.h"
#include "qwac/resources.h"
#include "qwac/accuracy_control.h"
#include "qwac/config.h"
#include "qwac/error.h"
#include "qwac/evaluate.h"
#include "qwac/file.h"
#include "qwac/layer_error.h"
#include "qwac/logger.h"
#include "qwac/model.h"
#include "qwac/quantize.h"
#include "qwac/report_json.h"

namespace qwac::cli {

namespace {

struct QuantizeOptions {
  std::string config_path;
  std::string output_path;
  std::string report_path;
  std::string html_path;
  std::string model_override;
  int threads = -1;
  bool evaluate = false;
  bool quiet = false;
  bool resume = false;
  bool simulate = false;
};

std::string read_bytes(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

int64_t file_size_or_zero(const std::string& path) {
  std::error_code ec;
  const auto size = std::filesystem::file_size(path, ec);
  return ec ? 0 : static_cast<int64_t>(size);
}

// Metrics of `model` on the config's dataset (full set).
std::map<std::string, double> measure(const Model& model, const Config& cfg, const Dataset& dataset,
                                      const ExecutionOptions& run, bool quiet, const std::string& phase) {
  ExecutionOptions eo = run;
  eo.streams = cfg.engine().streams;
  eo.progress = make_console_progress(quiet);
  EvaluateOptions ev;
  ev.phase = phase;
  return evaluate(model, dataset, cfg.metrics(), eo, ev).metrics;
}

// Adds what only the CLI knows (paths, file sizes, memory, the config and versions) and, when a report is written,
// the per-layer error of the quantized model on a few calibration samples (cheap: two models on 8 samples); writes
// the JSON and HTML reports asked for.
void finish_report(Report& rep, const QuantizeOptions& o, const Config& cfg, const std::string& model_path,
                   const Model& fp32, const Model& quantized, const Dataset& calibration, const ExecutionOptions& ro) {
  ReportFiles files;
  files.model_name = cfg.model_name();
  files.fp32_path = model_path;
  files.output_path = o.output_path;
  files.fp32_bytes = file_size_or_zero(model_path);
  files.quantized_bytes = file_size_or_zero(o.output_path);
  rep.files = files;
  add_run_context(rep, o.config_path);
  if (!o.report_path.empty() || !o.html_path.empty()) {
    ExecutionOptions le = ro;
    le.progress = nullptr;
    // One sample at a time through small tensors: a second thread gains little, and on a busy machine every
    // parallel region waits for a core (measured: mobilenetv3s 0.1 s idle, 13.6 s with the cores taken).
    le.threads = 1;
    rep.layer_errors = measure_layer_errors(fp32, quantized, calibration, 8, le);
  }
  rusage usage{};
  getrusage(RUSAGE_SELF, &usage);
  rep.files->peak_rss_mb = static_cast<double>(usage.ru_maxrss) / 1024.0;  // ru_maxrss is in KiB
  if (!o.report_path.empty()) write_file_atomically(o.report_path, report_to_json(rep) + "\n");
  if (!o.html_path.empty()) write_html_report(rep, o.html_path);
}

void print_sizes(const ReportFiles& f) {
  const double ratio =
      f.fp32_bytes > 0 ? static_cast<double>(f.quantized_bytes) / static_cast<double>(f.fp32_bytes) : 0.0;
  std::printf("model: %s (%.2f MB) -> %s (%.2f MB, %.1f %%)\n", f.fp32_path.c_str(),
              static_cast<double>(f.fp32_bytes) / 1e6, f.output_path.c_str(),
              static_cast<double>(f.quantized_bytes) / 1e6, 100.0 * ratio);
}

double timing(const std::map<std::string, double>& timings, const std::string& key) {
  const auto it = timings.find(key);
  return it == timings.end() ? 0.0 : it->second;
}

int run_default(const QuantizeOptions& o, const Config& cfg, const CompressionSettings& settings, const Model& model,
                const std::string& model_path, const LoadedDataset& built, const LoadedDataset& calibration,
                const ExecutionOptions& ro) {
  QuantizeResult result = quantize(model, *calibration.dataset, settings.default_quantization, ro);
  result.model.save(o.output_path);
  Report& rep = result.report;
  if (o.evaluate) {
    // Label-free metrics compare with the FP32 model's outputs: computed once, for both measurements.
    DatasetPtr data = built.dataset;
    if (needs_reference_outputs(cfg.metrics())) {
      ExecutionOptions fp32_run = ro;
      fp32_run.int8 = false;
      fp32_run.streams = cfg.engine().streams;
      fp32_run.progress = make_console_progress(o.quiet);
      EvaluateOptions ev;
      ev.phase = "fp32 reference";
      data = with_reference_outputs(data, model, fp32_run, ev);
    }
    const auto fp32 = measure(model, cfg, *data, ro, o.quiet, "evaluate fp32");
    const auto q = measure(result.model, cfg, *data, ro, o.quiet, "evaluate int8");
    std::map<std::string, bool> higher_better;
    for (const MetricPtr& m : cfg.metrics()) higher_better[m->name()] = m->higher_better();
    for (const auto& [name, v] : fp32) {
      const double qv = q.at(name);
      // A drop is a loss of quality: fp32 - int8 for accuracy-like metrics, int8 - fp32 for errors (nmse).
      const double drop = higher_better.at(name) ? v - qv : qv - v;
      rep.evaluation.push_back({name, v, qv, drop, v != 0 ? drop / std::abs(v) : 0.0});
    }
  }
  finish_report(rep, o, cfg, model_path, model, result.model, *calibration.dataset, ro);
  const QuantizerSetReport& set = rep.quantization.set;
  std::printf("quantized %zu op(s) with %zu quantizers in %zu groups; %zu quantizable op(s) left in float\n",
              set.quantized_ops.size(), set.quantizers.size(), set.groups.size(), set.float_ops.size());
  print_sizes(*rep.files);
  for (const EvaluatedMetric& m : rep.evaluation) {
    std::printf("%-20s fp32 %.4f  int8 %.4f  drop %+.4f\n", m.name.c_str(), m.fp32, m.quantized, m.drop_absolute);
  }
  std::printf("time: %.2f s\n", timing(rep.quantization.timings_seconds, "quantize_total"));
  return 0;
}

int run_accuracy_aware(const QuantizeOptions& o, const Config& cfg, const CompressionSettings& settings,
                       const Model& model, const std::string& model_path, const LoadedDataset& built,
                       const LoadedDataset& calibration, const ExecutionOptions& ro) {
  AccuracyControlParams params = settings.accuracy_control;
  // The checkpoint lives beside the output; its identity is the config text and the model bytes, so --resume
  // refuses a checkpoint of another run.
  params.checkpoint_path = o.output_path + ".checkpoint.json";
  params.checkpoint_identity = std::to_string(std::hash<std::string>{}(read_bytes(o.config_path))) + "-" +
                               std::to_string(std::hash<std::string>{}(read_bytes(model_path))) +
                               (ro.int8 ? "" : "-simulated");
  params.resume = o.resume;
  // Calibration on engine.calibration_dataset (its first stat_subset_size samples; engine.dataset when absent, as
  // POT's engine does), validation on engine.dataset.
  AccuracyControlResult result =
      quantize_with_accuracy_control(model, *calibration.dataset, *built.dataset, cfg.metrics(), params, ro);
  result.model.save(o.output_path);  // the best model, also when the bound is not reached
  Report& rep = result.report;
  finish_report(rep, o, cfg, model_path, model, result.model, *calibration.dataset, ro);
  std::filesystem::remove(params.checkpoint_path);  // the run is complete
  const AccuracyControlReport& a = *rep.accuracy_control;
  for (const ControlledMetricReport& m : a.metrics) {
    std::printf("%-20s fp32 %.4f  default int8 %.4f  final %.4f  drop %+.4f (bound %.4f)\n", m.name.c_str(), m.fp32,
                m.default_quantization, m.final_value.value_or(0.0), m.drop, m.bound);
  }
  std::printf("%s\n", a.summary.c_str());
  std::printf("int8 ops: %.1f %%; full validations: %lld; time: %.2f s\n", 100.0 * a.int8_op_fraction,
              static_cast<long long>(a.full_validations), timing(a.timings_seconds, "total"));
  print_sizes(*rep.files);
  if (!result.reached) {
    std::fprintf(stderr, "qwac: AccuracyNotReached: %s\n", accuracy_not_reached_message(params).c_str());
    return static_cast<int>(ErrorKind::kAccuracyNotReached);
  }
  return 0;
}

int run_quantize(const QuantizeOptions& o) {
  if (o.threads < -1 || o.threads > kMaxThreads) {
    throw InvalidArgument("--threads must be in 0.." + std::to_string(kMaxThreads) + " (0 = all cores)");
  }
  const Config cfg = Config::load(o.config_path);
  const CompressionSettings settings = cfg.compression();
  // Fail on an unwritable destination or an output that would overwrite an input now, not after minutes of work.
  const bool accuracy_aware = settings.algorithm == CompressionAlgorithm::kAccuracyAwareQuantization;
  std::vector<NamedPath> outputs = {{"--output", o.output_path}};
  if (!o.report_path.empty()) outputs.push_back({"--report", o.report_path});
  if (!o.html_path.empty()) outputs.push_back({"--html", o.html_path});
  if (accuracy_aware) outputs.push_back({"the checkpoint", o.output_path + ".checkpoint.json"});
  check_output_paths(cfg.input_paths(o.model_override), outputs);
  const std::string model_path = o.model_override.empty() ? cfg.model_path() : o.model_override;
  const Model model = Model::load(model_path);
  if (o.evaluate || accuracy_aware || cfg.has_metrics()) cfg.validate_metrics(model);
  const LoadedDataset built = cfg.dataset(model);
  const LoadedDataset calibration = cfg.has_calibration_dataset() ? cfg.calibration_dataset(model) : built;
  auto logger = make_stderr_logger(o.quiet ? LogLevel::kWarning : LogLevel::kInfo);
  if (built.skipped > 0) logger->warning("skipped " + std::to_string(built.skipped) + " unreadable sample(s)");
  if (calibration.skipped > 0 && cfg.has_calibration_dataset()) {
    logger->warning("skipped " + std::to_string(calibration.skipped) + " unreadable calibration sample(s)");
  }

  ExecutionOptions ro;
  ro.batch_size = cfg.engine().batch_size;
  ro.threads = o.threads >= 0 ? o.threads : cfg.engine().threads;
  ro.use_dnnl = !cfg.engine().reference_kernels;
  ro.int8 = !o.simulate;
  ro.logger = logger;
  ro.progress = make_console_progress(o.quiet);
  if (settings.algorithm == CompressionAlgorithm::kAccuracyAwareQuantization) {
    return run_accuracy_aware(o, cfg, settings, model, model_path, built, calibration, ro);
  }
  return run_default(o, cfg, settings, model, model_path, built, calibration, ro);
}

}  // namespace

Action add_quantize_command(CLI::App& app) {
  auto opts = std::make_shared<QuantizeOptions>();
  CLI::App* sub = app.add_subcommand("quantize", "Quantize the config's model to 8 bits, with accuracy control when configured (QDQ ONNX + JSON report)");
  sub->add_option("--config", opts->config_path, "JSON config with a `compression` section (docs/config.md)")
      ->required();
  sub->add_option("--output", opts->output_path, "Where to write the quantized ONNX model")->required();
  sub->add_option("--report", opts->report_path, "Write the JSON report of every decision here");
  sub->add_option("--html", opts->html_path, "Write the report as one self-contained HTML page here (qwac report)");
  sub->add_option("--model", opts->model_override, "Quantize this ONNX file instead of the config's model");
  sub->add_option("--threads", opts->threads, "Inference threads, overriding engine.threads (0 = all cores)");
  sub->add_flag("--evaluate", opts->evaluate, "Also measure the FP32 and quantized metrics on the dataset");
  sub->add_flag("--quiet", opts->quiet, "No progress output");
  sub->add_flag("--simulate", opts->simulate,
                "Validate quantized candidates with the exact float simulation of the QDQ graph instead of the int8 "
                "kernels (slower; the numbers ONNX's reference semantics give)");
  sub->add_flag("--resume", opts->resume,
                "Accuracy-aware runs: continue an interrupted run from OUT.onnx.checkpoint.json (same result)");
  return [opts] { return run_quantize(*opts); };
}

}  // namespace qwac::cli
