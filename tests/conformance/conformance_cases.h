// The ONNX backend test data as a list of cases, and the skip list that says which supported cases legitimately
// cannot pass (each entry with its reason).
#pragma once

#include <map>
#include <ostream>
#include <string>
#include <vector>

#include "core/tensor.h"

namespace qwac::conformance {

// The suites run here; "real" (large downloaded models) is out of scope.
inline const std::vector<std::string> kConformanceSuites = {"node", "pytorch-converted", "pytorch-operator", "simple"};

struct ConformanceCase {
  std::string suite;      // "node"
  std::string name;       // "test_conv_with_strides_padding"
  std::string dir;        // absolute folder holding model.onnx and test_data_set_N/
  std::string test_name;  // gtest-safe name: "node_test_conv_with_strides_padding"

  std::string key() const { return suite + "/" + name; }  // as written in the skip list
};

// gtest prints a failing parameter with this (instead of a byte dump).
inline void PrintTo(const ConformanceCase& c, std::ostream* os) {
  *os << c.key();
}

// Every case folder with a model.onnx under root/<suite>/, sorted by suite then name. Empty if root is missing
// (the runner then reports that instead of silently passing).
std::vector<ConformanceCase> enumerate_cases(const std::string& root);

// One data set: the input_K.pb and output_K.pb files of test_data_set_N, in K order.
struct DataSet {
  std::string dir;
  std::vector<std::string> input_files;
  std::vector<std::string> output_files;
};

// The data sets of a case, in N order.
std::vector<DataSet> list_data_sets(const std::string& case_dir);

// Reads a serialized onnx TensorProto file into a Tensor (via onnxio::tensor_from_proto). Throws DataError if the
// file does not parse as a TensorProto.
Tensor read_tensor_file(const std::string& path);

// "<suite>/<case> <reason>" per line; '#' starts a comment line; blank lines ignored. Throws InvalidConfig naming
// the file and line for an entry without a reason or listed twice.
std::map<std::string, std::string> load_skip_list(const std::string& path);

}  // namespace qwac::conformance
