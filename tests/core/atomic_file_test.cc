#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <sstream>

#include "core/atomic_file.h"
#include "qwac/error.h"

namespace qwac {
namespace {

namespace fs = std::filesystem;

std::string slurp(const fs::path& p) {
  std::ifstream f(p);
  std::ostringstream os;
  os << f.rdbuf();
  return os.str();
}

TEST(AtomicFile, ReplacesTheTargetAndLeavesNoTempFile) {
  const fs::path dir = fs::temp_directory_path() / "qwac_atomic_test";
  fs::remove_all(dir);
  fs::create_directories(dir);
  const fs::path target = dir / "out.csv";
  write_file_atomically(target.string(), "first");
  write_file_atomically(target.string(), "second");
  EXPECT_EQ(slurp(target), "second");
  EXPECT_EQ(std::distance(fs::directory_iterator(dir), fs::directory_iterator()), 1);
  fs::remove_all(dir);
}

TEST(AtomicFile, MissingFolderIsAnIoErrorNamingThePath) {
  try {
    write_file_atomically("/nonexistent-folder/out.json", "x");
    FAIL();
  } catch (const IoError& e) {
    EXPECT_NE(std::string(e.what()).find("/nonexistent-folder/out.json"), std::string::npos) << e.what();
  }
}

}  // namespace
}  // namespace qwac
