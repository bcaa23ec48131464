// ignored_scope: ops that stay in float whatever the device allows. Entries are exact node names, regular
// expressions over node names (std::regex, ECMAScript, must match the whole name) and op types. An entry that
// matches nothing is an InvalidConfig error listing the nearest names/types (edit distance), because a typo there
// silently quantizes what the user wanted to protect.
#pragma once

#include <optional>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "ir/graph.h"

namespace qwac::quant {

struct IgnoredScope {
  std::vector<std::string> names;
  std::vector<std::string> patterns;
  std::vector<std::string> types;
  bool empty() const { return names.empty() && patterns.empty() && types.empty(); }
};

// Parses {"names": [...], "patterns": [...], "types": [...]} (POT's {"scope": [...], "operations": [{"type":..}]}
// is accepted too). Unknown keys are InvalidConfig naming `where`.
IgnoredScope parse_ignored_scope(const nlohmann::json& j, const std::string& where);

// Validates every entry against the graph (throws InvalidConfig as above) and returns, for a node, the entry
// that ignores it ("name 'x'", "pattern 'conv.*'", "type 'Add'"), or nullopt.
class IgnoredScopeMatcher {
 public:
  IgnoredScopeMatcher(const IgnoredScope& scope, const ir::Graph& graph);
  std::optional<std::string> match(const ir::Node& node) const;

 private:
  IgnoredScope scope_;
};

}  // namespace qwac::quant
