// `qwac evaluate` end to end: every example config reproduces the ONNX Runtime reference accuracy of
// ../shared/assets/MANIFEST.md exactly, and its per-sample top-1 agrees with the reference predictions
// (ref/preds-<dataset>.csv); then the CLI's output formats, and one-line errors for bad data.
//
// The seven full-data-set runs take about 17 s together on 2 idle cores (SqueezeNet val-1300 5 s, resnet20 on
// 10,000 CIFAR JPEGs 4 s, each MNIST set under 2.5 s; about 35 s when other jobs load the machine), so they are one
// suite; each prints a "[ timing ]" line.
#include <gtest/gtest.h>
#include <sys/wait.h>

#include <array>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <map>
#include <nlohmann/json.hpp>
#include <sstream>
#include <string>
#include <vector>

#include "e2e/e2e_util.h"
#include "test_util.h"

namespace qwac {
namespace {

namespace fs = std::filesystem;
using nlohmann::json;
using e2e::CliRun;
using e2e::example;
using e2e::Prediction;
using e2e::read_predictions;
using e2e::run_qwac;
using e2e::Scratch;

// --- reference accuracy on the full data sets ---------------------------------------------------------------------

struct Reference {
  std::string config;  // examples/<config>.json
  std::string preds;   // reference predictions, below shared/assets/models/
  int64_t samples;
  std::map<std::string, int64_t> hits;  // metric name -> number of correct samples (MANIFEST.md)
};

std::ostream& operator<<(std::ostream& os, const Reference& r) {
  return os << r.config;
}

void check_reference(const Reference& ref) {
  Scratch scratch;
  const std::string preds = scratch.path("preds.csv");
  const auto t0 = std::chrono::steady_clock::now();
  const CliRun r = run_qwac("evaluate --config " + example(ref.config) + " --json --predictions " + preds);
  const double seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  ASSERT_EQ(r.exit_code, 0) << r.err;
  const json j = json::parse(r.out);
  std::printf("[ timing   ] %s: %lld samples in %.1f s (%.0f samples/s, inference %.1f s, batch %d)\n",
              ref.config.c_str(), static_cast<long long>(j["samples"].get<int64_t>()), seconds,
              j["samples_per_second"].get<double>(), j["inference_seconds"].get<double>(), j["batch_size"].get<int>());
  ASSERT_EQ(j["samples"].get<int64_t>(), ref.samples);
  EXPECT_EQ(j["skipped"].get<int64_t>(), 0);
  for (const auto& [metric, hits] : ref.hits) {
    ASSERT_TRUE(j["metrics"].contains(metric)) << r.out;
    const double value = j["metrics"][metric]["value"].get<double>();
    EXPECT_EQ(std::llround(value * static_cast<double>(ref.samples)), hits)
        << ref.config << " " << metric << " = " << value << ", reference " << hits << "/" << ref.samples;
  }

  const std::vector<Prediction> ours = read_predictions(preds);
  const std::vector<Prediction> theirs = read_predictions(testing::shared_path("assets/models/" + ref.preds));
  ASSERT_EQ(ours.size(), static_cast<size_t>(ref.samples));
  ASSERT_EQ(theirs.size(), ours.size());
  int64_t agree = 0;
  std::string first_disagreements;
  for (size_t i = 0; i < ours.size(); ++i) {
    ASSERT_EQ(ours[i].label, theirs[i].label) << "sample " << i << " (" << ours[i].id << "): data set order differs";
    if (ours[i].top1 == theirs[i].top1) {
      ++agree;
    } else if (first_disagreements.size() < 400) {
      first_disagreements += " #" + std::to_string(i) + " " + ours[i].id + ": ours " + std::to_string(ours[i].top1) +
                             " ORT " + std::to_string(theirs[i].top1) + ";";
    }
  }
  EXPECT_GE(static_cast<double>(agree), 0.999 * static_cast<double>(ours.size()))
      << ref.config << ": top-1 agrees with ONNX Runtime on " << agree << "/" << ours.size()
      << " samples; first disagreements:" << first_disagreements;
  if (agree != static_cast<int64_t>(ours.size())) {
    std::printf("[ note     ] %s: top-1 agrees on %lld/%zu;%s\n", ref.config.c_str(), static_cast<long long>(agree),
                ours.size(), first_disagreements.c_str());
  }
}

class Evaluate : public ::testing::TestWithParam<Reference> {};

TEST_P(Evaluate, ReproducesOnnxRuntimeReference) {
  QWAC_REQUIRE_SHARED();
  check_reference(GetParam());
}

std::string param_name(const ::testing::TestParamInfo<Reference>& info) {
  std::string n = info.param.config;
  for (char& c : n)
    if (!std::isalnum(static_cast<unsigned char>(c))) c = '_';
  return n;
}

INSTANTIATE_TEST_SUITE_P(SharedAssets, Evaluate,
                         ::testing::Values(Reference{"squeezenet1.1-imagenet-val-1300",
                                                     "squeezenet1.1-imagenet/ref/preds-imagenet-val-1300.csv",
                                                     1300,
                                                     {{"accuracy@top1", 944}, {"accuracy@top5", 1186}}},
                                           Reference{"squeezenet1.1-imagenet-sample-1000",
                                                     "squeezenet1.1-imagenet/ref/preds-imagenet-sample-1000.csv",
                                                     1000,
                                                     {{"accuracy@top1", 612}, {"accuracy@top5", 818}}},
                                           Reference{"mnist-cntk-mnist-test",
                                                     "mnist-cntk/ref/preds-mnist-test.csv",
                                                     10000,
                                                     {{"accuracy@top1", 9891}}},
                                           Reference{"mnist-pytorch-cnn-mnist-test",
                                                     "mnist-pytorch-cnn/ref/preds-mnist-test.csv",
                                                     10000,
                                                     {{"accuracy@top1", 9877}}},
                                           Reference{"fashion-mnist-cnn-fashion-mnist-test",
                                                     "fashion-mnist-cnn/ref/preds-fashion-mnist-test.csv",
                                                     10000,
                                                     {{"accuracy@top1", 9015}, {"accuracy@top5", 9991}}},
                                           Reference{"fashion-mnist-mlp-fashion-mnist-test",
                                                     "fashion-mnist-mlp/ref/preds-fashion-mnist-test.csv",
                                                     10000,
                                                     {{"accuracy@top1", 8740}, {"accuracy@top5", 9968}}},
                                           Reference{"resnet20-cifar10-cifar10-test-jpeg",
                                                     "resnet20-cifar10/ref/preds-cifar10-test-jpeg.csv",
                                                     10000,
                                                     {{"accuracy@top1", 8139}, {"accuracy@top5", 9868}}}),
                         param_name);

// --- CLI behaviour ----------------------------------------------------------------------------------------------

TEST(EvaluateCli, JsonOutputParsesAndHasTheMetrics) {
  QWAC_REQUIRE_SHARED();
  const CliRun r = run_qwac("evaluate --config " + example("squeezenet1.1-imagenet-val-1300") + " --limit 20 --json");
  ASSERT_EQ(r.exit_code, 0) << r.err;
  json j;
  ASSERT_NO_THROW(j = json::parse(r.out)) << r.out;
  EXPECT_EQ(j["samples"], 20);
  EXPECT_EQ(j["model_name"], "squeezenet1.1");
  EXPECT_GT(j["samples_per_second"].get<double>(), 0);
  for (const char* m : {"accuracy@top1", "accuracy@top5"}) {
    ASSERT_TRUE(j["metrics"].contains(m)) << r.out;
    const double v = j["metrics"][m]["value"].get<double>();
    EXPECT_GE(v, 0.0);
    EXPECT_LE(v, 1.0);
    EXPECT_DOUBLE_EQ(v * 20, std::round(v * 20)) << m << " is not a fraction of the 20 samples";
    EXPECT_EQ(j["metrics"][m]["direction"], "higher-better");
  }
  EXPECT_GE(j["metrics"]["accuracy@top5"]["value"].get<double>(), j["metrics"]["accuracy@top1"]["value"].get<double>());
}

TEST(EvaluateCli, TextOutputShowsMetricsAndThroughput) {
  QWAC_REQUIRE_SHARED();
  const CliRun r = run_qwac("evaluate --config " + example("mnist-cntk-mnist-test") + " --limit 50");
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_NE(r.out.find("accuracy@top1"), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("/50)"), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("samples/s"), std::string::npos) << r.out;
}

TEST(EvaluateCli, LimitEvaluatesTheFirstSamples) {
  QWAC_REQUIRE_SHARED();
  Scratch scratch;
  const CliRun r = run_qwac("evaluate --config " + example("mnist-pytorch-cnn-mnist-test") +
                            " --limit 37 --json --predictions " + scratch.path("p.csv"));
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_EQ(json::parse(r.out)["samples"], 37);
  const auto rows = read_predictions(scratch.path("p.csv"));
  ASSERT_EQ(rows.size(), 37u);
  // The first MNIST test labels: 7 2 1 0 4 1 4 9 5 9.
  const int64_t first[] = {7, 2, 1, 0, 4, 1, 4, 9, 5, 9};
  for (int i = 0; i < 10; ++i) EXPECT_EQ(rows[static_cast<size_t>(i)].label, first[i]) << "sample " << i;

  const CliRun bad = run_qwac("evaluate --config " + example("mnist-pytorch-cnn-mnist-test") + " --limit -3");
  EXPECT_NE(bad.exit_code, 0);
  EXPECT_NE(bad.err.find("--limit"), std::string::npos) << bad.err;
}

TEST(EvaluateCli, ResultsDoNotDependOnStreamsThreadsOrBatch) {
  QWAC_REQUIRE_SHARED();
  Scratch scratch;
  // mnist-pytorch-cnn runs at batch 100: 250 samples end with a partial (padded) batch.
  for (const char* config : {"mnist-pytorch-cnn-mnist-test", "squeezenet1.1-imagenet-val-1300"}) {
    const std::string limit = std::string(config).find("mnist") != std::string::npos ? "250" : "23";
    std::vector<std::vector<Prediction>> runs;
    std::vector<json> metrics;
    for (const char* flags :
         {"--streams 1 --threads 1", "--streams 1 --threads 2", "--streams 2 --threads 2", "--streams 3 --threads 1"}) {
      SCOPED_TRACE(std::string(config) + " " + flags);
      const std::string preds = scratch.path("p" + std::to_string(runs.size()) + ".csv");
      const CliRun r = run_qwac("evaluate --config " + example(config) + " --limit " + limit + " --json " + flags +
                                " --predictions " + preds);
      ASSERT_EQ(r.exit_code, 0) << r.err;
      metrics.push_back(json::parse(r.out)["metrics"]);
      runs.push_back(read_predictions(preds));
      ASSERT_EQ(runs.back().size(), static_cast<size_t>(std::stoi(limit)));
    }
    for (size_t k = 1; k < runs.size(); ++k) {
      EXPECT_EQ(metrics[k], metrics[0]) << config << " run " << k;
      for (size_t i = 0; i < runs[0].size(); ++i) {
        EXPECT_EQ(runs[k][i].top1, runs[0][i].top1) << config << " run " << k << " sample " << i;
        EXPECT_EQ(runs[k][i].label, runs[0][i].label) << config << " run " << k << " sample " << i;
      }
    }
  }
}

TEST(EvaluateCli, PredictionsFileIsWrittenAtomically) {
  QWAC_REQUIRE_SHARED();
  Scratch scratch;
  const std::string preds = scratch.path("out/preds.csv");
  fs::create_directories(scratch.path("out"));
  const CliRun r = run_qwac("evaluate --config " + example("squeezenet1.1-imagenet-val-1300") +
                            " --limit 5 --quiet --predictions " + preds);
  ASSERT_EQ(r.exit_code, 0) << r.err;
  const auto rows = read_predictions(preds);
  ASSERT_EQ(rows.size(), 5u);
  EXPECT_EQ(rows[0].id, "ILSVRC2012_val_00000347.JPEG");
  EXPECT_EQ(rows[0].label, 472);
  EXPECT_EQ(rows[0].top1, 472);  // ORT: 472 with probability 0.99
  // Nothing but the final file is left in the folder (no temporary).
  int files = 0;
  for (const auto& e : fs::directory_iterator(scratch.path("out"))) {
    ++files;
    EXPECT_EQ(e.path().filename(), "preds.csv");
  }
  EXPECT_EQ(files, 1);

  // A failing run leaves an existing predictions file untouched.
  scratch.write("garbage/broken.JPEG", "this is not a JPEG");
  scratch.write("garbage/labels.csv", "file,label\nbroken.JPEG,1\n");
  const std::string cfg = scratch.write(
      "broken.json",
      json{{"model", {{"model", testing::shared_path("assets/models/squeezenet1.1-imagenet/model.onnx")}}},
           {"engine",
            {{"dataset", {{"type", "image_folder"}, {"images", "garbage"}, {"labels", "garbage/labels.csv"}}},
             {"metrics", json::array({json{{"type", "accuracy"}}})}}}}
          .dump());
  const CliRun failed = run_qwac("evaluate --config " + cfg + " --quiet --predictions " + preds);
  EXPECT_NE(failed.exit_code, 0);
  EXPECT_EQ(read_predictions(preds).size(), 5u);
}

// --- bad input: one-line DataError / InvalidConfig naming the thing, non-zero exit -----------------------------------

class EvaluateBadInput : public ::testing::Test {
 protected:
  void SetUp() override {
    if (!testing::shared_available()) GTEST_SKIP() << "../shared is absent: end-to-end data not available, skipping";
    val_ = testing::shared_path("assets/data/imagenet-val-1300/images");
  }
  // A squeezenet config over the image folder <scratch>/imgs with `labels` as labels.csv.
  std::string config(const std::string& labels, json dataset_extra = json::object(), json engine_extra = json::object(),
                     const std::string& model = "squeezenet1.1-imagenet") {
    scratch_.write("imgs/labels.csv", labels);
    json dataset = {{"type", "image_folder"},
                    {"images", "imgs"},
                    {"labels", "imgs/labels.csv"},
                    {"num_classes", 1000},
                    {"preprocessing", {{"crop", 224}, {"color", "bgr"}, {"mean", {104, 117, 123}}}}};
    for (auto& [k, v] : dataset_extra.items()) dataset[k] = v;
    json engine = {{"batch_size", 1}, {"dataset", dataset}, {"metrics", json::array({json{{"type", "accuracy"}}})}};
    for (auto& [k, v] : engine_extra.items()) engine[k] = v;
    json cfg = {{"model", {{"model", testing::shared_path("assets/models/" + model + "/model.onnx")}}},
                {"engine", engine}};
    return scratch_.write("cfg.json", cfg.dump(2));
  }
  void copy_real_image(const std::string& file, const std::string& as) {
    fs::create_directories(scratch_.path("imgs"));
    fs::copy_file(val_ + "/" + file, scratch_.path("imgs/" + as), fs::copy_options::overwrite_existing);
  }
  // Runs the config and expects a failure whose stderr is exactly one line naming `kind` and every needle.
  void expect_one_line_error(const std::string& cfg, const std::string& kind,
                             std::initializer_list<std::string> needles) {
    const CliRun r = run_qwac("evaluate --config " + cfg + " --quiet");
    EXPECT_NE(r.exit_code, 0) << r.out << r.err;
    EXPECT_TRUE(r.out.empty()) << r.out;
    ASSERT_FALSE(r.err.empty());
    EXPECT_EQ(r.err.find('\n'), r.err.size() - 1) << "not one line:\n" << r.err;
    EXPECT_NE(r.err.find(kind), std::string::npos) << r.err;
    for (const auto& n : needles) EXPECT_NE(r.err.find(n), std::string::npos) << "missing '" << n << "' in: " << r.err;
  }

  Scratch scratch_;
  std::string val_;
};

const char* kGood1 = "ILSVRC2012_val_00000347.JPEG";  // label 472, 227x227
const char* kGood2 = "ILSVRC2012_val_00000355.JPEG";  // label 260

TEST_F(EvaluateBadInput, CorruptImageIsDataErrorNamingTheFile) {
  copy_real_image(kGood1, "a.JPEG");
  scratch_.write("imgs/broken.JPEG", std::string("\xff\xd8\xff\xe0 garbage that is no JPEG", 30));
  expect_one_line_error(config("file,label\na.JPEG,472\nbroken.JPEG,3\n"), "DataError", {"broken.JPEG"});
}

TEST_F(EvaluateBadInput, SkipUnreadableSkipsAndReportsTheCount) {
  copy_real_image(kGood1, "a.JPEG");
  copy_real_image(kGood2, "b.JPEG");
  scratch_.write("imgs/broken.JPEG", "not an image at all");
  const std::string cfg =
      config("file,label\na.JPEG,472\nbroken.JPEG,3\nb.JPEG,260\n", json::object(), {{"skip_unreadable", true}});
  const CliRun r = run_qwac("evaluate --config " + cfg + " --json");
  ASSERT_EQ(r.exit_code, 0) << r.err;
  const json j = json::parse(r.out);
  EXPECT_EQ(j["samples"], 2);
  EXPECT_EQ(j["skipped"], 1);
  EXPECT_NE(r.err.find("skipped 1"), std::string::npos) << r.err;
  EXPECT_NE(r.err.find("broken.JPEG"), std::string::npos) << r.err;
  // Text mode reports the count too.
  const CliRun text = run_qwac("evaluate --config " + cfg);
  ASSERT_EQ(text.exit_code, 0) << text.err;
  EXPECT_NE(text.err.find("skipped 1"), std::string::npos) << text.err;
}

TEST_F(EvaluateBadInput, MissingLabelColumnIsNamed) {
  copy_real_image(kGood1, "a.JPEG");
  expect_one_line_error(config("file,class\na.JPEG,472\n"), "DataError", {"label", "labels.csv"});
}

TEST_F(EvaluateBadInput, LabelOutOfRangeIsNamed) {
  copy_real_image(kGood1, "a.JPEG");
  expect_one_line_error(config("file,label\na.JPEG,1000\n"), "DataError", {"1000", "labels.csv"});
}

TEST_F(EvaluateBadInput, CropLargerThanTheImage) {
  copy_real_image(kGood1, "a.JPEG");
  expect_one_line_error(config("file,label\na.JPEG,472\n", {{"preprocessing", {{"crop", 256}}}}), "DataError",
                        {"a.JPEG", "256x256", "227x227"});
}

TEST_F(EvaluateBadInput, SampleShapeMismatchWithTheModelInput) {
  copy_real_image(kGood1, "a.JPEG");
  expect_one_line_error(config("file,label\na.JPEG,472\n", {{"preprocessing", {{"crop", 200}}}}), "DataError",
                        {"data_0", "[1,3,224,224]"});
}

TEST_F(EvaluateBadInput, InputNameTheModelLacks) {
  copy_real_image(kGood1, "a.JPEG");
  expect_one_line_error(config("file,label\na.JPEG,472\n", {{"input", "image"}}), "InvalidConfig",
                        {"engine.dataset.input", "image", "data_0"});
}

TEST_F(EvaluateBadInput, EmptyDataset) {
  fs::create_directories(scratch_.path("imgs"));
  expect_one_line_error(config("file,label\n"), "DataError", {"labels.csv", "no rows"});
}

TEST_F(EvaluateBadInput, UnknownConfigKeyNamesItsPath) {
  copy_real_image(kGood1, "a.JPEG");
  expect_one_line_error(config("file,label\na.JPEG,472\n", {{"preprocessing", {{"crop", 224}, {"colour", "bgr"}}}}),
                        "InvalidConfig", {"engine.dataset.preprocessing.colour"});
}

TEST_F(EvaluateBadInput, NanInATensorIsNamed) {
  // One MNIST-shaped sample with a NaN, as a .npy file, fed to mnist-pytorch-cnn.
  std::string header = "{'descr': '<f4', 'fortran_order': False, 'shape': (1, 1, 28, 28), }";
  while ((10 + header.size() + 1) % 64 != 0) header += ' ';
  header += '\n';
  std::string npy = std::string("\x93NUMPY\x01\x00", 8);
  npy += static_cast<char>(header.size() & 0xff);
  npy += static_cast<char>(header.size() >> 8);
  std::vector<float> pixels(28 * 28, 0.5f);
  pixels[100] = std::nanf("");
  npy += header + std::string(reinterpret_cast<const char*>(pixels.data()), pixels.size() * sizeof(float));
  scratch_.write("x.npy", npy);
  const json cfg = {
      {"model", {{"model", testing::shared_path("assets/models/mnist-pytorch-cnn/model.onnx")}}},
      {"engine",
       {{"dataset", {{"type", "npy"}, {"array", "x.npy"}}}, {"metrics", json::array({json{{"type", "cosine"}}})}}}};
  expect_one_line_error(scratch_.write("nan.json", cfg.dump()), "DataError", {"nan", "input"});
}

}  // namespace
}  // namespace qwac
