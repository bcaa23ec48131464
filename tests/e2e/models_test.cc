// End-to-end: every shared model loads, compiles and runs; FP32 scores on the first 16 test images match ONNX
// Runtime's reference scores (ref/scores-*-first16.f32) for the idx-based models.
#include <gtest/gtest.h>
#include <zlib.h>

#include <cmath>
#include <cstring>
#include <filesystem>
#include <random>

#include "onnx/model_io.h"
#include "runtime/engine.h"
#include "test_util.h"

namespace qwac {
namespace {

using testing::shared_path;

// Reads `count` 28x28 images from a gzip'd idx3 file as floats (raw 0..255).
std::vector<float> read_idx_images(const std::string& path, int count) {
  gzFile f = gzopen(path.c_str(), "rb");
  if (f == nullptr) throw IoError("cannot open " + path);
  unsigned char header[16];
  gzread(f, header, 16);
  std::vector<unsigned char> bytes(static_cast<size_t>(count) * 784);
  const int got = gzread(f, bytes.data(), static_cast<unsigned>(bytes.size()));
  gzclose(f);
  if (got != static_cast<int>(bytes.size())) throw IoError("short idx file " + path);
  return std::vector<float>(bytes.begin(), bytes.end());
}

std::vector<float> read_f32(const std::string& path) {
  const std::string bytes = testing::read_file_bytes(path);
  std::vector<float> out(bytes.size() / 4);
  std::memcpy(out.data(), bytes.data(), out.size() * 4);
  return out;
}

struct IdxCase {
  std::string model;
  std::string data;          // folder under assets/data
  float scale, mean, std;    // x -> (x*scale - mean) / std
  std::string output;        // output to compare (by name)
};

class IdxModelScores : public ::testing::TestWithParam<std::tuple<IdxCase, bool>> {};

TEST_P(IdxModelScores, MatchOnnxRuntimeOnFirst16Images) {
  QWAC_REQUIRE_SHARED();
  const auto& [c, use_dnnl] = GetParam();
  const ir::Model model = onnxio::load_model(shared_path("assets/models/" + c.model + "/model.onnx"));
  std::vector<float> pixels = read_idx_images(shared_path("assets/data/" + c.data + "/t10k-images-idx3-ubyte.gz"), 16);
  const std::vector<float> ref = read_f32(shared_path("assets/models/" + c.model + "/ref/scores-" + c.data +
                                                      "-first16.f32"));
  const ir::Value* input = model.graph->inputs().at(0);
  size_t out_index = 0;
  for (size_t i = 0; i < model.graph->outputs().size(); ++i) {
    if (model.graph->outputs()[i]->name() == c.output) out_index = i;
  }
  runtime::EngineOptions o;
  o.use_dnnl = use_dnnl;
  // Batch 1 for fixed-batch models, 16 in one go for the others: both paths are exercised.
  const bool fixed_batch = input->type.shape && input->type.shape->at(0).size == 1;
  const int64_t batch = fixed_batch ? 1 : 16;
  runtime::Engine engine(model, o, {{input->name(), {batch, 1, 28, 28}}});
  const size_t classes = ref.size() / 16;
  for (int64_t start = 0; start < 16; start += batch) {
    Tensor x(DType::kFloat32, {batch, 1, 28, 28});
    for (int64_t i = 0; i < batch * 784; ++i) {
      x.data<float>()[i] = (pixels[start * 784 + i] * c.scale - c.mean) / c.std;
    }
    std::vector<Tensor> out = engine.run({{input->name(), x}});
    const Tensor& scores = out.at(out_index);
    ASSERT_EQ(scores.numel(), static_cast<int64_t>(batch * classes)) << scores.describe();
    for (int64_t i = 0; i < batch * static_cast<int64_t>(classes); ++i) {
      const float expected = ref[start * classes + i];
      const float got = scores.data<float>()[i];
      EXPECT_NEAR(got, expected, 1e-4 * std::max(1.f, std::abs(expected)))
          << c.model << " image " << start + i / classes << " class " << i % classes;
    }
  }
}

INSTANTIATE_TEST_SUITE_P(
    SharedModels, IdxModelScores,
    ::testing::Combine(::testing::Values(IdxCase{"mnist-cntk", "mnist-test", 1.f, 0.f, 1.f, "Plus214_Output_0"},
                                         IdxCase{"mnist-pytorch-cnn", "mnist-test", 1 / 255.f, 0.5f, 0.5f, "output"},
                                         IdxCase{"fashion-mnist-cnn", "fashion-mnist-test", 1 / 255.f, 0.f, 1.f,
                                                 "output"},
                                         IdxCase{"fashion-mnist-mlp", "fashion-mnist-test", 1 / 255.f, 0.5f, 0.5f,
                                                 "linear_1"}),
                       ::testing::Bool()),
    [](const auto& info) {
      std::string name = std::get<0>(info.param).model + (std::get<1>(info.param) ? "_dnnl" : "_reference");
      for (char& ch : name) {
        if (ch == '-') ch = '_';
      }
      return name;
    });

// Every shared model loads, compiles and runs with both kernel sets, and the two agree.
TEST(SharedModels, AllLoadCompileRunAndKernelSetsAgree) {
  QWAC_REQUIRE_SHARED();
  std::mt19937 rng(11);
  for (const auto& entry : std::filesystem::directory_iterator(shared_path("assets/models"))) {
    const std::string path = entry.path().string() + "/model.onnx";
    if (!std::filesystem::exists(path)) continue;
    SCOPED_TRACE(path);
    const ir::Model model = onnxio::load_model(path);
    std::map<std::string, Shape> shapes;
    std::map<std::string, Tensor> inputs;
    for (const ir::Value* v : model.graph->inputs()) {
      Shape s;
      for (const ir::Dim& d : *v->type.shape) s.push_back(d.size < 0 ? 2 : d.size);
      shapes[v->name()] = s;
      inputs[v->name()] = testing::random_tensor(s, rng, 0.f, 1.f);
    }
    runtime::EngineOptions ref_options;
    ref_options.use_dnnl = false;
    runtime::Engine reference(model, ref_options, shapes);
    runtime::Engine fast(model, runtime::EngineOptions{}, shapes);
    std::vector<Tensor> a = reference.run(inputs), b = fast.run(inputs);
    ASSERT_EQ(a.size(), b.size());
    for (size_t i = 0; i < a.size(); ++i) {
      for (int64_t k = 0; k < a[i].numel(); ++k) ASSERT_TRUE(std::isfinite(a[i].data<float>()[k]));
      EXPECT_EQ(testing::compare_tensors(b[i], a[i], 1e-3, 1e-4), "") << "output " << i;
    }
  }
}

// Stale declared output shapes ([128,10] in the file) must not matter: shapes follow the actual input.
TEST(SharedModels, FashionMnistCnnOutputShapesFollowTheInputBatch) {
  QWAC_REQUIRE_SHARED();
  const ir::Model model = onnxio::load_model(shared_path("assets/models/fashion-mnist-cnn/model.onnx"));
  runtime::Engine engine(model, runtime::EngineOptions{}, {{"input", {3, 1, 28, 28}}});
  std::vector<Tensor> out = engine.run({{"input", Tensor(DType::kFloat32, {3, 1, 28, 28})}});
  EXPECT_EQ(out[0].shape(), (Shape{3, 10}));
  EXPECT_EQ(out[1].shape(), (Shape{3, 3200}));
}

// SqueezeNet is exported with batch 1; shapes re-infer at batch 4 and each sample's scores equal its batch-1 run.
TEST(SharedModels, FixedBatchSqueezeNetRunsAtAnotherBatch) {
  QWAC_REQUIRE_SHARED();
  const ir::Model model = onnxio::load_model(shared_path("assets/models/squeezenet1.1-imagenet/model.onnx"));
  std::mt19937 rng(5);
  Tensor x4 = testing::random_tensor({4, 3, 224, 224}, rng, -100.f, 100.f);
  runtime::Engine batch4(model, runtime::EngineOptions{}, {{"data_0", {4, 3, 224, 224}}});
  runtime::Engine batch1(model, runtime::EngineOptions{}, {{"data_0", {1, 3, 224, 224}}});
  const Tensor y4 = batch4.run({{"data_0", x4}})[0];
  ASSERT_EQ(y4.shape(), (Shape{4, 1000, 1, 1}));
  for (int64_t n = 0; n < 4; ++n) {
    Tensor x1 = Tensor::view(DType::kFloat32, {1, 3, 224, 224}, x4.data<float>() + n * 3 * 224 * 224);
    const Tensor y1 = batch1.run({{"data_0", x1}})[0];
    Tensor y4n = Tensor::view(DType::kFloat32, {1, 1000, 1, 1}, const_cast<float*>(y4.data<float>()) + n * 1000);
    EXPECT_EQ(testing::compare_tensors(y4n, y1, 1e-4, 1e-6), "") << "sample " << n;
  }
}

// mnist-cntk's Reshape hard-codes batch 1 ([1,256]): another batch is refused with a message naming the Reshape.
TEST(SharedModels, HardCodedBatchReshapeIsRefusedClearly) {
  QWAC_REQUIRE_SHARED();
  const ir::Model model = onnxio::load_model(shared_path("assets/models/mnist-cntk/model.onnx"));
  try {
    runtime::Engine engine(model, runtime::EngineOptions{}, {{"Input3", {4, 1, 28, 28}}});
    FAIL() << "expected the batch-4 compile to be refused";
  } catch (const InvalidModel& e) {
    EXPECT_NE(std::string(e.what()).find("Reshape"), std::string::npos) << e.what();
  }
}

}  // namespace
}  // namespace qwac
