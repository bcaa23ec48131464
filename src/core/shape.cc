#include "core/shape.h"

#include <algorithm>

#include "qwac/error.h"

namespace qwac {

int64_t shape_numel(const Shape& shape) {
  int64_t n = 1;
  for (int64_t d : shape) n *= d;
  return n;
}

std::vector<int64_t> shape_strides(const Shape& shape) {
  std::vector<int64_t> strides(shape.size(), 1);
  for (int64_t i = static_cast<int64_t>(shape.size()) - 2; i >= 0; --i) strides[i] = strides[i + 1] * shape[i + 1];
  return strides;
}

std::string shape_to_string(const Shape& shape) {
  std::string s = "[";
  for (size_t i = 0; i < shape.size(); ++i) {
    if (i) s += ",";
    s += std::to_string(shape[i]);
  }
  return s + "]";
}

int64_t normalize_axis(int64_t axis, int64_t rank, const std::string& what) {
  const int64_t lo = -rank, hi = rank - 1;
  if (axis < lo || axis > hi) {
    throw InvalidModel(what + ": axis " + std::to_string(axis) + " is out of range for rank " + std::to_string(rank) +
                       " (expected " + std::to_string(lo) + ".." + std::to_string(hi) + ")");
  }
  return axis < 0 ? axis + rank : axis;
}

Shape with_leading_ones(const Shape& s, size_t rank) {
  Shape out(rank > s.size() ? rank - s.size() : 0, 1);
  out.insert(out.end(), s.begin(), s.end());
  return out;
}

Shape broadcast_shapes(const Shape& a, const Shape& b, const std::string& what) {
  const size_t rank = std::max(a.size(), b.size());
  Shape out(rank);
  for (size_t i = 0; i < rank; ++i) {
    const int64_t da = i < rank - a.size() ? 1 : a[i - (rank - a.size())];
    const int64_t db = i < rank - b.size() ? 1 : b[i - (rank - b.size())];
    if (da != db && da != 1 && db != 1) {
      throw InvalidModel(what + ": shapes " + shape_to_string(a) + " and " + shape_to_string(b) +
                         " cannot be broadcast (dimension " + std::to_string(i) + ")");
    }
    out[i] = da == 1 ? db : da;
  }
  return out;
}

}  // namespace qwac
