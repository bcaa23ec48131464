// QGemm (com.qwac, ir/fused_ops.h) on oneDNN's int8 matmul: u8/s8 source [M, K] (the leading dims of X flattened),
// s8 weights [K, N] packed once, s32 accumulation, and the requantization as attributes, as in QConv:
//   dst = saturate(round(act(s_x * s_w[n] * (acc + bias'[n])) / s_y + zp_y))
// with the activation in the real domain (kernels/dnnl/dnnl_activation.h), s_y = 1 for a float output, the source
// zero point as a oneDNN zero-point attribute and the bias in accumulator units bias'[n] = B[n] / (s_x * s_w[n]). A float X is quantized by the kernel first with QuantizeLinear's exact arithmetic (division, round half to
// even). Like QConv, this is the float simulation up to float rounding of the requantization.
#include <algorithm>
#include <cmath>
#include <limits>
#include <unordered_map>

#include "ir/fused_ops.h"
#include "kernels/dnnl/dnnl_common.h"
#include "kernels/dnnl/dnnl_families.h"
#include "kernels/dnnl/dnnl_requantize.h"

namespace qwac::kernels::dnnl_impl {
namespace {

using In = ir::QGemmInputs;
using dt = dnnl::memory::data_type;
using tag = dnnl::memory::format_tag;

constexpr float kRoundMagic = 12582912.f;  // 1.5 * 2^23: (v + M) - M rounds |v| < 2^22 half to even
constexpr int64_t kChunk = 16384;

// QuantizeLinear of a float span: saturate(nearbyint(x / scale) + zp), the rounding done after clamping to the
// range (exact, since the bounds are integers) so that the loop vectorizes.
template <typename Q>
void quantize_span(const float* x, Q* y, int64_t n, float scale, int32_t zp) {
  const float lo = static_cast<float>(std::numeric_limits<Q>::min() - zp);
  const float hi = static_cast<float>(std::numeric_limits<Q>::max() - zp);
  for (int64_t i = 0; i < n; ++i) {
    float v = x[i] / scale;
    v = std::isnan(v) ? 0.f : std::min(std::max(v, lo), hi);
    v = (v + kRoundMagic) - kRoundMagic;
    y[i] = static_cast<Q>(static_cast<int32_t>(v) + zp);
  }
}

class QGemmKernel final : public Kernel {
 public:
  static std::unique_ptr<Kernel> create(const KernelContext& ctx, std::string& reason);

  void run(const std::vector<Tensor>& inputs, std::vector<Tensor>& outputs) override {
    const void* src = inputs[In::kX].raw();
    if (float_x_) {
      const float* x = inputs[In::kX].data<float>();
      const int64_t n = inputs[In::kX].numel();
      const int64_t tasks = (n + kChunk - 1) / kChunk;
#pragma omp parallel for schedule(static) num_threads(threads_) if (tasks > 1 && threads_ > 1)
      for (int64_t t = 0; t < tasks; ++t) {
        const int64_t begin = t * kChunk, count = std::min(kChunk, n - begin);
        if (x_int_type_ == DType::kUInt8) {
          quantize_span(x + begin, quantized_.data() + begin, count, x_scale_, x_zp_);
        } else {
          quantize_span(x + begin, reinterpret_cast<int8_t*>(quantized_.data()) + begin, count, x_scale_, x_zp_);
        }
      }
      src = quantized_.data();
    }
    dnnl::stream& stream = cpu_stream();
    bind(src_mem_, src);
    bind(dst_mem_, outputs[0].raw());
    args_[DNNL_ARG_SRC] = src_mem_;
    args_[DNNL_ARG_DST] = dst_mem_;
    prim_.execute(stream, args_);
    stream.wait();
  }

 private:
  dnnl::matmul prim_;
  dnnl::memory src_mem_, dst_mem_;
  std::unordered_map<int, dnnl::memory> args_;
  bool float_x_ = false;
  DType x_int_type_ = DType::kUInt8;
  float x_scale_ = 1.f;
  int32_t x_zp_ = 0;
  int threads_ = 1;
  std::vector<uint8_t> quantized_;  // a float X quantized (bytes of x_int_type_)
};

std::unique_ptr<Kernel> QGemmKernel::create(const KernelContext& ctx, std::string& reason) {
  for (size_t i = 0; i < ctx.inputs.size(); ++i) {
    if (i != In::kX && ctx.inputs[i].present() && ctx.inputs[i].value == nullptr) {
      reason = "input " + std::to_string(i) + " (weights, bias, a scale or zero point) is not constant";
      return nullptr;
    }
  }
  const ir::Node& node = ctx.node;
  const ir::TensorInfo& x = ctx.inputs.at(In::kX);
  const ir::TensorInfo& w = ctx.inputs.at(In::kW);
  const bool trans_b = node.attrs.get_int("transB", 0) != 0;
  const int64_t k = x.shape.back(), n = w.shape[trans_b ? 0 : 1];
  const int64_t m = shape_numel(x.shape) / std::max<int64_t>(k, 1);
  const bool has_bias = ctx.inputs.size() > In::kBias && ctx.inputs[In::kBias].present();
  const DType y_type = ctx.outputs.at(0).dtype;

  Requantization rq;
  if (!conv_like_requantization(ctx, n, "column", rq, reason)) return nullptr;
  const double s_x = rq.s_x;
  const int32_t x_zp = rq.x_zp;
  const dnnl::primitive_attr& attr = rq.attr;
  const std::vector<float>& bias = rq.bias;

  const bool float_x = x.dtype == DType::kFloat32;
  const bool has_x_zp = ctx.inputs.size() > In::kXZeroPoint && ctx.inputs[In::kXZeroPoint].present();
  const DType x_int_type = !float_x ? x.dtype : has_x_zp ? ctx.inputs[In::kXZeroPoint].dtype : DType::kUInt8;
  const dnnl::memory::desc src_md = plain_desc({m, k}, int8_or_f32(x_int_type));
  // W as [K, N]: plain, or the [N, K] tensor read with transposed strides.
  const dnnl::memory::desc w_given =
      trans_b ? dnnl::memory::desc({k, n}, dt::s8, dnnl::memory::dims{1, k}) : plain_desc({k, n}, dt::s8);
  const dnnl::memory::desc w_any({k, n}, dt::s8, tag::any);
  const dnnl::memory::desc bias_md = plain_desc({1, n});
  const dnnl::memory::desc dst_md = plain_desc({m, n}, int8_or_f32(y_type));
  dnnl::matmul::primitive_desc pd;
  if (!try_create(
          [&] {
            pd = dnnl::matmul::primitive_desc(has_bias ? dnnl::matmul::desc(src_md, w_any, bias_md, dst_md)
                                                       : dnnl::matmul::desc(src_md, w_any, dst_md),
                                              attr, cpu_engine());
          },
          reason, "int8 matmul")) {
    return nullptr;
  }
  if (std::string(pd.impl_info_str()).find("ref") != std::string::npos) {
    reason = "oneDNN has only its reference implementation (" + std::string(pd.impl_info_str()) +
             ") for this int8 matmul";
    return nullptr;
  }
  auto kernel = std::make_unique<QGemmKernel>();
  kernel->prim_ = dnnl::matmul(pd);
  kernel->args_[DNNL_ARG_WEIGHTS] = reorder_constant(w.value->raw(), w_given, pd.weights_desc());
  if (has_bias) kernel->args_[DNNL_ARG_BIAS] = reorder_constant(bias.data(), bias_md, pd.bias_desc());
  kernel->src_mem_ = dnnl::memory(pd.src_desc(), cpu_engine(), DNNL_MEMORY_NONE);
  kernel->dst_mem_ = dnnl::memory(pd.dst_desc(), cpu_engine(), DNNL_MEMORY_NONE);
  kernel->float_x_ = float_x;
  kernel->x_int_type_ = x_int_type;
  kernel->x_scale_ = static_cast<float>(s_x);
  kernel->x_zp_ = x_zp;
  kernel->threads_ = std::max(1, ctx.num_threads);
  if (float_x) kernel->quantized_.resize(static_cast<size_t>(m * k));
  return kernel;
}

}  // namespace

void register_qgemm_kernels(KernelRegistry& registry) {
  registry.add(KernelDef{std::string(ir::kQGemmOp), std::string(ir::kQwacDomain), 1, INT_MAX, "dnnl", false,
                         &QGemmKernel::create});
}

}  // namespace qwac::kernels::dnnl_impl
