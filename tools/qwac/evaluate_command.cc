// `qwac evaluate --config CFG`: the FP32 (or any ONNX) model's metrics on the configured dataset.
#include <algorithm>
#include <cstdio>
#include <memory>
#include <mutex>
#include <sstream>

#include <nlohmann/json.hpp>

#include "command.h"
#include "qwac/config.h"
#include "qwac/file.h"
#include "qwac/resources.h"
#include "qwac/error.h"
#include "qwac/evaluate.h"
#include "qwac/file.h"
#include "qwac/logger.h"
#include "qwac/model.h"

namespace qwac::cli {

namespace {

struct EvaluateCommandOptions {
  std::string config_path;
  std::string model_override;
  int64_t limit = 0;
  int threads = -1;  // -1 = the config's engine.threads
  int streams = -1;  // -1 = the config's engine.streams
  bool json = false;
  bool quiet = false;
  bool int8 = true;       // QDQ models on int8 kernels (the default)
  bool simulate = false;  // --simulate: the exact float simulation instead
  std::string predictions_path;
};

// Top-1 class and its score of the first output (flattened per sample), for the predictions file.
std::pair<int64_t, float> top1(const Tensor& t) {
  if (t.dtype() != DType::kFloat32 || t.numel() == 0) return {-1, 0.f};
  const float* p = t.data<float>();
  const int64_t best = std::max_element(p, p + t.numel()) - p;  // first maximum, like numpy argmax
  return {best, p[best]};
}

// Which output the predictions file ranks: the one the first accuracy metric scores (by name or index), else the
// first output. fashion-mnist-cnn, for instance, has a 3200-wide feature output beside its class scores.
size_t prediction_output(const nlohmann::json& metrics, const std::vector<std::string>& output_names) {
  if (!metrics.is_array()) return 0;
  for (const auto& m : metrics) {
    if (!m.is_object() || m.value("type", "") != "accuracy") continue;
    const auto opts = m.find("options");
    if (opts == m.end() || !opts->is_object() || !opts->contains("output")) return 0;
    const nlohmann::json& out = (*opts)["output"];
    if (out.is_number_integer()) {
      const auto i = out.get<int64_t>();
      return i >= 0 && i < static_cast<int64_t>(output_names.size()) ? static_cast<size_t>(i) : 0;
    }
    if (out.is_string()) {
      const auto it = std::find(output_names.begin(), output_names.end(), out.get<std::string>());
      return it == output_names.end() ? 0 : static_cast<size_t>(it - output_names.begin());
    }
    return 0;
  }
  return 0;
}

std::string csv_field(const std::string& s) {
  if (s.find_first_of(",\"\n") == std::string::npos) return s;
  std::string out = "\"";
  for (char c : s) out += c == '"' ? std::string("\"\"") : std::string(1, c);
  return out + "\"";
}

int run_evaluate(const EvaluateCommandOptions& o) {
  if (o.threads < -1 || o.streams < -1 || o.threads > kMaxThreads || o.streams > kMaxThreads) {
    throw InvalidArgument("--threads and --streams must be in 0.." + std::to_string(kMaxThreads) + " (0 = auto)");
  }
  if (o.limit < 0) throw InvalidArgument("--limit must be >= 0 (0 = all samples), got " + std::to_string(o.limit));
  const Config cfg = Config::load(o.config_path);
  if (!o.predictions_path.empty()) {
    check_output_paths(cfg.input_paths(o.model_override), {{"--predictions", o.predictions_path}});
  }
  const std::string model_path = o.model_override.empty() ? cfg.model_path() : o.model_override;
  const Model model = Model::load(model_path);
  cfg.validate_metrics(model);
  const LoadedDataset built = cfg.dataset(model);
  std::vector<MetricPtr> metrics = cfg.metrics();
  auto logger = make_stderr_logger(o.quiet ? LogLevel::kWarning : LogLevel::kInfo);
  if (built.skipped > 0) {
    logger->warning("skipped " + std::to_string(built.skipped) + " unreadable sample(s):");
    for (const auto& s : built.skipped_files) logger->warning("  " + s);
  }

  const EngineSettings engine = cfg.engine();
  ExecutionOptions eo = cfg.execution();
  eo.threads = o.threads >= 0 ? o.threads : engine.threads;
  eo.streams = o.streams >= 0 ? o.streams : engine.streams;
  eo.int8 = o.int8 && !o.simulate;
  eo.logger = logger;
  eo.progress = make_console_progress(o.quiet || o.json);
  EvaluateOptions ev;
  ev.limit = o.limit;
  const nlohmann::json metrics_section = nlohmann::json::parse(cfg.metrics_json());
  std::ostringstream predictions;
  if (!o.predictions_path.empty()) {
    predictions << "index,id,label,top1,top1_score\n";
    ev.on_sample = [&](int64_t index, const Sample& s, const ModelOutputs& out) {
      const auto [cls, score] = top1(out.tensors.at(prediction_output(metrics_section, out.names)));
      auto id = s.metadata.find("id");
      predictions << index << ',' << csv_field(id == s.metadata.end() ? std::to_string(index) : id->second) << ','
                  << s.annotation.label << ',' << cls << ',' << score << '\n';
    };
  }
  // Label-free metrics compare with the FP32 outputs of the config's model (the one --model was quantized from).
  DatasetPtr data = built.dataset;
  if (needs_reference_outputs(metrics)) {
    const bool same = model_path == cfg.model_path();
    EvaluateOptions ro = ev;
    ro.on_sample = nullptr;
    data = with_reference_outputs(data, same ? model : Model::load(cfg.model_path()), eo, ro);
  }
  const EvaluationResult r = evaluate(model, *data, metrics, eo, ev);
  if (!o.predictions_path.empty()) write_file_atomically(o.predictions_path, predictions.str());

  if (o.json) {
    nlohmann::json j;
    j["model"] = model_path;
    j["model_name"] = cfg.model_name();
    j["dataset"] = built.dataset->describe();
    j["samples"] = r.samples;
    j["skipped"] = built.skipped;
    j["batch_size"] = r.batch_size;
    j["streams"] = r.streams;
    j["seconds"] = r.seconds;
    j["inference_seconds"] = r.inference_seconds;
    j["samples_per_second"] = r.samples_per_second();
    for (const auto& m : metrics) {
      j["metrics"][m->name()] = {{"value", m->avg_value()}, {"direction", m->attributes()["direction"]}};
    }
    std::printf("%s\n", j.dump(2).c_str());
    return 0;
  }
  std::printf("model: %s\ndataset: %s\n", model_path.c_str(), built.dataset->describe().c_str());
  for (const auto& m : metrics) {
    const double v = m->avg_value();
    const auto per_sample = m->per_sample_values();
    if (m->attributes()["type"] == "accuracy" && !per_sample.empty()) {
      const auto hits = static_cast<int64_t>(std::count(per_sample.begin(), per_sample.end(), 1.0));
      std::printf("%-20s %.2f %% (%lld/%zu)\n", m->name().c_str(), 100.0 * v, static_cast<long long>(hits),
                  per_sample.size());
    } else {
      std::printf("%-20s %.6f\n", m->name().c_str(), v);
    }
  }
  std::printf("samples: %lld in %.2f s (%.1f samples/s; inference %.2f s over %d stream(s), batch %lld)\n",
              static_cast<long long>(r.samples), r.seconds, r.samples_per_second(), r.inference_seconds, r.streams,
              static_cast<long long>(r.batch_size));
  if (built.skipped > 0) std::printf("skipped: %lld unreadable sample(s)\n", static_cast<long long>(built.skipped));
  return 0;
}

}  // namespace

Action add_evaluate_command(CLI::App& app) {
  auto opts = std::make_shared<EvaluateCommandOptions>();
  CLI::App* sub = app.add_subcommand("evaluate", "Measure a model's metrics on the dataset of a JSON config");
  sub->add_option("--config", opts->config_path, "JSON config (see docs/config.md)")->required();
  sub->add_option("--model", opts->model_override, "Evaluate this ONNX file instead of the config's model");
  sub->add_option("--limit", opts->limit, "Only the first N samples (0 = all)");
  sub->add_option("--threads", opts->threads, "Inference threads, overriding engine.threads (0 = all cores)");
  sub->add_option("--streams", opts->streams, "Concurrent engine instances, overriding engine.streams (0 = auto)");
  sub->add_flag("--json", opts->json, "Print one JSON object instead of text");
  sub->add_flag("--quiet", opts->quiet, "No progress output");
  sub->add_flag("--int8", opts->int8,
                "Run quantized (QDQ) models on int8 kernels where they apply (the default; kept for scripts)");
  sub->add_flag("--simulate", opts->simulate,
                "Run quantized (QDQ) models as the exact float simulation of the QDQ graph (ONNX semantics) instead "
                "of the int8 kernels");
  sub->add_option("--predictions", opts->predictions_path, "Write per-sample results (CSV) to this file");
  return [opts] { return run_evaluate(*opts); };
}

}  // namespace qwac::cli
