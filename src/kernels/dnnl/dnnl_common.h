// Shared oneDNN plumbing for the dnnl kernels: the CPU engine and stream, conversions between qwac shapes and
// oneDNN descriptors, the BlockedFormat that carries a oneDNN layout between kernels, and an input adapter that
// reorders an input into the layout a primitive wants when the producer gave another one.
#pragma once

#include <memory>
#include <mutex>
#include <string>
#include <unordered_map>
#include <vector>

#include <oneapi/dnnl/dnnl.hpp>

#include "kernels/kernel.h"

namespace qwac::kernels::dnnl_impl {

// The process-wide CPU engine. oneDNN engines are thread safe.
const dnnl::engine& cpu_engine();
// An in-order CPU stream for the calling thread (streams are not meant to be shared between threads; several
// Engines may run concurrently in the accuracy search).
dnnl::stream& cpu_stream();

dnnl::memory::dims to_dims(const Shape& shape);
// Row-major (plain) f32 descriptor of `shape` (a rank-0 shape becomes [1]).
dnnl::memory::desc plain_desc(const Shape& shape, dnnl::memory::data_type dt = dnnl::memory::data_type::f32);
// Same bytes as the plain layout of `md`'s dims? (true for any dense row-major descriptor).
bool is_plain(const dnnl::memory::desc& md);

// A oneDNN-chosen layout (nChw8c, ...) of one tensor. Immutable after construction except for a lazily created
// reorder to plain, guarded by a mutex (taps may convert from several threads).
class DnnlFormat final : public BlockedFormat {
 public:
  explicit DnnlFormat(dnnl::memory::desc md) : md_(std::move(md)) {}
  size_t nbytes() const override { return md_.get_size(); }
  void to_plain(const void* src, Tensor& dst) const override;
  std::string describe() const override;
  bool is_append_of_channel_parts(const std::vector<const BlockedFormat*>& parts) const override;
  const dnnl::memory::desc& desc() const { return md_; }

 private:
  dnnl::memory::desc md_;
  mutable std::mutex mutex_;
  mutable std::unique_ptr<dnnl::reorder> to_plain_;
};

// The format a kernel reports for an output of descriptor `md`: nullptr when `md` is plain row-major.
BlockedFormatPtr format_of(const dnnl::memory::desc& md);

// The oneDNN descriptor of input `i` as the runtime will deliver it: the producer's DnnlFormat, or plain.
// Returns false (and sets `reason`) for a blocked format that is not a oneDNN one.
bool given_desc(const KernelContext& ctx, size_t i, dnnl::memory::desc& md, std::string& reason);

// Delivers an input to a primitive in the layout it wants. When the given layout already matches, run() binds the
// caller's buffer; otherwise a reorder created at compile time writes into a buffer this adapter owns.
class InputAdapter {
 public:
  InputAdapter() = default;
  InputAdapter(const dnnl::memory::desc& given, const dnnl::memory::desc& wanted);
  // A memory in the wanted layout holding `data` (interpreted in the given layout).
  const dnnl::memory& bind(const void* data, dnnl::stream& stream);
  bool reorders() const { return reorder_ != nullptr; }

 private:
  dnnl::memory given_mem_;
  dnnl::memory wanted_mem_;
  std::unique_ptr<dnnl::reorder> reorder_;
};

// Reorders constant data (weights) of layout `from` into a new memory of layout `to`, once, at compile time.
dnnl::memory reorder_constant(const void* data, const dnnl::memory::desc& from, const dnnl::memory::desc& to);

// Binds `data` to a memory created once (set_data_handle each run avoids re-creating memory objects).
inline void bind(dnnl::memory& mem, const void* data) { mem.set_data_handle(const_cast<void*>(data)); }

// Builds a primitive descriptor, turning oneDNN's "unimplemented" into a decline with a reason.
template <typename Fn>
bool try_create(Fn&& fn, std::string& reason, const std::string& what) {
  try {
    fn();
    return true;
  } catch (const dnnl::error& e) {
    reason = "oneDNN has no " + what + " for this case (" + e.what() + ")";
    return false;
  }
}

// Spatial geometry of a Conv/ConvTranspose/pooling node, resolved from attributes and concrete shapes.
struct SpatialGeometry {
  dnnl::memory::dims kernel, strides, dilations, pad_begin, pad_end;  // dilations in oneDNN terms (onnx - 1)
};
// Resolves kernel_shape/strides/dilations/pads/auto_pad for forward windows (Conv, pooling) over `in_spatial`.
// Returns false with a reason when the attributes are inconsistent with the shapes.
bool forward_geometry(const ir::Node& node, const std::vector<int64_t>& in_spatial,
                      const std::vector<int64_t>& kernel, SpatialGeometry& g, std::string& reason);

// A kernel that executes one primitive: run() binds each runtime input (through its adapter) and the output,
// everything else (constant args such as packed weights) was bound at creation.
class PrimitiveKernel final : public Kernel {
 public:
  struct RuntimeInput {
    int arg;       // DNNL_ARG_*
    size_t index;  // node input index
    InputAdapter adapter;
  };
  void run(const std::vector<Tensor>& inputs, std::vector<Tensor>& outputs) override;
  BlockedFormatPtr output_format(size_t) const override { return out_format; }

  dnnl::primitive prim;
  std::vector<RuntimeInput> runtime_inputs;
  std::unordered_map<int, dnnl::memory> args;  // constant args; runtime ones are overwritten each run
  dnnl::memory dst;                            // created with DNNL_MEMORY_NONE, bound each run
  BlockedFormatPtr out_format;
};

// True when the f32 dtype requirement holds for the listed inputs and every output.
bool all_float(const KernelContext& ctx, std::initializer_list<size_t> inputs, std::string& reason);

}  // namespace qwac::kernels::dnnl_impl
