// Bit-exact agreement of the dataset readers + preprocessing with the reference evaluator's own preprocessed
// tensors (shared/tools/ort-eval/eval.js --dump), summarized in fixtures/preprocess_reference.txt by
// fixtures/make_preprocess_fixtures.sh (FNV-1a 64 of the float32 bytes + probe elements).
#include <gtest/gtest.h>

#include <cstring>
#include <fstream>
#include <sstream>

#include "data/idx_dataset.h"
#include "data/image_folder_dataset.h"
#include "test_util.h"

namespace qwac::data {
namespace {

struct Reference {
  int64_t sample;
  int64_t numel;
  uint64_t hash;
  uint32_t probes[8];
};

std::vector<Reference> load_reference(const std::string& name) {
  std::ifstream in(std::string(QWAC_SOURCE_DIR) + "/tests/data/fixtures/preprocess_reference.txt");
  std::vector<Reference> refs;
  std::string line;
  while (std::getline(in, line)) {
    if (line.empty() || line[0] == '#') continue;
    std::istringstream ss(line);
    std::string c;
    Reference r{};
    ss >> c >> r.sample >> r.numel >> std::hex >> r.hash;
    for (uint32_t& p : r.probes) ss >> p;
    if (c == name) refs.push_back(r);
  }
  return refs;
}

uint64_t fnv1a(const void* data, size_t n) {
  uint64_t h = 0xcbf29ce484222325ull;
  for (size_t i = 0; i < n; ++i) {
    h ^= static_cast<const unsigned char*>(data)[i];
    h *= 0x100000001b3ull;
  }
  return h;
}

void expect_matches(const Dataset& ds, const std::string& input, const std::string& case_name) {
  const auto refs = load_reference(case_name);
  ASSERT_FALSE(refs.empty()) << "no fixture lines for " << case_name;
  for (const Reference& r : refs) {
    SCOPED_TRACE(case_name + " sample " + std::to_string(r.sample));
    const Tensor t = ds.get(r.sample).inputs.at(input);
    ASSERT_EQ(t.numel(), r.numel);
    for (int k = 0; k < 8; ++k) {
      uint32_t bits = 0;
      const int64_t at = k * r.numel / 8;
      std::memcpy(&bits, t.data<float>() + at, 4);
      EXPECT_EQ(bits, r.probes[k]) << "element " << at << " = " << t.data<float>()[at];
    }
    EXPECT_EQ(fnv1a(t.raw(), t.nbytes()), r.hash) << "float32 bytes differ from eval.js --dump";
  }
}

std::string data_dir(const std::string& name) {
  return qwac::testing::shared_path("assets/data/" + name);
}

ImageFolderOptions folder(const std::string& name) {
  ImageFolderOptions o;
  o.images_dir = data_dir(name) + "/images";
  o.labels_csv = data_dir(name) + "/labels.csv";
  o.input_name = "in";
  return o;
}

TEST(PreprocessReference, SqueezenetImagenetVal1300) {
  QWAC_REQUIRE_SHARED();
  ImageFolderOptions o = folder("imagenet-val-1300");
  o.num_classes = 1000;
  o.preprocess.crop_width = 224;
  o.preprocess.color = ColorOrder::kBgr;
  o.preprocess.mean = {104, 117, 123};
  const ImageFolderDataset ds(o);
  EXPECT_EQ(ds.size(), 1300);
  EXPECT_EQ(ds.get(0).annotation.label, 472);  // first row of labels.csv: canoe
  expect_matches(ds, "in", "squeezenet_val1300");
}

TEST(PreprocessReference, Resnet20Cifar10Jpeg) {
  QWAC_REQUIRE_SHARED();
  ImageFolderOptions o = folder("cifar10-test-jpeg");
  o.num_classes = 10;
  o.preprocess.scale = 0.00392156862745098;
  o.preprocess.mean = {0.4914, 0.4822, 0.4465};
  o.preprocess.std = {0.2470, 0.2435, 0.2616};
  expect_matches(ImageFolderDataset(o), "in", "resnet20_cifar10");
}

TEST(PreprocessReference, ResizeShorterSideThenCrop) {
  QWAC_REQUIRE_SHARED();
  ImageFolderOptions o = folder("imagenet-sample-1000");
  o.preprocess.resize = ResizeMode::kShorterSide;
  o.preprocess.resize_shorter = 100;
  o.preprocess.crop_width = 96;
  o.preprocess.scale = 0.00392156862745098;
  o.preprocess.mean = {0.485, 0.456, 0.406};
  o.preprocess.std = {0.229, 0.224, 0.225};
  expect_matches(ImageFolderDataset(o), "in", "sample1000_resize_crop");
}

TEST(PreprocessReference, ExactResizeGrayNhwc) {
  QWAC_REQUIRE_SHARED();
  ImageFolderOptions o = folder("imagenet-val-1300");
  o.preprocess.resize = ResizeMode::kExact;
  o.preprocess.resize_width = 64;
  o.preprocess.resize_height = 48;
  o.preprocess.color = ColorOrder::kGray;
  o.preprocess.layout = Layout::kNhwc;
  o.preprocess.scale = 0.5;
  const ImageFolderDataset ds(o);
  EXPECT_EQ(ds.get(0).inputs.at("in").shape(), (Shape{1, 48, 64, 1}));
  expect_matches(ds, "in", "val1300_resize_to_gray_nhwc");
}

TEST(PreprocessReference, ParallelGetEqualsSerialGet) {
  // get() is called from several threads during evaluation: results must not depend on it.
  QWAC_REQUIRE_SHARED();
  ImageFolderOptions o = folder("cifar10-test-jpeg");
  o.preprocess.scale = 0.00392156862745098;
  const ImageFolderDataset ds(o);
  constexpr int64_t kCount = 64;
  std::vector<uint64_t> parallel(kCount), serial(kCount);
#pragma omp parallel for num_threads(4)
  for (int64_t i = 0; i < kCount; ++i) {
    const Tensor t = ds.get(i * 150).inputs.at("in");
    parallel[static_cast<size_t>(i)] = fnv1a(t.raw(), t.nbytes());
  }
  for (int64_t i = 0; i < kCount; ++i) {
    const Tensor t = ds.get(i * 150).inputs.at("in");
    serial[static_cast<size_t>(i)] = fnv1a(t.raw(), t.nbytes());
  }
  EXPECT_EQ(parallel, serial);
}

IdxOptions mnist() {
  IdxOptions o;
  o.images_path = data_dir("mnist-test/t10k-images-idx3-ubyte.gz");
  o.labels_path = data_dir("mnist-test/t10k-labels-idx1-ubyte.gz");
  o.input_name = "input";
  return o;
}

TEST(PreprocessReference, MnistScaledToPlusMinusOne) {
  QWAC_REQUIRE_SHARED();
  IdxOptions o = mnist();
  o.preprocess.scale = 0.00392156862745098;
  o.preprocess.mean = {0.5};
  o.preprocess.std = {0.5};
  const IdxDataset ds(o);
  EXPECT_EQ(ds.size(), 10000);
  std::vector<int64_t> labels;
  for (int64_t i = 0; i < 10; ++i) labels.push_back(ds.get(i).annotation.label);
  EXPECT_EQ(labels, (std::vector<int64_t>{7, 2, 1, 0, 4, 1, 4, 9, 5, 9}));  // MANIFEST.md
  EXPECT_EQ(ds.get(0).inputs.at("input").shape(), (Shape{1, 1, 28, 28}));
  expect_matches(ds, "input", "mnist_pm1");
}

TEST(PreprocessReference, MnistInverted) {
  QWAC_REQUIRE_SHARED();
  IdxOptions o = mnist();
  o.preprocess.invert = true;
  expect_matches(IdxDataset(o), "input", "mnist_invert");
}

}  // namespace
}  // namespace qwac::data
