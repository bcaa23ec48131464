// qwac::Config (include/qwac/config.h) over the config layer (src/config), with the params in typed form.
#include "qwac/config.h"

#include <filesystem>

#include "api/model_impl.h"
#include "api/params.h"
#include "config/compression_config.h"
#include "config/config.h"
#include "config/json_text.h"
#include "qwac/error.h"

namespace qwac {
namespace {

LoadedDataset loaded(config::BuiltDataset built) {
  return {std::move(built.dataset), built.skipped, std::move(built.skipped_files)};
}

CompressionSettings compression_of(const nlohmann::json& section) {
  const config::CompressionSection compression = config::parse_compression(section);
  if (compression.algorithms.size() != 1) {
    throw InvalidConfig("compression.algorithms: expected exactly one algorithm, got " +
                        std::to_string(compression.algorithms.size()));
  }
  const config::AlgorithmSection& algo = compression.algorithms.front();
  CompressionSettings s;
  if (algo.name == "AccuracyAwareQuantization") {
    s.algorithm = CompressionAlgorithm::kAccuracyAwareQuantization;
    s.accuracy_control =
        api::from_config(config::parse_accuracy_aware_params(algo, compression.target_device), algo.where);
    s.default_quantization = s.accuracy_control.base;
  } else if (algo.name == "DefaultQuantization") {
    s.algorithm = CompressionAlgorithm::kDefaultQuantization;
    s.default_quantization =
        api::from_config(config::parse_default_quantization_params(algo, compression.target_device), algo.where);
    s.accuracy_control.base = s.default_quantization;
  } else {
    throw InvalidConfig("compression.algorithms[0].name: unknown algorithm '" + algo.name +
                        "' (expected \"DefaultQuantization\" or \"AccuracyAwareQuantization\")");
  }
  return s;
}

// Through the config layer's JSON pre-pass (depth and number limits, line and column in messages).
nlohmann::json parse_json(const std::string& text, const std::string& what) { return config::parse_json_text(text, what); }

}  // namespace

struct Config::Impl {
  config::Config config;
};

Config::Config() : impl_(std::make_unique<Impl>()) {}
Config::~Config() = default;
Config::Config(const Config& other) : impl_(std::make_unique<Impl>(*other.impl_)) {}
Config& Config::operator=(const Config& other) {
  if (this != &other) *impl_ = *other.impl_;
  return *this;
}

Config Config::load(const std::string& path) {
  Config c;
  c.impl_->config = config::load_config(path);
  return c;
}

Config Config::parse(const std::string& json_text, const std::string& path) {
  Config c;
  c.impl_->config = config::parse_config(parse_json(json_text, "config '" + path + "'"), path);
  return c;
}

std::vector<NamedPath> Config::input_paths(const std::string& model_override) const {
  return config::input_paths(impl_->config, model_override);
}

void Config::validate_metrics(const Model& model) const { config::validate_metrics(impl_->config, api::unwrap(model)); }

const std::string& Config::path() const { return impl_->config.path; }
std::string Config::model_path() const { return impl_->config.model.model; }
std::string Config::model_name() const { return impl_->config.model.model_name; }

EngineSettings Config::engine() const {
  const config::EngineSection& e = impl_->config.engine;
  return {e.threads, e.streams, e.batch_size, e.loader_threads, e.reference_kernels, e.skip_unreadable};
}

ExecutionOptions Config::execution() const {
  const config::EngineSection& e = impl_->config.engine;
  ExecutionOptions o;
  o.batch_size = e.batch_size;
  o.threads = e.threads;
  o.streams = e.streams;
  o.loader_threads = e.loader_threads;
  o.use_dnnl = !e.reference_kernels;
  return o;
}

LoadedDataset Config::dataset(const Model& model) const {
  return loaded(config::build_dataset(impl_->config, api::unwrap(model)));
}

LoadedDataset Config::calibration_dataset(const Model& model) const {
  return loaded(config::build_calibration_dataset(impl_->config, api::unwrap(model)));
}

bool Config::has_calibration_dataset() const { return !impl_->config.engine.calibration_dataset.is_null(); }

std::vector<MetricPtr> Config::metrics() const { return config::build_metrics(impl_->config); }

std::string Config::metrics_json() const { return impl_->config.engine.metrics.dump(); }

bool Config::has_metrics() const { return !impl_->config.engine.metrics.is_null(); }

bool Config::has_compression() const { return !impl_->config.compression.is_null(); }

CompressionSettings Config::compression() const { return compression_of(impl_->config.compression); }

CompressionSettings parse_compression(const std::string& compression_json) {
  return compression_of(parse_json(compression_json, "the compression section"));
}

LoadedDataset load_dataset(const std::string& dataset_json, const Model& model, const std::string& base_dir) {
  config::Config c;
  c.base_dir = std::filesystem::absolute(base_dir.empty() ? "." : base_dir).string();
  c.path = (std::filesystem::path(c.base_dir) / "<dataset>").string();
  c.engine.dataset = parse_json(dataset_json, "the dataset section");
  return loaded(config::build_dataset(c, api::unwrap(model)));
}

std::vector<MetricPtr> make_metrics(const std::string& metrics_json) {
  config::Config c;
  c.engine.metrics = parse_json(metrics_json, "the metrics list");
  return config::build_metrics(c);
}

}  // namespace qwac
