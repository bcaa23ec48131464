// Harness for the oneDNN kernel tests: runs one node through a registry with inputs that may be in a blocked
// (oneDNN) layout, the way the runtime does it, so chains conv -> relu -> pool -> conv can keep the blocked layout
// between kernels; and compares against the reference registry.
//
// Header-only: tests/CMakeLists.txt links only *_test.cc and test_util.cc.
#pragma once

#include <gtest/gtest.h>

#include <cstring>
#include <memory>
#include <string>
#include <vector>

#include "core/tensor.h"
#include "ir/graph.h"
#include "ir/op_schema.h"
#include "kernels/kernel.h"
#include "qwac/error.h"
#include "test_util.h"

namespace qwac::testing {

// A tensor in some layout: `view` has the logical shape; its bytes follow `format` (nullptr = plain).
struct Blob {
  Tensor view;
  std::shared_ptr<std::byte> storage;  // owns the bytes when the layout is blocked
  kernels::BlockedFormatPtr format;
  bool constant = false;  // fed to the factory as a compile-time value (plain layout only)

  static Blob plain(const Tensor& t, bool is_constant = false) { return Blob{t, nullptr, nullptr, is_constant}; }
  static Blob absent() { return Blob{}; }
  bool blocked() const { return format != nullptr; }
  Tensor to_plain() const {
    if (!format) return view;
    Tensor out(view.dtype(), view.shape());
    format->to_plain(view.raw(), out);
    return out;
  }
};

struct NodeRun {
  std::vector<Blob> outputs;
  std::string impl;
  std::vector<std::string> declines;
};

// Builds a one-node graph, infers shapes, selects from `registry` handing blocked formats only to defs accepting
// them (converting to plain for the others, as the runtime does), allocates outputs in the kernel's layout, runs.
inline NodeRun run_node(const std::string& op_type, const ir::Attributes& attrs, const std::vector<Blob>& inputs,
                        int64_t opset, const kernels::KernelRegistry& registry, const std::string& domain = "",
                        size_t num_outputs = 1) {
  ir::Graph graph;
  std::vector<ir::Value*> in_values;
  std::vector<ir::TensorInfo> infos;
  std::vector<kernels::BlockedFormatPtr> formats;
  for (size_t i = 0; i < inputs.size(); ++i) {
    const Blob& b = inputs[i];
    if (b.view.empty()) {
      in_values.push_back(nullptr);
      infos.push_back({});
      formats.push_back(nullptr);
      continue;
    }
    ir::Value* v = nullptr;
    if (b.constant) {
      v = graph.add_constant("in" + std::to_string(i), b.to_plain());
    } else {
      v = graph.add_value("in" + std::to_string(i));
      graph.add_input(v);
    }
    v->type.dtype = b.view.dtype();
    infos.push_back({b.view.dtype(), b.view.shape(), b.constant ? &*v->constant : nullptr});
    formats.push_back(b.format);
    in_values.push_back(v);
  }
  std::vector<ir::Value*> outs;
  for (size_t i = 0; i < num_outputs; ++i) outs.push_back(graph.add_value("out" + std::to_string(i)));
  ir::Node* node = graph.add_node(op_type, in_values, outs, "node", domain);
  node->attrs = attrs;
  std::vector<ir::OutputInfo> out_infos = ir::infer_node(*node, opset, infos);
  out_infos.resize(num_outputs);

  bool chosen_accepts_blocked = false;
  kernels::KernelSelection sel = registry.select(op_type, domain, opset, [&](const kernels::KernelDef& def) {
    chosen_accepts_blocked = def.accepts_blocked_inputs;
    kernels::KernelContext ctx{*node, opset, infos, out_infos, {}, 1};
    for (const auto& f : formats) ctx.input_formats.push_back(def.accepts_blocked_inputs ? f : nullptr);
    return ctx;
  });
  if (!sel.kernel) {
    std::string why;
    for (const std::string& d : sel.declines) why += d + "; ";
    throw UnsupportedOp(node->describe() + ": every kernel declined: " + why);
  }
  std::vector<Tensor> run_inputs;
  for (const Blob& b : inputs) run_inputs.push_back(chosen_accepts_blocked ? b.view : b.to_plain());
  NodeRun result{{}, sel.impl, sel.declines};
  std::vector<Tensor> run_outputs;
  for (size_t i = 0; i < num_outputs; ++i) {
    Blob out;
    out.format = sel.kernel->output_format(i);
    if (out.format) {
      out.storage = allocate_aligned(out.format->nbytes());
      // Poison the buffer so a kernel relying on zero-filled memory is caught.
      std::memset(out.storage.get(), 0x7f, out.format->nbytes());
      out.view = Tensor::view(out_infos[i].dtype, out_infos[i].shape, out.storage.get());
    } else {
      out.view = Tensor(out_infos[i].dtype, out_infos[i].shape);
    }
    run_outputs.push_back(out.view);
    result.outputs.push_back(out);
  }
  sel.kernel->run(run_inputs, run_outputs);
  return result;
}

// Convenience: plain inputs, first output, plain result.
inline Tensor run_plain(const std::string& op_type, const ir::Attributes& attrs, const std::vector<Blob>& inputs,
                        int64_t opset, const kernels::KernelRegistry& registry, std::string* impl = nullptr,
                        const std::string& domain = "") {
  NodeRun r = run_node(op_type, attrs, inputs, opset, registry, domain);
  if (impl != nullptr) *impl = r.impl;
  return r.outputs.at(0).to_plain();
}

inline std::string describe_attrs(const ir::Attributes& attrs) {
  std::string s;
  for (const auto& [name, value] : attrs.all()) {
    s += name + "=";
    std::visit(
        [&](const auto& v) {
          using V = std::decay_t<decltype(v)>;
          if constexpr (std::is_same_v<V, int64_t> || std::is_same_v<V, float>) {
            s += std::to_string(v);
          } else if constexpr (std::is_same_v<V, std::string>) {
            s += v;
          } else if constexpr (std::is_same_v<V, std::vector<int64_t>> || std::is_same_v<V, std::vector<float>>) {
            s += "[";
            for (size_t i = 0; i < v.size(); ++i) {
              if (i) s += ",";
              s += std::to_string(v[i]);
            }
            s += "]";
          } else {
            s += "?";
          }
        },
        value);
    s += " ";
  }
  return s;
}

constexpr double kDnnlRtol = 1e-4;
constexpr double kDnnlAtol = 1e-4;

}  // namespace qwac::testing
