// CIFAR-10 / CIFAR-100 binary batches (data_batch_*.bin, test_batch.bin): fixed-size records of label byte(s)
// followed by a 32x32 RGB image stored channel-planar (1024 R, 1024 G, 1024 B).
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "data/preprocess.h"
#include "qwac/dataset.h"

namespace qwac::data {

struct CifarOptions {
  std::vector<std::string> batch_files;  // samples are numbered across the files in this order
  // 1 = CIFAR-10 (label byte); 2 = CIFAR-100 (coarse label byte, fine label byte; the fine label is used)
  int label_bytes = 1;
  std::string input_name;        // the model input (required)
  PreprocessOptions preprocess;  // on the 32x32 RGB image (e.g. scale 1/255, mean/std per channel)
  std::string name;              // for describe(); default: the first file's name
};

// Records are read on demand with pread() from descriptors opened at construction (thread-safe, no shared file
// offset); construction checks that every file size is a whole number of records.
class CifarDataset final : public Dataset {
 public:
  explicit CifarDataset(CifarOptions options);
  ~CifarDataset() override;
  CifarDataset(const CifarDataset&) = delete;
  CifarDataset& operator=(const CifarDataset&) = delete;

  int64_t size() const override { return total_; }
  Sample get(int64_t index) const override;
  std::string describe() const override;

 private:
  CifarOptions options_;
  std::vector<int> fds_;
  std::vector<int64_t> first_index_;  // first global sample index of each file
  int64_t total_ = 0;
};

}  // namespace qwac::data
