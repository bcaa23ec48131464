// The JSON configuration, in the spirit of POT's: a `model` section, an `engine` section (dataset, preprocessing,
// metrics, threads, batch size) and a `compression` section (quantization; read by the quantization layer).
// Parsing is strict: an unknown key or a wrong type is an InvalidConfig naming its JSON path. Relative paths are
// resolved against the config file's folder. The format is documented in docs/config.md.
#pragma once

#include <memory>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "core/output_paths.h"
#include "ir/graph.h"
#include "qwac/dataset.h"
#include "qwac/metric.h"

namespace qwac::config {

struct ModelSection {
  std::string model_name;  // for reports; default: the model file's stem
  std::string model;       // resolved path of the .onnx file
};

struct EngineSection {
  int threads = 0;                 // total inference threads; 0 = all cores
  int streams = 0;                 // engine instances running batches concurrently; 0 = one per thread
  int64_t batch_size = 16;
  int loader_threads = 0;          // 0 = all cores
  bool reference_kernels = false;  // run on the reference kernels (slow; for checking)
  bool skip_unreadable = false;    // skip samples that cannot be decoded (image folders), and report the count
  nlohmann::json dataset;          // validated when the dataset is built (it needs the model's input names)
  // The data quantization calibrates on (same keys as `dataset`); null = `dataset`, as POT's engine does.
  nlohmann::json calibration_dataset;
  nlohmann::json metrics;          // validated when the metrics are built
};

struct Config {
  std::string path;      // the config file
  std::string base_dir;  // its folder: relative paths are resolved against it
  ModelSection model;
  EngineSection engine;
  nlohmann::json compression;  // null when absent; parsed by the quantization layer
};

// Reads and validates the file (IoError when unreadable, InvalidConfig for JSON syntax errors with line/column,
// unknown keys and wrong types).
Config load_config(const std::string& path);
Config parse_config(const nlohmann::json& root, const std::string& path);

// What build_dataset produced, plus what was skipped (skip_unreadable).
struct BuiltDataset {
  DatasetPtr dataset;
  int64_t skipped = 0;
  std::vector<std::string> skipped_files;
};

// The files a run reads, for the output-path guard (check_output_paths): the config itself, its model (or
// `model_override` when not empty) and the dataset's files (labels, arrays, batch files), each named by its JSON path.
std::vector<NamedPath> input_paths(const Config& config, const std::string& model_override = "");

// Builds the `engine.dataset` section for `model` (whose first input is fed unless `input` names another).
BuiltDataset build_dataset(const Config& config, const ir::Model& model);
// Builds `engine.calibration_dataset`, or `engine.dataset` when the config has none.
BuiltDataset build_calibration_dataset(const Config& config, const ir::Model& model);
// Builds the `engine.metrics` list (at least one metric).
std::vector<MetricPtr> build_metrics(const Config& config);

// Checks `engine.metrics` against the model before any work (InvalidConfig naming the JSON path): every metric
// builds, the output an accuracy metric names exists, and its `k` is at most the class count of that output when
// the model declares the output's shape (a larger k would score every sample as a hit).
void validate_metrics(const Config& config, const ir::Model& model);

}  // namespace qwac::config
