// qwac public API: datasets, what calibration, evaluation and the accuracy search read samples from. Datasets
// described by files (image folders, MNIST idx, CIFAR, .npy/.npz, ONNX test sets) are built from a config's
// dataset section (qwac/config.h); any other source implements Dataset.
//
// A Dataset never holds a whole large set in memory: get(i) reads and preprocesses sample i on demand, and must
// be safe to call from several threads at once (evaluation decodes in parallel with inference).
#pragma once

#include <cstdint>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "qwac/tensor.h"

namespace qwac {

struct BoundingBox {
  float x_min, y_min, x_max, y_max;  // pixels or normalized, as the dataset defines
  int64_t label;
  bool difficult = false;
};

// Ground truth for one sample. Which fields are set depends on the task.
struct Annotation {
  int64_t label = -1;               // classification: class index, -1 = none
  std::vector<BoundingBox> boxes;   // detection
  Tensor mask;                      // segmentation: int class map [H, W]
  std::vector<Tensor> reference_outputs;  // label-free metrics: the FP32 model's outputs for this sample
  std::string text;                 // text ground truth (OCR transcript, caption, class name...)
};

struct Sample {
  // Model inputs by name, each with a leading batch dimension of 1 (batches are made by stacking along dim 0).
  std::map<std::string, Tensor> inputs;
  Annotation annotation;
  std::map<std::string, std::string> metadata;  // e.g. "file" -> image path, "index" -> "17"
  // Index of the sample in the dataset the user gave the library: subsets (make_subset) keep the index of their
  // base, so a metric sees the same index whichever subset the accuracy search evaluates. -1 = not set (the
  // evaluation loop sets it to the position in the dataset it runs).
  int64_t index = -1;
};

class Dataset {
 public:
  virtual ~Dataset() = default;
  virtual int64_t size() const = 0;
  // Throws DataError naming the file/index/input when sample i cannot be produced. Thread-safe.
  virtual Sample get(int64_t index) const = 0;
  // One line for logs and reports ("image folder imagenet-val-1300 (1300 samples)").
  virtual std::string describe() const = 0;
  // Index of sample i in the dataset the user gave the library (what Sample::index holds), without reading the
  // sample: subsets map through to their base. Default: i.
  virtual int64_t source_index(int64_t index) const { return index; }
};

using DatasetPtr = std::shared_ptr<const Dataset>;

// The samples of `base` at `indices` (in that order).
DatasetPtr make_subset(DatasetPtr base, std::vector<int64_t> indices);

// `count` distinct indices of [0, n), chosen by a seeded generator and returned in increasing order. The same
// (n, count, seed) always gives the same indices on every platform (no std:: distributions involved).
std::vector<int64_t> sample_indices(int64_t n, int64_t count, uint64_t seed);

// A seeded permutation of [0, n), platform-independent.
std::vector<int64_t> shuffled_indices(int64_t n, uint64_t seed);

// Stacks the inputs of several samples along dim 0 (all must have the same names, dtypes and trailing shapes;
// DataError naming the input otherwise).
std::map<std::string, Tensor> stack_inputs(const std::vector<Sample>& samples);

}  // namespace qwac
