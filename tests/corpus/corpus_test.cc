// The opset corpus (tests/corpus/make_corpus.py, generated into the build tree by the CTest fixture
// opset_corpus_generate): small real architectures exported by torch at opsets 9-17, with weights as initializers
// and as Constant nodes. For every model at every opset:
//   - qwac imports it and computes what ONNX Runtime computes on the same input (FP32, max abs diff);
//   - canonicalization (constants folded, BN folded, opset raised to 13 by qwac's adapters) keeps the outputs, as
//     qwac and as ONNX Runtime run them;
//   - the default quantization (per-channel weights) succeeds, and ONNX Runtime runs the QDQ file with outputs
//     close to qwac's int8 run of it.
// The figures go to <corpus>/matrix.md (the README's table; tests/corpus/matrix.sh prints it).
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <map>
#include <nlohmann/json.hpp>
#include <optional>
#include <set>
#include <sstream>

#include "core/logger.h"
#include "data/npy.h"
#include "data/npy_dataset.h"
#include "onnx/model_io.h"
#include "quant/canonicalize.h"
#include "quant/quantize.h"
#include "runtime/engine.h"
#include "test_util.h"

namespace qwac {
namespace {

namespace fs = std::filesystem;
using nlohmann::json;

// qwac and ONNX Runtime run the same float graph with different kernels (oneDNN vs MLAS: other summation orders,
// other exp/tanh approximations): relative to the output's magnitude they agree to ~1e-6.
constexpr double kFp32Tolerance = 1e-4;
// qwac's int8 kernels and ONNX Runtime's QDQ fusion round at different points (qwac requantizes in one primitive,
// ORT may keep float between some ops), so outputs may differ by a few quantization steps of the output.
constexpr double kInt8Tolerance = 0.05;

struct Entry {
  std::string model, weights, path, input, calibration, input_name;
  int opset = 0;
};

struct Row {
  Entry e;
  bool imported = false, quantized = false, per_channel = false;
  int64_t qdq_opset = 0;
  int64_t float_batchnorms = 0;  // BatchNormalization nodes left in the QDQ file
  std::string error;
  std::vector<Tensor> qwac_fp32, qwac_canonical, qwac_int8;
  std::string canonical_path, qdq_path;
};

// max |a - b| / max(1, max |b|) over all elements; +inf on a shape mismatch.
double relative_max_diff(const Tensor& a, const Tensor& b) {
  if (a.shape() != b.shape() || a.dtype() != DType::kFloat32 || b.dtype() != DType::kFloat32) return INFINITY;
  double diff = 0, scale = 1;
  for (int64_t i = 0; i < a.numel(); ++i) {
    diff = std::max(diff, std::abs(static_cast<double>(a.data<float>()[i]) - b.data<float>()[i]));
    scale = std::max(scale, std::abs(static_cast<double>(b.data<float>()[i])));
  }
  return diff / scale;
}

double max_abs_diff(const Tensor& a, const Tensor& b) {
  if (a.shape() != b.shape()) return INFINITY;
  double diff = 0;
  for (int64_t i = 0; i < a.numel(); ++i) {
    diff = std::max(diff, std::abs(static_cast<double>(a.data<float>()[i]) - b.data<float>()[i]));
  }
  return diff;
}

std::vector<Tensor> run_engine(const ir::Model& model, const std::string& input_name, const Tensor& input, bool int8) {
  runtime::EngineOptions options;
  options.num_threads = 1;
  options.int8 = int8;
  runtime::Engine engine(model, options, {{input_name, input.shape()}});
  return engine.run({{input_name, input}});
}

std::vector<Entry> read_manifest(const std::string& dir) {
  const json m = json::parse(testing::read_file_bytes(dir + "/manifest.json"));
  std::vector<Entry> entries;
  for (const json& e : m["models"]) {
    entries.push_back({e["model"], e["weights"], dir + "/" + e["path"].get<std::string>(),
                       dir + "/" + e["input"].get<std::string>(), dir + "/" + e["calibration"].get<std::string>(),
                       e["input_name"], e["opset"]});
  }
  return entries;
}

// Everything qwac does with one corpus model; failures are recorded in row.error (the test reports them all).
void run_qwac(Row& row, const std::string& work) {
  const Entry& e = row.e;
  const std::string stem = work + "/" + e.model + "_op" + std::to_string(e.opset) + "_" + e.weights;
  try {
    const ir::Model model = onnxio::load_model(e.path);
    row.imported = true;
    const Tensor input = data::read_npy(e.input);
    row.qwac_fp32 = run_engine(model, e.input_name, input, false);

    Shape sample = input.shape();
    sample[0] = 1;
    auto logger = make_null_logger();
    const quant::CanonicalModel canonical = quant::canonicalize(model, {{e.input_name, sample}}, {}, *logger);
    row.qwac_canonical = run_engine(canonical.model, e.input_name, input, false);
    row.canonical_path = stem + ".canonical.onnx";
    onnxio::save_model(canonical.model, row.canonical_path);

    data::NpyDatasetOptions calibration;
    calibration.inputs = {{e.input_name, e.calibration}};
    const data::NpyDataset dataset(calibration);
    RunOptions ro;
    ro.threads = 1;
    const QuantizeOutput q = quantize(model, dataset, QuantizationConfig{}, ro);  // the internal entry (ir::Model)
    row.quantized = true;
    row.qdq_opset = q.model->opset("");
    for (const ir::Node* n : q.model->graph->nodes()) row.float_batchnorms += n->op_type() == "BatchNormalization";
    row.per_channel = true;
    int weights = 0;
    for (const json& quantizer : q.report["quantizers"]) {
      if (quantizer["kind"] != "weight") continue;
      ++weights;
      row.per_channel = row.per_channel && quantizer["granularity"] == "perchannel";
    }
    row.per_channel = row.per_channel && weights > 0;
    row.qdq_path = stem + ".int8.onnx";
    onnxio::save_model(*q.model, row.qdq_path);
    row.qwac_int8 = run_engine(*q.model, e.input_name, input, true);
  } catch (const std::exception& ex) {
    row.error = ex.what();
  }
}

std::string fmt(double v, const char* format) {
  char buf[32];
  std::snprintf(buf, sizeof(buf), format, v);
  return buf;
}

TEST(OpsetCorpus, EveryModelAtEveryOpsetQuantizesAndOnnxRuntimeAgrees) {
  const std::string dir = QWAC_CORPUS_DIR;
  if (!fs::exists(dir + "/manifest.json")) {
    GTEST_SKIP() << "no corpus in " << dir << ": run the opset_corpus_generate test (ctest -L corpus), which needs "
                 << "/usr/bin/python3 with torch and onnx";
  }
  if (std::string(QWAC_NODE_EXECUTABLE).empty() ||
      !fs::exists(std::string(QWAC_ORT_NODE_MODULES) + "/onnxruntime-node")) {
    GTEST_SKIP() << "node or onnxruntime-node is missing (scripts/setup.sh installs them into tools/ort)";
  }
  const std::string work = dir + "/out";
  fs::create_directories(work);
  std::vector<Row> rows;
  for (const Entry& e : read_manifest(dir)) rows.push_back({e});
  ASSERT_FALSE(rows.empty());

  // --- qwac
  for (Row& row : rows) run_qwac(row, work);

  // --- ONNX Runtime: the original file, the canonical (upgraded) FP32 file and the QDQ file, in one process
  json jobs = json::array();
  auto ort_output = [&](const Row& r, const std::string& what) {
    return work + "/" + r.e.model + "_op" + std::to_string(r.e.opset) + "_" + r.e.weights + "." + what + ".ort.npy";
  };
  for (const Row& r : rows) {
    jobs.push_back(
        {{"model", r.e.path}, {"inputs", {{r.e.input_name, r.e.input}}}, {"outputs", {ort_output(r, "fp32")}}});
    if (!r.canonical_path.empty()) {
      jobs.push_back({{"model", r.canonical_path},
                      {"inputs", {{r.e.input_name, r.e.input}}},
                      {"outputs", {ort_output(r, "canonical")}}});
    }
    if (!r.qdq_path.empty()) {
      jobs.push_back(
          {{"model", r.qdq_path}, {"inputs", {{r.e.input_name, r.e.input}}}, {"outputs", {ort_output(r, "int8")}}});
    }
  }
  for (const std::string& f : {"fp32", "canonical", "int8"}) {
    for (const Row& r : rows) fs::remove(ort_output(r, f));
  }
  const std::string jobs_path = work + "/ort_jobs.json", ort_log = work + "/ort_log.txt";
  std::ofstream(jobs_path) << jobs.dump(1);
  const std::string cmd = "NODE_PATH=" + std::string(QWAC_ORT_NODE_MODULES) + " " + QWAC_NODE_EXECUTABLE + " " +
                          QWAC_SOURCE_DIR + "/tests/corpus/ort_run.js " + jobs_path + " > " + ort_log + " 2>&1";
  const int status = std::system(cmd.c_str());
  EXPECT_EQ(status, 0) << "ONNX Runtime failed on some files:\n" << testing::read_file_bytes(ort_log);

  // --- compare, and write the matrix
  std::map<std::pair<std::string, std::string>, std::map<int, std::string>> cells;
  std::set<int> opsets;
  for (const Row& r : rows) {
    SCOPED_TRACE(r.e.path);
    opsets.insert(r.e.opset);
    std::string& cell = cells[{r.e.model, r.e.weights}][r.e.opset];
    EXPECT_TRUE(r.error.empty()) << r.error;
    EXPECT_TRUE(r.quantized);
    EXPECT_TRUE(r.per_channel) << "the default config quantizes weights per channel";
    EXPECT_GE(r.qdq_opset, 13);
    EXPECT_EQ(r.float_batchnorms, 0) << "BatchNormalization is folded, also when its parameters are Constant nodes";
    if (!r.error.empty() || !r.quantized) {
      cell = "**no**";
      continue;
    }
    auto read = [&](const std::string& what) -> std::optional<Tensor> {
      const std::string path = ort_output(r, what);
      if (!fs::exists(path)) return std::nullopt;
      return data::read_npy(path);
    };
    const std::optional<Tensor> ort_fp32 = read("fp32"), ort_canonical = read("canonical"), ort_int8 = read("int8");
    ASSERT_TRUE(ort_fp32 && ort_canonical && ort_int8) << "ONNX Runtime wrote no outputs; see " << ort_log;
    ASSERT_EQ(r.qwac_fp32.size(), 1u);
    const double fp32_diff = max_abs_diff(r.qwac_fp32[0], *ort_fp32);
    const double fp32_rel = relative_max_diff(r.qwac_fp32[0], *ort_fp32);
    const double upgrade_qwac = relative_max_diff(r.qwac_canonical[0], r.qwac_fp32[0]);
    const double upgrade_ort = relative_max_diff(*ort_canonical, *ort_fp32);
    const double int8_rel = relative_max_diff(r.qwac_int8[0], *ort_int8);
    EXPECT_LE(fp32_rel, kFp32Tolerance) << "qwac FP32 vs ONNX Runtime";
    EXPECT_LE(upgrade_qwac, kFp32Tolerance) << "canonical vs original model, as qwac runs them";
    EXPECT_LE(upgrade_ort, kFp32Tolerance) << "canonical vs original model, as ONNX Runtime runs them";
    EXPECT_LE(int8_rel, kInt8Tolerance) << "qwac int8 vs ONNX Runtime on the QDQ file";
    EXPECT_GT(relative_max_diff(*ort_int8, *ort_fp32), kFp32Tolerance) << "the QDQ file computes in 8 bits";
    cell = "yes · " + fmt(fp32_diff, "%.0e") + " · " + fmt(100 * int8_rel, "%.2f %%");
  }

  std::ostringstream md;
  md << "| model | weights |";
  for (int o : opsets) md << " opset " << o << " |";
  md << "\n|---|---|";
  for (size_t i = 0; i < opsets.size(); ++i) md << "---|";
  md << "\n";
  for (const auto& [key, by_opset] : cells) {
    md << "| " << key.first << " | " << key.second << " |";
    for (int o : opsets) md << " " << (by_opset.count(o) ? by_opset.at(o) : "") << " |";
    md << "\n";
  }
  std::ofstream(dir + "/matrix.md") << md.str();
  std::printf("%s", md.str().c_str());
}

}  // namespace
}  // namespace qwac
