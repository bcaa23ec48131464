#include "ir/fused_matmul.h"

#include <algorithm>

#include "qwac/error.h"

namespace qwac::ir {
namespace {

// True when `perm` is a permutation of 0..rank-1.
bool is_permutation(const std::vector<int64_t>& perm, size_t rank) {
  if (perm.size() != rank) return false;
  std::vector<bool> seen(rank, false);
  for (int64_t p : perm) {
    if (p < 0 || p >= static_cast<int64_t>(rank) || seen[static_cast<size_t>(p)]) return false;
    seen[static_cast<size_t>(p)] = true;
  }
  return true;
}

std::string ints(const std::vector<int64_t>& v) { return shape_to_string(v); }

}  // namespace

StridedView operand_view(const Shape& shape, const std::vector<int64_t>& select, const std::vector<int64_t>& perm,
                         const std::string& owner) {
  StridedView v{shape, shape_strides(shape), 0};
  if (!select.empty()) {
    if (select.size() != 2) throw InvalidModel(owner + ": select must be [axis, index], got " + ints(select));
    const int64_t rank = static_cast<int64_t>(shape.size());
    const int64_t axis = normalize_axis(select[0], rank, owner + " select axis");
    int64_t index = select[1];
    const int64_t size = shape[static_cast<size_t>(axis)];
    if (index < -size || index >= size) {
      throw InvalidModel(owner + ": select index " + std::to_string(index) + " is out of range for axis " +
                         std::to_string(axis) + " of size " + std::to_string(size));
    }
    if (index < 0) index += size;
    v.offset = index * v.strides[static_cast<size_t>(axis)];
    v.dims.erase(v.dims.begin() + axis);
    v.strides.erase(v.strides.begin() + axis);
  }
  if (!perm.empty()) {
    if (!is_permutation(perm, v.dims.size())) {
      throw InvalidModel(owner + ": perm " + ints(perm) + " is not a permutation of the " +
                         std::to_string(v.dims.size()) + " dims of " + shape_to_string(v.dims));
    }
    StridedView t{{}, {}, v.offset};
    for (int64_t p : perm) {
      t.dims.push_back(v.dims[static_cast<size_t>(p)]);
      t.strides.push_back(v.strides[static_cast<size_t>(p)]);
    }
    v = std::move(t);
  }
  return v;
}

StridedView transposed_output_view(const Shape& y_shape, const std::vector<int64_t>& perm_y) {
  const std::vector<int64_t> y_strides = shape_strides(y_shape);
  if (perm_y.empty()) return {y_shape, y_strides, 0};
  // Y[j] = R[perm_y[j]]: R's dim perm_y[j] has Y's size and stride at j.
  StridedView r{Shape(y_shape.size()), std::vector<int64_t>(y_shape.size()), 0};
  for (size_t j = 0; j < perm_y.size(); ++j) {
    r.dims[static_cast<size_t>(perm_y[j])] = y_shape[j];
    r.strides[static_cast<size_t>(perm_y[j])] = y_strides[j];
  }
  return r;
}

FusedMatMulShapes fused_matmul_shapes(const Shape& a, const Shape& b, const Shape* bias, const Shape* z,
                                      const Attributes& attrs, const std::string& owner) {
  FusedMatMulShapes s;
  s.a = operand_view(a, attrs.get_ints("select_a", {}), attrs.get_ints("perm_a", {}), owner + " A").dims;
  s.b = operand_view(b, attrs.get_ints("select_b", {}), attrs.get_ints("perm_b", {}), owner + " B").dims;
  if (s.a.empty() || s.b.empty()) {
    throw InvalidModel(owner + ": operands " + shape_to_string(s.a) + " and " + shape_to_string(s.b) +
                       " must have rank >= 1");
  }
  s.a_vector = s.a.size() == 1;
  s.b_vector = s.b.size() == 1;
  const Shape a2 = s.a_vector ? Shape{1, s.a[0]} : s.a;
  const Shape b2 = s.b_vector ? Shape{s.b[0], 1} : s.b;
  s.m = a2[a2.size() - 2];
  s.k = a2.back();
  s.n = b2.back();
  if (b2[b2.size() - 2] != s.k) {
    throw InvalidModel(owner + ": inner dimensions differ: A' " + shape_to_string(s.a) + ", B' " +
                       shape_to_string(s.b));
  }
  s.r = broadcast_shapes(Shape(a2.begin(), a2.end() - 2), Shape(b2.begin(), b2.end() - 2),
                         owner + " batch dimensions of A' " + shape_to_string(s.a) + " and B' " + shape_to_string(s.b));
  if (!s.a_vector) s.r.push_back(s.m);
  if (!s.b_vector) s.r.push_back(s.n);
  s.product = s.r;
  if (bias != nullptr) s.r = broadcast_shapes(s.r, *bias, owner + " product " + shape_to_string(s.r) + " + bias");
  if (z != nullptr) s.r = broadcast_shapes(s.r, *z, owner + " product " + shape_to_string(s.r) + " + Z");
  const std::vector<int64_t> perm_y = attrs.get_ints("perm_y", {});
  s.y = s.r;
  if (!perm_y.empty()) {
    if (!is_permutation(perm_y, s.r.size())) {
      throw InvalidModel(owner + ": perm_y " + ints(perm_y) + " is not a permutation of the result's dims " +
                         shape_to_string(s.r));
    }
    for (size_t j = 0; j < perm_y.size(); ++j) s.y[j] = s.r[static_cast<size_t>(perm_y[j])];
  }
  return s;
}

std::vector<int64_t> compose_perm(const std::vector<int64_t>& first, const std::vector<int64_t>& second) {
  if (first.empty()) return second;
  if (second.empty()) return first;
  std::vector<int64_t> out;
  for (int64_t p : second) out.push_back(first.at(static_cast<size_t>(p)));
  return out;
}

}  // namespace qwac::ir
