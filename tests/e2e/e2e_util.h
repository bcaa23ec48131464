// Helpers shared by the end-to-end suites: run the CLI with its output captured, example config paths,
// predictions CSV files, per-test scratch folders.
#pragma once

#include <gtest/gtest.h>
#include <sys/wait.h>
#include <unistd.h>

#include <array>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <string>
#include <vector>

#include "test_util.h"

namespace qwac::e2e {

namespace fs = std::filesystem;

struct CliRun {
  int exit_code = -1;
  std::string out;  // stdout
  std::string err;  // stderr
};

// Runs `qwac <args>` with stdout and stderr captured separately.
inline CliRun run_qwac(const std::string& args) {
  const fs::path err_file = fs::temp_directory_path() / ("qwac_eval_err_" + std::to_string(::getpid()));
  const std::string cmd = std::string(QWAC_CLI) + " " + args + " 2>" + err_file.string();
  CliRun r;
  FILE* pipe = popen(cmd.c_str(), "r");
  if (pipe == nullptr) return r;
  std::array<char, 4096> buf{};
  while (size_t n = fread(buf.data(), 1, buf.size(), pipe)) r.out.append(buf.data(), n);
  const int status = pclose(pipe);
  r.exit_code = WIFEXITED(status) ? WEXITSTATUS(status) : -1;
  r.err = testing::read_file_bytes(err_file.string());
  fs::remove(err_file);
  return r;
}

inline std::string example(const std::string& name) {
  return std::string(QWAC_SOURCE_DIR) + "/examples/" + name + ".json";
}

// One row of a predictions CSV (ours or the reference): index,id,label,top1,top1_score.
struct Prediction {
  std::string id;
  int64_t label = -1, top1 = -1;
};

inline std::vector<Prediction> read_predictions(const std::string& path) {
  std::ifstream f(path);
  std::string line;
  std::getline(f, line);
  EXPECT_EQ(line, "index,id,label,top1,top1_score") << path;
  std::vector<Prediction> rows;
  while (std::getline(f, line)) {
    // The id may contain commas only when quoted; none of the shared data sets has such names.
    std::vector<std::string> cols;
    std::stringstream ss(line);
    for (std::string c; std::getline(ss, c, ',');) cols.push_back(c);
    if (cols.size() != 5) {
      ADD_FAILURE() << path << ": bad row '" << line << "'";
      continue;
    }
    EXPECT_EQ(std::stoll(cols[0]), static_cast<int64_t>(rows.size())) << path;
    rows.push_back({cols[1], std::stoll(cols[2]), std::stoll(cols[3])});
  }
  return rows;
}

// A scratch folder for one test, removed afterwards.
class Scratch {
 public:
  Scratch() {
    const auto* info = ::testing::UnitTest::GetInstance()->current_test_info();
    path_ = fs::temp_directory_path() /
            ("qwac_e2e_" + std::string(info->test_suite_name()) + "_" + info->name() + "_" + std::to_string(getpid()));
    fs::remove_all(path_);
    fs::create_directories(path_);
  }
  ~Scratch() {
    std::error_code ec;
    fs::remove_all(path_, ec);
  }
  std::string path(const std::string& name = "") const {
    return name.empty() ? path_.string() : (path_ / name).string();
  }
  std::string write(const std::string& name, const std::string& bytes) const {
    fs::create_directories((path_ / name).parent_path());
    std::ofstream(path_ / name, std::ios::binary) << bytes;
    return path(name);
  }

 private:
  fs::path path_;
};

}  // namespace qwac::e2e
