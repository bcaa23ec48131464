// Concrete tensor shapes (qwac/shape.h) and the small helpers every layer needs (strides, axes, broadcasting).
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "qwac/shape.h"

namespace qwac {

std::vector<int64_t> shape_strides(const Shape& shape);  // row-major strides in elements

// Normalizes a possibly negative axis into [0, rank); throws InvalidModel naming `what` if out of range.
int64_t normalize_axis(int64_t axis, int64_t rank, const std::string& what);

// `s` with leading 1s up to `rank` (at least s.size()): the shape a lower-rank operand has under numpy broadcasting.
Shape with_leading_ones(const Shape& s, size_t rank);

// Numpy-style multidirectional broadcast of two shapes; throws InvalidModel naming `what` on mismatch.
Shape broadcast_shapes(const Shape& a, const Shape& b, const std::string& what);

}  // namespace qwac
