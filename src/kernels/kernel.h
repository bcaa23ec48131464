// The kernel interface and the registry that picks an implementation per node.
//
// Lifecycle (as in XNNPACK): a factory sees everything known at compile time (node, opset, input/output dtypes
// and concrete shapes, constant input values, input memory formats) and either returns a ready Kernel — with
// weights packed and primitives created — or declines with a reason. run() only computes.
#pragma once

#include <climits>
#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "core/tensor.h"
#include "ir/graph.h"
#include "ir/op_schema.h"

namespace qwac::kernels {

// A non-plain (blocked, implementation-chosen) memory layout of a tensor, e.g. oneDNN's nChw16c. Tensors in such
// a layout live only between kernels that accept it; the runtime converts to plain row-major at every other
// border (reference kernels, graph outputs, taps).
class BlockedFormat {
 public:
  virtual ~BlockedFormat() = default;
  virtual size_t nbytes() const = 0;  // bytes a buffer in this layout needs
  // Converts `src` (in this layout) into the plain row-major tensor `dst` (preallocated, logical shape).
  virtual void to_plain(const void* src, Tensor& dst) const = 0;
  virtual std::string describe() const = 0;
  // True when a tensor in this layout that is the concatenation of `parts` (in order) along dim 1 holds exactly
  // the parts' bytes one after another, so producers can write straight into it (the runtime's in-place concat).
  virtual bool is_append_of_channel_parts(const std::vector<const BlockedFormat*>& /*parts*/) const { return false; }
};
using BlockedFormatPtr = std::shared_ptr<const BlockedFormat>;

struct KernelContext {
  const ir::Node& node;
  int64_t opset = 0;
  std::vector<ir::TensorInfo> inputs;     // omitted optional inputs have dtype kUndefined
  std::vector<ir::OutputInfo> outputs;    // inferred dtypes and shapes
  std::vector<BlockedFormatPtr> input_formats;  // nullptr = plain; only non-null for defs accepting blocked input
  int num_threads = 1;
};

class Kernel {
 public:
  virtual ~Kernel() = default;
  // inputs[i] is an empty Tensor for an omitted optional input. Outputs are preallocated with the inferred
  // dtype/shape (in output_format(i) layout when that is non-null). Tensors in a blocked format are views whose
  // shape is the logical shape; the kernel interprets the bytes with the format it was created with.
  virtual void run(const std::vector<Tensor>& inputs, std::vector<Tensor>& outputs) = 0;
  // Layout of output i; nullptr = plain row-major.
  virtual BlockedFormatPtr output_format(size_t /*i*/) const { return nullptr; }
};

// Returns a kernel, or nullptr after setting `decline_reason` ("grouped ConvTranspose not supported by oneDNN").
using KernelFactory = std::function<std::unique_ptr<Kernel>(const KernelContext&, std::string& decline_reason)>;

struct KernelDef {
  std::string op_type;
  std::string domain;  // "" = ONNX default domain
  int64_t since_version = 1;
  int64_t until_version = INT_MAX;  // inclusive
  std::string impl;                 // "ref", "dnnl", ... (shown in plans and reports)
  bool accepts_blocked_inputs = false;
  KernelFactory create;
};

struct KernelSelection {
  std::unique_ptr<Kernel> kernel;  // nullptr when every candidate declined
  std::string impl;
  std::vector<std::string> declines;  // "dnnl: <reason>" for each candidate that declined before the chosen one
};

class KernelRegistry {
 public:
  // Candidates are tried in the order they were added for a given op: add optimized kernels first.
  void add(KernelDef def);
  // Candidates matching (op, domain, opset), in order.
  std::vector<const KernelDef*> candidates(const std::string& op_type, const std::string& domain,
                                           int64_t opset) const;
  bool supports(const std::string& op_type, const std::string& domain, int64_t opset) const {
    return !candidates(op_type, domain, opset).empty();
  }
  // Tries the candidates in order. `make_context` builds the context for a candidate (the runtime passes plain
  // input formats to candidates that do not accept blocked ones).
  KernelSelection select(const std::string& op_type, const std::string& domain, int64_t opset,
                         const std::function<KernelContext(const KernelDef&)>& make_context) const;

 private:
  std::vector<KernelDef> defs_;
};

// Explicit registration lists (no self-registering globals a static link could drop).
void register_reference_kernels(KernelRegistry& registry);  // kernels/ref/: every supported op
void register_dnnl_kernels(KernelRegistry& registry);       // kernels/dnnl/: the heavy ops

// Reference kernels only: the oracle in tests.
const KernelRegistry& reference_kernel_registry();
// oneDNN kernels first, reference kernels as fallback: what the engine uses by default.
const KernelRegistry& default_kernel_registry();

}  // namespace qwac::kernels
