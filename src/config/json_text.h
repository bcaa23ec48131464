// Config text -> JSON, refusing what the DOM parser would accept but the rest of qwac cannot handle safely:
// numbers beyond double range (nlohmann's out_of_range.406, which carries no location), and nesting deeper than
// kMaxJsonDepth (a config is a few levels deep; 100,000 nested arrays exhaust the stack in every recursive
// consumer: dump(), comparison, the destructor). Every refusal is an InvalidConfig with the line, column and the
// JSON path of the offending value ("engine.dataset.preprocessing.mean[2]").
#pragma once

#include <string>

#include <nlohmann/json.hpp>

namespace qwac::config {

inline constexpr int kMaxJsonDepth = 64;

// Parses `text` (JSON with // and /* */ comments); `name` names the source in messages ("config 'a.json'").
nlohmann::json parse_json_text(const std::string& text, const std::string& name);

}  // namespace qwac::config
