// OnnxTestsetDataset on the Debian ONNX backend test data, and RandomDataset determinism.
#include <gtest/gtest.h>
#include <onnx/onnx_pb.h>

#include <cmath>
#include <cstring>
#include <filesystem>
#include <functional>

#include "data/data_test_util.h"
#include "data/onnx_testset_dataset.h"
#include "data/random_dataset.h"
#include "onnx/model_io.h"
#include "qwac/error.h"

namespace qwac::data {
namespace {

using qwac::testing::ScratchDir;

const std::string kNodeTests = "/usr/share/libonnx-testdata/data/node/";

TEST(OnnxTestsetDataset, ReadsInputsAndReferenceOutputs) {
  if (!std::filesystem::exists(kNodeTests + "test_add")) GTEST_SKIP() << "libonnx-testdata not installed";
  OnnxTestsetOptions o;
  o.dir = kNodeTests + "test_add";
  o.input_names = {"x", "y"};
  const OnnxTestsetDataset ds(o);
  ASSERT_GE(ds.size(), 1);
  const Sample s = ds.get(0);
  ASSERT_EQ(s.inputs.size(), 2u);
  const Tensor& x = s.inputs.at("x");
  const Tensor& y = s.inputs.at("y");
  ASSERT_EQ(s.annotation.reference_outputs.size(), 1u);
  const Tensor& z = s.annotation.reference_outputs[0];
  ASSERT_EQ(x.shape(), z.shape());
  ASSERT_EQ(y.shape(), z.shape());
  for (int64_t i = 0; i < z.numel(); ++i) {
    EXPECT_EQ(z.data<float>()[i], x.data<float>()[i] + y.data<float>()[i]) << "element " << i;
  }
  // Names from the TensorProtos themselves.
  o.input_names.clear();
  const Sample named = OnnxTestsetDataset(o).get(0);
  EXPECT_EQ(named.inputs.count("x") + named.inputs.count("y"), 2u);
  o.input_names = {"only_one"};
  EXPECT_THROW(OnnxTestsetDataset{o}, DataError);
}

void write_pb(const ScratchDir& tmp, const std::string& name, const Tensor& t, const std::string& tensor_name) {
  std::string bytes;
  onnxio::tensor_to_proto(t, tensor_name).SerializeToString(&bytes);
  tmp.write(name, bytes);
}

TEST(OnnxTestsetDataset, NonFiniteInputsAndBrokenFiles) {
  ScratchDir tmp;
  Tensor t(DType::kFloat32, {2});
  t.data<float>()[1] = INFINITY;
  write_pb(tmp, "test_data_set_0/input_0.pb", t, "a");
  write_pb(tmp, "test_data_set_1/input_0.pb", Tensor(DType::kFloat32, {2}), "a");
  tmp.write("test_data_set_10/input_0.pb", "\xff\xff\xff garbage");
  tmp.write("not_a_set/input_0.pb", "ignored");
  OnnxTestsetOptions o;
  o.dir = tmp.path();
  o.input_names = {"in"};
  const OnnxTestsetDataset ds(o);
  ASSERT_EQ(ds.size(), 3);
  try {
    ds.get(0);
    FAIL() << "expected DataError";
  } catch (const DataError& e) {
    EXPECT_NE(std::string(e.what()).find("sample 0, input 'in'"), std::string::npos) << e.what();
  }
  EXPECT_NO_THROW(ds.get(1));
  EXPECT_EQ(ds.get(1).metadata.at("id"), "test_data_set_1");
  EXPECT_THROW(ds.get(2), DataError);  // test_data_set_10 sorts numerically after 1
  o.allow_non_finite = true;
  EXPECT_TRUE(std::isinf(OnnxTestsetDataset(o).get(0).inputs.at("in").data<float>()[1]));
  o.dir = tmp.path("absent");
  EXPECT_THROW(OnnxTestsetDataset{o}, DataError);
}

TEST(RandomDataset, DeterministicPerIndexAndInRange) {
  std::vector<RandomInputSpec> specs = {{"f", {1, 3, 4, 4}, DType::kFloat32, -2, 3},
                                        {"i", {1, 50}, DType::kInt64, 1, 3},
                                        {"b", {1, 8}, DType::kBool, 0, 1}};
  const RandomDataset ds(specs, 5, 42);
  const Sample s3 = ds.get(3);
  ds.get(0);
  const Sample again = ds.get(3);  // no hidden state between calls
  const Tensor& f = s3.inputs.at("f");
  EXPECT_EQ(std::memcmp(f.raw(), again.inputs.at("f").raw(), f.nbytes()), 0);
  EXPECT_NE(std::memcmp(f.raw(), ds.get(2).inputs.at("f").raw(), f.nbytes()), 0);
  for (int64_t k = 0; k < f.numel(); ++k) EXPECT_TRUE(f.data<float>()[k] >= -2 && f.data<float>()[k] < 3);
  bool seen[4] = {false, false, false, false};
  for (int64_t k = 0; k < 50; ++k) {
    const int64_t v = s3.inputs.at("i").data<int64_t>()[k];
    ASSERT_TRUE(v >= 1 && v <= 3) << v;
    seen[v] = true;
  }
  EXPECT_TRUE(seen[1] && seen[2] && seen[3]);
  EXPECT_NE(std::memcmp(f.raw(), RandomDataset(specs, 5, 43).get(3).inputs.at("f").raw(), f.nbytes()), 0);
  EXPECT_THROW(RandomDataset({{"x", {1}, DType::kInt32, 0.2, 0.8}}, 1, 0), InvalidArgument);
  EXPECT_THROW(RandomDataset({{"x", {1}, DType::kFloat32, 2, 1}}, 1, 0), InvalidArgument);
  EXPECT_THROW(ds.get(5), DataError);
}

}  // namespace
}  // namespace qwac::data
