#include "quant/ignored_scope.h"

#include <algorithm>
#include <cctype>
#include <regex>
#include <set>

#include "core/json_options.h"
#include "qwac/error.h"

namespace qwac::quant {
namespace {

// Case-insensitive edit distance: a typo in the case of a name is the commonest one.
size_t edit_distance(const std::string& a, const std::string& b) {
  auto low = [](char c) { return static_cast<char>(std::tolower(static_cast<unsigned char>(c))); };
  std::vector<size_t> prev(b.size() + 1), cur(b.size() + 1);
  for (size_t j = 0; j <= b.size(); ++j) prev[j] = j;
  for (size_t i = 1; i <= a.size(); ++i) {
    cur[0] = i;
    for (size_t j = 1; j <= b.size(); ++j) {
      const size_t substitute = prev[j - 1] + (low(a[i - 1]) == low(b[j - 1]) ? 0 : 1);
      cur[j] = std::min({prev[j] + 1, cur[j - 1] + 1, substitute});
    }
    std::swap(prev, cur);
  }
  return prev[b.size()];
}

// "'conv1', 'conv2', 'conv11'": the three candidates nearest to `wanted` (ties by name).
std::string nearest(const std::string& wanted, const std::set<std::string>& candidates) {
  std::vector<std::pair<size_t, std::string>> scored;
  for (const std::string& c : candidates) scored.emplace_back(edit_distance(wanted, c), c);
  std::sort(scored.begin(), scored.end());
  std::string out;
  for (size_t i = 0; i < scored.size() && i < 3; ++i) out += (out.empty() ? "'" : ", '") + scored[i].second + "'";
  return out.empty() ? "(the graph has no nodes)" : out;
}

std::string join(const std::set<std::string>& items) {
  std::string out;
  for (const std::string& s : items) out += (out.empty() ? "" : ", ") + s;
  return out;
}

std::regex compile(const std::string& pattern, const std::string& where) {
  try {
    return std::regex(pattern, std::regex::ECMAScript);
  } catch (const std::regex_error& e) {
    throw InvalidConfig(where + ": invalid regular expression '" + pattern + "': " + e.what());
  }
}

}  // namespace

IgnoredScope parse_ignored_scope(const nlohmann::json& j, const std::string& where) {
  IgnoredScope scope;
  JsonOptions o(j, where);
  o.read("names", scope.names);
  o.read("patterns", scope.patterns);
  o.read("types", scope.types);
  // POT's spelling: "scope" = node names, "operations" = [{"type": "Add"}, ...].
  std::vector<std::string> pot_scope;
  o.read("scope", pot_scope);
  scope.names.insert(scope.names.end(), pot_scope.begin(), pot_scope.end());
  if (const nlohmann::json* ops = o.section("operations")) {
    if (!ops->is_array()) o.wrong_type("operations", *ops, "an array of {\"type\": \"<op type>\"}");
    for (size_t i = 0; i < ops->size(); ++i) {
      JsonOptions op(ops->at(i), o.path("operations") + "[" + std::to_string(i) + "]");
      std::string type;
      op.require("type", type);
      op.finish();  // POT's "attributes" filter is not supported: rejected rather than silently widened
      scope.types.push_back(type);
    }
  }
  o.finish();
  for (size_t i = 0; i < scope.patterns.size(); ++i) {
    compile(scope.patterns[i], o.path("patterns") + "[" + std::to_string(i) + "]");
  }
  return scope;
}

IgnoredScopeMatcher::IgnoredScopeMatcher(const IgnoredScope& scope, const ir::Graph& graph) : scope_(scope) {
  std::set<std::string> names, types;
  for (const ir::Node* n : graph.nodes()) {
    names.insert(n->name());
    types.insert(n->op_type());
  }
  for (size_t i = 0; i < scope_.names.size(); ++i) {
    const std::string& name = scope_.names[i];
    if (names.count(name) == 0) {
      throw InvalidConfig("ignored_scope.names[" + std::to_string(i) + "]: no node named '" + name +
                          "' in the model; nearest node names: " + nearest(name, names));
    }
  }
  for (size_t i = 0; i < scope_.patterns.size(); ++i) {
    const std::string where = "ignored_scope.patterns[" + std::to_string(i) + "]";
    const std::regex re = compile(scope_.patterns[i], where);
    const bool any = std::any_of(names.begin(), names.end(), [&](const std::string& n) { return std::regex_match(n, re); });
    if (!any) {
      throw InvalidConfig(where + ": pattern '" + scope_.patterns[i] +
                          "' matches no node name (it must match the whole name); nearest node names: " +
                          nearest(scope_.patterns[i], names));
    }
  }
  for (size_t i = 0; i < scope_.types.size(); ++i) {
    const std::string& type = scope_.types[i];
    if (types.count(type) == 0) {
      throw InvalidConfig("ignored_scope.types[" + std::to_string(i) + "]: no op of type '" + type +
                          "' in the model; nearest: " + nearest(type, types) + "; the model's op types: " +
                          join(types));
    }
  }
}

std::optional<std::string> IgnoredScopeMatcher::match(const ir::Node& node) const {
  if (std::find(scope_.names.begin(), scope_.names.end(), node.name()) != scope_.names.end()) {
    return "name '" + node.name() + "'";
  }
  for (const std::string& pattern : scope_.patterns) {
    // Patterns were validated by the constructor; compiled per call since the matcher holds only the scope.
    if (std::regex_match(node.name(), std::regex(pattern, std::regex::ECMAScript))) return "pattern '" + pattern + "'";
  }
  if (std::find(scope_.types.begin(), scope_.types.end(), node.op_type()) != scope_.types.end()) {
    return "type '" + node.op_type() + "'";
  }
  return std::nullopt;
}

}  // namespace qwac::quant
