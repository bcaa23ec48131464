// Strict reading of a JSON object into a typed struct. Each key is declared once, by the read() call that fills a
// struct field whose initial value is the default; finish() rejects every key that no read() declared. Messages
// name the JSON path ("engine.dataset.crop"), the offending value and what was expected (InvalidConfig).
#pragma once

#include <cstdint>
#include <string>
#include <utility>
#include <vector>

#include <nlohmann/json.hpp>

#include "qwac/error.h"

namespace qwac {

class JsonOptions {
 public:
  // `where` is the JSON path of the object ("" for the root). InvalidConfig unless `object` is an object or null
  // (null = every field keeps its default).
  JsonOptions(const nlohmann::json& object, std::string where);

  // Leave `value` unchanged when the key is absent; InvalidConfig on a wrong JSON type.
  void read(const std::string& key, int64_t& value);
  void read(const std::string& key, int& value);
  void read(const std::string& key, double& value);
  void read(const std::string& key, bool& value);
  void read(const std::string& key, std::string& value);
  void read(const std::string& key, std::vector<double>& value);       // a number or an array of numbers
  void read(const std::string& key, std::vector<int64_t>& value);      // an integer or an array of integers
  void read(const std::string& key, std::vector<std::string>& value);  // a string or an array of strings
  // A string that must be one of `choices` (JSON spelling -> value).
  template <typename E>
  void read_choice(const std::string& key, E& value, const std::vector<std::pair<std::string, E>>& choices);
  // The raw value of a nested section (object/array) for a sub-reader; nullptr when absent.
  const nlohmann::json* section(const std::string& key);
  // Like read() but InvalidConfig when the key is absent.
  template <typename T>
  void require(const std::string& key, T& value) {
    if (!has(key)) throw InvalidConfig(path(key) + ": required key is missing");
    read(key, value);
  }

  bool has(const std::string& key) const;
  // InvalidConfig naming the first unknown key and listing the allowed ones.
  void finish() const;
  // "<where>.<key>", for validation messages after reading.
  std::string path(const std::string& key) const;
  const std::string& where() const { return where_; }

  [[noreturn]] void wrong_type(const std::string& key, const nlohmann::json& v, const std::string& expected) const;
  const nlohmann::json* find(const std::string& key);

 private:
  const nlohmann::json& object_;
  std::string where_;
  std::vector<std::string> declared_;
};

// "integer", "number", "string", ... for messages.
std::string json_type_name(const nlohmann::json& v);

template <typename E>
void JsonOptions::read_choice(const std::string& key, E& value, const std::vector<std::pair<std::string, E>>& choices) {
  const nlohmann::json* v = find(key);
  if (v == nullptr) return;
  std::string allowed;
  for (const auto& [spelling, e] : choices) allowed += (allowed.empty() ? "\"" : " | \"") + spelling + "\"";
  if (!v->is_string()) wrong_type(key, *v, "one of " + allowed);
  for (const auto& [spelling, e] : choices) {
    if (v->get<std::string>() == spelling) {
      value = e;
      return;
    }
  }
  throw InvalidConfig(path(key) + ": unknown value " + v->dump() + "; expected one of " + allowed);
}

}  // namespace qwac
