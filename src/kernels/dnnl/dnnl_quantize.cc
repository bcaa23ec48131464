// QuantizeLinear (per-tensor, float -> uint8/int8) of a float tensor that arrives in a oneDNN layout (a float
// FusedConv's nChw16c): one reorder into channels-last floats, then the vectorized loop bit-exact with the reference
// (kernels/vec/vec_quantize_span.h: a division, not oneDNN's multiplication by the reciprocal), and the result in
// the channels-last layout the int8 convolutions and QAdd read. Without it the runtime converted the blocked float
// tensor to plain, quantized it to plain integers, and every int8 reader reordered those into nhwc again (three
// passes over the stem's 16 x 112 x 112 output in MobileNetV3-Large, before its first residual QAdd). Plain inputs
// are left to the vectorized kernel (declined here).
#include <algorithm>
#include <cstdint>

#include "kernels/dnnl/dnnl_common.h"
#include "kernels/dnnl/dnnl_families.h"
#include "kernels/vec/vec_quantize_span.h"

namespace qwac::kernels::dnnl_impl {
namespace {

using tag = dnnl::memory::format_tag;
using dt = dnnl::memory::data_type;

constexpr int64_t kChunk = 16384;                // elements per parallel task
constexpr int64_t kParallelMinWork = 1 << 15;  // below this one thread does it

// nwc / nhwc / ndhwc for ranks 3 / 4 / 5.
bool channels_last_tag(size_t rank, tag& t) {
  switch (rank) {
    case 3:
      t = tag::nwc;
      return true;
    case 4:
      t = tag::nhwc;
      return true;
    case 5:
      t = tag::ndhwc;
      return true;
    default:
      return false;
  }
}

class QuantizeFromBlockedKernel final : public Kernel {
 public:
  static std::unique_ptr<Kernel> create(const KernelContext& ctx, std::string& reason);

  void run(const std::vector<Tensor>& inputs, std::vector<Tensor>& outputs) override {
    dnnl::stream& stream = cpu_stream();
    bind(given_, inputs[0].raw());
    to_channels_last_.execute(stream, given_, channels_last_);
    stream.wait();
    const float* x = static_cast<const float*>(channels_last_.get_data_handle());
    if (signed_) {
      quantize(x, static_cast<int8_t*>(outputs[0].raw()));
    } else {
      quantize(x, static_cast<uint8_t*>(outputs[0].raw()));
    }
  }

  BlockedFormatPtr output_format(size_t) const override { return out_format_; }

 private:
  template <typename Q>
  void quantize(const float* x, Q* y) const {
    const int64_t n = numel_, tasks = (n + kChunk - 1) / kChunk;
    const float scale = scale_, zp = zp_;
    const int threads = n >= kParallelMinWork ? threads_ : 1;
#pragma omp parallel for schedule(static) num_threads(threads) if (threads > 1)
    for (int64_t t = 0; t < tasks; ++t) {
      const int64_t begin = t * kChunk;
      vec::quantize_run<Q>(x + begin, y + begin, std::min(kChunk, n - begin), scale, zp);
    }
  }

  dnnl::reorder to_channels_last_;
  dnnl::memory given_, channels_last_;  // the input as given (bound each run); the owned float scratch
  int64_t numel_ = 0;
  float scale_ = 1.f, zp_ = 0.f;
  bool signed_ = false;
  int threads_ = 1;
  BlockedFormatPtr out_format_;
};

std::unique_ptr<Kernel> QuantizeFromBlockedKernel::create(const KernelContext& ctx, std::string& reason) {
  for (const char* attr : {"block_size", "output_dtype", "axis"}) {
    if (ctx.node.attrs.has(attr)) {
      reason = std::string("attribute ") + attr + " is not implemented";
      return nullptr;
    }
  }
  if (ctx.input_formats.empty() || !ctx.input_formats[0]) {
    reason = "the input is plain (the vectorized kernel quantizes plain tensors)";
    return nullptr;
  }
  for (size_t i = 1; i < ctx.input_formats.size(); ++i) {
    if (ctx.input_formats[i]) {
      reason = "scale and zero point must be plain tensors";
      return nullptr;
    }
  }
  const ir::TensorInfo& x = ctx.inputs.at(0);
  if (x.dtype != DType::kFloat32) {
    reason = "input is " + std::string(dtype_name(x.dtype)) + ", expected float";
    return nullptr;
  }
  tag cl;
  if (!channels_last_tag(x.shape.size(), cl)) {
    reason = "rank " + std::to_string(x.shape.size()) + " has no channels-last layout";
    return nullptr;
  }
  const ir::TensorInfo& scale = ctx.inputs.at(1);
  if (scale.value == nullptr || scale.dtype != DType::kFloat32 || shape_numel(scale.shape) != 1) {
    reason = "scale is not a constant float scalar (per-axis quantization is not implemented here)";
    return nullptr;
  }
  const bool has_zp = ctx.inputs.size() > 2 && ctx.inputs[2].present();
  if (has_zp && (ctx.inputs[2].value == nullptr || shape_numel(ctx.inputs[2].shape) != 1)) {
    reason = "zero point is not a constant scalar";
    return nullptr;
  }
  const DType y_type = ctx.outputs.at(0).dtype;
  if (y_type != DType::kUInt8 && y_type != DType::kInt8) {
    reason = "output is " + std::string(dtype_name(y_type)) + ", only uint8 and int8 are implemented";
    return nullptr;
  }
  auto k = std::make_unique<QuantizeFromBlockedKernel>();
  k->signed_ = y_type == DType::kInt8;
  k->scale_ = scale.value->data<float>()[0];
  k->zp_ = !has_zp ? 0.f
           : k->signed_ ? static_cast<float>(ctx.inputs[2].value->data<int8_t>()[0])
                        : static_cast<float>(ctx.inputs[2].value->data<uint8_t>()[0]);
  k->numel_ = shape_numel(x.shape);
  k->threads_ = std::max(1, ctx.num_threads);
  dnnl::memory::desc given_md;
  if (!given_desc(ctx, 0, given_md, reason)) return nullptr;
  const dnnl::memory::desc float_cl(to_dims(x.shape), dt::f32, cl);
  dnnl::reorder::primitive_desc pd;
  if (!try_create([&] { pd = dnnl::reorder::primitive_desc(cpu_engine(), given_md, cpu_engine(), float_cl); }, reason,
                  "reorder to channels-last")) {
    return nullptr;
  }
  k->to_channels_last_ = dnnl::reorder(pd);
  k->given_ = dnnl::memory(given_md, cpu_engine(), DNNL_MEMORY_NONE);
  k->channels_last_ = dnnl::memory(float_cl, cpu_engine());  // owned buffer
  k->out_format_ = format_of(dnnl::memory::desc(to_dims(x.shape), k->signed_ ? dt::s8 : dt::u8, cl));
  return k;
}

}  // namespace

void register_quantize_kernels(KernelRegistry& registry) {
  registry.add(KernelDef{"QuantizeLinear", "", 10, INT_MAX, "dnnl", true, &QuantizeFromBlockedKernel::create});
}

}  // namespace qwac::kernels::dnnl_impl
