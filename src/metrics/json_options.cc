#include "metrics/json_options.h"

#include <cstdint>

namespace qwac::metrics {

void JsonOptions::read(const std::string& key, OutputRef& value) {
  const nlohmann::json* v = find(key);
  if (v == nullptr) return;
  if (v->is_string()) {
    if (v->get<std::string>().empty()) throw InvalidConfig(path(key) + ": output name must not be empty");
    value = OutputRef{v->get<std::string>(), 0};
  } else if (v->is_number_integer()) {
    if ((v->is_number_unsigned() && v->get<uint64_t>() > static_cast<uint64_t>(INT64_MAX)) || v->get<int64_t>() < 0) {
      throw InvalidConfig(path(key) + ": output index must be >= 0, got " + v->dump());
    }
    value = OutputRef{"", v->get<int64_t>()};
  } else {
    wrong_type(key, *v, "a string (output name) or an integer (output index)");
  }
}

}  // namespace qwac::metrics
