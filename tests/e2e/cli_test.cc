// The CLI as a user meets it: output of inspect/bench, one-line errors and exit codes.
#include <gtest/gtest.h>

#include <array>
#include <cstdio>
#include <filesystem>
#include <fstream>

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

TEST(Cli, InspectPlanShowsKernelChoices) {
  QWAC_REQUIRE_SHARED();
  CommandResult r = run_cli("inspect --plan " + testing::shared_path("assets/models/resnet20-cifar10/model.onnx"));
  ASSERT_EQ(r.exit_code, 0) << r.output;
  EXPECT_NE(r.output.find("dnnl"), std::string::npos) << r.output;
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
