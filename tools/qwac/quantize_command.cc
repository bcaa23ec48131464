// `qwac quantize --config CFG --output OUT.onnx [--report R.json] [--evaluate]`: default 8-bit quantization of the
// config's model on its dataset, written as a QDQ ONNX model with a JSON report of every decision.
#include <sys/resource.h>

#include <cmath>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <functional>
#include <sstream>
#include <memory>

#include <nlohmann/json.hpp>

#include "command.h"
#include "config/compression_config.h"
#include "config/config.h"
#include "core/atomic_file.h"
#include "core/output_paths.h"
#include "core/resource_limits.h"
#include "ir/graph.h"
#include "onnx/model_io.h"
#include "qwac/error.h"
#include "qwac/accuracy_control.h"
#include "qwac/quantize.h"
#include "runtime/evaluation.h"
#include "runtime/reference_outputs.h"
#include "terminal_progress.h"

namespace qwac::cli {

namespace {

struct QuantizeOptions {
  std::string config_path;
  std::string output_path;
  std::string report_path;
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

uint64_t file_size_or_zero(const std::string& path) {
  std::error_code ec;
  const auto size = std::filesystem::file_size(path, ec);
  return ec ? 0 : static_cast<uint64_t>(size);
}

runtime::EvaluationOptions evaluation_options(const config::Config& cfg, int threads, bool int8,
                                              const std::shared_ptr<Logger>& logger, bool quiet,
                                              const std::string& phase) {
  runtime::EvaluationOptions eo;
  eo.batch_size = cfg.engine.batch_size;
  eo.engine_threads = threads;
  eo.streams = cfg.engine.streams;
  eo.loader_threads = cfg.engine.loader_threads;
  eo.use_dnnl = !cfg.engine.reference_kernels;
  eo.int8 = int8;
  eo.logger = logger;
  eo.progress = make_terminal_progress(quiet);
  eo.phase = phase;
  return eo;
}

// Metrics of `model` on the config's dataset (full set).
std::map<std::string, double> measure(const ir::Model& model, const config::Config& cfg, const Dataset& dataset,
                                      int threads, bool int8, const std::shared_ptr<Logger>& logger, bool quiet,
                                      const std::string& phase) {
  std::vector<MetricPtr> metrics = config::build_metrics(cfg);
  return runtime::evaluate(model, dataset, metrics, evaluation_options(cfg, threads, int8, logger, quiet, phase))
      .metrics;
}

// Adds what only the CLI knows (paths, file sizes, memory) to the report and writes it.
void finish_report(nlohmann::json& rep, const QuantizeOptions& o, const config::Config& cfg,
                   const std::string& model_path) {
  rep["model"] = {{"name", cfg.model.model_name}, {"fp32_path", model_path}, {"output_path", o.output_path}};
  const uint64_t fp32_bytes = file_size_or_zero(model_path), int8_bytes = file_size_or_zero(o.output_path);
  rep["sizes"] = {{"fp32_bytes", fp32_bytes},
                  {"quantized_bytes", int8_bytes},
                  {"ratio", fp32_bytes > 0 ? static_cast<double>(int8_bytes) / static_cast<double>(fp32_bytes) : 0.0}};
  rusage usage{};
  getrusage(RUSAGE_SELF, &usage);
  rep["resources"] = {{"peak_rss_mb", static_cast<double>(usage.ru_maxrss) / 1024.0}};  // ru_maxrss is in KiB
  if (!o.report_path.empty()) write_file_atomically(o.report_path, rep.dump(2) + "\n");
}

void print_sizes(const nlohmann::json& rep, const std::string& model_path, const std::string& output_path) {
  std::printf("model: %s (%.2f MB) -> %s (%.2f MB, %.1f %%)\n", model_path.c_str(),
              rep["sizes"]["fp32_bytes"].get<double>() / 1e6, output_path.c_str(),
              rep["sizes"]["quantized_bytes"].get<double>() / 1e6, 100.0 * rep["sizes"]["ratio"].get<double>());
}

int run_default(const QuantizeOptions& o, const config::Config& cfg, const config::AlgorithmSection& algo,
                const std::string& target_device, const ir::Model& model, const std::string& model_path,
                const config::BuiltDataset& built, const RunOptions& ro) {
  const QuantizationParams params = config::parse_default_quantization_params(algo, target_device);
  QuantizeResult result = quantize(model, *built.dataset, params, ro);
  onnxio::save_model(*result.model, o.output_path);
  nlohmann::json& rep = result.report;
  if (o.evaluate) {
    // Label-free metrics compare with the FP32 model's outputs: computed once, for both measurements.
    DatasetPtr data = built.dataset;
    if (runtime::needs_reference_outputs(config::build_metrics(cfg))) {
      data = runtime::with_reference_outputs(
          data, model, evaluation_options(cfg, ro.threads, false, ro.logger, o.quiet, "fp32 reference"));
    }
    const auto fp32 = measure(model, cfg, *data, ro.threads, ro.int8, ro.logger, o.quiet, "evaluate fp32");
    const auto q = measure(*result.model, cfg, *data, ro.threads, ro.int8, ro.logger, o.quiet, "evaluate int8");
    std::map<std::string, bool> higher_better;
    for (const MetricPtr& m : config::build_metrics(cfg)) higher_better[m->name()] = m->higher_better();
    for (const auto& [name, v] : fp32) {
      const double qv = q.at(name);
      // A drop is a loss of quality: fp32 - int8 for accuracy-like metrics, int8 - fp32 for errors (nmse).
      const double drop = higher_better.at(name) ? v - qv : qv - v;
      rep["metrics"][name] = {{"fp32", v}, {"quantized", qv}, {"drop_absolute", drop},
                              {"drop_relative", v != 0 ? drop / std::abs(v) : 0.0}};
    }
  }
  finish_report(rep, o, cfg, model_path);
  const size_t nq = rep["quantized_ops"].size(), nf = rep["float_ops"].size();
  std::printf("quantized %zu op(s) with %zu quantizers in %zu groups; %zu quantizable op(s) left in float\n", nq,
              rep["quantizers"].size(), rep["groups"].size(), nf);
  print_sizes(rep, model_path, o.output_path);
  if (rep.contains("metrics")) {
    for (const auto& [name, m] : rep["metrics"].items()) {
      std::printf("%-20s fp32 %.4f  int8 %.4f  drop %+.4f\n", name.c_str(), m["fp32"].get<double>(),
                  m["quantized"].get<double>(), m["drop_absolute"].get<double>());
    }
  }
  std::printf("time: %.2f s\n", rep["timings_seconds"]["quantize_total"].get<double>());
  return 0;
}

int run_accuracy_aware(const QuantizeOptions& o, const config::Config& cfg, const config::AlgorithmSection& algo,
                       const std::string& target_device, const ir::Model& model, const std::string& model_path,
                       const config::BuiltDataset& built, const RunOptions& ro) {
  AccuracyControlParams params = config::parse_accuracy_aware_params(algo, target_device);
  // The checkpoint lives beside the output; its identity is the config text and the model bytes, so --resume
  // refuses a checkpoint of another run.
  params.checkpoint_path = o.output_path + ".checkpoint.json";
  params.checkpoint_identity = std::to_string(std::hash<std::string>{}(read_bytes(o.config_path))) + "-" +
                               std::to_string(std::hash<std::string>{}(read_bytes(model_path))) +
                               (ro.int8 ? "" : "-simulated");
  params.resume = o.resume;
  const std::vector<MetricPtr> metrics = config::build_metrics(cfg);
  // One dataset for calibration (its first stat_subset_size samples) and validation, as POT's engine does.
  AccuracyControlResult result =
      quantize_with_accuracy_control(model, *built.dataset, *built.dataset, metrics, params, ro);
  onnxio::save_model(*result.model, o.output_path);  // the best model, also when the bound is not reached
  nlohmann::json& rep = result.report;
  finish_report(rep, o, cfg, model_path);
  std::filesystem::remove(params.checkpoint_path);  // the run is complete
  for (const auto& [name, m] : rep["metrics"].items()) {
    std::printf("%-20s fp32 %.4f  default int8 %.4f  final %.4f  drop %+.4f (bound %.4f)\n", name.c_str(),
                m["fp32"].get<double>(), m["default_quantization"].get<double>(), m["final"].get<double>(),
                m["drop"].get<double>(), m["bound"].get<double>());
  }
  std::printf("%s\n", rep["summary"].get<std::string>().c_str());
  std::printf("int8 ops: %.1f %%; full validations: %lld; time: %.2f s\n",
              100.0 * rep["int8_op_fraction"].get<double>(),
              static_cast<long long>(rep["full_validations"].get<int64_t>()),
              rep["timings_seconds"]["total"].get<double>());
  print_sizes(rep, model_path, o.output_path);
  if (!result.reached) {
    std::fprintf(stderr,
                 "qwac: AccuracyNotReached: the drop bound %g (%s) is not reached; the best model found and the "
                 "report were written (raise maximal_drop, max_iter_num or the budgets)\n",
                 params.max_drop, params.drop_type.c_str());
    return static_cast<int>(ErrorKind::kAccuracyNotReached);
  }
  return 0;
}

int run_quantize(const QuantizeOptions& o) {
  if (o.threads < -1 || o.threads > kMaxThreads) {
    throw InvalidArgument("--threads must be in 0.." + std::to_string(kMaxThreads) + " (0 = all cores)");
  }
  const config::Config cfg = config::load_config(o.config_path);
  const config::CompressionSection compression = config::parse_compression(cfg.compression);
  if (compression.algorithms.size() != 1) {
    throw InvalidConfig("compression.algorithms: expected exactly one algorithm, got " +
                        std::to_string(compression.algorithms.size()));
  }
  const config::AlgorithmSection& algo = compression.algorithms.front();
  if (algo.name != "DefaultQuantization" && algo.name != "AccuracyAwareQuantization") {
    throw InvalidConfig("compression.algorithms[0].name: unknown algorithm '" + algo.name +
                        "' (expected \"DefaultQuantization\" or \"AccuracyAwareQuantization\")");
  }
  // Fail on an unwritable destination or an output that would overwrite an input now, not after minutes of work.
  std::vector<NamedPath> outputs = {{"--output", o.output_path}};
  if (!o.report_path.empty()) outputs.push_back({"--report", o.report_path});
  if (algo.name == "AccuracyAwareQuantization") outputs.push_back({"the checkpoint", o.output_path + ".checkpoint.json"});
  check_output_paths(config::input_paths(cfg, o.model_override), outputs);
  const std::string model_path = o.model_override.empty() ? cfg.model.model : o.model_override;
  const ir::Model model = onnxio::load_model(model_path);
  if (o.evaluate || algo.name == "AccuracyAwareQuantization" || !cfg.engine.metrics.is_null()) {
    config::validate_metrics(cfg, model);
  }
  const config::BuiltDataset built = config::build_dataset(cfg, model);
  auto logger = make_stderr_logger(o.quiet ? LogLevel::kWarning : LogLevel::kInfo);
  if (built.skipped > 0) logger->warning("skipped " + std::to_string(built.skipped) + " unreadable sample(s)");

  RunOptions ro;
  ro.batch_size = cfg.engine.batch_size;
  ro.threads = o.threads >= 0 ? o.threads : cfg.engine.threads;
  ro.use_dnnl = !cfg.engine.reference_kernels;
  ro.int8 = !o.simulate;
  ro.logger = logger;
  ro.progress = make_terminal_progress(o.quiet);
  if (algo.name == "AccuracyAwareQuantization") {
    return run_accuracy_aware(o, cfg, algo, compression.target_device, model, model_path, built, ro);
  }
  return run_default(o, cfg, algo, compression.target_device, model, model_path, built, ro);
}

}  // namespace

Action add_quantize_command(CLI::App& app) {
  auto opts = std::make_shared<QuantizeOptions>();
  CLI::App* sub = app.add_subcommand("quantize", "Quantize the config's model to 8 bits, with accuracy control when configured (QDQ ONNX + JSON report)");
  sub->add_option("--config", opts->config_path, "JSON config with a `compression` section (docs/config.md)")
      ->required();
  sub->add_option("--output", opts->output_path, "Where to write the quantized ONNX model")->required();
  sub->add_option("--report", opts->report_path, "Write the JSON report of every decision here");
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
