#include "data/onnx_testset_dataset.h"

#include <onnx/onnx_pb.h>

#include <algorithm>
#include <cctype>
#include <filesystem>

#include "data/file_util.h"
#include "data/sample_check.h"
#include "onnx/model_io.h"
#include "qwac/error.h"

namespace qwac::data {
namespace {

constexpr const char* kSetPrefix = "test_data_set_";

// Number after the prefix, or -1 when the folder name is not test_data_set_<digits>.
int64_t set_number(const std::string& name) {
  const std::string prefix = kSetPrefix;
  if (name.size() <= prefix.size() || name.compare(0, prefix.size(), prefix) != 0) return -1;
  const std::string digits = name.substr(prefix.size());
  if (!std::all_of(digits.begin(), digits.end(), [](unsigned char c) { return std::isdigit(c); })) return -1;
  return std::stoll(digits);
}

std::string pb_path(const std::string& set, const char* kind, size_t k) {
  return set + "/" + kind + "_" + std::to_string(k) + ".pb";
}

onnx::TensorProto parse_tensor_proto(const std::string& path) {
  const std::string bytes = read_file(path, "ONNX test tensor");
  onnx::TensorProto proto;
  if (!proto.ParseFromString(bytes)) {
    throw DataError("ONNX test tensor '" + path +
                    "' is not a serialized onnx.TensorProto (sequence/optional test "
                    "values are not supported)");
  }
  return proto;
}

Tensor load_tensor(const std::string& path) {
  const onnx::TensorProto proto = parse_tensor_proto(path);
  try {
    return onnxio::tensor_from_proto(proto, std::filesystem::path(path).parent_path().string());
  } catch (const DataError&) {
    throw;
  } catch (const Error& e) {
    throw DataError("ONNX test tensor '" + path + "': " + e.what());
  }
}

}  // namespace

OnnxTestsetDataset::OnnxTestsetDataset(OnnxTestsetOptions options) : options_(std::move(options)) {
  std::error_code ec;
  if (!std::filesystem::is_directory(options_.dir, ec)) {
    throw DataError("ONNX test data folder '" + options_.dir + "' does not exist");
  }
  if (options_.name.empty()) {
    std::filesystem::path p(options_.dir);
    if (!p.has_filename()) p = p.parent_path();
    options_.name = p.filename().string();
  }
  std::vector<std::pair<int64_t, std::string>> found;
  for (const auto& entry : std::filesystem::directory_iterator(options_.dir, ec)) {
    const int64_t n = set_number(entry.path().filename().string());
    if (n >= 0 && entry.is_directory()) found.emplace_back(n, entry.path().string());
  }
  if (ec) throw DataError("ONNX test data folder '" + options_.dir + "' cannot be listed: " + ec.message());
  std::sort(found.begin(), found.end());
  for (auto& [n, path] : found) {
    size_t inputs = 0;
    while (file_exists(pb_path(path, "input", inputs))) ++inputs;
    if (inputs == 0) throw DataError("ONNX test data set '" + path + "' has no input_0.pb");
    if (!options_.input_names.empty() && inputs != options_.input_names.size()) {
      throw DataError("ONNX test data set '" + path + "' has " + std::to_string(inputs) +
                      " input_K.pb files, the model has " + std::to_string(options_.input_names.size()) + " inputs");
    }
    sets_.push_back(path);
  }
  if (sets_.empty()) throw DataError("ONNX test data folder '" + options_.dir + "' holds no test_data_set_N folders");
}

Sample OnnxTestsetDataset::get(int64_t index) const {
  check_index(index, size(), describe());
  const std::string& set = sets_[static_cast<size_t>(index)];
  Sample s;
  for (size_t k = 0; file_exists(pb_path(set, "input", k)); ++k) {
    const std::string path = pb_path(set, "input", k);
    std::string name;
    if (!options_.input_names.empty()) {
      if (k >= options_.input_names.size()) {
        throw DataError("ONNX test data set '" + set + "' has more input files than the model has inputs");
      }
      name = options_.input_names[k];
    } else {
      name = parse_tensor_proto(path).name();
      if (name.empty()) {
        throw DataError("ONNX test tensor '" + path + "' has no name; pass the model's input names in order");
      }
    }
    if (!s.inputs.emplace(name, load_tensor(path)).second) {
      throw DataError("ONNX test data set '" + set + "' feeds input '" + name + "' twice");
    }
  }
  for (size_t k = 0; file_exists(pb_path(set, "output", k)); ++k) {
    s.annotation.reference_outputs.push_back(load_tensor(pb_path(set, "output", k)));
  }
  s.metadata["file"] = set;
  s.metadata["id"] = std::filesystem::path(set).filename().string();
  s.metadata["index"] = std::to_string(index);
  if (!options_.allow_non_finite) check_sample_finite(s, describe(), index);
  return s;
}

std::string OnnxTestsetDataset::describe() const {
  return "ONNX test data " + options_.name + " (" + std::to_string(sets_.size()) + " samples)";
}

}  // namespace qwac::data
