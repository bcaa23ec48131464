#include "kernels/dnnl/dnnl_common.h"

#include <algorithm>
#include <limits>
#include <sstream>

#include "qwac/error.h"

namespace qwac::kernels::dnnl_impl {

using dt = dnnl::memory::data_type;

const dnnl::engine& cpu_engine() {
  static const dnnl::engine engine(dnnl::engine::kind::cpu, 0);
  return engine;
}

dnnl::stream& cpu_stream() {
  thread_local dnnl::stream stream(cpu_engine());
  return stream;
}

dnnl::memory::dims to_dims(const Shape& shape) {
  if (shape.empty()) return {1};
  return dnnl::memory::dims(shape.begin(), shape.end());
}

namespace {
dnnl::memory::dims row_major_strides(const dnnl::memory::dims& dims) {
  dnnl::memory::dims strides(dims.size(), 1);
  for (size_t i = dims.size(); i-- > 1;) strides[i - 1] = strides[i] * std::max<int64_t>(dims[i], 1);
  return strides;
}
}  // namespace

dnnl::memory::desc plain_desc(const Shape& shape, dt type) {
  const dnnl::memory::dims dims = to_dims(shape);
  return dnnl::memory::desc(dims, type, row_major_strides(dims));
}

bool is_plain(const dnnl::memory::desc& md) {
  if (md.data.format_kind != dnnl_blocked) return false;
  const auto& blk = md.data.format_desc.blocking;
  if (blk.inner_nblks != 0) return false;
  const dnnl::memory::dims dims = md.dims();
  for (int i = 0; i < md.data.ndims; ++i) {
    if (md.data.padded_dims[i] != md.data.dims[i] || md.data.padded_offsets[i] != 0) return false;
  }
  const dnnl::memory::dims expected = row_major_strides(dims);
  for (size_t i = 0; i < dims.size(); ++i) {
    // A stride of a size-1 dim is irrelevant to the bytes.
    if (dims[i] != 1 && blk.strides[i] != expected[i]) return false;
  }
  return md.data.offset0 == 0;
}

void DnnlFormat::to_plain(const void* src, Tensor& dst) const {
  const dnnl::memory::desc dst_md = plain_desc(dst.shape(), md_.data_type());  // int8 layouts stay int8
  std::lock_guard<std::mutex> lock(mutex_);
  if (!to_plain_) to_plain_ = std::make_unique<dnnl::reorder>(dnnl::reorder::primitive_desc(cpu_engine(), md_,
                                                                                             cpu_engine(), dst_md));
  dnnl::memory src_mem(md_, cpu_engine(), const_cast<void*>(src));
  dnnl::memory dst_mem(dst_md, cpu_engine(), dst.raw());
  dnnl::stream& stream = cpu_stream();
  to_plain_->execute(stream, src_mem, dst_mem);
  stream.wait();
}

std::string DnnlFormat::describe() const {
  std::ostringstream os;
  os << "dnnl(dims ";
  const auto& d = md_.data;
  for (int i = 0; i < d.ndims; ++i) os << (i ? "x" : "") << d.dims[i];
  os << ", strides ";
  for (int i = 0; i < d.ndims; ++i) os << (i ? "," : "") << d.format_desc.blocking.strides[i];
  const auto& blk = d.format_desc.blocking;
  for (int i = 0; i < blk.inner_nblks; ++i) os << ", block " << blk.inner_blks[i] << "@dim" << blk.inner_idxs[i];
  os << ")";
  return os.str();
}

bool DnnlFormat::is_append_of_channel_parts(const std::vector<const BlockedFormat*>& parts) const {
  // With batch 1 and a channel blocking whose block size divides every part's channel count, the channel blocks
  // of the parts are consecutive in memory: [C/b][spatial][b] of part 0, then of part 1, ...
  const auto& d = md_.data;
  if (d.ndims < 2 || d.dims[0] != 1 || d.format_kind != dnnl_blocked) return false;
  size_t total = 0;
  for (const BlockedFormat* p : parts) {
    const auto* f = dynamic_cast<const DnnlFormat*>(p);
    if (f == nullptr) return false;
    const auto& pd = f->md_.data;
    if (pd.ndims != d.ndims || pd.data_type != d.data_type || pd.format_kind != dnnl_blocked) return false;
    for (int i = 0; i < d.ndims; ++i) {
      if (pd.padded_dims[i] != pd.dims[i]) return false;  // padded channels would leave gaps
      if (i != 1 && pd.dims[i] != d.dims[i]) return false;
    }
    const auto& a = pd.format_desc.blocking;
    const auto& b = d.format_desc.blocking;
    if (a.inner_nblks != b.inner_nblks) return false;
    for (int k = 0; k < a.inner_nblks; ++k) {
      if (a.inner_blks[k] != b.inner_blks[k] || a.inner_idxs[k] != b.inner_idxs[k]) return false;
    }
    // Same outer order: the channel-block stride must be the largest (spatial dims inside it).
    for (int i = 2; i < d.ndims; ++i) {
      if (a.strides[1] < a.strides[i] || b.strides[1] < b.strides[i]) return false;
    }
    total += f->nbytes();
  }
  for (int i = 0; i < d.ndims; ++i) {
    if (d.padded_dims[i] != d.dims[i]) return false;
  }
  return total == nbytes();
}

BlockedFormatPtr format_of(const dnnl::memory::desc& md) {
  if (is_plain(md)) return nullptr;
  return std::make_shared<DnnlFormat>(md);
}

bool given_desc(const KernelContext& ctx, size_t i, dnnl::memory::desc& md, std::string& reason) {
  const BlockedFormatPtr& f = i < ctx.input_formats.size() ? ctx.input_formats[i] : nullptr;
  if (!f) {
    md = plain_desc(ctx.inputs.at(i).shape);
    return true;
  }
  const auto* dnnl_format = dynamic_cast<const DnnlFormat*>(f.get());
  if (dnnl_format == nullptr) {
    reason = "input " + std::to_string(i) + " has a non-oneDNN layout " + f->describe();
    return false;
  }
  md = dnnl_format->desc();
  return true;
}

InputAdapter::InputAdapter(const dnnl::memory::desc& given, const dnnl::memory::desc& wanted) {
  given_mem_ = dnnl::memory(given, cpu_engine(), DNNL_MEMORY_NONE);
  if (given == wanted) {
    wanted_mem_ = given_mem_;
    return;
  }
  wanted_mem_ = dnnl::memory(wanted, cpu_engine());  // owned scratch buffer
  reorder_ = std::make_unique<dnnl::reorder>(dnnl::reorder::primitive_desc(cpu_engine(), given, cpu_engine(), wanted));
}

const dnnl::memory& InputAdapter::bind(const void* data, dnnl::stream& stream) {
  given_mem_.set_data_handle(const_cast<void*>(data));
  if (reorder_) reorder_->execute(stream, given_mem_, wanted_mem_);
  return wanted_mem_;
}

dnnl::memory reorder_constant(const void* data, const dnnl::memory::desc& from, const dnnl::memory::desc& to) {
  dnnl::memory src(from, cpu_engine(), const_cast<void*>(data));
  dnnl::memory dst(to, cpu_engine());
  dnnl::stream stream(cpu_engine());
  dnnl::reorder(src, dst).execute(stream, src, dst);
  stream.wait();
  return dst;
}

bool all_float(const KernelContext& ctx, std::initializer_list<size_t> inputs, std::string& reason) {
  for (size_t i : inputs) {
    if (i < ctx.inputs.size() && ctx.inputs[i].present() && ctx.inputs[i].dtype != DType::kFloat32) {
      reason = "input " + std::to_string(i) + " is " + std::string(dtype_name(ctx.inputs[i].dtype)) +
               ", only float is implemented";
      return false;
    }
  }
  for (size_t i = 0; i < ctx.outputs.size(); ++i) {
    if (ctx.outputs[i].dtype != DType::kFloat32 && ctx.outputs[i].dtype != DType::kUndefined) {
      reason = "output " + std::to_string(i) + " is " + std::string(dtype_name(ctx.outputs[i].dtype)) +
               ", only float is implemented";
      return false;
    }
  }
  return true;
}

}  // namespace qwac::kernels::dnnl_impl

namespace qwac::kernels::dnnl_impl {

bool forward_geometry(const ir::Node& node, const std::vector<int64_t>& in_spatial,
                      const std::vector<int64_t>& kernel, SpatialGeometry& g, std::string& reason) {
  const size_t n = in_spatial.size();
  if (kernel.size() != n) {
    reason = "kernel rank " + std::to_string(kernel.size()) + " != spatial rank " + std::to_string(n);
    return false;
  }
  const std::vector<int64_t> strides = node.attrs.get_ints("strides", std::vector<int64_t>(n, 1));
  const std::vector<int64_t> dilations = node.attrs.get_ints("dilations", std::vector<int64_t>(n, 1));
  std::vector<int64_t> pads = node.attrs.get_ints("pads", std::vector<int64_t>(2 * n, 0));
  const std::string auto_pad = node.attrs.get_string("auto_pad", "NOTSET");
  if (strides.size() != n || dilations.size() != n || pads.size() != 2 * n) {
    reason = "strides/dilations/pads lengths do not match spatial rank " + std::to_string(n);
    return false;
  }
  g = SpatialGeometry{};
  for (size_t i = 0; i < n; ++i) {
    const int64_t extent = (kernel[i] - 1) * dilations[i] + 1;
    if (auto_pad == "SAME_UPPER" || auto_pad == "SAME_LOWER") {
      const int64_t out = (in_spatial[i] + strides[i] - 1) / strides[i];
      const int64_t total = std::max<int64_t>(0, (out - 1) * strides[i] + extent - in_spatial[i]);
      const int64_t small = total / 2;
      pads[i] = auto_pad == "SAME_UPPER" ? small : total - small;
      pads[i + n] = total - pads[i];
    } else if (auto_pad == "VALID") {
      pads[i] = pads[i + n] = 0;
    } else if (auto_pad != "NOTSET") {
      reason = "auto_pad '" + auto_pad + "' is not recognized";
      return false;
    }
    if (strides[i] < 1 || dilations[i] < 1 || pads[i] < 0 || pads[i + n] < 0) {
      reason = "non-positive stride/dilation or negative pad";
      return false;
    }
    g.kernel.push_back(kernel[i]);
    g.strides.push_back(strides[i]);
    g.dilations.push_back(dilations[i] - 1);
    g.pad_begin.push_back(pads[i]);
    g.pad_end.push_back(pads[i + n]);
  }
  return true;
}

}  // namespace qwac::kernels::dnnl_impl

namespace qwac::kernels::dnnl_impl {

void PrimitiveKernel::run(const std::vector<Tensor>& inputs, std::vector<Tensor>& outputs) {
  dnnl::stream& stream = cpu_stream();
  for (RuntimeInput& in : runtime_inputs) args[in.arg] = in.adapter.bind(inputs[in.index].raw(), stream);
  bind(dst, outputs[0].raw());
  args[DNNL_ARG_DST] = dst;
  prim.execute(stream, args);
  stream.wait();
}

}  // namespace qwac::kernels::dnnl_impl
