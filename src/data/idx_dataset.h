// MNIST / Fashion-MNIST IDX files (images idx3 magic 0x00000803, labels idx1 magic 0x00000801), gzip'd or not.
#pragma once

#include <cstdint>
#include <string>

#include "data/preprocess.h"
#include "qwac/dataset.h"

namespace qwac::data {

struct IdxOptions {
  std::string images_path;  // idx3-ubyte[.gz]
  std::string labels_path;  // idx1-ubyte[.gz]; empty = unlabeled
  std::string input_name;   // the model input (required)
  // Applied to each H x W gray image as in the reference evaluator: e.g. scale 1/255, mean 0.5, std 0.5, invert.
  // Defaults give raw 0..255 floats as [1, 1, H, W].
  PreprocessOptions preprocess;
  std::string name;  // for describe(); default: the images file name
};

// Both files are read into memory once at construction (the 10,000-image test sets are 7.8 MB uncompressed, and a
// gzip stream cannot be read at random offsets anyway). Magic numbers, dimensions, the image/label counts and the
// file sizes are checked (DataError naming the file). get() is thread-safe (read-only).
class IdxDataset final : public Dataset {
 public:
  explicit IdxDataset(IdxOptions options);

  int64_t size() const override { return count_; }
  Sample get(int64_t index) const override;
  std::string describe() const override;

  int64_t height() const { return rows_; }
  int64_t width() const { return cols_; }

 private:
  IdxOptions options_;
  std::string images_;  // whole decompressed idx3 file
  std::string labels_;  // whole decompressed idx1 file (empty when unlabeled)
  int64_t count_ = 0, rows_ = 0, cols_ = 0;
};

}  // namespace qwac::data
