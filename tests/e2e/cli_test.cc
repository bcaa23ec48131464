// The CLI as a user meets it: output of inspect/bench, one-line errors and exit codes.
#include <gtest/gtest.h>
#include <unistd.h>

#include <array>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <random>

#include "model_builder.h"
#include "onnx/model_io.h"
#include "test_util.h"

namespace qwac {
namespace {

struct CommandResult {
  int exit_code;
  std::string output;  // stdout and stderr
};

CommandResult run_cli(const std::string& args) {
  const std::string cmd = std::string(QWAC_CLI) + " " + args + " 2>&1";
  FILE* pipe = popen(cmd.c_str(), "r");
  std::string out;
  std::array<char, 4096> buf{};
  while (size_t n = fread(buf.data(), 1, buf.size(), pipe)) out.append(buf.data(), n);
  const int status = pclose(pipe);
  return {WEXITSTATUS(status), out};
}

TEST(Cli, InspectListsIoOpsAndParameters) {
  QWAC_REQUIRE_SHARED();
  CommandResult r = run_cli("inspect " + testing::shared_path("assets/models/squeezenet1.1-imagenet/model.onnx"));
  ASSERT_EQ(r.exit_code, 0) << r.output;
  EXPECT_NE(r.output.find("data_0: float[1,3,224,224]"), std::string::npos) << r.output;
  EXPECT_NE(r.output.find("softmaxout_1"), std::string::npos) << r.output;
  EXPECT_NE(r.output.find("nodes: 66"), std::string::npos) << r.output;
  EXPECT_NE(r.output.find("Conv                     26"), std::string::npos) << r.output;
  EXPECT_NE(r.output.find("parameters: 1235496"), std::string::npos) << r.output;
  EXPECT_NE(r.output.find("unsupported ops: none"), std::string::npos) << r.output;
}

// Weights held in Constant nodes (paddle2onnx, older converters) are parameters too.
TEST(Cli, InspectCountsParametersInConstantNodes) {
  testing::ModelBuilder b(3, 9);
  b.g->name = "constant_weights";
  ir::Value* x = b.input("x", {1, 2, 4, 4});
  ir::Value* w = b.g->add_value("w");
  std::mt19937 rng(1);
  b.g->add_node("Constant", {}, {w}, "w_const")->attrs.set("value", testing::random_tensor({3, 2, 3, 3}, rng));
  ir::Value* bias = b.g->add_value("bias");
  b.g->add_node("Constant", {}, {bias}, "bias_const")->attrs.set("value", testing::random_tensor({3}, rng));
  ir::Value* y = b.node("Conv", {x, w, bias}, "conv");
  y->type.dtype = DType::kFloat32;
  y->type.shape = ir::SymbolicShape{{1, ""}, {3, ""}, {2, ""}, {2, ""}};
  b.g->add_output(y);
  const std::string path = (std::filesystem::temp_directory_path() / ("qwac_constant_weights_" +
                                                                        std::to_string(::getpid()) + ".onnx"))
                               .string();
  onnxio::save_model(b.model, path);
  const CommandResult r = run_cli("inspect " + path);
  std::filesystem::remove(path);
  ASSERT_EQ(r.exit_code, 0) << r.output;
  EXPECT_NE(r.output.find("parameters: 57 "), std::string::npos) << r.output;  // 3*2*3*3 + 3
}

TEST(Cli, InspectPlanShowsKernelChoices) {
  QWAC_REQUIRE_SHARED();
  CommandResult r = run_cli("inspect --plan " + testing::shared_path("assets/models/resnet20-cifar10/model.onnx"));
  ASSERT_EQ(r.exit_code, 0) << r.output;
  EXPECT_NE(r.output.find("dnnl"), std::string::npos) << r.output;
}

// x -> Q -> DQ -> conv1 (int8 weights) -> Q -> DQ -> conv2 (float weights) -> y: conv1 runs in int8, conv2 cannot,
// so the DQ before it stays as a float round trip.
std::string write_half_quantized_model(const std::string& path) {
  testing::ModelBuilder b(7, 13);
  ir::Graph& g = *b.g;
  g.name = "half_quantized";
  auto scalar_u8 = [&](const std::string& name, uint8_t v) {
    Tensor t(DType::kUInt8, {});
    t.data<uint8_t>()[0] = v;
    return g.add_constant(name, t);
  };
  auto scalar_f = [&](const std::string& name, float v) {
    Tensor t(DType::kFloat32, {});
    t.data<float>()[0] = v;
    return g.add_constant(name, t);
  };
  ir::Value* x = b.input("x", {1, 4, 6, 6});
  ir::Value* s1 = scalar_f("s1", 0.02f);
  ir::Value* z1 = scalar_u8("z1", 128);
  ir::Value* q1 = b.node("QuantizeLinear", {x, s1, z1}, "q_in");
  q1->type.dtype = DType::kUInt8;
  ir::Value* dq1 = b.node("DequantizeLinear", {q1, s1, z1}, "dq_in");
  Tensor w(DType::kInt8, {4, 4, 3, 3});
  for (int64_t i = 0; i < w.numel(); ++i) w.data<int8_t>()[i] = static_cast<int8_t>(i % 11 - 5);
  ir::Value* wdq = b.node("DequantizeLinear", {g.add_constant("w1", w), scalar_f("ws", 0.01f)}, "dq_w1");
  ir::Value* c1 = b.node("Conv", {dq1, wdq}, "conv1");
  ir::Value* s2 = scalar_f("s2", 0.05f);
  ir::Value* z2 = scalar_u8("z2", 0);
  ir::Value* q2 = b.node("QuantizeLinear", {c1, s2, z2}, "q_mid");
  q2->type.dtype = DType::kUInt8;
  ir::Value* dq2 = b.node("DequantizeLinear", {q2, s2, z2}, "dq_mid");
  ir::Value* y = b.node("Conv", {dq2, g.add_constant("w2", testing::random_tensor({2, 4, 1, 1}, b.rng))}, "conv2");
  y->type.dtype = DType::kFloat32;
  y->type.shape = ir::SymbolicShape{{1, ""}, {2, ""}, {4, ""}, {4, ""}};
  g.add_output(y);
  onnxio::save_model(b.model, path);
  return path;
}

TEST(Cli, InspectPlanInt8ShowsPrecisionNotesAndRoundTrips) {
  const std::string path = write_half_quantized_model(
      (std::filesystem::temp_directory_path() / ("qwac_cli_half_qdq_" + std::to_string(getpid()) + ".onnx")).string());
  CommandResult r = run_cli("inspect --plan --int8 " + path);
  std::filesystem::remove(path);
  ASSERT_EQ(r.exit_code, 0) << r.output;
  auto line_of = [&](const std::string& name) {
    const size_t at = r.output.find("  " + name + " ");
    return at == std::string::npos ? std::string() : r.output.substr(at, r.output.find('\n', at) - at);
  };
  EXPECT_NE(line_of("conv1").find("QConv"), std::string::npos) << r.output;
  EXPECT_NE(line_of("conv1").find("int8"), std::string::npos) << r.output;
  EXPECT_NE(line_of("conv2").find("float"), std::string::npos) << r.output;
  EXPECT_NE(line_of("dq_mid").find("simulated"), std::string::npos) << r.output;
  EXPECT_NE(r.output.find("note: not run in int8: weights W are not the output of a DequantizeLinear"),
            std::string::npos)
      << r.output;
  // MACs: conv1 16 outputs x 4 channels x (4 x 3 x 3) = 2304, conv2 32 outputs x 4 = 128: 2304 / 2432.
  EXPECT_NE(r.output.find("int8: 1 of 2 compute nodes (94.7 % of"), std::string::npos) << r.output;
  EXPECT_NE(r.output.find("float round trips: 1 (DequantizeLinear 1)"), std::string::npos) << r.output;
  EXPECT_NE(r.output.find("DequantizeLinear 'dq_mid': dequantizes the output of QConv 'conv1' for "), std::string::npos)
      << r.output;

  // --plan alone shows the same int8 plan (the engine's default); --simulate shows the float simulation, where the
  // Q -> DQ pairs are FakeQuantize round trips.
  write_half_quantized_model(path);
  CommandResult d = run_cli("inspect --plan " + path);
  ASSERT_EQ(d.exit_code, 0) << d.output;
  EXPECT_NE(d.output.find("int8: 1 of 2 compute nodes (94.7 % of"), std::string::npos) << d.output;
  CommandResult f = run_cli("inspect --plan --simulate " + path);
  std::filesystem::remove(path);
  ASSERT_EQ(f.exit_code, 0) << f.output;
  EXPECT_NE(f.output.find("int8: 0 of 2 compute nodes"), std::string::npos) << f.output;
  EXPECT_EQ(f.output.find("note:"), std::string::npos) << "no int8 pass ran: " << f.output;
}

TEST(Cli, BenchPrintsLatencyAndThroughput) {
  QWAC_REQUIRE_SHARED();
  CommandResult r = run_cli("bench " + testing::shared_path("assets/models/mnist-pytorch-cnn/model.onnx") +
                            " --batch 4 --iterations 5 --warmup 1 --threads 1");
  ASSERT_EQ(r.exit_code, 0) << r.output;
  EXPECT_NE(r.output.find("input: input float[4,1,28,28]"), std::string::npos) << r.output;
  EXPECT_NE(r.output.find("latency: median"), std::string::npos) << r.output;
  EXPECT_NE(r.output.find("samples/s"), std::string::npos) << r.output;
}

TEST(Cli, MissingFileIsOneLineIoError) {
  CommandResult r = run_cli("inspect /nonexistent/model.onnx");
  EXPECT_EQ(r.exit_code, 3) << r.output;
  EXPECT_NE(r.output.find("/nonexistent/model.onnx"), std::string::npos) << r.output;
  EXPECT_EQ(std::count(r.output.begin(), r.output.end(), '\n'), 1) << r.output;
}

TEST(Cli, MalformedModelIsInvalidModel) {
  const std::string path = (std::filesystem::temp_directory_path() / "qwac_cli_garbage.onnx").string();
  std::ofstream(path) << "this is not a protobuf";
  CommandResult r = run_cli("inspect " + path);
  EXPECT_EQ(r.exit_code, 4) << r.output;
  EXPECT_NE(r.output.find("InvalidModel"), std::string::npos) << r.output;
  std::filesystem::remove(path);
}

TEST(Cli, BadFlagValuesAreRejected) {
  QWAC_REQUIRE_SHARED();
  const std::string model = testing::shared_path("assets/models/mnist-cntk/model.onnx");
  EXPECT_NE(run_cli("bench " + model + " --iterations 0").exit_code, 0);
  EXPECT_NE(run_cli("bench " + model + " --batch abc").exit_code, 0);
  CommandResult r = run_cli("bench " + model + " --shape nosuch=1,2");
  EXPECT_EQ(r.exit_code, 2) << r.output;
  EXPECT_NE(r.output.find("nosuch"), std::string::npos) << r.output;
}

}  // namespace
}  // namespace qwac
