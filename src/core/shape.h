// Concrete tensor shapes and the small helpers every layer needs (element counts, strides, printing).
#pragma once

#include <cstdint>
#include <string>
#include <vector>

namespace qwac {

using Shape = std::vector<int64_t>;

int64_t shape_numel(const Shape& shape);                 // 1 for a scalar (rank 0)
std::vector<int64_t> shape_strides(const Shape& shape);  // row-major strides in elements
std::string shape_to_string(const Shape& shape);         // "[1,3,224,224]"

// Normalizes a possibly negative axis into [0, rank); throws InvalidModel naming `what` if out of range.
int64_t normalize_axis(int64_t axis, int64_t rank, const std::string& what);

// Numpy-style multidirectional broadcast of two shapes; throws InvalidModel naming `what` on mismatch.
Shape broadcast_shapes(const Shape& a, const Shape& b, const std::string& what);

}  // namespace qwac
