#include "config/config.h"

#include <sys/stat.h>

#include <climits>
#include <cmath>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <sstream>

#include "config/json_text.h"
#include "core/json_options.h"
#include "core/resource_limits.h"
#include "data/cifar_dataset.h"
#include "data/idx_dataset.h"
#include "data/image_folder_dataset.h"
#include "data/npy_dataset.h"
#include "data/onnx_testset_dataset.h"
#include "data/preprocess.h"
#include "data/random_dataset.h"
#include "ir/input_domain.h"
#include "metrics/accuracy.h"
#include "metrics/metric_registry.h"
#include "qwac/error.h"

namespace qwac::config {

namespace fs = std::filesystem;

namespace {

// Far above any real config (they are a few KB); refusing more keeps a wrong path (a model, a data set) from being
// read into memory as JSON.
constexpr uint64_t kMaxConfigBytes = 16u << 20;
// Far above any batch that fits in memory for a real model; the engine's buffers are sized by it.
constexpr int64_t kMaxBatchSize = 1 << 20;

std::string resolve(const Config& c, const std::string& p) {
  if (p.empty() || fs::path(p).is_absolute()) return p;
  return (fs::path(c.base_dir) / p).lexically_normal().string();
}

// `scale` may be a number or a fraction string such as "1/255" (exact in the config, readable by people).
void read_scale(JsonOptions& o, double& scale) {
  const nlohmann::json* v = o.find("scale");
  if (v == nullptr) return;
  if (v->is_number()) {
    scale = v->get<double>();
    return;
  }
  if (v->is_string()) {
    const std::string s = v->get<std::string>();
    const size_t slash = s.find('/');
    try {
      size_t used = 0;
      if (slash == std::string::npos) {
        scale = std::stod(s, &used);
        if (used == s.size()) return;
      } else {
        const double num = std::stod(s.substr(0, slash), &used);
        const std::string den_text = s.substr(slash + 1);
        size_t used2 = 0;
        const double den = std::stod(den_text, &used2);
        if (used == slash && used2 == den_text.size() && den != 0) {
          scale = num / den;
          return;
        }
      }
    } catch (const std::exception&) {
    }
  }
  o.wrong_type("scale", *v, "a number or a fraction string like \"1/255\"");
}

// The largest image side preprocessing may produce: JPEG's limit, far above any model input.
constexpr int64_t kMaxImageSide = 65500;
// Float copies of an image the preprocessing holds at once (pixels, resized, cropped), 3 channels of 4 bytes.
constexpr int64_t kPreprocessBytesPerPixel = 3 * 3 * 4;

void check_image_side(const JsonOptions& o, const std::string& key, int64_t side) {
  if (side < 1 || side > kMaxImageSide) {
    throw InvalidConfig(o.path(key) + ": " + std::to_string(side) + " pixels is out of range; expected 1.." +
                        std::to_string(kMaxImageSide));
  }
}

// Refuses a resize whose working images would not fit the memory budget, before any image is decoded.
void check_resize_memory(const data::PreprocessOptions& p, const std::string& where) {
  if (p.resize != data::ResizeMode::kExact) return;
  const auto bytes = checked_product({p.resize_width, p.resize_height, kPreprocessBytesPerPixel});
  if (!bytes || !fits_memory_budget(*bytes)) {
    throw InvalidConfig(where + ".resize: " + std::to_string(p.resize_width) + "x" + std::to_string(p.resize_height) +
                        " pixels need " + (bytes ? describe_bytes(*bytes) : std::string("more than 8 EiB")) +
                        " per image in flight" + memory_budget_hint() + "; use the model's input size");
  }
}

data::PreprocessOptions read_preprocessing(const nlohmann::json* j, const std::string& where) {
  data::PreprocessOptions p;
  if (j == nullptr) return p;
  JsonOptions o(*j, where);
  int64_t shorter = 0;
  o.read("resize_shorter", shorter);
  std::vector<int64_t> resize;
  o.read("resize", resize);
  if (shorter > 0 && !resize.empty()) throw InvalidConfig(o.path("resize") + ": give either resize or resize_shorter");
  for (int64_t side : resize) check_image_side(o, "resize", side);
  if (o.has("resize_shorter")) check_image_side(o, "resize_shorter", shorter);
  if (shorter > 0) {
    p.resize = data::ResizeMode::kShorterSide;
    p.resize_shorter = shorter;
  } else if (!resize.empty()) {
    if (resize.size() != 2) throw InvalidConfig(o.path("resize") + ": expected [width, height]");
    p.resize = data::ResizeMode::kExact;
    p.resize_width = resize[0];
    p.resize_height = resize[1];
  } else if (o.has("resize_shorter") && shorter <= 0) {
    throw InvalidConfig(o.path("resize_shorter") + ": must be > 0, got " + std::to_string(shorter));
  }
  std::vector<int64_t> crop;
  o.read("crop", crop);
  if (crop.size() == 1) crop.push_back(crop[0]);
  if (crop.size() > 2) throw InvalidConfig(o.path("crop") + ": expected a size or [width, height]");
  for (int64_t side : crop) check_image_side(o, "crop", side);
  if (!crop.empty()) {
    p.crop_width = crop[0];
    p.crop_height = crop[1];
  }
  o.read_choice<data::ColorOrder>("color", p.color,
                                  {{"rgb", data::ColorOrder::kRgb}, {"bgr", data::ColorOrder::kBgr},
                                   {"gray", data::ColorOrder::kGray}});
  o.read("invert", p.invert);
  read_scale(o, p.scale);
  o.read("mean", p.mean);
  o.read("std", p.std);
  o.read_choice<data::Layout>("layout", p.layout, {{"NCHW", data::Layout::kNchw}, {"NHWC", data::Layout::kNhwc}});
  o.read_choice<DType>("dtype", p.dtype, {{"float32", DType::kFloat32}, {"uint8", DType::kUInt8}});
  o.finish();
  try {
    data::validate_preprocess_options(p);
  } catch (const Error& e) {
    throw InvalidConfig(where + ": " + e.what());
  }
  check_resize_memory(p, where);
  return p;
}

std::string default_input(const ir::Model& model, JsonOptions& o) {
  std::string input;
  o.read("input", input);
  if (input.empty()) {
    if (model.graph->inputs().empty()) throw InvalidConfig(o.path("input") + ": the model has no inputs");
    return model.graph->inputs().front()->name();
  }
  const ir::Value* v = model.graph->find_value(input);
  if (v == nullptr || !model.graph->is_graph_input(v)) {
    std::string names;
    for (const ir::Value* in : model.graph->inputs()) names += (names.empty() ? "" : ", ") + in->name();
    throw InvalidConfig(o.path("input") + ": the model has no input '" + input + "' (its inputs: " + names + ")");
  }
  return input;
}

std::string required_path(const Config& c, JsonOptions& o, const std::string& key) {
  std::string p;
  o.require(key, p);
  p = resolve(c, p);
  if (!fs::exists(p)) throw InvalidConfig(o.path(key) + ": '" + p + "' does not exist");
  return p;
}

}  // namespace

Config parse_config(const nlohmann::json& root, const std::string& path) {
  Config c;
  c.path = path;
  c.base_dir = fs::absolute(path).parent_path().string();
  JsonOptions top(root, "");
  const nlohmann::json* model = top.section("model");
  const nlohmann::json* engine = top.section("engine");
  const nlohmann::json* compression = top.section("compression");
  top.finish();
  if (model == nullptr) throw InvalidConfig("model: required section is missing");
  {
    JsonOptions m(*model, "model");
    m.read("model_name", c.model.model_name);
    c.model.model = required_path(c, m, "model");
    m.finish();
    if (c.model.model_name.empty()) c.model.model_name = fs::path(c.model.model).stem().string();
  }
  if (engine != nullptr) {
    JsonOptions e(*engine, "engine");
    e.read("threads", c.engine.threads);
    e.read("streams", c.engine.streams);
    e.read("batch_size", c.engine.batch_size);
    e.read("loader_threads", c.engine.loader_threads);
    e.read("reference_kernels", c.engine.reference_kernels);
    e.read("skip_unreadable", c.engine.skip_unreadable);
    if (const nlohmann::json* d = e.section("dataset")) c.engine.dataset = *d;
    if (const nlohmann::json* d = e.section("calibration_dataset")) c.engine.calibration_dataset = *d;
    if (const nlohmann::json* m = e.section("metrics")) c.engine.metrics = *m;
    e.finish();
    const std::string max_threads = std::to_string(kMaxThreads);
    auto check_count = [&](const char* key, int value, const char* zero) {
      if (value < 0 || value > kMaxThreads) {
        throw InvalidConfig(std::string("engine.") + key + ": must be in 0.." + max_threads + " (0 = " + zero +
                            "), got " + std::to_string(value));
      }
    };
    check_count("threads", c.engine.threads, "all cores");
    check_count("streams", c.engine.streams, "one per thread");
    check_count("loader_threads", c.engine.loader_threads, "all cores");
    if (c.engine.batch_size < 1 || c.engine.batch_size > kMaxBatchSize) {
      throw InvalidConfig("engine.batch_size: must be in 1.." + std::to_string(kMaxBatchSize) + ", got " +
                          std::to_string(c.engine.batch_size));
    }
  }
  if (compression != nullptr) c.compression = *compression;
  return c;
}

Config load_config(const std::string& path) {
  if (path.empty()) throw InvalidArgument("the config path is empty; give the JSON config file");
  struct stat st {};
  if (::stat(path.c_str(), &st) != 0) throw IoError("cannot open config '" + path + "': " + std::strerror(errno));
  if (S_ISDIR(st.st_mode)) throw IoError("config '" + path + "' is a folder; give the JSON config file inside it");
  if (!S_ISREG(st.st_mode)) throw IoError("config '" + path + "' is not a regular file");
  if (static_cast<uint64_t>(st.st_size) > kMaxConfigBytes) {
    throw InvalidConfig("config '" + path + "' has " + describe_bytes(static_cast<uint64_t>(st.st_size)) +
                        "; a config is a small JSON file (at most " + describe_bytes(kMaxConfigBytes) + ")");
  }
  std::ifstream f(path, std::ios::binary);
  if (!f) throw IoError("cannot open config '" + path + "': " + std::strerror(errno));
  std::ostringstream text;
  text << f.rdbuf();
  if (f.bad()) throw IoError("cannot read config '" + path + "'");
  const nlohmann::json root = parse_json_text(text.str(), "config '" + path + "'");
  return parse_config(root, path);
}

namespace {

// One dataset section (engine.dataset or engine.calibration_dataset, named by `where` in messages).
BuiltDataset build_dataset_section_unchecked(const Config& c, const nlohmann::json& section, const std::string& where,
                                             const ir::Model& model) {
  if (section.is_null()) throw InvalidConfig(where + ": required section is missing");
  JsonOptions o(section, where);
  std::string type;
  o.require("type", type);
  std::string name;
  o.read("name", name);
  std::vector<int64_t> range;
  o.read("range", range);
  BuiltDataset built;
  const std::string input = type == "onnx_testset" ? std::string() : default_input(model, o);
  if (type == "image_folder") {
    data::ImageFolderOptions opt;
    opt.images_dir = required_path(c, o, "images");
    opt.labels_csv = o.has("labels") ? required_path(c, o, "labels") : "";
    o.read("file_column", opt.file_column);
    o.read("label_column", opt.label_column);
    o.read("num_classes", opt.num_classes);
    o.read("label_offset", opt.label_offset);
    opt.input_name = input;
    opt.name = name;
    opt.preprocess = read_preprocessing(o.section("preprocessing"), where + ".preprocessing");
    o.finish();
    auto ds = std::make_shared<data::ImageFolderDataset>(opt);
    if (c.engine.skip_unreadable) {
      const auto bad = ds->validate(/*full_decode=*/true);
      built.skipped = static_cast<int64_t>(bad.size());
      for (const auto& b : bad) built.skipped_files.push_back(b.file + ": " + b.reason);
      built.dataset = bad.empty() ? DatasetPtr(ds)
                                  : make_subset(ds, data::ImageFolderDataset::good_indices(ds->size(), bad));
    } else {
      built.dataset = ds;
    }
  } else if (type == "idx") {
    data::IdxOptions opt;
    opt.images_path = required_path(c, o, "images");
    opt.labels_path = o.has("labels") ? required_path(c, o, "labels") : "";
    opt.input_name = input;
    opt.name = name;
    opt.preprocess = read_preprocessing(o.section("preprocessing"), where + ".preprocessing");
    o.finish();
    built.dataset = std::make_shared<data::IdxDataset>(opt);
  } else if (type == "cifar") {
    data::CifarOptions opt;
    std::vector<std::string> files;
    o.require("files", files);
    for (auto& f : files) {
      f = resolve(c, f);
      if (!fs::exists(f)) throw InvalidConfig(where + ".files: '" + f + "' does not exist");
    }
    opt.batch_files = files;
    o.read("label_bytes", opt.label_bytes);
    if (opt.label_bytes != 1 && opt.label_bytes != 2) {
      throw InvalidConfig(o.path("label_bytes") + ": must be 1 (CIFAR-10) or 2 (CIFAR-100), got " +
                          std::to_string(opt.label_bytes));
    }
    opt.input_name = input;
    opt.name = name;
    opt.preprocess = read_preprocessing(o.section("preprocessing"), where + ".preprocessing");
    o.finish();
    built.dataset = std::make_shared<data::CifarDataset>(opt);
  } else if (type == "npy" || type == "npz") {
    data::NpyDatasetOptions opt;
    if (type == "npz") opt.npz_path = required_path(c, o, "npz");
    std::string array;
    o.require("array", array);
    opt.inputs.push_back({input, type == "npz" ? array : resolve(c, array)});
    std::string labels;
    o.read("labels", labels);
    opt.labels_source = type == "npz" || labels.empty() ? labels : resolve(c, labels);
    opt.name = name;
    o.finish();
    built.dataset = std::make_shared<data::NpyDataset>(opt);
  } else if (type == "onnx_testset") {
    data::OnnxTestsetOptions opt;
    opt.dir = required_path(c, o, "dir");
    for (const ir::Value* v : model.graph->inputs()) opt.input_names.push_back(v->name());
    opt.name = name;
    o.finish();
    built.dataset = std::make_shared<data::OnnxTestsetDataset>(opt);
  } else if (type == "random") {
    int64_t count = 100, seed = 0;
    double low = 0.0, high = 1.0;
    o.read("count", count);
    o.read("seed", seed);
    // Integer inputs without an explicit range take the one the graph implies (ir/input_domain.h: token ids within
    // the vocabulary, masks of ones).
    const bool explicit_range = o.has("low") || o.has("high");
    o.read("low", low);
    o.read("high", high);
    o.finish();
    if (count < 1) throw InvalidConfig(o.path("count") + ": must be >= 1, got " + std::to_string(count));
    if (seed < 0) throw InvalidConfig(o.path("seed") + ": must be >= 0, got " + std::to_string(seed));
    if (!std::isfinite(low) || !std::isfinite(high) || low > high) {
      throw InvalidConfig(o.path("low") + ", " + o.path("high") + ": expected finite numbers with low <= high, got [" +
                          nlohmann::json(low).dump() + ", " + nlohmann::json(high).dump() + "]");
    }
    std::vector<data::RandomInputSpec> specs;
    for (const ir::Value* v : model.graph->inputs()) {
      data::RandomInputSpec s;
      s.name = v->name();
      s.dtype = v->type.dtype;
      s.low = low;
      s.high = high;
      if (!explicit_range && (s.dtype == DType::kInt64 || s.dtype == DType::kInt32)) {
        if (const auto range = ir::integer_input_range(*v)) {
          s.low = static_cast<double>(range->low);
          s.high = static_cast<double>(range->high);
        }
      }
      if (!v->type.shape) throw InvalidConfig(where + ": input '" + v->name() + "' has no declared shape");
      for (size_t i = 0; i < v->type.shape->size(); ++i) {
        const int64_t d = (*v->type.shape)[i].size;
        if (i == 0) {
          s.shape.push_back(1);
        } else if (d < 0) {
          throw InvalidConfig(where + ": input '" + v->name() + "' has a symbolic dimension " +
                              std::to_string(i) + "; the random dataset needs concrete shapes");
        } else {
          s.shape.push_back(d);
        }
      }
      specs.push_back(s);
    }
    built.dataset = std::make_shared<data::RandomDataset>(specs, count, static_cast<uint64_t>(seed));
  } else {
    throw InvalidConfig(where + ".type: unknown value \"" + type +
                        "\"; expected one of \"image_folder\" | \"idx\" | \"cifar\" | \"npy\" | \"npz\" | "
                        "\"onnx_testset\" | \"random\"");
  }
  if (o.has("range")) {
    const int64_t size = built.dataset->size();
    if (range.size() != 2 || range[0] < 0 || range[0] >= range[1] || range[1] > size) {
      std::string got = "[";
      for (size_t i = 0; i < range.size(); ++i) got += (i ? ", " : "") + std::to_string(range[i]);
      throw InvalidConfig(o.path("range") + ": expected [begin, end] with 0 <= begin < end <= " +
                          std::to_string(size) + " (the number of samples of " + built.dataset->describe() +
                          "), got " + got + "]");
    }
    std::vector<int64_t> indices;
    for (int64_t i = range[0]; i < range[1]; ++i) indices.push_back(i);
    built.dataset = make_subset(built.dataset, std::move(indices));
  }
  return built;
}

BuiltDataset build_dataset_section(const Config& c, const nlohmann::json& section, const std::string& where,
                                   const ir::Model& model) {
  try {
    return build_dataset_section_unchecked(c, section, where, model);
  } catch (const InvalidArgument& e) {
    // The dataset classes validate their options as a library API (InvalidArgument); here the values come from the
    // config, so the error is the config's.
    throw InvalidConfig(where + ": " + e.what());
  }
}

}  // namespace

BuiltDataset build_dataset(const Config& c, const ir::Model& model) {
  return build_dataset_section(c, c.engine.dataset, "engine.dataset", model);
}

BuiltDataset build_calibration_dataset(const Config& c, const ir::Model& model) {
  if (c.engine.calibration_dataset.is_null()) return build_dataset(c, model);
  return build_dataset_section(c, c.engine.calibration_dataset, "engine.calibration_dataset", model);
}

std::vector<MetricPtr> build_metrics(const Config& c) {
  const nlohmann::json& list = c.engine.metrics;
  if (list.is_null()) throw InvalidConfig("engine.metrics: required list is missing (e.g. [{\"type\": \"accuracy\"}])");
  if (!list.is_array() || list.empty()) {
    throw InvalidConfig("engine.metrics: expected a non-empty array of {\"type\": ..., \"options\": {...}}");
  }
  std::vector<MetricPtr> metrics;
  for (size_t i = 0; i < list.size(); ++i) {
    const std::string where = "engine.metrics[" + std::to_string(i) + "]";
    JsonOptions o(list[i], where);
    std::string type;
    o.require("type", type);
    const nlohmann::json* options = o.section("options");
    o.finish();
    const metrics::MetricType* mt = metrics::find_metric_type(type);
    if (mt == nullptr) {
      throw InvalidConfig(where + ".type: unknown metric \"" + type + "\"; expected one of " +
                          metrics::metric_type_names());
    }
    metrics.push_back(mt->make(options ? *options : nlohmann::json(), where + ".options"));
  }
  return metrics;
}

}  // namespace qwac::config

namespace qwac::config {

void validate_metrics(const Config& c, const ir::Model& model) {
  const std::vector<MetricPtr> metrics = build_metrics(c);
  const std::vector<ir::Value*>& outputs = model.graph->outputs();
  for (size_t i = 0; i < metrics.size(); ++i) {
    const auto* accuracy = dynamic_cast<const metrics::AccuracyMetric*>(metrics[i].get());
    if (accuracy == nullptr) continue;
    const std::string where = "engine.metrics[" + std::to_string(i) + "].options";
    const metrics::AccuracyOptions& o = accuracy->options();
    const ir::Value* out = nullptr;
    if (!o.output.name.empty()) {
      for (const ir::Value* v : outputs) {
        if (v->name() == o.output.name) out = v;
      }
    } else if (o.output.index >= 0 && o.output.index < static_cast<int64_t>(outputs.size())) {
      out = outputs[static_cast<size_t>(o.output.index)];
    }
    if (out == nullptr) {
      std::string names;
      for (const ir::Value* v : outputs) names += (names.empty() ? "" : ", ") + v->name();
      throw InvalidConfig(where + ".output: the model has no " + o.output.describe() + " (its outputs: " + names + ")");
    }
    if (!out->type.shape || out->type.shape->empty()) continue;
    int64_t classes = 1;
    for (size_t d = 1; d < out->type.shape->size(); ++d) {
      const int64_t size = (*out->type.shape)[d].size;
      if (size < 0) {
        classes = -1;  // symbolic: known only at run time
        break;
      }
      classes = size > 0 && classes > INT64_MAX / size ? INT64_MAX : classes * size;
    }
    if (classes >= 1 && o.k > classes) {
      throw InvalidConfig(where + ".k: " + std::to_string(o.k) + " is more than the " + std::to_string(classes) +
                          " classes of output '" + out->name() + "' (every sample would count as a hit); use k <= " +
                          std::to_string(classes));
    }
  }
}

}  // namespace qwac::config

namespace qwac::config {

std::vector<NamedPath> input_paths(const Config& c, const std::string& model_override) {
  std::vector<NamedPath> paths = {{"--config", c.path}};
  paths.push_back(model_override.empty() ? NamedPath{"model.model", c.model.model} : NamedPath{"--model", model_override});
  // Both data sets are inputs (the calibration one when given).
  for (const auto& [section, where] : {std::pair{&c.engine.dataset, "engine.dataset."},
                                       std::pair{&c.engine.calibration_dataset, "engine.calibration_dataset."}}) {
    const nlohmann::json& d = *section;
    if (!d.is_object()) continue;
    const auto type = d.find("type");
    const bool in_archive = type != d.end() && type->is_string() && type->get<std::string>() == "npz";  // "array" names a member of the archive, not a file
    for (const char* key : {"labels", "images", "npz", "array", "dir", "files"}) {
      const auto it = d.find(key);
      if (it == d.end() || (in_archive && std::string(key) != "npz")) continue;
      const std::vector<nlohmann::json> values = it->is_array() ? it->get<std::vector<nlohmann::json>>()
                                                                : std::vector<nlohmann::json>{*it};
      for (const nlohmann::json& v : values) {
        if (v.is_string()) paths.push_back({std::string(where) + key, resolve(c, v.get<std::string>())});
      }
    }
  }
  return paths;
}

}  // namespace qwac::config
