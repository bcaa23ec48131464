#include "accuracy/checkpoint.h"

#include <cmath>
#include <filesystem>
#include <limits>
#include <fstream>
#include <sstream>

#include <nlohmann/json.hpp>

#include "core/atomic_file.h"
#include "qwac/error.h"

namespace qwac::accuracy {
namespace {

// NaN (a sample a stopped validation did not evaluate) is stored as null.
nlohmann::json numbers(const std::vector<double>& v) {
  nlohmann::json a = nlohmann::json::array();
  for (double x : v) a.push_back(std::isnan(x) ? nlohmann::json() : nlohmann::json(x));
  return a;
}

std::vector<double> read_numbers(const nlohmann::json& a) {
  std::vector<double> v;
  for (const auto& x : a) v.push_back(x.is_null() ? std::numeric_limits<double>::quiet_NaN() : x.get<double>());
  return v;
}

}  // namespace

Checkpoint::Checkpoint(std::string path, std::string identity, bool resume)
    : path_(std::move(path)), identity_(std::move(identity)) {
  if (!resume || !std::filesystem::exists(path_)) return;
  std::ifstream in(path_);
  std::stringstream ss;
  ss << in.rdbuf();
  nlohmann::json j;
  try {
    j = nlohmann::json::parse(ss.str());
  } catch (const nlohmann::json::exception& e) {
    throw InvalidArgument("checkpoint '" + path_ + "' is unreadable (" + e.what() + "); delete it or drop --resume");
  }
  if (j.value("identity", "") != identity_) {
    throw InvalidArgument("checkpoint '" + path_ + "' was written for another config or model; delete it or drop "
                          "--resume");
  }
  for (const auto& [key, e] : j["entries"].items()) {
    ValidationResult r;
    r.values = read_numbers(e["values"]);
    for (const auto& ps : e["per_sample"]) r.per_sample.push_back(read_numbers(ps));
    r.distance = read_numbers(e.value("distance", nlohmann::json::array()));
    r.margin = read_numbers(e.value("margin", nlohmann::json::array()));
    r.top1 = e.value("top1", std::vector<int64_t>{});
    r.samples = e["samples"].get<int64_t>();
    r.stopped = e.value("stopped", false);
    entries_[key] = std::move(r);
  }
  resumed_ = entries_.size();
}

std::optional<ValidationResult> Checkpoint::find(const std::string& key) const {
  auto it = entries_.find(key);
  if (it == entries_.end()) return std::nullopt;
  return it->second;
}

void Checkpoint::store(const std::string& key, const ValidationResult& r) {
  ValidationResult kept = r;
  kept.seconds = 0;
  entries_[key] = std::move(kept);
  write();
}

void Checkpoint::write() const {
  nlohmann::json j;
  j["identity"] = identity_;
  nlohmann::json entries = nlohmann::json::object();
  for (const auto& [key, r] : entries_) {
    nlohmann::json per_sample = nlohmann::json::array();
    for (const auto& ps : r.per_sample) per_sample.push_back(numbers(ps));
    entries[key] = {{"values", numbers(r.values)}, {"per_sample", per_sample},  {"distance", numbers(r.distance)},
                    {"margin", numbers(r.margin)},
                    {"top1", r.top1}, {"samples", r.samples}, {"stopped", r.stopped}};
  }
  j["entries"] = std::move(entries);
  write_file_atomically(path_, j.dump());
}

}  // namespace qwac::accuracy
