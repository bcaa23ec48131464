// The output-path guard: outputs that are inputs or each other (by path, "..", symbolic and hard links), output
// folders checked up front, and stale temp files of killed runs removed.
#include "core/output_paths.h"

#include <gtest/gtest.h>
#include <unistd.h>

#include <filesystem>

#include "core/atomic_file.h"
#include "data/data_test_util.h"
#include "qwac/error.h"

namespace qwac {
namespace {

namespace fs = std::filesystem;
using testing::ScratchDir;

template <typename E>
std::string failure(const std::vector<NamedPath>& in, const std::vector<NamedPath>& out) {
  try {
    check_output_paths(in, out);
  } catch (const E& e) {
    return e.what();
  } catch (const std::exception& e) {
    ADD_FAILURE() << "wrong exception: " << e.what();
    return "";
  }
  ADD_FAILURE() << "no exception";
  return "";
}

TEST(OutputPaths, AnOutputThatIsAnInputIsRefusedWhateverTheSpelling) {
  ScratchDir dir;
  const std::string model = dir.write("m.onnx", "model");
  dir.write("sub/x", "");
  fs::create_symlink(model, dir.path("link.onnx"));
  fs::create_hard_link(model, dir.path("hard.onnx"));
  for (const std::string& out : {model, dir.path("sub/../m.onnx"), dir.path("link.onnx"), dir.path("hard.onnx")}) {
    const std::string msg = failure<InvalidArgument>({{"--model", model}}, {{"--output", out}});
    EXPECT_NE(msg.find("--output '" + out + "' is the same file as --model"), std::string::npos) << msg;
  }
  // A relative spelling from the current folder.
  const fs::path cwd = fs::current_path();
  fs::current_path(dir.path());
  const std::string msg = failure<InvalidArgument>({{"--model", model}}, {{"--output", "./m.onnx"}});
  fs::current_path(cwd);
  EXPECT_NE(msg.find("same file"), std::string::npos) << msg;
}

TEST(OutputPaths, TwoOutputsNamingOneFileAreRefusedEvenBeforeItExists) {
  ScratchDir dir;
  dir.write("sub/x", "");
  const std::string msg = failure<InvalidArgument>(
      {}, {{"--output", dir.path("q.onnx")}, {"--report", dir.path("sub/../q.onnx")}});
  EXPECT_NE(msg.find("--report"), std::string::npos) << msg;
  EXPECT_NE(msg.find("--output"), std::string::npos) << msg;
  EXPECT_NO_THROW(check_output_paths({}, {{"--output", dir.path("q.onnx")}, {"--report", dir.path("r.json")}}));
}

TEST(OutputPaths, FoldersAreCheckedUpFront) {
  ScratchDir dir;
  EXPECT_NE(failure<IoError>({}, {{"--report", dir.path("missing/r.json")}}).find("does not exist"),
            std::string::npos);
  EXPECT_NE(failure<IoError>({}, {{"--output", dir.path()}}).find("is a folder"), std::string::npos);
  EXPECT_NE(failure<InvalidArgument>({}, {{"--output", ""}}).find("--output is empty"), std::string::npos);
  if (::geteuid() != 0) {  // root writes everywhere
    fs::create_directories(dir.path("ro"));
    fs::permissions(dir.path("ro"), fs::perms::owner_read | fs::perms::owner_exec);
    EXPECT_NE(failure<IoError>({}, {{"--output", dir.path("ro/q.onnx")}}).find("not writable"), std::string::npos);
    fs::permissions(dir.path("ro"), fs::perms::owner_all);
  }
}

TEST(OutputPaths, StaleTempFilesOfDeadWritersAreRemovedLiveOnesKept) {
  ScratchDir dir;
  const std::string target = dir.path("q.onnx");
  const std::string prefix = temp_file_prefix("q.onnx");
  const std::string dead = dir.write(prefix + "999999999.AbCdEf", "partial");     // no such process
  const std::string legacy = dir.write(prefix + "XyZ123", "partial");             // older qwac: no pid
  const std::string live = dir.write(prefix + std::to_string(::getpid()) + ".QwErTy", "in progress");
  const std::string other = dir.write(".other.onnx.tmp.999999999.AbCdEf", "another target's");
  check_output_paths({}, {{"--output", target}});
  EXPECT_FALSE(fs::exists(dead));
  EXPECT_FALSE(fs::exists(legacy));
  EXPECT_TRUE(fs::exists(live));
  EXPECT_TRUE(fs::exists(other));
  // write_file_atomically sweeps too, and leaves only its target.
  dir.write(prefix + "999999998.AbCdEf", "partial");
  fs::remove(live);
  write_file_atomically(target, "bytes");
  EXPECT_EQ(std::distance(fs::directory_iterator(dir.path()), fs::directory_iterator()), 2);  // q.onnx + other
}

}  // namespace
}  // namespace qwac
