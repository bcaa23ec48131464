#include "config/json_text.h"

#include <cstring>
#include <vector>

#include "qwac/error.h"

namespace qwac::config {
namespace {

// A SAX pass that only tracks where it is (the JSON path) and how deep, so a refusal can say where. It runs before
// the DOM parse, which then cannot fail.
class PathTracker : public nlohmann::json_sax<nlohmann::json> {
 public:
  using json = nlohmann::json;

  std::string path() const {
    std::string p;
    for (const Frame& f : frames_) {
      if (f.array) {
        p += "[" + std::to_string(f.index) + "]";
      } else if (f.has_key) {
        if (!p.empty()) p += ".";
        p += f.key;
      }
    }
    return p.empty() ? std::string("(root)") : p;
  }
  const std::string& error() const { return error_; }
  bool depth_exceeded() const { return depth_exceeded_; }

  bool null() override { return value(); }
  bool boolean(bool) override { return value(); }
  bool number_integer(json::number_integer_t) override { return value(); }
  bool number_unsigned(json::number_unsigned_t) override { return value(); }
  bool number_float(json::number_float_t, const json::string_t&) override { return value(); }
  bool string(json::string_t&) override { return value(); }
  bool binary(json::binary_t&) override { return value(); }
  bool start_object(std::size_t) override { return push(false); }
  bool key(json::string_t& k) override {
    frames_.back().key = k;
    frames_.back().has_key = true;
    return true;
  }
  bool end_object() override { return pop(); }
  bool start_array(std::size_t) override { return push(true); }
  bool end_array() override { return pop(); }
  bool parse_error(std::size_t, const std::string&, const nlohmann::detail::exception& ex) override {
    error_ = strip_prefix(ex.what());
    return false;
  }

 private:
  struct Frame {
    bool array = false;
    int64_t index = 0;
    bool has_key = false;
    std::string key;
  };

  static std::string strip_prefix(const char* what) {
    // "[json.exception.parse_error.101] parse error at line 1, column 5: ..." -> "parse error at line 1, ..."
    const char* close = std::strchr(what, ']');
    if (what[0] == '[' && close != nullptr) {
      what = close + 1;
      while (*what == ' ') ++what;
    }
    return what;
  }

  bool value() {
    if (!frames_.empty() && frames_.back().array) ++frames_.back().index;
    return true;
  }
  bool push(bool array) {
    if (static_cast<int>(frames_.size()) >= kMaxJsonDepth) {
      depth_exceeded_ = true;
      error_ = "nesting deeper than " + std::to_string(kMaxJsonDepth) + " levels (a config needs far fewer)";
      return false;  // stops the parse
    }
    frames_.push_back({array, 0, false, {}});
    return true;
  }
  bool pop() {
    frames_.pop_back();
    return value();
  }

  std::vector<Frame> frames_;
  std::string error_;
  bool depth_exceeded_ = false;
};

}  // namespace

nlohmann::json parse_json_text(const std::string& text, const std::string& name) {
  PathTracker tracker;
  bool ok = false;
  try {
    ok = nlohmann::json::sax_parse(text, &tracker, nlohmann::json::input_format_t::json, /*strict=*/true,
                                   /*ignore_comments=*/true);
  } catch (const nlohmann::json::exception& e) {
    ok = false;
    if (tracker.error().empty()) throw InvalidConfig(name + " is not valid JSON: " + e.what());
  }
  if (!ok) {
    std::string msg = name + " is not valid JSON at " + tracker.path() + ": " + tracker.error();
    // Syntax errors carry their line and column in the text; for the others the path is the location.
    if (tracker.depth_exceeded()) msg = name + ": " + tracker.path().substr(0, 120) + "...: " + tracker.error();
    throw InvalidConfig(msg);
  }
  try {
    return nlohmann::json::parse(text, nullptr, /*allow_exceptions=*/true, /*ignore_comments=*/true);
  } catch (const nlohmann::json::exception& e) {  // not expected after the SAX pass accepted the text
    throw InvalidConfig(name + " is not valid JSON: " + e.what());
  }
}

}  // namespace qwac::config
