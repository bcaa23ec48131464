// Config text: numbers beyond double range and nesting depth are InvalidConfig naming the JSON path.
#include "config/json_text.h"

#include <gtest/gtest.h>

#include "qwac/error.h"

namespace qwac::config {
namespace {

std::string failure(const std::string& text) {
  try {
    parse_json_text(text, "config 'c.json'");
  } catch (const InvalidConfig& e) {
    return e.what();
  }
  ADD_FAILURE() << "no InvalidConfig for " << text.substr(0, 80);
  return "";
}

TEST(JsonText, NumberOverflowNamesTheJsonPath) {
  const std::string msg = failure(R"({"engine": {"dataset": {"preprocessing": {"mean": [1, 2, 1e400]}}}})");
  EXPECT_NE(msg.find("engine.dataset.preprocessing.mean[2]"), std::string::npos) << msg;
  EXPECT_NE(msg.find("number overflow"), std::string::npos) << msg;
  EXPECT_NE(failure(R"({"a": -1e999})").find("at a:"), std::string::npos);
}

TEST(JsonText, DeepNestingIsRefusedWithoutRecursion) {
  const int depth = 100000;
  const std::string text = "{\"compression\": " + std::string(depth, '[') + std::string(depth, ']') + "}";
  const std::string msg = failure(text);
  EXPECT_NE(msg.find("compression[0][0]"), std::string::npos) << msg.substr(0, 200);
  EXPECT_NE(msg.find("nesting deeper than 64"), std::string::npos) << msg.substr(0, 300);
  EXPECT_LT(msg.size(), 400u);
  // The deepest a config may be parses.
  const std::string ok = std::string(kMaxJsonDepth, '[') + std::string(kMaxJsonDepth, ']');
  EXPECT_NO_THROW(parse_json_text(ok, "c"));
}

TEST(JsonText, SyntaxErrorsKeepLineColumnAndGainThePath) {
  const std::string msg = failure("{\n  \"engine\": {\"threads\": tru}\n}");
  EXPECT_NE(msg.find("line 2"), std::string::npos) << msg;
  EXPECT_NE(msg.find("engine.threads"), std::string::npos) << msg;
}

TEST(JsonText, CommentsAndOrdinaryConfigsParse) {
  const auto j = parse_json_text("// a config\n{\"model\": {\"model\": \"m.onnx\"} /* inline */, \"n\": 1e308}", "c");
  EXPECT_EQ(j["model"]["model"], "m.onnx");
}

}  // namespace
}  // namespace qwac::config
