// Node attributes: the ONNX attribute kinds qwac supports (sub-graph attributes are not: models with If/Loop/Scan
// are rejected at import with UnsupportedOp).
#pragma once

#include <cstdint>
#include <map>
#include <string>
#include <variant>
#include <vector>

#include "core/tensor.h"

namespace qwac::ir {

using AttributeValue = std::variant<int64_t, float, std::string, Tensor, std::vector<int64_t>, std::vector<float>,
                                    std::vector<std::string>>;

// Name -> value, ordered by name so export and hashing are deterministic.
class Attributes {
 public:
  bool has(const std::string& name) const { return values_.count(name) != 0; }
  void set(const std::string& name, AttributeValue value) { values_[name] = std::move(value); }
  void erase(const std::string& name) { values_.erase(name); }
  const std::map<std::string, AttributeValue>& all() const { return values_; }
  bool empty() const { return values_.empty(); }

  // Typed getters. The `fallback` overloads return it when the attribute is absent; the others throw
  // InvalidModel naming the attribute. A present attribute of the wrong kind always throws.
  int64_t get_int(const std::string& name) const;
  int64_t get_int(const std::string& name, int64_t fallback) const;
  float get_float(const std::string& name) const;
  float get_float(const std::string& name, float fallback) const;
  const std::string& get_string(const std::string& name) const;
  std::string get_string(const std::string& name, const std::string& fallback) const;
  const Tensor& get_tensor(const std::string& name) const;
  const std::vector<int64_t>& get_ints(const std::string& name) const;
  std::vector<int64_t> get_ints(const std::string& name, const std::vector<int64_t>& fallback) const;
  const std::vector<float>& get_floats(const std::string& name) const;
  std::vector<float> get_floats(const std::string& name, const std::vector<float>& fallback) const;
  const std::vector<std::string>& get_strings(const std::string& name) const;

 private:
  template <typename T>
  const T& get_as(const std::string& name) const;

  std::map<std::string, AttributeValue> values_;
};

}  // namespace qwac::ir
