#include "accuracy/checkpoint.h"

#include <filesystem>
#include <fstream>
#include <sstream>

#include <nlohmann/json.hpp>

#include "core/atomic_file.h"
#include "qwac/error.h"

namespace qwac::accuracy {

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
    r.values = e["values"].get<std::vector<double>>();
    r.per_sample = e["per_sample"].get<std::vector<std::vector<double>>>();
    r.samples = e["samples"].get<int64_t>();
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
  ValidationResult kept;
  kept.values = r.values;
  kept.per_sample = r.per_sample;
  kept.samples = r.samples;
  entries_[key] = std::move(kept);
  write();
}

void Checkpoint::write() const {
  nlohmann::json j;
  j["identity"] = identity_;
  nlohmann::json entries = nlohmann::json::object();
  for (const auto& [key, r] : entries_) {
    entries[key] = {{"values", r.values}, {"per_sample", r.per_sample}, {"samples", r.samples}};
  }
  j["entries"] = std::move(entries);
  write_file_atomically(path_, j.dump());
}

}  // namespace qwac::accuracy
