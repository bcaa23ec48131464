// Preprocessed tensors stored as NumPy arrays: one array per model input, whose leading dimension indexes the
// samples (sample i = slice i, given back with a leading dimension of 1). For models whose inputs are not images,
// or to feed exactly the tensors another tool produced.
#pragma once

#include <cstdint>
#include <map>
#include <string>
#include <vector>

#include "core/tensor.h"
#include "qwac/dataset.h"

namespace qwac::data {

struct NpyInput {
  std::string input_name;  // the model input
  std::string source;      // with NpyDatasetOptions::npz_path: the array name in the archive; else a .npy path
};

struct NpyDatasetOptions {
  std::string npz_path;          // empty: every source is a .npy file
  std::vector<NpyInput> inputs;  // at least one
  std::string labels_source;     // optional: 1-D integer array of N class labels (array name or .npy path)
  std::string name;              // for describe(); default: the npz file name or the first .npy's
};

// All arrays are loaded into memory at construction (an .npz member must be inflated whole anyway); they must
// agree on the leading dimension N (DataError naming the arrays otherwise). Dtypes are kept as stored. get()
// copies slice i and rejects NaN/Inf (DataError naming sample and input). Thread-safe (read-only).
class NpyDataset final : public Dataset {
 public:
  explicit NpyDataset(NpyDatasetOptions options);

  int64_t size() const override { return count_; }
  Sample get(int64_t index) const override;
  std::string describe() const override;

 private:
  NpyDatasetOptions options_;
  std::map<std::string, Tensor> arrays_;  // by model input name
  std::vector<int64_t> labels_;
  int64_t count_ = 0;
};

}  // namespace qwac::data
