#include <sstream>

#include "command.h"
#include "qwac/error.h"

namespace qwac::cli {

namespace {

Shape parse_dims(const std::string& text, const std::string& what) {
  Shape dims;
  std::stringstream ss(text);
  std::string item;
  while (std::getline(ss, item, ',')) {
    try {
      size_t used = 0;
      const long long d = std::stoll(item, &used);
      if (used != item.size() || d < 0) throw std::invalid_argument(item);
      dims.push_back(d);
    } catch (const std::exception&) {
      throw InvalidArgument("--shape " + what + ": '" + item + "' is not a non-negative integer (expected name=1,3,224,224)");
    }
  }
  return dims;
}

}  // namespace

std::map<std::string, Shape> parse_shape_flags(const std::vector<std::string>& shape_flags) {
  std::map<std::string, Shape> overrides;
  for (const std::string& o : shape_flags) {
    const size_t eq = o.find('=');
    if (eq == std::string::npos) throw InvalidArgument("--shape '" + o + "' must look like name=1,3,224,224");
    overrides[o.substr(0, eq)] = parse_dims(o.substr(eq + 1), o);
  }
  return overrides;
}

}  // namespace qwac::cli
