// ONNX backend-test style data: <dir>/test_data_set_N/input_K.pb (and output_K.pb), serialized TensorProtos, as
// shipped with the ONNX model zoo and /usr/share/libonnx-testdata. Sample N is test_data_set_N; its reference
// outputs (output_K.pb in K order) land in Annotation::reference_outputs for label-free metrics.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "qwac/dataset.h"

namespace qwac::data {

struct OnnxTestsetOptions {
  std::string dir;                       // the folder holding the test_data_set_N folders (usually the model's)
  std::vector<std::string> input_names;  // the model's inputs in order: input_K.pb feeds input_names[K];
                                         // empty = use each TensorProto's own name (DataError if it has none)
  bool allow_non_finite = false;         // some operator tests feed NaN/Inf on purpose
  std::string name;                      // for describe(); default: the folder's name
};

// Construction lists the test_data_set_N folders (sorted by N) and checks that each holds input_0.pb ..
// input_{K-1}.pb with K = input_names.size() (when given). Tensors are parsed on demand by get(); shapes are kept
// as stored (the model's full input shapes: the leading dimension is not necessarily 1, so such samples cannot
// always be stacked). Thread-safe.
class OnnxTestsetDataset final : public Dataset {
 public:
  explicit OnnxTestsetDataset(OnnxTestsetOptions options);

  int64_t size() const override { return static_cast<int64_t>(sets_.size()); }
  Sample get(int64_t index) const override;
  std::string describe() const override;

 private:
  OnnxTestsetOptions options_;
  std::vector<std::string> sets_;  // test_data_set_N folder paths
};

}  // namespace qwac::data
