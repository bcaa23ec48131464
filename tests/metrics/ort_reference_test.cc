// Replays the ORT reference evaluator's results (shared/assets/models/*/ref, written by shared/tools/ort-eval) through
// accuracy@top1, so qwac's accuracy reproduces ORT's numbers sample for sample.
#include <gtest/gtest.h>

#include <cstring>
#include <fstream>
#include <sstream>

#include "metric_test_util.h"
#include "metrics/accuracy.h"
#include "test_util.h"

namespace qwac::metrics {
namespace {

struct PredRow {
  int64_t label, top1;
};

std::vector<PredRow> read_preds(const std::string& path) {
  std::ifstream in(path);
  EXPECT_TRUE(in.good()) << "cannot open " << path;
  std::string line;
  std::getline(in, line);
  EXPECT_EQ(line, "index,id,label,top1,top1_score") << path;
  std::vector<PredRow> rows;
  while (std::getline(in, line)) {
    if (line.empty()) continue;
    std::vector<std::string> cols;
    std::stringstream ss(line);
    for (std::string c; std::getline(ss, c, ',');) cols.push_back(c);
    EXPECT_EQ(cols.size(), 5u) << path << ": " << line;
    if (cols.size() != 5) break;
    EXPECT_EQ(std::stoll(cols[0]), static_cast<int64_t>(rows.size())) << path;
    rows.push_back({std::stoll(cols[2]), std::stoll(cols[3])});
  }
  return rows;
}

struct ReferenceCase {
  std::string model, dataset;
  int64_t classes, top1_count, samples;
};

// Counts from shared/assets/MANIFEST.md.
const std::vector<ReferenceCase> kCases = {
    {"squeezenet1.1-imagenet", "imagenet-val-1300", 1000, 944, 1300},
    {"squeezenet1.1-imagenet", "imagenet-sample-1000", 1000, 612, 1000},
    {"mnist-cntk", "mnist-test", 10, 9891, 10000},
    {"mnist-pytorch-cnn", "mnist-test", 10, 9877, 10000},
    {"fashion-mnist-cnn", "fashion-mnist-test", 10, 9015, 10000},
    {"fashion-mnist-mlp", "fashion-mnist-test", 10, 8740, 10000},
    {"resnet20-cifar10", "cifar10-test-jpeg", 10, 8139, 10000},
};

std::string ref_path(const ReferenceCase& c, const std::string& file) {
  return ::qwac::testing::shared_path("assets/models/" + c.model + "/ref/" + file);
}

// One-hot-like scores built from ORT's top-1 prediction, fed in batches of 64 (SqueezeNet's [N, C, 1, 1] layout).
TEST(OrtReference, Top1ReplayMatchesManifestCounts) {
  QWAC_REQUIRE_SHARED();
  for (const auto& c : kCases) {
    SCOPED_TRACE(c.model + " on " + c.dataset);
    const auto rows = read_preds(ref_path(c, "preds-" + c.dataset + ".csv"));
    ASSERT_EQ(static_cast<int64_t>(rows.size()), c.samples);
    AccuracyMetric top1({});
    constexpr size_t kBatch = 64;
    for (size_t b = 0; b < rows.size(); b += kBatch) {
      const size_t n = std::min(kBatch, rows.size() - b);
      Shape shape = {static_cast<int64_t>(n), c.classes};
      if (c.classes == 1000) shape = {static_cast<int64_t>(n), c.classes, 1, 1};
      Tensor scores(DType::kFloat32, shape);
      float* s = scores.data<float>();
      std::vector<Annotation> ann(n);
      for (size_t i = 0; i < n; ++i) {
        const PredRow& r = rows[b + i];
        for (int64_t k = 0; k < c.classes; ++k) s[i * c.classes + k] = 0.001f * static_cast<float>(k % 7);
        s[static_cast<int64_t>(i) * c.classes + r.top1] = 1.0f;
        ann[i].label = r.label;
      }
      ModelOutputs out;
      out.names = {"scores"};
      out.tensors = {scores};
      top1.update(out, ann);
    }
    const auto& per_sample = top1.per_sample_values();
    int64_t hits = 0;
    for (size_t i = 0; i < rows.size(); ++i) {
      EXPECT_EQ(per_sample[i], rows[i].label == rows[i].top1 ? 1.0 : 0.0) << "sample " << i;
      hits += per_sample[i] == 1.0;
    }
    EXPECT_EQ(hits, c.top1_count);
    EXPECT_DOUBLE_EQ(top1.avg_value(), static_cast<double>(c.top1_count) / static_cast<double>(c.samples));
  }
}

// The raw ORT score rows of the first 16 samples: our ranking must pick the same top-1 class as eval.js.
TEST(OrtReference, RawScoresGiveOrtTop1) {
  QWAC_REQUIRE_SHARED();
  for (const auto& c : kCases) {
    SCOPED_TRACE(c.model + " on " + c.dataset);
    const auto rows = read_preds(ref_path(c, "preds-" + c.dataset + ".csv"));
    const std::string bytes = ::qwac::testing::read_file_bytes(ref_path(c, "scores-" + c.dataset + "-first16.f32"));
    constexpr int64_t kCount = 16;
    ASSERT_EQ(static_cast<int64_t>(bytes.size()), kCount * c.classes * 4);
    Tensor scores(DType::kFloat32, {kCount, c.classes});
    std::memcpy(scores.raw(), bytes.data(), bytes.size());
    ModelOutputs out;
    out.names = {"scores"};
    out.tensors = {scores};
    // Labelled with ORT's own top-1, every sample must be a hit.
    std::vector<Annotation> own(kCount);
    for (int64_t j = 0; j < kCount; ++j) own[static_cast<size_t>(j)].label = rows[static_cast<size_t>(j)].top1;
    AccuracyMetric agree({});
    agree.update(out, own);
    EXPECT_DOUBLE_EQ(agree.value(), 1.0);
    // And with the true labels the hits equal the CSV's label == top1.
    std::vector<Annotation> ann(kCount);
    for (int64_t j = 0; j < kCount; ++j) ann[static_cast<size_t>(j)].label = rows[static_cast<size_t>(j)].label;
    AccuracyMetric top1({});
    top1.update(out, ann);
    for (int64_t j = 0; j < kCount; ++j)
      EXPECT_EQ(top1.per_sample_values()[static_cast<size_t>(j)],
                rows[static_cast<size_t>(j)].label == rows[static_cast<size_t>(j)].top1 ? 1.0 : 0.0)
          << "sample " << j;
  }
}

}  // namespace
}  // namespace qwac::metrics
