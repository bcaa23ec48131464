// A folder of JPEG/PNG images with a labels CSV: the usual classification evaluation/calibration set
// (shared/assets/data/imagenet-val-1300, cifar10-test-jpeg, ...).
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "data/image_decode.h"
#include "data/preprocess.h"
#include "qwac/dataset.h"

namespace qwac::data {

struct ImageFolderOptions {
  std::string images_dir;  // file names in the CSV are relative to this folder
  std::string labels_csv;  // header row required; empty = no CSV: every *.jpg/*.jpeg/*.png below
                           // images_dir (recursively, sorted by relative path), unlabeled
  std::string file_column = "file";
  std::string label_column = "label";  // empty = do not read labels (annotation.label stays -1)
  int64_t num_classes = 0;             // > 0: every label must lie in [0, num_classes) (checked at construction)
  int64_t label_offset = 0;            // added to each CSV label (e.g. 1 for 1001-class models)
  std::string input_name;              // the model input the preprocessed image feeds (required)
  PreprocessOptions preprocess;
  DecodeOptions decode;
  std::string name;  // for describe(); default: the images folder's name
};

// Construction reads the CSV, parses and range-checks every label and checks that every image file exists
// (DataError naming the CSV row or the file); pixels are decoded only by get(). get() is thread-safe (no shared
// mutable state). Gray images are replicated to RGB and alpha dropped before preprocessing, as the reference
// evaluator does.
//
// Unreadable images: get() of such a sample throws DataError naming the file. To skip them instead, call
// validate() once, report the count, and evaluate make_subset(dataset, complement of the bad indices) — indices
// stay stable and the skipping is explicit in the caller's report.
class ImageFolderDataset final : public Dataset {
 public:
  explicit ImageFolderDataset(ImageFolderOptions options);

  int64_t size() const override { return static_cast<int64_t>(files_.size()); }
  Sample get(int64_t index) const override;
  std::string describe() const override;

  struct BadSample {
    int64_t index;
    std::string file;
    std::string reason;  // the DataError message
  };
  // Scans every image once and returns those that cannot be decoded. `full_decode` false reads only the headers
  // (fast, catches non-images and broken headers); true decodes every pixel (catches truncated data too).
  std::vector<BadSample> validate(bool full_decode) const;

  // All samples except those validate() reported, for make_subset().
  static std::vector<int64_t> good_indices(int64_t size, const std::vector<BadSample>& bad);

  const std::string& file(int64_t index) const { return files_.at(static_cast<size_t>(index)); }
  int64_t label(int64_t index) const { return labels_.at(static_cast<size_t>(index)); }

 private:
  ImageFolderOptions options_;
  std::vector<std::string> files_;  // relative to images_dir (as written in the CSV)
  std::vector<int64_t> labels_;     // -1 when unlabeled
};

}  // namespace qwac::data
