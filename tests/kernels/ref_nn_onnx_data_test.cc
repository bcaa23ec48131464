// The NN reference kernels against the ONNX backend test data: every single-node model in node/,
// pytorch-converted/ and pytorch-operator/ whose op is one of the NN family is run through shape inference and the
// reference kernel, and compared with the stored outputs. (The full conformance runner lives in
// tests/conformance; this is a targeted check of this family, parsing the protobufs directly.)
#include <gtest/gtest.h>
#include <onnx/onnx_pb.h>

#include <algorithm>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <set>

#include "ref_nn_test_util.h"

#ifndef QWAC_ONNX_TESTDATA_DIR
#define QWAC_ONNX_TESTDATA_DIR "/usr/share/libonnx-testdata/data"
#endif

namespace qwac::testing {
namespace {

namespace fs = std::filesystem;

const std::set<std::string>& nn_ops() {
  static const std::set<std::string> ops = {
      "Conv",          "ConvTranspose",         "Gemm", "MatMul",
      "MaxPool",       "AveragePool",           "GlobalAveragePool",
      "GlobalMaxPool", "BatchNormalization",    "InstanceNormalization",
      "LRN",           "LayerNormalization",    "Softmax", "LogSoftmax", "Hardmax"};
  return ops;
}

template <typename Proto>
bool parse_file(const fs::path& path, Proto& proto) {
  std::ifstream in(path, std::ios::binary);
  return in && proto.ParseFromIstream(&in);
}

// Float, int64, int32, int8 and uint8 tensors, raw or typed storage (all the node tests of this family need).
Tensor tensor_from(const onnx::TensorProto& p) {
  const DType dt = static_cast<DType>(p.data_type());
  Shape shape(p.dims().begin(), p.dims().end());
  Tensor t(dt, shape);
  const int64_t n = t.numel();
  if (!p.raw_data().empty()) {
    if (p.raw_data().size() != t.nbytes()) throw InternalError("raw_data size mismatch in " + p.name());
    std::memcpy(t.raw(), p.raw_data().data(), t.nbytes());
    return t;
  }
  switch (dt) {
    case DType::kFloat32:
      for (int64_t i = 0; i < n; ++i) t.data<float>()[i] = p.float_data(static_cast<int>(i));
      break;
    case DType::kInt64:
      for (int64_t i = 0; i < n; ++i) t.data<int64_t>()[i] = p.int64_data(static_cast<int>(i));
      break;
    case DType::kInt32:
      for (int64_t i = 0; i < n; ++i) t.data<int32_t>()[i] = p.int32_data(static_cast<int>(i));
      break;
    case DType::kInt8:
      for (int64_t i = 0; i < n; ++i) t.data<int8_t>()[i] = static_cast<int8_t>(p.int32_data(static_cast<int>(i)));
      break;
    case DType::kUInt8:
      for (int64_t i = 0; i < n; ++i) t.data<uint8_t>()[i] = static_cast<uint8_t>(p.int32_data(static_cast<int>(i)));
      break;
    default:
      throw InternalError("test tensor type " + std::to_string(p.data_type()) + " not handled in " + p.name());
  }
  return t;
}

ir::Attributes attributes_from(const onnx::NodeProto& node) {
  ir::Attributes a;
  for (const onnx::AttributeProto& at : node.attribute()) {
    switch (at.type()) {
      case onnx::AttributeProto::INT: a.set(at.name(), static_cast<int64_t>(at.i())); break;
      case onnx::AttributeProto::FLOAT: a.set(at.name(), at.f()); break;
      case onnx::AttributeProto::STRING: a.set(at.name(), at.s()); break;
      case onnx::AttributeProto::INTS: a.set(at.name(), std::vector<int64_t>(at.ints().begin(), at.ints().end())); break;
      case onnx::AttributeProto::FLOATS: a.set(at.name(), std::vector<float>(at.floats().begin(), at.floats().end())); break;
      default: throw InternalError("attribute kind of '" + at.name() + "' not handled");
    }
  }
  return a;
}

// Single-node models of the NN family under the test data folders.
std::vector<std::string> find_cases() {
  std::vector<std::string> cases;
  const fs::path root(QWAC_ONNX_TESTDATA_DIR);
  for (const char* sub : {"node", "pytorch-converted", "pytorch-operator"}) {
    std::error_code ec;
    for (const auto& entry : fs::directory_iterator(root / sub, ec)) {
      onnx::ModelProto model;
      if (!parse_file(entry.path() / "model.onnx", model)) continue;
      if (model.graph().node_size() != 1 || !nn_ops().count(model.graph().node(0).op_type())) continue;
      cases.push_back(std::string(sub) + "/" + entry.path().filename().string());
    }
  }
  std::sort(cases.begin(), cases.end());
  return cases;
}

class RefNnOnnxData : public ::testing::TestWithParam<std::string> {};

TEST_P(RefNnOnnxData, MatchesStoredOutputs) {
  const fs::path dir = fs::path(QWAC_ONNX_TESTDATA_DIR) / GetParam();
  onnx::ModelProto model;
  ASSERT_TRUE(parse_file(dir / "model.onnx", model));
  const onnx::GraphProto& graph = model.graph();
  const onnx::NodeProto& node = graph.node(0);
  int64_t opset = 0;
  for (const auto& imp : model.opset_import()) {
    if (imp.domain().empty() || imp.domain() == "ai.onnx") opset = imp.version();
  }
  // Graph inputs that are not initializers are fed from input_K.pb in order; initializers are constants.
  std::map<std::string, Tensor> values;
  std::set<std::string> constant_names;
  for (const auto& init : graph.initializer()) {
    values[init.name()] = tensor_from(init);
    constant_names.insert(init.name());
  }
  int k = 0;
  for (const auto& in : graph.input()) {
    if (constant_names.count(in.name())) continue;
    onnx::TensorProto tp;
    ASSERT_TRUE(parse_file(dir / "test_data_set_0" / ("input_" + std::to_string(k++) + ".pb"), tp)) << in.name();
    values[in.name()] = tensor_from(tp);
  }
  SingleNodeOptions options;
  options.num_threads = 2;
  options.node_name = GetParam();
  std::vector<Tensor> inputs;
  for (const std::string& name : node.input()) {
    inputs.push_back(name.empty() ? Tensor() : values.at(name));
    options.input_kinds.push_back(constant_names.count(name) ? InputKind::kConstant : InputKind::kRuntime);
  }
  const ir::Attributes attrs = attributes_from(node);
  const bool training = GetParam().find("training_mode") != std::string::npos;
  if (training) {
    EXPECT_THROW(run_single_node(node.op_type(), attrs, inputs, opset, kernels::reference_kernel_registry(),
                                 static_cast<size_t>(node.output_size()), options),
                 UnsupportedOp);
    return;
  }
  const std::vector<Tensor> outputs = run_single_node(node.op_type(), attrs, inputs, opset,
                                                      kernels::reference_kernel_registry(),
                                                      static_cast<size_t>(node.output_size()), options);
  for (int i = 0; i < node.output_size(); ++i) {
    onnx::TensorProto tp;
    ASSERT_TRUE(parse_file(dir / "test_data_set_0" / ("output_" + std::to_string(i) + ".pb"), tp));
    const Tensor expected = tensor_from(tp);
    SCOPED_TRACE(node.op_type() + " opset " + std::to_string(opset) + " output " + std::to_string(i));
    if (expected.dtype() == DType::kFloat32) {
      expect_tensor_near(outputs[static_cast<size_t>(i)], expected, 1e-4, 1e-5);
    } else {
      expect_tensor_eq(outputs[static_cast<size_t>(i)], expected);
    }
  }
}

std::string case_name(const ::testing::TestParamInfo<std::string>& info) {
  std::string s = info.param;
  for (char& c : s) {
    if (!std::isalnum(static_cast<unsigned char>(c))) c = '_';
  }
  return s;
}

INSTANTIATE_TEST_SUITE_P(BackendData, RefNnOnnxData, ::testing::ValuesIn(find_cases()), case_name);
GTEST_ALLOW_UNINSTANTIATED_PARAMETERIZED_TEST(RefNnOnnxData);

}  // namespace
}  // namespace qwac::testing
