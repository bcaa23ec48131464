// Strict reading of a metric's JSON options into its options struct: each key is declared once, by the read() that
// fills the struct field (whose initial value is the default); finish() rejects every key nobody read.
// Messages name the JSON path ("metrics[0].options.k"), the offending value and what was expected.
#pragma once

#include <nlohmann/json.hpp>
#include <set>
#include <string>
#include <utility>
#include <vector>

#include "metrics/metric_util.h"
#include "qwac/error.h"

namespace qwac::metrics {

class JsonOptions {
 public:
  // `where` is the JSON path of the options object, used as the prefix of every message. InvalidConfig unless
  // `options` is an object or null (null = all defaults).
  JsonOptions(const nlohmann::json& options, std::string where);

  // Leave `value` unchanged when the key is absent; InvalidConfig on a wrong JSON type.
  void read(const std::string& key, int64_t& value);      // integer
  void read(const std::string& key, double& value);       // any number
  void read(const std::string& key, bool& value);         // boolean
  void read(const std::string& key, std::string& value);  // string
  void read(const std::string& key, OutputRef& value);    // string = output name, integer >= 0 = output index
  // A string that must be one of `choices` (JSON spelling -> value).
  template <typename E>
  void read_choice(const std::string& key, E& value, const std::vector<std::pair<std::string, E>>& choices);

  // InvalidConfig naming the first unknown key and listing the allowed ones.
  void finish() const;

  // "<where>.<key>", for validation messages after reading.
  std::string path(const std::string& key) const;

 private:
  const nlohmann::json* find(const std::string& key);
  [[noreturn]] void wrong_type(const std::string& key, const nlohmann::json& v, const std::string& expected) const;

  const nlohmann::json& options_;
  std::string where_;
  std::vector<std::string> declared_;
};

template <typename E>
void JsonOptions::read_choice(const std::string& key, E& value, const std::vector<std::pair<std::string, E>>& choices) {
  const nlohmann::json* v = find(key);
  std::string allowed;
  for (const auto& [spelling, e] : choices) allowed += (allowed.empty() ? "\"" : " | \"") + spelling + "\"";
  if (!v) return;
  if (!v->is_string()) wrong_type(key, *v, "one of " + allowed);
  for (const auto& [spelling, e] : choices)
    if (v->get<std::string>() == spelling) {
      value = e;
      return;
    }
  throw InvalidConfig(path(key) + ": unknown value " + v->dump() + "; expected one of " + allowed);
}

}  // namespace qwac::metrics
