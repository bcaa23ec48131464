#include "core/json_options.h"

#include <algorithm>
#include <climits>

namespace qwac {

std::string json_type_name(const nlohmann::json& v) {
  if (v.is_number_integer()) return "integer";
  if (v.is_number()) return "number";
  return v.type_name();
}

JsonOptions::JsonOptions(const nlohmann::json& object, std::string where) : object_(object), where_(std::move(where)) {
  if (!object_.is_null() && !object_.is_object()) {
    throw InvalidConfig((where_.empty() ? std::string("config") : where_) + ": expected an object, got " +
                        json_type_name(object_) + " " + object_.dump());
  }
}

std::string JsonOptions::path(const std::string& key) const { return where_.empty() ? key : where_ + "." + key; }

bool JsonOptions::has(const std::string& key) const { return object_.is_object() && object_.contains(key); }

const nlohmann::json* JsonOptions::find(const std::string& key) {
  declared_.push_back(key);
  if (!object_.is_object()) return nullptr;
  const auto it = object_.find(key);
  return it == object_.end() ? nullptr : &*it;
}

const nlohmann::json* JsonOptions::section(const std::string& key) { return find(key); }

void JsonOptions::wrong_type(const std::string& key, const nlohmann::json& v, const std::string& expected) const {
  // The value is quoted for the user to find it, not in full: a wrong value may be a whole section.
  constexpr size_t kMaxQuoted = 120;
  std::string text = v.dump();
  if (text.size() > kMaxQuoted) text = text.substr(0, kMaxQuoted) + "...";
  throw InvalidConfig(path(key) + ": expected " + expected + ", got " + json_type_name(v) + " " + text);
}

void JsonOptions::read(const std::string& key, int64_t& value) {
  const nlohmann::json* v = find(key);
  if (v == nullptr) return;
  if (!v->is_number_integer()) wrong_type(key, *v, "an integer");
  if (v->is_number_unsigned() && v->get<uint64_t>() > static_cast<uint64_t>(INT64_MAX)) {
    throw InvalidConfig(path(key) + ": value " + v->dump() + " does not fit a 64-bit signed integer");
  }
  value = v->get<int64_t>();
}

void JsonOptions::read(const std::string& key, int& value) {
  int64_t wide = value;
  read(key, wide);
  if (wide < INT_MIN || wide > INT_MAX) throw InvalidConfig(path(key) + ": value " + std::to_string(wide) + " is too large");
  value = static_cast<int>(wide);
}

void JsonOptions::read(const std::string& key, double& value) {
  const nlohmann::json* v = find(key);
  if (v == nullptr) return;
  if (!v->is_number()) wrong_type(key, *v, "a number");
  value = v->get<double>();
}


void JsonOptions::read(const std::string& key, bool& value) {
  const nlohmann::json* v = find(key);
  if (v == nullptr) return;
  if (!v->is_boolean()) wrong_type(key, *v, "a boolean (true or false)");
  value = v->get<bool>();
}

void JsonOptions::read(const std::string& key, std::string& value) {
  const nlohmann::json* v = find(key);
  if (v == nullptr) return;
  if (!v->is_string()) wrong_type(key, *v, "a string");
  value = v->get<std::string>();
}

namespace {
template <typename T, typename Check>
void read_list(JsonOptions& o, const std::string& key, std::vector<T>& value, Check is_ok, const std::string& what) {
  const nlohmann::json* v = o.find(key);
  if (v == nullptr) return;
  std::vector<T> out;
  if (is_ok(*v)) {
    out.push_back(v->get<T>());
  } else if (v->is_array()) {
    for (const auto& e : *v) {
      if (!is_ok(e)) o.wrong_type(key, *v, "a " + what + " or an array of them");
      out.push_back(e.get<T>());
    }
  } else {
    o.wrong_type(key, *v, "a " + what + " or an array of them");
  }
  value = std::move(out);
}
}  // namespace

void JsonOptions::read(const std::string& key, std::vector<double>& value) {
  read_list(*this, key, value, [](const nlohmann::json& e) { return e.is_number(); }, "number");
}
void JsonOptions::read(const std::string& key, std::vector<int64_t>& value) {
  // Unsigned values beyond int64 would wrap to negative numbers: not integers this reader accepts.
  read_list(
      *this, key, value,
      [](const nlohmann::json& e) {
        return e.is_number_integer() &&
               !(e.is_number_unsigned() && e.get<uint64_t>() > static_cast<uint64_t>(INT64_MAX));
      },
      "64-bit integer");
}
void JsonOptions::read(const std::string& key, std::vector<std::string>& value) {
  read_list(*this, key, value, [](const nlohmann::json& e) { return e.is_string(); }, "string");
}

void JsonOptions::finish() const {
  if (!object_.is_object()) return;
  for (const auto& [key, v] : object_.items()) {
    if (std::find(declared_.begin(), declared_.end(), key) != declared_.end()) continue;
    std::vector<std::string> allowed = declared_;
    std::sort(allowed.begin(), allowed.end());
    allowed.erase(std::unique(allowed.begin(), allowed.end()), allowed.end());
    std::string list;
    for (const auto& a : allowed) list += (list.empty() ? "" : ", ") + a;
    throw InvalidConfig(path(key) + ": unknown key; allowed keys here: " + (list.empty() ? "(none)" : list));
  }
}

}  // namespace qwac
