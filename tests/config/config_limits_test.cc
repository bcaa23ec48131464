// The config's bounds and cross-checks, each an InvalidConfig naming the JSON path before any work: engine counts,
// dataset parameters, preprocessing sizes, metrics against the model, unreadable config paths.
#include <gtest/gtest.h>

#include <filesystem>

#include "config/config.h"
#include "data/data_test_util.h"
#include "onnx/model_io.h"
#include "qwac/error.h"

namespace qwac {
namespace {

namespace fs = std::filesystem;
using nlohmann::json;
using testing::ScratchDir;

// One input "x" float [3,4,5], one output "y" of the same shape: 4 x 5 = 20 "classes" per sample.
const char* kReluModel = "/usr/share/libonnx-testdata/data/node/test_relu/model.onnx";

template <typename E = InvalidConfig, typename F>
std::string failure(F&& f) {
  try {
    f();
  } catch (const E& e) {
    return e.what();
  } catch (const std::exception& e) {
    ADD_FAILURE() << "wrong exception: " << e.what();
    return "";
  }
  ADD_FAILURE() << "no exception";
  return "";
}

class ConfigLimits : public ::testing::Test {
 protected:
  void SetUp() override {
    if (!fs::exists(kReluModel)) GTEST_SKIP() << "ONNX backend test data absent";
    model_ = std::make_unique<ir::Model>(onnxio::load_model(kReluModel));
    dir_.write("m.onnx", "placeholder");
  }
  config::Config parse(const json& engine) {
    return config::parse_config({{"model", {{"model", "m.onnx"}}}, {"engine", engine}}, dir_.path("cfg.json"));
  }
  ScratchDir dir_;
  std::unique_ptr<ir::Model> model_;
};

TEST_F(ConfigLimits, EngineCountsHaveSaneBounds) {
  EXPECT_NE(failure([&] { parse({{"threads", 100000}}); }).find("engine.threads: must be in 0..1024"),
            std::string::npos);
  EXPECT_NE(failure([&] { parse({{"loader_threads", -2}}); }).find("engine.loader_threads"), std::string::npos);
  EXPECT_NE(failure([&] { parse({{"batch_size", int64_t{1} << 40}}); }).find("engine.batch_size"), std::string::npos);
  EXPECT_EQ(parse({{"threads", 1024}, {"streams", 2}}).engine.threads, 1024);
}

TEST_F(ConfigLimits, DatasetParametersAreConfigErrorsWithTheirPath) {
  auto build = [&](const json& dataset) { return config::build_dataset(parse({{"dataset", dataset}}), *model_); };
  dir_.write("b.bin", std::string(3073, '\0'));
  EXPECT_NE(failure([&] { build({{"type", "cifar"}, {"files", {"b.bin"}}, {"label_bytes", 3}}); })
                .find("engine.dataset.label_bytes: must be 1 (CIFAR-10) or 2"),
            std::string::npos);
  EXPECT_NE(failure([&] { build({{"type", "random"}, {"count", -1}}); }).find("engine.dataset.count"),
            std::string::npos);
  EXPECT_NE(failure([&] { build({{"type", "random"}, {"low", 5}, {"high", 1}}); }).find("engine.dataset.low"),
            std::string::npos);
  EXPECT_EQ(build({{"type", "random"}, {"count", 3}}).dataset->size(), 3);
}

TEST_F(ConfigLimits, PreprocessingSizesAreBoundedBeforeAnyImage) {
  dir_.write("imgs/a.png", "");
  auto build = [&](const json& prep) {
    return config::build_dataset(
        parse({{"dataset", {{"type", "image_folder"}, {"images", "imgs"}, {"preprocessing", prep}}}}), *model_);
  };
  EXPECT_NE(failure([&] { build({{"crop", 0}}); }).find("preprocessing.crop: 0 pixels is out of range"),
            std::string::npos);
  EXPECT_NE(failure([&] { build({{"resize", {100000, 100000}}}); }).find("preprocessing.resize"), std::string::npos);
  EXPECT_NE(failure([&] { build({{"resize", {60000, 60000}}}); }).find("per image in flight"), std::string::npos);
}

TEST_F(ConfigLimits, MetricsAreCheckedAgainstTheModel) {
  auto validate = [&](const json& metrics) { config::validate_metrics(parse({{"metrics", metrics}}), *model_); };
  EXPECT_NO_THROW(validate({{{"type", "accuracy"}, {"options", {{"k", 20}}}}}));
  EXPECT_NE(failure([&] { validate({{{"type", "accuracy"}, {"options", {{"k", 21}}}}}); })
                .find("engine.metrics[0].options.k: 21 is more than the 20 classes of output 'y'"),
            std::string::npos);
  EXPECT_NE(failure([&] { validate({{{"type", "accuracy"}, {"options", {{"output", "z"}}}}}); })
                .find("the model has no output 'z' (its outputs: y)"),
            std::string::npos);
  EXPECT_NE(failure([&] { validate({{{"type", "accuracy"}, {"options", {{"k", 0}}}}}); }).find("k"), std::string::npos);
  EXPECT_NE(failure([&] { validate({{{"type", "bogus"}}}); }).find("unknown metric"), std::string::npos);
}

TEST_F(ConfigLimits, ConfigPathsThatAreNotFilesAreIoErrors) {
  EXPECT_NE(failure<IoError>([&] { config::load_config(dir_.path()); }).find("is a folder"), std::string::npos);
  EXPECT_NE(failure<InvalidArgument>([&] { config::load_config(""); }).find("empty"), std::string::npos);
  dir_.write("deep.json", "{\"model\": " + std::string(100000, '[') + std::string(100000, ']') + "}");
  EXPECT_NE(failure([&] { config::load_config(dir_.path("deep.json")); }).find("nesting deeper"), std::string::npos);
}

TEST_F(ConfigLimits, InputPathsListTheFilesARunReads) {
  dir_.write("x.npy", "");
  const config::Config c = parse({{"dataset", {{"type", "npy"}, {"array", "x.npy"}, {"labels", "l.npy"}}}});
  const std::vector<NamedPath> paths = config::input_paths(c, "other.onnx");
  ASSERT_EQ(paths.size(), 4u);
  EXPECT_EQ(paths[1].what, "--model");
  EXPECT_EQ(paths[2].path, dir_.path("l.npy"));
  EXPECT_EQ(paths[3].what, "engine.dataset.array");
}

}  // namespace
}  // namespace qwac
