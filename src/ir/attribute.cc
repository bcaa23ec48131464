#include "ir/attribute.h"

#include "qwac/error.h"

namespace qwac::ir {

namespace {
constexpr const char* kKindNames[] = {"int", "float", "string", "tensor", "ints", "floats", "strings"};
}

template <typename T>
const T& Attributes::get_as(const std::string& name) const {
  auto it = values_.find(name);
  if (it == values_.end()) throw InvalidModel("required attribute '" + name + "' is missing");
  const T* v = std::get_if<T>(&it->second);
  if (v == nullptr) {
    // Tolerate an int where a float is asked for is NOT done: ONNX attributes are typed, a mismatch is a bug.
    throw InvalidModel("attribute '" + name + "' has kind '" + kKindNames[it->second.index()] + "', expected '" +
                       kKindNames[AttributeValue(T{}).index()] + "'");
  }
  return *v;
}

int64_t Attributes::get_int(const std::string& name) const { return get_as<int64_t>(name); }
int64_t Attributes::get_int(const std::string& name, int64_t fallback) const {
  return has(name) ? get_as<int64_t>(name) : fallback;
}
float Attributes::get_float(const std::string& name) const { return get_as<float>(name); }
float Attributes::get_float(const std::string& name, float fallback) const {
  return has(name) ? get_as<float>(name) : fallback;
}
const std::string& Attributes::get_string(const std::string& name) const { return get_as<std::string>(name); }
std::string Attributes::get_string(const std::string& name, const std::string& fallback) const {
  return has(name) ? get_as<std::string>(name) : fallback;
}
const Tensor& Attributes::get_tensor(const std::string& name) const { return get_as<Tensor>(name); }
const std::vector<int64_t>& Attributes::get_ints(const std::string& name) const {
  return get_as<std::vector<int64_t>>(name);
}
std::vector<int64_t> Attributes::get_ints(const std::string& name, const std::vector<int64_t>& fallback) const {
  return has(name) ? get_as<std::vector<int64_t>>(name) : fallback;
}
const std::vector<float>& Attributes::get_floats(const std::string& name) const {
  return get_as<std::vector<float>>(name);
}
std::vector<float> Attributes::get_floats(const std::string& name, const std::vector<float>& fallback) const {
  return has(name) ? get_as<std::vector<float>>(name) : fallback;
}
const std::vector<std::string>& Attributes::get_strings(const std::string& name) const {
  return get_as<std::vector<std::string>>(name);
}

}  // namespace qwac::ir
