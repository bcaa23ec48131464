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

std::map<std::string, Shape> resolve_input_shapes(const ir::Model& model, int64_t batch,
                                                  const std::vector<std::string>& shape_overrides) {
  if (batch < 0) throw InvalidArgument("--batch must be >= 1 (0 or absent: the model's own), got " + std::to_string(batch));
  std::map<std::string, Shape> overrides;
  for (const std::string& o : shape_overrides) {
    const size_t eq = o.find('=');
    if (eq == std::string::npos) throw InvalidArgument("--shape '" + o + "' must look like name=1,3,224,224");
    const std::string name = o.substr(0, eq);
    const ir::Value* v = model.graph->find_value(name);
    if (v == nullptr || !model.graph->is_graph_input(v)) {
      throw InvalidArgument("--shape '" + o + "': the model has no input named '" + name + "'");
    }
    overrides[name] = parse_dims(o.substr(eq + 1), o);
  }
  std::map<std::string, Shape> shapes;
  for (const ir::Value* v : model.graph->inputs()) {
    if (overrides.count(v->name())) {
      shapes[v->name()] = overrides[v->name()];
      continue;
    }
    if (!v->type.shape) throw InvalidArgument("input '" + v->name() + "' has no declared shape; give it with --shape");
    Shape s;
    for (size_t i = 0; i < v->type.shape->size(); ++i) {
      const ir::Dim& d = (*v->type.shape)[i];
      if (i == 0 && batch > 0) {
        s.push_back(batch);
      } else if (d.size >= 0) {
        s.push_back(d.size);
      } else if (i == 0) {
        s.push_back(1);  // symbolic batch without --batch: one sample
      } else {
        throw InvalidArgument("input '" + v->name() + "' dimension " + std::to_string(i) + " is symbolic ('" +
                              d.param + "'); give the shape with --shape " + v->name() + "=...");
      }
    }
    shapes[v->name()] = s;
  }
  return shapes;
}

std::string describe_type(const ir::TypeInfo& t) {
  std::string s = std::string(dtype_name(t.dtype));
  if (!t.shape) return s + "[?]";
  s += "[";
  for (size_t i = 0; i < t.shape->size(); ++i) {
    const ir::Dim& d = (*t.shape)[i];
    s += (i ? "," : "") + (d.size >= 0 ? std::to_string(d.size) : (d.param.empty() ? "?" : d.param));
  }
  return s + "]";
}

}  // namespace qwac::cli
