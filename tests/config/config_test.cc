// The JSON config: strict parsing (unknown keys and wrong types name their JSON path), path resolution relative to
// the config file, and building every dataset type and the metrics from it.
#include "config/config.h"

#include <gtest/gtest.h>

#include <cstring>
#include <filesystem>
#include <string>

#include "data/data_test_util.h"
#include "onnx/model_io.h"
#include "qwac/error.h"

namespace qwac {
namespace {

namespace fs = std::filesystem;
using nlohmann::json;
using testing::ScratchDir;

// A relu model from the ONNX backend test data: one input "x" float [3,4,5]. build_dataset only needs its inputs.
const char* kReluDir = "/usr/share/libonnx-testdata/data/node/test_relu";

// Parses `j` as if it were the file <dir>/cfg.json, after creating a placeholder model file <dir>/m.onnx.
config::Config parse_in(const ScratchDir& dir, json j) {
  dir.write("m.onnx", "placeholder");
  return config::parse_config(j, dir.path("cfg.json"));
}

json minimal() {
  return {{"model", {{"model", "m.onnx"}}}};
}

// Expects InvalidConfig whose message contains every string in `needles`.
template <typename F>
void expect_invalid_config(F&& f, std::initializer_list<std::string> needles) {
  try {
    f();
    ADD_FAILURE() << "expected InvalidConfig mentioning '" << *needles.begin() << "'";
  } catch (const InvalidConfig& e) {
    for (const auto& n : needles) EXPECT_NE(std::string(e.what()).find(n), std::string::npos) << e.what();
  }
}

TEST(Config, MinimalConfigHasDefaults) {
  ScratchDir dir;
  const config::Config c = parse_in(dir, minimal());
  EXPECT_EQ(c.model.model, dir.path("m.onnx"));
  EXPECT_EQ(c.model.model_name, "m");
  EXPECT_EQ(c.engine.batch_size, 16);
  EXPECT_EQ(c.engine.threads, 0);
  EXPECT_FALSE(c.engine.skip_unreadable);
  EXPECT_TRUE(c.engine.dataset.is_null());
  EXPECT_TRUE(c.compression.is_null());
}

TEST(Config, EngineKeysAreRead) {
  ScratchDir dir;
  json j = minimal();
  j["model"]["model_name"] = "tiny";
  j["engine"] = {{"threads", 2},
                 {"batch_size", 4},
                 {"loader_threads", 3},
                 {"reference_kernels", true},
                 {"skip_unreadable", true},
                 {"dataset", json::object()},
                 {"metrics", json::array()}};
  j["compression"] = {{"anything", 1}};
  const config::Config c = parse_in(dir, j);
  EXPECT_EQ(c.model.model_name, "tiny");
  EXPECT_EQ(c.engine.threads, 2);
  EXPECT_EQ(c.engine.batch_size, 4);
  EXPECT_EQ(c.engine.loader_threads, 3);
  EXPECT_TRUE(c.engine.reference_kernels);
  EXPECT_TRUE(c.engine.skip_unreadable);
  EXPECT_EQ(c.compression["anything"], 1);
}

TEST(Config, UnknownKeyAtTopLevelNamesIt) {
  ScratchDir dir;
  json j = minimal();
  j["modle"] = 1;
  expect_invalid_config([&] { parse_in(dir, j); }, {"modle", "unknown key", "model"});
}

TEST(Config, UnknownKeyInModelSectionNamesPath) {
  ScratchDir dir;
  json j = minimal();
  j["model"]["weights"] = "w.bin";
  expect_invalid_config([&] { parse_in(dir, j); }, {"model.weights: unknown key"});
}

TEST(Config, UnknownKeyInEngineNamesPath) {
  ScratchDir dir;
  json j = minimal();
  j["engine"] = {{"batchsize", 4}};
  expect_invalid_config([&] { parse_in(dir, j); }, {"engine.batchsize: unknown key", "batch_size"});
}

TEST(Config, WrongTypesNamePathValueAndExpectation) {
  ScratchDir dir;
  {
    json j = minimal();
    j["engine"] = {{"batch_size", "16"}};
    expect_invalid_config([&] { parse_in(dir, j); }, {"engine.batch_size", "integer", "\"16\""});
  }
  {
    json j = minimal();
    j["engine"] = {{"batch_size", 16.5}};
    expect_invalid_config([&] { parse_in(dir, j); }, {"engine.batch_size", "integer"});
  }
  {
    json j = minimal();
    j["engine"] = {{"skip_unreadable", 1}};
    expect_invalid_config([&] { parse_in(dir, j); }, {"engine.skip_unreadable", "boolean"});
  }
  {
    json j = minimal();
    j["model"]["model"] = 5;
    expect_invalid_config([&] { parse_in(dir, j); }, {"model.model", "string"});
  }
  {
    json j = minimal();
    j["engine"] = json::array();
    expect_invalid_config([&] { parse_in(dir, j); }, {"engine", "object"});
  }
}

TEST(Config, BadValuesAreRejected) {
  ScratchDir dir;
  json j = minimal();
  j["engine"] = {{"batch_size", 0}};
  expect_invalid_config([&] { parse_in(dir, j); }, {"engine.batch_size", "must be in 1.."});
  j["engine"] = {{"threads", -1}};
  expect_invalid_config([&] { parse_in(dir, j); }, {"engine.threads"});
}

TEST(Config, MissingModelSectionOrFile) {
  ScratchDir dir;
  expect_invalid_config([&] { parse_in(dir, json::object()); }, {"model", "missing"});
  expect_invalid_config([&] { parse_in(dir, {{"model", json::object()}}); }, {"model.model", "missing"});
  expect_invalid_config(
      [&] {
        parse_in(dir, {{"model", {{"model", "nope.onnx"}}}});
      },
      {"model.model", "nope.onnx", "does not exist"});
}

TEST(Config, RelativePathsResolveAgainstTheConfigFolder) {
  ScratchDir dir;
  dir.write("models/net.onnx", "placeholder");
  dir.write("configs/deep/cfg.json", R"({"model": {"model": "../../models/net.onnx"}})");
  // From another working directory, the path still resolves next to the config file.
  const fs::path old_cwd = fs::current_path();
  fs::current_path(fs::temp_directory_path());
  config::Config c;
  try {
    c = config::load_config(dir.path("configs/deep/cfg.json"));
  } catch (...) {
    fs::current_path(old_cwd);
    throw;
  }
  fs::current_path(old_cwd);
  EXPECT_EQ(fs::path(c.model.model), fs::path(dir.path("models/net.onnx")));
  EXPECT_EQ(c.model.model_name, "net");
  EXPECT_EQ(fs::path(c.base_dir), fs::path(dir.path("configs/deep")));
}

TEST(Config, AbsolutePathIsKept) {
  ScratchDir dir;
  dir.write("abs.onnx", "placeholder");
  const config::Config c = parse_in(dir, {{"model", {{"model", dir.path("abs.onnx")}}}});
  EXPECT_EQ(c.model.model, dir.path("abs.onnx"));
}

TEST(Config, JsonSyntaxErrorAndMissingFile) {
  ScratchDir dir;
  const std::string bad = dir.write("bad.json", "{\"model\": {\"model\": \"m.onnx\",}\n");
  expect_invalid_config([&] { config::load_config(bad); }, {"bad.json", "not valid JSON"});
  EXPECT_THROW(config::load_config(dir.path("absent.json")), IoError);
}

TEST(Config, CommentsAreAllowed) {
  ScratchDir dir;
  dir.write("m.onnx", "placeholder");
  const std::string p = dir.write("c.json", "{\n // the model\n \"model\": {\"model\": \"m.onnx\"} /* done */\n}\n");
  EXPECT_EQ(config::load_config(p).model.model, dir.path("m.onnx"));
}

// --- datasets ---------------------------------------------------------------------------------------------------

class ConfigDataset : public ::testing::Test {
 protected:
  void SetUp() override {
    if (!fs::exists(std::string(kReluDir) + "/model.onnx")) GTEST_SKIP() << "ONNX backend test data absent";
    model_ = std::make_unique<ir::Model>(onnxio::load_model(std::string(kReluDir) + "/model.onnx"));
  }
  config::Config with_dataset(const json& dataset) {
    json j = minimal();
    j["engine"]["dataset"] = dataset;
    return parse_in(dir_, j);
  }
  config::BuiltDataset build(const json& dataset) { return config::build_dataset(with_dataset(dataset), *model_); }

  static std::string be32(uint32_t v) {
    return {static_cast<char>(v >> 24), static_cast<char>(v >> 16), static_cast<char>(v >> 8), static_cast<char>(v)};
  }
  static std::string npy(const std::string& descr, const std::string& shape, const std::string& payload) {
    std::string header = "{'descr': '" + descr + "', 'fortran_order': False, 'shape': " + shape + ", }";
    while ((10 + header.size() + 1) % 64 != 0) header += ' ';
    header += '\n';
    std::string out = "\x93NUMPY\x01";
    out += '\0';
    out += static_cast<char>(header.size() & 0xff);
    out += static_cast<char>(header.size() >> 8);
    return out + header + payload;
  }

  ScratchDir dir_;
  std::unique_ptr<ir::Model> model_;
};

TEST_F(ConfigDataset, MissingSectionOrType) {
  json j = minimal();
  expect_invalid_config([&] { config::build_dataset(parse_in(dir_, j), *model_); }, {"engine.dataset", "missing"});
  expect_invalid_config([&] { build(json::object()); }, {"engine.dataset.type", "missing"});
  expect_invalid_config(
      [&] {
        build({{"type", "imagefolder"}});
      },
      {"engine.dataset.type", "imagefolder", "image_folder"});
}

TEST_F(ConfigDataset, ImageFolderBuildsWithPreprocessing) {
  dir_.write("imgs/a.png", "not decoded at construction");
  dir_.write("imgs/b.png", "not decoded at construction");
  dir_.write("labels.csv", "file,label\na.png,3\nb.png,7\n");
  const auto built = build({{"type", "image_folder"},
                            {"images", "imgs"},
                            {"labels", "labels.csv"},
                            {"num_classes", 10},
                            {"preprocessing",
                             {{"resize_shorter", 8},
                              {"crop", 4},
                              {"color", "bgr"},
                              {"scale", "1/255"},
                              {"mean", {0.5, 0.5, 0.5}},
                              {"std", 0.25},
                              {"layout", "NHWC"}}}});
  ASSERT_TRUE(built.dataset);
  EXPECT_EQ(built.dataset->size(), 2);
  EXPECT_EQ(built.skipped, 0);
}

TEST_F(ConfigDataset, ImageFolderLabelOutOfRangeIsDataError) {
  dir_.write("imgs/a.png", "x");
  dir_.write("labels.csv", "file,label\na.png,12\n");
  try {
    build({{"type", "image_folder"}, {"images", "imgs"}, {"labels", "labels.csv"}, {"num_classes", 10}});
    ADD_FAILURE() << "expected DataError";
  } catch (const DataError& e) {
    EXPECT_NE(std::string(e.what()).find("12"), std::string::npos) << e.what();
  }
}

TEST_F(ConfigDataset, UnknownKeysInDatasetAndPreprocessingNameTheirPath) {
  dir_.write("imgs/a.png", "x");
  expect_invalid_config(
      [&] {
        build({{"type", "image_folder"}, {"images", "imgs"}, {"label_col", "y"}});
      },
      {"engine.dataset.label_col: unknown key", "label_column"});
  expect_invalid_config(
      [&] {
        build({{"type", "image_folder"}, {"images", "imgs"}, {"preprocessing", {{"colour", "bgr"}}}});
      },
      {"engine.dataset.preprocessing.colour: unknown key", "color"});
}

TEST_F(ConfigDataset, PreprocessingValuesAreChecked) {
  dir_.write("imgs/a.png", "x");
  auto with = [&](const json& pre) {
    return [&, pre] { build({{"type", "image_folder"}, {"images", "imgs"}, {"preprocessing", pre}}); };
  };
  expect_invalid_config(with({{"color", "cmyk"}}), {"engine.dataset.preprocessing.color", "cmyk", "\"bgr\""});
  expect_invalid_config(with({{"layout", "nchw"}}), {"engine.dataset.preprocessing.layout", "NCHW"});
  expect_invalid_config(with({{"scale", "1/0"}}), {"engine.dataset.preprocessing.scale"});
  expect_invalid_config(with({{"scale", true}}), {"engine.dataset.preprocessing.scale", "boolean"});
  expect_invalid_config(with({{"mean", json::array({"104"})}}), {"engine.dataset.preprocessing.mean", "number"});
  expect_invalid_config(with({{"crop", {1, 2, 3}}}), {"engine.dataset.preprocessing.crop"});
  expect_invalid_config(with({{"resize", {8, 8}}, {"resize_shorter", 8}}), {"engine.dataset.preprocessing.resize"});
  expect_invalid_config(with({{"resize_shorter", 0}}), {"engine.dataset.preprocessing.resize_shorter"});
  expect_invalid_config(with({{"std", 0}}), {"engine.dataset.preprocessing", "std"});
  expect_invalid_config(with({{"dtype", "float16"}}), {"engine.dataset.preprocessing.dtype"});
}

TEST_F(ConfigDataset, MissingDataFileNamesKeyAndPath) {
  expect_invalid_config(
      [&] {
        build({{"type", "image_folder"}, {"images", "no_such_dir"}});
      },
      {"engine.dataset.images", "no_such_dir", "does not exist"});
  expect_invalid_config([&] { build({{"type", "idx"}}); }, {"engine.dataset.images", "missing"});
}

TEST_F(ConfigDataset, InputTheModelLacksIsNamed) {
  dir_.write("imgs/a.png", "x");
  expect_invalid_config(
      [&] {
        build({{"type", "image_folder"}, {"images", "imgs"}, {"input", "data_0"}});
      },
      {"engine.dataset.input", "data_0", "x"});
}

TEST_F(ConfigDataset, IdxBuilds) {
  // Two 2x3 images and their labels.
  dir_.write("img.idx", be32(0x803) + be32(2) + be32(2) + be32(3) + std::string("\0\1\2\3\4\5\6\7\10\11\12\13", 12));
  dir_.write("lab.idx", be32(0x801) + be32(2) + std::string("\4\5", 2));
  const auto built = build({{"type", "idx"},
                            {"images", "img.idx"},
                            {"labels", "lab.idx"},
                            {"preprocessing", {{"scale", 0.5}, {"invert", true}}}});
  ASSERT_EQ(built.dataset->size(), 2);
  const Sample s = built.dataset->get(1);
  EXPECT_EQ(s.annotation.label, 5);
  const Tensor& t = s.inputs.at("x");
  EXPECT_EQ(t.shape(), (Shape{1, 1, 2, 3}));
  EXPECT_FLOAT_EQ(t.data<float>()[0], (255 - 6) * 0.5f);
}

// engine.calibration_dataset: its own section (same keys, errors named by its path); engine.dataset when absent.
TEST_F(ConfigDataset, CalibrationDatasetIsItsOwnSectionAndDefaultsToTheDataset) {
  std::string images = be32(0x803) + be32(5) + be32(1) + be32(1);
  for (int i = 0; i < 5; ++i) images += static_cast<char>(10 * i);
  dir_.write("img.idx", images);
  json j = minimal();
  j["engine"]["dataset"] = {{"type", "idx"}, {"images", "img.idx"}, {"range", {3, 5}}};
  const config::Config without = parse_in(dir_, j);
  EXPECT_TRUE(without.engine.calibration_dataset.is_null());
  EXPECT_EQ(config::build_calibration_dataset(without, *model_).dataset->size(), 2);

  j["engine"]["calibration_dataset"] = {{"type", "idx"}, {"images", "img.idx"}, {"range", {0, 3}}};
  const config::Config with = parse_in(dir_, j);
  const auto validation = config::build_dataset(with, *model_);
  const auto calibration = config::build_calibration_dataset(with, *model_);
  ASSERT_EQ(validation.dataset->size(), 2);
  ASSERT_EQ(calibration.dataset->size(), 3);
  EXPECT_FLOAT_EQ(validation.dataset->get(0).inputs.at("x").data<float>()[0], 30.0f);  // sample 3 of the file
  EXPECT_FLOAT_EQ(calibration.dataset->get(2).inputs.at("x").data<float>()[0], 20.0f);  // sample 2

  j["engine"]["calibration_dataset"] = {{"type", "idx"}, {"images", "img.idx"}, {"shuffle", true}};
  expect_invalid_config([&] { config::build_calibration_dataset(parse_in(dir_, j), *model_); },
                        {"engine.calibration_dataset.shuffle", "unknown key"});
  j["engine"]["calibration_dataset"] = {{"type", "idx"}, {"images", "absent.idx"}};
  expect_invalid_config([&] { config::build_calibration_dataset(parse_in(dir_, j), *model_); },
                        {"engine.calibration_dataset.images", "absent.idx"});
}

TEST_F(ConfigDataset, RangeMustLieInsideTheData) {
  std::string images = be32(0x803) + be32(4) + be32(1) + be32(1) + std::string("\0\1\2\3", 4);
  dir_.write("img.idx", images);
  for (const json& bad : {json{0, 5}, json{2, 2}, json{-1, 2}, json{1}}) {
    SCOPED_TRACE(bad.dump());
    expect_invalid_config([&] { build({{"type", "idx"}, {"images", "img.idx"}, {"range", bad}}); },
                          {"engine.dataset.range", "0 <= begin < end <= 4"});
  }
  EXPECT_EQ(build({{"type", "idx"}, {"images", "img.idx"}, {"range", {1, 4}}}).dataset->size(), 3);
}

TEST_F(ConfigDataset, CifarBuilds) {
  std::string records;
  for (int r = 0; r < 3; ++r) {
    records += static_cast<char>(r + 1);
    records += std::string(3072, static_cast<char>(10 * r));
  }
  dir_.write("batch.bin", records);
  const auto built =
      build({{"type", "cifar"}, {"files", json::array({"batch.bin"})}, {"preprocessing", {{"scale", "1/255"}}}});
  ASSERT_EQ(built.dataset->size(), 3);
  const Sample s = built.dataset->get(2);
  EXPECT_EQ(s.annotation.label, 3);
  EXPECT_EQ(s.inputs.at("x").shape(), (Shape{1, 3, 32, 32}));
  EXPECT_FLOAT_EQ(s.inputs.at("x").data<float>()[0], static_cast<float>(20.0 / 255.0));
  expect_invalid_config(
      [&] {
        build({{"type", "cifar"}, {"files", json::array({"missing.bin"})}});
      },
      {"engine.dataset.files", "missing.bin"});
}

TEST_F(ConfigDataset, NpyBuilds) {
  std::string payload(2 * 4 * sizeof(float), '\0');
  float values[8] = {1, 2, 3, 4, 5, 6, 7, 8};
  std::memcpy(payload.data(), values, sizeof(values));
  dir_.write("x.npy", npy("<f4", "(2, 4)", payload));
  std::string labels(2 * sizeof(int64_t), '\0');
  int64_t lv[2] = {1, 0};
  std::memcpy(labels.data(), lv, sizeof(lv));
  dir_.write("y.npy", npy("<i8", "(2,)", labels));
  const auto built = build({{"type", "npy"}, {"array", "x.npy"}, {"labels", "y.npy"}});
  ASSERT_EQ(built.dataset->size(), 2);
  const Sample s = built.dataset->get(1);
  EXPECT_EQ(s.annotation.label, 0);
  EXPECT_FLOAT_EQ(s.inputs.at("x").data<float>()[0], 5.f);
}

TEST_F(ConfigDataset, NpzBuilds) {
  const std::string fixture = std::string(QWAC_SOURCE_DIR) + "/tests/data/fixtures/small.npz";
  const auto built = build({{"type", "npz"}, {"npz", fixture}, {"array", "x"}, {"labels", "y"}});
  ASSERT_EQ(built.dataset->size(), 3);
  EXPECT_EQ(built.dataset->get(2).annotation.label, 9);
}

TEST_F(ConfigDataset, OnnxTestsetBuilds) {
  const auto built = build({{"type", "onnx_testset"}, {"dir", kReluDir}});
  ASSERT_GE(built.dataset->size(), 1);
  EXPECT_EQ(built.dataset->get(0).inputs.at("x").shape(), (Shape{3, 4, 5}));
}

TEST_F(ConfigDataset, RandomBuildsFromTheModelInputs) {
  const auto built = build({{"type", "random"}, {"count", 5}, {"seed", 3}, {"low", -2.0}, {"high", 2.0}});
  ASSERT_EQ(built.dataset->size(), 5);
  const Tensor t = built.dataset->get(4).inputs.at("x");
  EXPECT_EQ(t.shape(), (Shape{1, 4, 5}));
  for (int64_t i = 0; i < t.numel(); ++i) {
    EXPECT_GE(t.data<float>()[i], -2.f);
    EXPECT_LE(t.data<float>()[i], 2.f);
  }
  // Same seed, same samples.
  const Tensor again = build({{"type", "random"}, {"count", 5}, {"seed", 3}, {"low", -2.0}, {"high", 2.0}})
                           .dataset->get(4)
                           .inputs.at("x");
  EXPECT_EQ(std::memcmp(t.raw(), again.raw(), t.nbytes()), 0);
  expect_invalid_config([&] { build({{"type", "random"}, {"count", "5"}}); }, {"engine.dataset.count", "integer"});
}

// --- metrics ----------------------------------------------------------------------------------------------------

config::Config with_metrics(const ScratchDir& dir, const json& metrics) {
  json j = minimal();
  j["engine"]["metrics"] = metrics;
  return parse_in(dir, j);
}

TEST(ConfigMetrics, BuildsSeveralMetrics) {
  ScratchDir dir;
  const auto metrics = config::build_metrics(with_metrics(
      dir,
      json::array({json{{"type", "accuracy"}}, json{{"type", "accuracy"}, {"options", {{"k", 5}, {"output", "prob"}}}},
                   json{{"type", "nmse"}}, json{{"type", "f1"}, {"options", {{"threshold", 0.3}}}}})));
  ASSERT_EQ(metrics.size(), 4u);
  EXPECT_EQ(metrics[0]->name(), "accuracy@top1");
  EXPECT_EQ(metrics[1]->name(), "accuracy@top5");
}

TEST(ConfigMetrics, BadMetricTypeListsKnownTypes) {
  ScratchDir dir;
  expect_invalid_config(
      [&] {
        config::build_metrics(with_metrics(dir, json::array({json{{"type", "accuracy"}}, json{{"type", "top5"}}})));
      },
      {"engine.metrics[1].type", "top5", "accuracy", "mean_iou"});
}

TEST(ConfigMetrics, UnknownOptionAndWrongTypeNameTheirPath) {
  ScratchDir dir;
  expect_invalid_config(
      [&] {
        config::build_metrics(with_metrics(dir, json::array({json{{"type", "accuracy"}, {"options", {{"top", 5}}}}})));
      },
      {"engine.metrics[0].options.top: unknown", "k"});
  expect_invalid_config(
      [&] {
        config::build_metrics(with_metrics(dir, json::array({json{{"type", "accuracy"}, {"options", {{"k", "5"}}}}})));
      },
      {"engine.metrics[0].options.k"});
  expect_invalid_config(
      [&] {
        config::build_metrics(with_metrics(dir, json::array({json{{"type", "accuracy"}, {"opts", {{"k", 5}}}}})));
      },
      {"engine.metrics[0].opts: unknown key"});
}

TEST(ConfigMetrics, MissingOrEmptyList) {
  ScratchDir dir;
  expect_invalid_config([&] { config::build_metrics(parse_in(dir, minimal())); }, {"engine.metrics", "missing"});
  expect_invalid_config([&] { config::build_metrics(with_metrics(dir, json::array())); }, {"engine.metrics"});
  expect_invalid_config(
      [&] {
        config::build_metrics(with_metrics(dir, json{{"type", "accuracy"}}));
      },
      {"engine.metrics"});
}

// Every shipped example parses and names existing files (their datasets are exercised by tests/e2e).
TEST(ConfigExamples, AllParse) {
  const fs::path examples = fs::path(QWAC_SOURCE_DIR) / "examples";
  if (!fs::exists(examples)) GTEST_SKIP() << "no examples folder";
  int count = 0;
  for (const auto& e : fs::directory_iterator(examples)) {
    if (e.path().extension() != ".json") continue;
    ++count;
    if (!fs::exists(fs::path(QWAC_SHARED_DIR) / "assets")) continue;  // their model paths point into ../shared
    SCOPED_TRACE(e.path().string());
    const config::Config c = config::load_config(e.path().string());
    EXPECT_TRUE(fs::exists(c.model.model));
    EXPECT_NO_THROW(config::build_metrics(c));
  }
  EXPECT_GE(count, 7);
}

}  // namespace
}  // namespace qwac
