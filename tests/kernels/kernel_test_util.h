// Running one ONNX node through shape inference and a kernel, for kernel unit tests of every op family.
//
// Header-only on purpose: tests/CMakeLists.txt globs only *_test.cc (plus test_util.cc) into the test binaries,
// so a separate .cc would not be linked.
//
// Typical use:
//   ir::Attributes attrs;
//   attrs.set("alpha", 0.1f);
//   auto out = run_single_node("LeakyRelu", attrs, {make_tensor<float>({2}, {-1.f, 2.f})}, 16);
//   expect_tensor_eq(out[0], make_tensor<float>({2}, {-0.1f, 2.f}));
// With a constant input (known to shape inference and to the kernel factory):
//   run_single_node("Reshape", {}, {x, make_tensor<int64_t>({2}, {3, -1})}, 14, reference_kernel_registry(), 1,
//                   SingleNodeOptions::constants({1}));
#pragma once

#include <gtest/gtest.h>

#include <cstdint>
#include <initializer_list>
#include <memory>
#include <sstream>
#include <string>
#include <vector>

#include "core/tensor.h"
#include "ir/graph.h"
#include "ir/op_schema.h"
#include "kernels/kernel.h"
#include "qwac/error.h"
#include "test_util.h"

namespace qwac::testing {

// Whether the kernel factory sees input values (as for initializers) or only dtypes/shapes (as for graph inputs).
enum class InputKind : uint8_t {
  kConstant,  // value known at compile time (ir::TensorInfo::value set; graph value is an initializer)
  kRuntime,   // only dtype and shape known at compile time
};

struct SingleNodeOptions {
  std::string domain;                 // "" = ONNX default domain
  std::string node_name = "node";     // shows up in error messages
  // Per-input kind; inputs beyond the vector's size use `default_kind`.
  std::vector<InputKind> input_kinds;
  InputKind default_kind = InputKind::kRuntime;
  int num_threads = 1;
  // Optional: receives the implementation that ran ("ref", "dnnl", ...).
  std::string* chosen_impl = nullptr;

  // Options where every input's value is known at compile time (e.g. Reshape's shape, Conv's weights).
  static SingleNodeOptions all_constant() {
    SingleNodeOptions o;
    o.default_kind = InputKind::kConstant;
    return o;
  }
  // Options where only the listed inputs are constants.
  static SingleNodeOptions constants(std::initializer_list<size_t> indices) {
    SingleNodeOptions o;
    for (size_t i : indices) {
      if (o.input_kinds.size() <= i) o.input_kinds.resize(i + 1, InputKind::kRuntime);
      o.input_kinds[i] = InputKind::kConstant;
    }
    return o;
  }
};

// Builds a one-node graph, infers output dtypes/shapes with ir::infer_node, selects a kernel from `registry`,
// allocates the outputs, runs the kernel and returns the outputs. An empty Tensor in `inputs` is an omitted
// optional input. Exceptions from inference (InvalidModel, ...) propagate; when every kernel candidate declines,
// throws UnsupportedOp listing their reasons.
inline std::vector<Tensor> run_single_node(const std::string& op_type, const ir::Attributes& attrs,
                                           const std::vector<Tensor>& inputs, int64_t opset,
                                           const kernels::KernelRegistry& registry, size_t num_outputs,
                                           const SingleNodeOptions& options) {
  ir::Graph graph;
  std::vector<ir::Value*> in_values;
  std::vector<ir::TensorInfo> infos;
  for (size_t i = 0; i < inputs.size(); ++i) {
    const Tensor& t = inputs[i];
    if (t.empty()) {
      in_values.push_back(nullptr);
      infos.push_back(ir::TensorInfo{});
      continue;
    }
    const InputKind kind = i < options.input_kinds.size() ? options.input_kinds[i] : options.default_kind;
    const std::string name = "input" + std::to_string(i);
    ir::Value* v = nullptr;
    if (kind == InputKind::kConstant) {
      v = graph.add_constant(name, t);
    } else {
      v = graph.add_value(name);
      graph.add_input(v);
    }
    v->type.dtype = t.dtype();
    ir::SymbolicShape sym;
    for (int64_t d : t.shape()) sym.push_back(ir::Dim{d, ""});
    v->type.shape = sym;
    in_values.push_back(v);
    infos.push_back(ir::TensorInfo{t.dtype(), t.shape(), kind == InputKind::kConstant ? &*v->constant : nullptr});
  }
  std::vector<ir::Value*> out_values;
  for (size_t i = 0; i < num_outputs; ++i) out_values.push_back(graph.add_value("output" + std::to_string(i)));
  ir::Node* node = graph.add_node(op_type, in_values, out_values, options.node_name, options.domain);
  node->attrs = attrs;
  for (ir::Value* v : out_values) graph.add_output(v);

  std::vector<ir::OutputInfo> out_infos = ir::infer_node(*node, opset, infos);
  out_infos.resize(num_outputs);
  for (size_t i = 0; i < num_outputs; ++i) {
    if (out_infos[i].dtype == DType::kUndefined) {
      throw InvalidModel(node->describe() + ": shape inference did not describe output " + std::to_string(i));
    }
  }

  kernels::KernelSelection sel =
      registry.select(op_type, options.domain, opset, [&](const kernels::KernelDef&) {
        kernels::KernelContext ctx{*node, opset, infos, out_infos, {}, options.num_threads};
        ctx.input_formats.assign(infos.size(), nullptr);
        return ctx;
      });
  if (!sel.kernel) {
    std::string why;
    for (const std::string& d : sel.declines) why += (why.empty() ? "" : "; ") + d;
    throw UnsupportedOp(node->describe() + ": no kernel for opset " + std::to_string(opset) +
                        (why.empty() ? std::string(" (no candidate registered)") : " (" + why + ")"));
  }
  if (options.chosen_impl != nullptr) *options.chosen_impl = sel.impl;

  std::vector<Tensor> outputs;
  for (const ir::OutputInfo& o : out_infos) outputs.emplace_back(o.dtype, o.shape);
  sel.kernel->run(inputs, outputs);
  return outputs;
}

// Reference registry, one output, runtime (non-constant) inputs.
inline std::vector<Tensor> run_single_node(const std::string& op_type, const ir::Attributes& attrs,
                                           const std::vector<Tensor>& inputs, int64_t opset,
                                           const kernels::KernelRegistry& registry = kernels::reference_kernel_registry(),
                                           size_t num_outputs = 1) {
  return run_single_node(op_type, attrs, inputs, opset, registry, num_outputs, SingleNodeOptions{});
}

// A tensor from a shape and values listed in row-major order (count must match the shape).
template <typename T>
Tensor make_tensor(const Shape& shape, std::initializer_list<T> values) {
  if (static_cast<int64_t>(values.size()) != shape_numel(shape)) {
    throw InternalError("make_tensor: " + std::to_string(values.size()) + " values for shape " +
                        shape_to_string(shape));
  }
  return Tensor::from_values<T>(shape, std::data(values));
}
template <typename T>
Tensor make_tensor(const Shape& shape, const std::vector<T>& values) {
  if (static_cast<int64_t>(values.size()) != shape_numel(shape)) {
    throw InternalError("make_tensor: " + std::to_string(values.size()) + " values for shape " +
                        shape_to_string(shape));
  }
  Tensor t(kDTypeOf<T>, shape);
  for (size_t i = 0; i < values.size(); ++i) t.data<T>()[i] = values[i];
  return t;
}
// A rank-0 tensor holding one value.
template <typename T>
Tensor make_scalar(T value) {
  return Tensor::from_values<T>({}, &value);
}

// Element values as a vector (for EXPECT_EQ with readable failure output).
template <typename T>
std::vector<T> tensor_values(const Tensor& t) {
  const T* p = t.data<T>();
  return std::vector<T>(p, p + t.numel());
}

// Exact comparison of dtype, shape and every element (NaN equals NaN, +0 equals -0); returns "" when equal,
// else a description of the first difference.
inline std::string compare_tensors_exact(const Tensor& actual, const Tensor& expected) {
  if (actual.dtype() != expected.dtype()) {
    return "dtype " + std::string(dtype_name(actual.dtype())) + " != expected " +
           std::string(dtype_name(expected.dtype()));
  }
  if (actual.shape() != expected.shape()) {
    return "shape " + shape_to_string(actual.shape()) + " != expected " + shape_to_string(expected.shape());
  }
  std::string diff;
  dispatch_dtype(actual.dtype(), [&](auto tag) {
    using T = decltype(tag);
    const T* a = actual.data<T>();
    const T* e = expected.data<T>();
    for (int64_t i = 0; i < actual.numel() && diff.empty(); ++i) {
      const bool both_nan = a[i] != a[i] && e[i] != e[i];
      if (a[i] != e[i] && !both_nan) {
        std::ostringstream os;
        os.precision(9);
        os << "element " << i << ": got " << +a[i] << ", expected " << +e[i];
        diff = os.str();
      }
    }
  });
  return diff;
}

inline void expect_tensor_eq(const Tensor& actual, const Tensor& expected, const std::string& what = "") {
  EXPECT_EQ(compare_tensors_exact(actual, expected), "") << what << " actual " << actual.describe() << " expected "
                                                         << expected.describe();
}

// Tolerance comparison (ONNX backend tests use rtol 1e-3, atol 1e-7).
inline void expect_tensor_near(const Tensor& actual, const Tensor& expected, double rtol = 1e-5, double atol = 1e-6,
                               const std::string& what = "") {
  EXPECT_EQ(compare_tensors(actual, expected, rtol, atol), "") << what << " actual " << actual.describe()
                                                               << " expected " << expected.describe();
}

}  // namespace qwac::testing
