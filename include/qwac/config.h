// qwac public API: JSON configs (docs/config.md), in the spirit of POT's: a `model` section, an `engine` section
// (dataset with its preprocessing, metrics, threads, batch size) and a `compression` section (the algorithm and its
// params). Parsing is strict: an unknown key or a wrong type is an InvalidConfig naming its JSON path; relative
// paths are resolved against the config file's folder.
//
//   qwac::Config cfg = qwac::Config::load("examples/resnet20-cifar10-cifar10-test-jpeg-aaq.json");
//   qwac::Model model = qwac::Model::load(cfg.model_path());
//   qwac::DatasetPtr data = cfg.dataset(model).dataset;           // reads samples on demand
//   qwac::CompressionSettings c = cfg.compression();               // typed params
//   auto r = qwac::quantize_with_accuracy_control(model, *data, *data, cfg.metrics(), c.accuracy_control,
//                                                 cfg.execution());
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "qwac/accuracy_control.h"
#include "qwac/dataset.h"
#include "qwac/execution.h"
#include "qwac/file.h"
#include "qwac/metric.h"
#include "qwac/model.h"
#include "qwac/quantize.h"

namespace qwac {

// The `engine` section.
struct EngineSettings {
  int threads = 0;                 // total inference threads; 0 = all cores
  int streams = 0;                 // engine instances running batches concurrently; 0 = one per thread
  int64_t batch_size = 16;
  int loader_threads = 0;          // 0 = all cores
  bool reference_kernels = false;  // run on the reference kernels (slow; for checking)
  bool skip_unreadable = false;    // skip samples that cannot be decoded (image folders), and report them
};

// A dataset built from a config section, and what was skipped (engine.skip_unreadable).
struct LoadedDataset {
  DatasetPtr dataset;
  int64_t skipped = 0;
  std::vector<std::string> skipped_files;  // "file: reason"
};

enum class CompressionAlgorithm { kDefaultQuantization, kAccuracyAwareQuantization };

// The `compression` section: exactly one algorithm, with its params in typed form. For an
// AccuracyAwareQuantization, `accuracy_control.base` holds its DefaultQuantization params (POT: "all its parameters
// are also valid") and `default_quantization` is the same.
struct CompressionSettings {
  CompressionAlgorithm algorithm = CompressionAlgorithm::kDefaultQuantization;
  QuantizationParams default_quantization;
  AccuracyControlParams accuracy_control;
};

class Config {
 public:
  Config();
  ~Config();
  Config(const Config&);
  Config& operator=(const Config&);

  // Reads and validates the file: IoError when unreadable, InvalidConfig for JSON syntax errors (with line and
  // column), unknown keys and wrong types.
  static Config load(const std::string& path);
  // The same from JSON text; relative paths are resolved against the folder of `path` (which need not exist).
  static Config parse(const std::string& json_text, const std::string& path);

  const std::string& path() const;
  std::string model_path() const;  // model.model, resolved
  std::string model_name() const;  // model.model_name, default: the model file's stem
  EngineSettings engine() const;
  // The engine section as execution options (batch size, threads, streams, loader threads, kernels); the caller
  // adds a logger and progress.
  ExecutionOptions execution() const;

  // engine.dataset, built for `model` (which input it feeds: its first, unless the section's `input` names one).
  LoadedDataset dataset(const Model& model) const;
  // engine.calibration_dataset (same keys as engine.dataset), built for `model`; engine.dataset's when the config has
  // none, as POT's engine calibrates on its dataset.
  LoadedDataset calibration_dataset(const Model& model) const;
  bool has_calibration_dataset() const;
  // The files a run reads, for the output-path guard (check_output_paths): the config itself, its model (or
  // `model_override` when not empty) and the dataset's files, each named by its JSON path.
  std::vector<NamedPath> input_paths(const std::string& model_override = "") const;
  // Checks engine.metrics against the model before any work (InvalidConfig naming the JSON path): every metric
  // builds, the output an accuracy metric names exists, and its `k` is at most the class count of that output.
  void validate_metrics(const Model& model) const;
  // engine.metrics (at least one).
  std::vector<MetricPtr> metrics() const;
  bool has_metrics() const;  // whether the config has an engine.metrics section
  // engine.metrics as JSON text (e.g. to find which output an accuracy metric scores).
  std::string metrics_json() const;
  bool has_compression() const;
  // InvalidConfig when the section is missing or malformed, names no or several algorithms, or a param is bad.
  CompressionSettings compression() const;

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

// A `compression` section given as JSON text ({"target_device": ..., "algorithms": [{"name", "params"}]}), as
// Config::compression() reads it: the Python module's POT pipeline passes its algorithms this way, so their params
// are exactly the config's.
CompressionSettings parse_compression(const std::string& compression_json);

// A dataset section given as JSON text ({"type": "image_folder", "images": ..., "preprocessing": {...}}, the
// config's engine.dataset), built for `model`; relative paths are resolved against `base_dir`.
LoadedDataset load_dataset(const std::string& dataset_json, const Model& model, const std::string& base_dir = ".");

// A metrics list given as JSON text ([{"type": "accuracy", "options": {"k": 1}}], the config's engine.metrics).
std::vector<MetricPtr> make_metrics(const std::string& metrics_json);

}  // namespace qwac
