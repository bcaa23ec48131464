#include "metrics/json_options.h"

#include <algorithm>
#include <cstdint>

namespace qwac::metrics {

namespace {

std::string json_type_name(const nlohmann::json& v) {
  if (v.is_number_integer()) return "integer";
  if (v.is_number()) return "number";
  return v.type_name();  // "string", "boolean", "object", "array", "null"
}

}  // namespace

JsonOptions::JsonOptions(const nlohmann::json& options, std::string where)
    : options_(options), where_(std::move(where)) {
  if (!options_.is_null() && !options_.is_object())
    throw InvalidConfig(where_ + ": expected an object of options, got " + json_type_name(options_) + " " +
                        options_.dump());
}

std::string JsonOptions::path(const std::string& key) const {
  return where_ + "." + key;
}

const nlohmann::json* JsonOptions::find(const std::string& key) {
  declared_.push_back(key);
  if (!options_.is_object()) return nullptr;
  const auto it = options_.find(key);
  return it == options_.end() ? nullptr : &*it;
}

void JsonOptions::wrong_type(const std::string& key, const nlohmann::json& v, const std::string& expected) const {
  throw InvalidConfig(path(key) + ": expected " + expected + ", got " + json_type_name(v) + " " + v.dump());
}

void JsonOptions::read(const std::string& key, int64_t& value) {
  const nlohmann::json* v = find(key);
  if (!v) return;
  if (!v->is_number_integer()) wrong_type(key, *v, "an integer");
  if (v->is_number_unsigned() && v->get<uint64_t>() > static_cast<uint64_t>(INT64_MAX))
    throw InvalidConfig(path(key) + ": value " + v->dump() + " does not fit a 64-bit signed integer");
  value = v->get<int64_t>();
}

void JsonOptions::read(const std::string& key, double& value) {
  const nlohmann::json* v = find(key);
  if (!v) return;
  if (!v->is_number()) wrong_type(key, *v, "a number");
  value = v->get<double>();
}

void JsonOptions::read(const std::string& key, bool& value) {
  const nlohmann::json* v = find(key);
  if (!v) return;
  if (!v->is_boolean()) wrong_type(key, *v, "a boolean");
  value = v->get<bool>();
}

void JsonOptions::read(const std::string& key, std::string& value) {
  const nlohmann::json* v = find(key);
  if (!v) return;
  if (!v->is_string()) wrong_type(key, *v, "a string");
  value = v->get<std::string>();
}

void JsonOptions::read(const std::string& key, OutputRef& value) {
  const nlohmann::json* v = find(key);
  if (!v) return;
  if (v->is_string()) {
    if (v->get<std::string>().empty()) throw InvalidConfig(path(key) + ": output name must not be empty");
    value = OutputRef{v->get<std::string>(), 0};
  } else if (v->is_number_integer()) {
    if ((v->is_number_unsigned() && v->get<uint64_t>() > static_cast<uint64_t>(INT64_MAX)) || v->get<int64_t>() < 0)
      throw InvalidConfig(path(key) + ": output index must be >= 0, got " + v->dump());
    value = OutputRef{"", v->get<int64_t>()};
  } else {
    wrong_type(key, *v, "a string (output name) or an integer (output index)");
  }
}

void JsonOptions::finish() const {
  if (!options_.is_object()) return;
  for (const auto& [key, v] : options_.items()) {
    if (std::find(declared_.begin(), declared_.end(), key) != declared_.end()) continue;
    std::string allowed;
    for (const auto& k : declared_) allowed += (allowed.empty() ? "" : ", ") + k;
    throw InvalidConfig(path(key) + ": unknown option; allowed options: " + (allowed.empty() ? "(none)" : allowed));
  }
}

}  // namespace qwac::metrics
