// The finiteness check every dataset's get() runs on what it produces: a NaN or Inf fed to calibration would
// silently poison the ranges, so it is a DataError naming the sample and the input instead.
#pragma once

#include <cstdint>
#include <string>

#include "core/tensor.h"
#include "qwac/dataset.h"

namespace qwac::data {

// Throws DataError("<dataset>: sample <index>, input '<name>': element <k> is nan") for floating tensors holding a
// NaN or Inf; integer tensors pass.
void check_finite(const Tensor& tensor, const std::string& dataset, int64_t index, const std::string& input);

// check_finite over every input of the sample.
void check_sample_finite(const Sample& sample, const std::string& dataset, int64_t index);

// DataError unless 0 <= index < size.
void check_index(int64_t index, int64_t size, const std::string& dataset);

}  // namespace qwac::data
