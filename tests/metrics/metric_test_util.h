// Small builders for metric tests: model outputs and annotations from literal values.
#pragma once

#include <initializer_list>
#include <string>
#include <utility>
#include <vector>

#include "core/tensor.h"
#include "qwac/metric.h"

namespace qwac::testing {

inline Tensor float_tensor(const Shape& shape, const std::vector<float>& values) {
  EXPECT_EQ(shape_numel(shape), static_cast<int64_t>(values.size())) << "test bug: shape " << shape_to_string(shape);
  return Tensor::from_values(shape, values.data());
}

inline Tensor int64_tensor(const Shape& shape, const std::vector<int64_t>& values) {
  EXPECT_EQ(shape_numel(shape), static_cast<int64_t>(values.size())) << "test bug: shape " << shape_to_string(shape);
  return Tensor::from_values(shape, values.data());
}

inline ModelOutputs outputs_of(std::vector<std::pair<std::string, Tensor>> named) {
  ModelOutputs out;
  for (auto& [name, t] : named) {
    out.names.push_back(name);
    out.tensors.push_back(t);
  }
  return out;
}

inline std::vector<Annotation> labels_of(std::initializer_list<int64_t> labels) {
  std::vector<Annotation> out;
  for (int64_t l : labels) {
    Annotation a;
    a.label = l;
    out.push_back(a);
  }
  return out;
}

// Runs `fn` and returns the message of the exception of type E it throws ("" and a test failure if none).
template <typename E, typename Fn>
std::string error_message(Fn&& fn) {
  try {
    fn();
  } catch (const E& e) {
    return e.what();
  } catch (const std::exception& e) {
    ADD_FAILURE() << "wrong exception type: " << e.what();
    return "";
  }
  ADD_FAILURE() << "no exception thrown";
  return "";
}

}  // namespace qwac::testing
