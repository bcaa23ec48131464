// `qwac sensitivity --config CFG [--output S.json]`: which quantizer groups hurt the metric, ranked, without any
// search. Uses the config's AccuracyAwareQuantization params (or DefaultQuantization params with the accuracy
// defaults) and its dataset for calibration and validation.
#include <cstdio>
#include <memory>

#include "command.h"
#include "config/compression_config.h"
#include "config/config.h"
#include "core/atomic_file.h"
#include "core/output_paths.h"
#include "core/resource_limits.h"
#include "onnx/model_io.h"
#include "qwac/accuracy_control.h"
#include "qwac/error.h"
#include "terminal_progress.h"

namespace qwac::cli {
namespace {

struct SensitivityOptions {
  std::string config_path;
  std::string output_path;
  int threads = -1;
  bool quiet = false;
  bool simulate = false;
};

int run_sensitivity(const SensitivityOptions& o) {
  if (o.threads < -1 || o.threads > kMaxThreads) {
    throw InvalidArgument("--threads must be in 0.." + std::to_string(kMaxThreads) + " (0 = all cores)");
  }
  const config::Config cfg = config::load_config(o.config_path);
  if (!o.output_path.empty()) check_output_paths(config::input_paths(cfg), {{"--output", o.output_path}});
  const config::CompressionSection compression = config::parse_compression(cfg.compression);
  const config::AlgorithmSection& algo = compression.algorithms.front();
  AccuracyControlParams params;
  if (algo.name == "AccuracyAwareQuantization") {
    params = config::parse_accuracy_aware_params(algo, compression.target_device);
  } else {
    params.base = config::parse_default_quantization_params(algo, compression.target_device);
  }
  const ir::Model model = onnxio::load_model(cfg.model.model);
  config::validate_metrics(cfg, model);
  const config::BuiltDataset built = config::build_dataset(cfg, model);
  RunOptions ro;
  ro.batch_size = cfg.engine.batch_size;
  ro.threads = o.threads >= 0 ? o.threads : cfg.engine.threads;
  ro.use_dnnl = !cfg.engine.reference_kernels;
  ro.int8 = !o.simulate;
  ro.logger = make_stderr_logger(o.quiet ? LogLevel::kWarning : LogLevel::kInfo);
  ro.progress = make_terminal_progress(o.quiet);
  const nlohmann::json r =
      quantization_sensitivity(model, *built.dataset, *built.dataset, config::build_metrics(cfg), params, ro);
  if (!o.output_path.empty()) write_file_atomically(o.output_path, r.dump(2) + "\n");

  for (const auto& [name, m] : r["metrics"].items()) {
    std::printf("%s: fp32 %.4f, default int8 %.4f (drop %+.4f, bound %.4f)\n", name.c_str(), m["fp32"].get<double>(),
                m["default_quantization"].get<double>(), m["drop"].get<double>(), m["bound"].get<double>());
  }
  const std::string metric = r["ranked_metric"];
  std::printf("groups ranked by %s on the %lld worst samples (reverting the group alone):\n", metric.c_str(),
              static_cast<long long>(r["ranking_subset_size"].get<int64_t>()));
  std::printf("%4s %5s  %-12s %-12s %s\n", "rank", "group", "subset", "est. full", "ops");
  for (const auto& g : r["groups"]) {
    std::string ops;
    for (const auto& op : g["ops"]) ops += (ops.empty() ? "" : ", ") + op["op"].get<std::string>() + " (" + op["type"].get<std::string>() + ")";
    const std::string est = g.contains("estimated") ? std::to_string(g["estimated"][metric]["value"].get<double>()) : "-";
    std::printf("%4lld %5lld  %-12.6f %-12s %s\n", static_cast<long long>(g["rank"].get<int64_t>()),
                static_cast<long long>(g["group"].get<int64_t>()), g["score"].get<double>(), est.c_str(), ops.c_str());
  }
  std::printf("time: %.2f s (%lld full and %lld subset validations)\n", r["timings_seconds"]["total"].get<double>(),
              static_cast<long long>(r["full_validations"].get<int64_t>()),
              static_cast<long long>(r["subset_validations"].get<int64_t>()));
  return 0;
}

}  // namespace

Action add_sensitivity_command(CLI::App& app) {
  auto opts = std::make_shared<SensitivityOptions>();
  CLI::App* sub = app.add_subcommand("sensitivity", "Rank quantizer groups by the accuracy they cost (no search)");
  sub->add_option("--config", opts->config_path, "JSON config with a `compression` section (docs/config.md)")
      ->required();
  sub->add_option("--output", opts->output_path, "Write the ranking as JSON here");
  sub->add_option("--threads", opts->threads, "Inference threads, overriding engine.threads (0 = all cores)");
  sub->add_flag("--quiet", opts->quiet, "No progress output");
  sub->add_flag("--simulate", opts->simulate,
                "Score groups with the exact float simulation of the QDQ graph instead of the int8 kernels");
  return [opts] { return run_sensitivity(*opts); };
}

}  // namespace qwac::cli
