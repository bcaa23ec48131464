#include "data/sample_check.h"

#include <cmath>
#include <sstream>

#include "qwac/error.h"

namespace qwac::data {
namespace {

template <typename T>
int64_t first_non_finite(const T* p, int64_t n) {
  for (int64_t i = 0; i < n; ++i) {
    if (!std::isfinite(p[i])) return i;
  }
  return -1;
}

}  // namespace

void check_finite(const Tensor& tensor, const std::string& dataset, int64_t index, const std::string& input) {
  int64_t bad = -1;
  double value = 0;
  if (tensor.dtype() == DType::kFloat32) {
    bad = first_non_finite(tensor.data<float>(), tensor.numel());
    if (bad >= 0) value = tensor.data<float>()[bad];
  } else if (tensor.dtype() == DType::kFloat64) {
    bad = first_non_finite(tensor.data<double>(), tensor.numel());
    if (bad >= 0) value = tensor.data<double>()[bad];
  }
  if (bad < 0) return;
  std::ostringstream msg;
  msg << dataset << ": sample " << index << ", input '" << input << "' " << tensor.describe() << ": element " << bad
      << " is " << value << " (inputs must be finite)";
  throw DataError(msg.str());
}

void check_sample_finite(const Sample& sample, const std::string& dataset, int64_t index) {
  for (const auto& [name, t] : sample.inputs) check_finite(t, dataset, index, name);
}

void check_index(int64_t index, int64_t size, const std::string& dataset) {
  if (index < 0 || index >= size) {
    throw DataError(dataset + ": sample index " + std::to_string(index) + " is outside [0, " + std::to_string(size) +
                    ")");
  }
}

}  // namespace qwac::data
