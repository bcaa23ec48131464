// Shared by the ref_nn_*_test.cc files: attribute building and tiny tensor helpers.
#pragma once

#include <initializer_list>
#include <string>
#include <utility>
#include <vector>

#include "ir/attribute.h"
#include "kernels/kernel_test_util.h"

namespace qwac::testing::nn {

using Ints = std::vector<int64_t>;
using Floats = std::vector<float>;

inline ir::Attributes attrs(std::initializer_list<std::pair<std::string, ir::AttributeValue>> list) {
  ir::Attributes a;
  for (const auto& [name, value] : list) a.set(name, value);
  return a;
}

inline Tensor f32(const Shape& shape, const std::vector<float>& values) { return make_tensor<float>(shape, values); }

// 0, 1, 2, ... in the given shape.
inline Tensor iota_f32(const Shape& shape) {
  std::vector<float> v(static_cast<size_t>(shape_numel(shape)));
  for (size_t i = 0; i < v.size(); ++i) v[i] = static_cast<float>(i);
  return f32(shape, v);
}

// Runs a reference kernel with `num_outputs` outputs and more threads than one, so the OpenMP paths run too.
inline std::vector<Tensor> run_ref(const std::string& op, const ir::Attributes& a, const std::vector<Tensor>& inputs,
                                   int64_t opset, size_t num_outputs = 1) {
  SingleNodeOptions options;
  options.num_threads = 2;
  return run_single_node(op, a, inputs, opset, kernels::reference_kernel_registry(), num_outputs, options);
}

}  // namespace qwac::testing::nn
