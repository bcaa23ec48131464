// Resize / Upsample reference kernel: hand-computed cases per mode and coordinate transform, and the ONNX backend
// test cases of Resize, Upsample, Q/DQ, Split and Pad run as single nodes (a quick spec check of these
// numerics-critical ops; the full conformance runner lives in tests/conformance).
#include <gtest/gtest.h>
#include <onnx/onnx_pb.h>

#include <algorithm>
#include <filesystem>

#include "kernels/kernel_test_util.h"
#include "onnx/model_io.h"

namespace qwac::testing {
namespace {

namespace fs = std::filesystem;
using ir::Attributes;

Tensor floats(const Shape& shape, std::initializer_list<float> v) {
  return make_tensor<float>(shape, v);
}

// Resize with opset >= 11 inputs (X, roi, scales, sizes); roi/scales/sizes are compile-time constants.
Tensor resize(const Attributes& attrs, const Tensor& x, const Tensor& scales, const Tensor& sizes, int64_t opset = 13,
              const Tensor& roi = Tensor()) {
  SingleNodeOptions opts;
  opts.input_kinds = {InputKind::kRuntime, InputKind::kConstant, InputKind::kConstant, InputKind::kConstant};
  return run_single_node("Resize", attrs, {x, roi, scales, sizes}, opset, kernels::reference_kernel_registry(), 1,
                         opts)[0];
}

Attributes modes(const std::string& mode, const std::string& coord, const std::string& nearest = "") {
  Attributes a;
  a.set("mode", mode);
  if (!coord.empty()) a.set("coordinate_transformation_mode", coord);
  if (!nearest.empty()) a.set("nearest_mode", nearest);
  return a;
}

const Tensor k2x2 = make_tensor<float>({1, 1, 2, 2}, {1, 2, 3, 4});

TEST(RefResize, LinearHalfPixelUpsample) {
  const Tensor y = resize(modes("linear", ""), k2x2, floats({4}, {1, 1, 2, 2}), Tensor());
  expect_tensor_near(y, floats({1, 1, 4, 4}, {1, 1.25f, 1.75f, 2, 1.5f, 1.75f, 2.25f, 2.5f,  //
                                              2.5f, 2.75f, 3.25f, 3.5f, 3, 3.25f, 3.75f, 4}));
}

TEST(RefResize, LinearAlignCornersUpsample) {
  const Tensor y = resize(modes("linear", "align_corners"), k2x2, floats({4}, {1, 1, 2, 2}), Tensor());
  const float a = 1.f / 3, b = 2.f / 3;
  expect_tensor_near(y, floats({1, 1, 4, 4}, {1, 1 + a, 1 + b, 2, 1 + b, 2, 2 + a, 2 + b,  //
                                              2 + a, 2 + b, 3, 3 + a, 3, 3 + a, 3 + b, 4}));
}

TEST(RefResize, LinearDownsampleAndPytorchHalfPixel) {
  const Tensor x = make_tensor<float>({1, 1, 2, 4}, {1, 2, 3, 4, 5, 6, 7, 8});
  // Output 1x2; half_pixel with scale 0.6: x = (o + 0.5) / 0.6 - 0.5 = 0.3333, 2; y = 0.3333.
  expect_tensor_near(resize(modes("linear", ""), x, floats({4}, {1, 1, 0.6f, 0.6f}), Tensor()),
                     floats({1, 1, 1, 2}, {2.6666665f, 4.3333331f}));
  std::vector<float> v(16);
  for (int i = 0; i < 16; ++i) v[i] = static_cast<float>(i + 1);
  const Tensor x4 = make_tensor<float>({1, 1, 4, 4}, v);
  // pytorch_half_pixel maps a length-1 output to coordinate 0.
  expect_tensor_near(
      resize(modes("linear", "pytorch_half_pixel"), x4, Tensor(), make_tensor<int64_t>({4}, {1, 1, 3, 1})),
      floats({1, 1, 3, 1}, {1.6666666f, 7.f, 12.333333f}));
}

TEST(RefResize, NearestModesAndCoordinateTransforms) {
  const Tensor x = make_tensor<float>({1, 1, 2, 4}, {1, 2, 3, 4, 5, 6, 7, 8});
  // Downsample 0.6 with half_pixel round_prefer_floor: rows -> 0.3333 -> 0; cols (o+0.5)/0.6-0.5 = 0.33, 2 -> 0, 2.
  expect_tensor_eq(resize(modes("nearest", ""), x, floats({4}, {1, 1, 0.6f, 0.6f}), Tensor()),
                   floats({1, 1, 1, 2}, {1, 3}));
  // Upsample to 7x8 (sizes): half_pixel coordinate 0.5 rounds to floor with round_prefer_floor.
  const Tensor y = resize(modes("nearest", ""), k2x2, Tensor(), make_tensor<int64_t>({4}, {1, 1, 7, 8}));
  ASSERT_EQ(y.shape(), (Shape{1, 1, 7, 8}));
  for (int64_t r = 0; r < 7; ++r) {
    for (int64_t c = 0; c < 8; ++c) {
      EXPECT_EQ(y.data<float>()[r * 8 + c], (r < 4 ? 1.f : 3.f) + (c < 4 ? 0.f : 1.f)) << r << "," << c;
    }
  }
  // 1-D along W, 2 -> 4, asymmetric: x = o / 2 = 0, 0.5, 1, 1.5.
  const Tensor x1 = make_tensor<float>({1, 2}, {10, 20});
  const Tensor s = floats({2}, {1, 2});
  expect_tensor_eq(resize(modes("nearest", "asymmetric", "floor"), x1, s, Tensor()), floats({1, 4}, {10, 10, 20, 20}));
  expect_tensor_eq(resize(modes("nearest", "asymmetric", "ceil"), x1, s, Tensor()), floats({1, 4}, {10, 20, 20, 20}));
  expect_tensor_eq(resize(modes("nearest", "asymmetric", "round_prefer_ceil"), x1, s, Tensor()),
                   floats({1, 4}, {10, 20, 20, 20}));
  expect_tensor_eq(resize(modes("nearest", "asymmetric", "round_prefer_floor"), x1, s, Tensor()),
                   floats({1, 4}, {10, 10, 20, 20}));
  // tf_half_pixel_for_nn (opset 11 only): x = (o + 0.5) / 2 = 0.25, 0.75, 1.25, 1.75 -> 0, 1, 1, 2 -> clamped.
  expect_tensor_eq(resize(modes("nearest", "tf_half_pixel_for_nn"), x1, s, Tensor(), 11),
                   floats({1, 4}, {10, 20, 20, 20}));
  EXPECT_THROW(resize(modes("nearest", "tf_half_pixel_for_nn"), x1, s, Tensor(), 13), InvalidModel);
}

TEST(RefResize, NearestWorksOnIntegerTypes) {
  const Tensor x = make_tensor<uint8_t>({1, 2}, {7, 9});
  expect_tensor_eq(resize(modes("nearest", "asymmetric", "floor"), x, floats({2}, {1, 2}), Tensor()),
                   make_tensor<uint8_t>({1, 4}, {7, 7, 9, 9}));
}

TEST(RefResize, TfCropAndResizeExtrapolates) {
  std::vector<float> v(16);
  for (int i = 0; i < 16; ++i) v[i] = static_cast<float>(i + 1);
  const Tensor x = make_tensor<float>({1, 1, 4, 4}, v);
  const Tensor roi = floats({8}, {0, 0, 0.4f, 0.6f, 1, 1, 0.6f, 0.8f});
  expect_tensor_near(
      resize(modes("linear", "tf_crop_and_resize"), x, Tensor(), make_tensor<int64_t>({4}, {1, 1, 3, 3}), 13, roi),
      floats({1, 1, 3, 3}, {7.6000004f, 7.9f, 8.2f, 8.8f, 9.1f, 9.400001f, 10.f, 10.3f, 10.6f}));
  // A roi beyond the input: points outside get extrapolation_value.
  Attributes a = modes("linear", "tf_crop_and_resize");
  a.set("extrapolation_value", 10.f);
  const Tensor y = resize(a, x, Tensor(), make_tensor<int64_t>({4}, {1, 1, 3, 3}), 13,
                          floats({8}, {0, 0, 0.4f, 0.6f, 1, 1, 1.2f, 1.7f}));
  EXPECT_FLOAT_EQ(y.data<float>()[8], 10.f);
}

TEST(RefResize, Opset18AxesAndKeepAspectRatio) {
  const Tensor x = make_tensor<float>({1, 2, 4}, {1, 2, 3, 4, 5, 6, 7, 8});
  Attributes a = modes("nearest", "asymmetric", "floor");
  a.set("axes", std::vector<int64_t>{-1});
  expect_tensor_eq(resize(a, x, floats({1}, {0.5f}), Tensor(), 18), floats({1, 2, 2}, {1, 3, 5, 7}));
  // not_larger: scale = min(4/2, 4/4) = 1 -> output 2x4 unchanged.
  Attributes b = modes("nearest", "asymmetric", "floor");
  b.set("axes", std::vector<int64_t>{1, 2});
  b.set("keep_aspect_ratio_policy", std::string("not_larger"));
  EXPECT_EQ(resize(b, x, Tensor(), make_tensor<int64_t>({2}, {4, 4}), 18).shape(), (Shape{1, 2, 4}));
  b.set("keep_aspect_ratio_policy", std::string("not_smaller"));
  EXPECT_EQ(resize(b, x, Tensor(), make_tensor<int64_t>({2}, {4, 4}), 18).shape(), (Shape{1, 4, 8}));
}

TEST(RefResize, InvalidCombinationsAreRejected) {
  // Both scales and sizes.
  EXPECT_THROW(resize(modes("nearest", ""), k2x2, floats({4}, {1, 1, 2, 2}), make_tensor<int64_t>({4}, {1, 1, 4, 4})),
               InvalidModel);
  EXPECT_THROW(resize(modes("bicubic", ""), k2x2, floats({4}, {1, 1, 2, 2}), Tensor()), InvalidModel);
  Attributes aa = modes("linear", "");
  aa.set("antialias", int64_t{1});
  EXPECT_THROW(resize(aa, k2x2, floats({4}, {1, 1, 0.5f, 0.5f}), Tensor(), 18), UnsupportedOp);
}

TEST(RefResize, Opset10UsesAsymmetricCoordinatesAndOnnxRuntimeNearestRounding) {
  SingleNodeOptions opts;
  opts.input_kinds = {InputKind::kRuntime, InputKind::kConstant};
  const Tensor x = make_tensor<float>({1, 4}, {1, 2, 3, 4});
  // Downsampling 0.6: output 2; x = o / 0.6 = 0, 1.667 -> ceil (downsampling) -> 0, 2.
  const Tensor y = run_single_node("Resize", modes("nearest", ""), {x, floats({2}, {1, 0.6f})}, 10,
                                   kernels::reference_kernel_registry(), 1, opts)[0];
  expect_tensor_eq(y, floats({1, 2}, {1, 3}));
  // Upsampling 1.5: output 6; x = o / 1.5 = 0, 0.67, 1.33, 2, 2.67, 3.33 -> truncated.
  const Tensor z = run_single_node("Resize", modes("nearest", ""), {x, floats({2}, {1, 1.5f})}, 10,
                                   kernels::reference_kernel_registry(), 1, opts)[0];
  expect_tensor_eq(z, floats({1, 6}, {1, 1, 2, 3, 3, 4}));
  const Tensor w =
      run_single_node("Resize", modes("linear", ""), {make_tensor<float>({1, 2}, {1, 3}), floats({2}, {1, 2})}, 10,
                      kernels::reference_kernel_registry(), 1, opts)[0];
  expect_tensor_eq(w, floats({1, 4}, {1, 2, 3, 3}));
}

TEST(RefUpsample, Opset7AttributeAndOpset9Input) {
  Attributes a;
  a.set("mode", std::string("nearest"));
  a.set("scales", std::vector<float>{1, 1, 2, 3});
  const Tensor y = run_single_node("Upsample", a, {k2x2}, 7)[0];
  expect_tensor_eq(y, floats({1, 1, 4, 6}, {1, 1, 1, 2, 2, 2, 1, 1, 1, 2, 2, 2, 3, 3, 3, 4, 4, 4, 3, 3, 3, 4, 4, 4}));
  Attributes lin;
  lin.set("mode", std::string("linear"));
  SingleNodeOptions opts;
  opts.input_kinds = {InputKind::kRuntime, InputKind::kConstant};
  const Tensor z = run_single_node("Upsample", lin, {make_tensor<float>({1, 2}, {1, 3}), floats({2}, {1, 2})}, 9,
                                   kernels::reference_kernel_registry(), 1, opts)[0];
  // Asymmetric linear: x = o / 2 = 0, 0.5, 1, 1.5 (clamped to 1).
  expect_tensor_eq(z, floats({1, 4}, {1, 2, 3, 3}));
}

// --- ONNX backend test cases as single nodes

Tensor read_pb(const std::string& path) {
  onnx::TensorProto proto;
  if (!proto.ParseFromString(read_file_bytes(path))) throw DataError("cannot parse " + path);
  return onnxio::tensor_from_proto(proto, fs::path(path).parent_path().string());
}

TEST(RefTensorBackendCases, ResizeUpsampleQdqSplitPadMatchOnnxTestData) {
  const fs::path root = "/usr/share/libonnx-testdata/data/node";
  if (!fs::exists(root)) GTEST_SKIP() << root << " is absent";
  int checked = 0;
  for (const auto& entry : fs::directory_iterator(root)) {
    const std::string name = entry.path().filename().string();
    const bool wanted = name.rfind("test_resize_", 0) == 0 || name.rfind("test_upsample_", 0) == 0 ||
                        name.rfind("test_quantizelinear", 0) == 0 || name.rfind("test_dequantizelinear", 0) == 0 ||
                        name.rfind("test_split_", 0) == 0 || name == "test_constant_pad" || name == "test_edge_pad" ||
                        name == "test_reflect_pad";
    if (!wanted) continue;
    SCOPED_TRACE(name);
    const ir::Model model = onnxio::load_model((entry.path() / "model.onnx").string());
    // The last node is the op under test; earlier ones are Constant nodes feeding it.
    const ir::Node* node = model.graph->topological_order().back();
    const fs::path data = entry.path() / "test_data_set_0";
    const std::vector<ir::Value*>& graph_inputs = model.graph->inputs();
    std::vector<Tensor> inputs;
    SingleNodeOptions opts;
    for (const ir::Value* v : node->inputs()) {
      if (v == nullptr || v->name().empty()) {
        inputs.emplace_back();
      } else if (v->is_constant()) {
        inputs.push_back(*v->constant);
      } else if (v->producer() != nullptr && v->producer()->op_type() == "Constant") {
        inputs.push_back(v->producer()->attrs.get_tensor("value"));
      } else {
        const size_t k =
            static_cast<size_t>(std::find(graph_inputs.begin(), graph_inputs.end(), v) - graph_inputs.begin());
        inputs.push_back(read_pb((data / ("input_" + std::to_string(k) + ".pb")).string()));
      }
      // Every input but the data is a parameter known at compile time in real models.
      opts.input_kinds.push_back(inputs.size() == 1 ? InputKind::kRuntime : InputKind::kConstant);
    }
    std::vector<Tensor> out;
    try {
      out = run_single_node(node->op_type(), node->attrs, inputs, model.opset(), kernels::reference_kernel_registry(),
                            node->num_outputs(), opts);
    } catch (const Error& e) {
      ADD_FAILURE() << name << ": " << e.what();
      continue;
    }
    for (size_t k = 0; k < out.size(); ++k) {
      const Tensor expected = read_pb((data / ("output_" + std::to_string(k) + ".pb")).string());
      if (expected.dtype() == DType::kFloat32) {
        expect_tensor_near(out[k], expected, 1e-4, 1e-5, name);
      } else {
        expect_tensor_eq(out[k], expected, name);
      }
    }
    ++checked;
  }
  EXPECT_GT(checked, 20);
}

}  // namespace
}  // namespace qwac::testing
