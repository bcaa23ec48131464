#include "conformance/conformance_cases.h"

#include <onnx/onnx_pb.h>

#include <algorithm>
#include <cctype>
#include <filesystem>
#include <fstream>

#include "onnx/model_io.h"
#include "qwac/error.h"
#include "test_util.h"

namespace qwac::conformance {

namespace fs = std::filesystem;

namespace {

std::string gtest_safe(const std::string& s) {
  std::string out = s;
  for (char& c : out) {
    if (!std::isalnum(static_cast<unsigned char>(c))) c = '_';
  }
  return out;
}

// Index N of "<prefix>N<suffix>", or -1 if the name has another form.
int numbered(const std::string& name, const std::string& prefix, const std::string& suffix) {
  if (name.size() <= prefix.size() + suffix.size() || name.compare(0, prefix.size(), prefix) != 0 ||
      name.compare(name.size() - suffix.size(), suffix.size(), suffix) != 0) {
    return -1;
  }
  const std::string digits = name.substr(prefix.size(), name.size() - prefix.size() - suffix.size());
  if (!std::all_of(digits.begin(), digits.end(), [](char c) { return std::isdigit(static_cast<unsigned char>(c)); })) {
    return -1;
  }
  return std::stoi(digits);
}

// Files/folders of `dir` named <prefix>N<suffix>, ordered by N. Gaps are kept out: input_K must be dense.
std::vector<std::string> numbered_entries(const std::string& dir, const std::string& prefix,
                                          const std::string& suffix) {
  std::vector<std::pair<int, std::string>> found;
  for (const auto& e : fs::directory_iterator(dir)) {
    const int n = numbered(e.path().filename().string(), prefix, suffix);
    if (n >= 0) found.emplace_back(n, e.path().string());
  }
  std::sort(found.begin(), found.end());
  for (size_t i = 0; i < found.size(); ++i) {
    if (found[i].first != static_cast<int>(i)) {
      throw DataError("'" + dir + "': " + prefix + std::to_string(i) + suffix + " is missing (found " +
                      fs::path(found[i].second).filename().string() + ")");
    }
  }
  std::vector<std::string> out;
  for (auto& f : found) out.push_back(std::move(f.second));
  return out;
}

std::string trim(const std::string& s) {
  const auto b = s.find_first_not_of(" \t\r");
  if (b == std::string::npos) return "";
  const auto e = s.find_last_not_of(" \t\r");
  return s.substr(b, e - b + 1);
}

}  // namespace

std::vector<ConformanceCase> enumerate_cases(const std::string& root) {
  std::vector<ConformanceCase> cases;
  for (const std::string& suite : kConformanceSuites) {
    const fs::path suite_dir = fs::path(root) / suite;
    if (!fs::is_directory(suite_dir)) continue;
    for (const auto& e : fs::directory_iterator(suite_dir)) {
      if (!e.is_directory() || !fs::exists(e.path() / "model.onnx")) continue;
      ConformanceCase c;
      c.suite = suite;
      c.name = e.path().filename().string();
      c.dir = e.path().string();
      c.test_name = gtest_safe(suite + "_" + c.name);
      cases.push_back(std::move(c));
    }
  }
  std::sort(cases.begin(), cases.end(),
            [](const ConformanceCase& a, const ConformanceCase& b) { return a.key() < b.key(); });
  return cases;
}

std::vector<DataSet> list_data_sets(const std::string& case_dir) {
  std::vector<DataSet> sets;
  for (const std::string& dir : numbered_entries(case_dir, "test_data_set_", "")) {
    DataSet d;
    d.dir = dir;
    d.input_files = numbered_entries(dir, "input_", ".pb");
    d.output_files = numbered_entries(dir, "output_", ".pb");
    sets.push_back(std::move(d));
  }
  return sets;
}

Tensor read_tensor_file(const std::string& path) {
  const std::string bytes = testing::read_file_bytes(path);
  onnx::TensorProto proto;
  if (bytes.empty() || !proto.ParseFromString(bytes)) {
    throw DataError("'" + path + "' is not a serialized onnx.TensorProto");
  }
  return onnxio::tensor_from_proto(proto, fs::path(path).parent_path().string());
}

std::map<std::string, std::string> load_skip_list(const std::string& path) {
  std::ifstream f(path);
  if (!f) throw IoError("cannot read skip list '" + path + "'");
  std::map<std::string, std::string> entries;
  std::string line;
  for (int line_no = 1; std::getline(f, line); ++line_no) {
    line = trim(line);
    if (line.empty() || line[0] == '#') continue;
    const auto space = line.find_first_of(" \t");
    const std::string key = line.substr(0, space);
    const std::string reason = space == std::string::npos ? "" : trim(line.substr(space));
    const std::string where = "skip list '" + path + "' line " + std::to_string(line_no);
    if (key.find('/') == std::string::npos) {
      throw InvalidConfig(where + ": '" + key + "' is not of the form <suite>/<case>");
    }
    if (reason.empty()) throw InvalidConfig(where + ": '" + key + "' has no reason; every entry needs one");
    if (!entries.emplace(key, reason).second) throw InvalidConfig(where + ": '" + key + "' is listed twice");
  }
  return entries;
}

}  // namespace qwac::conformance
