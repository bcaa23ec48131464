// QuantizeLinear / DequantizeLinear, per-tensor and per-axis.
//
// Numerics are exactly ONNX Runtime's (which the ONNX spec describes): y = saturate(nearbyint(x / scale) + zp)
// computed in float, with round-half-to-even (the default FE_TONEAREST mode) and division (not multiplication by
// a reciprocal, which rounds differently on ties); x_dq = float(x - zp) * scale.
#include <cmath>
#include <limits>
#include <type_traits>

#include "ir/contrib_ops.h"
#include "ir/shape/tensor_quantize_params.h"
#include "kernels/ref/tensor_families.h"
#include "kernels/ref/tensor_kernel_util.h"

namespace qwac::kernels::ref {

namespace {

constexpr int64_t kParallelThreshold = 1 << 14;

template <typename T>
constexpr bool kIsQuantType = std::is_same_v<T, int8_t> || std::is_same_v<T, uint8_t> || std::is_same_v<T, int16_t> ||
                              std::is_same_v<T, uint16_t>;

template <typename Q, typename X>
void quantize_typed(const Tensor& x_t, const Tensor& scale_t, const Tensor* zp_t, const ir::QuantLayout& l,
                    Tensor& y_t) {
  const X* x = x_t.data<X>();
  const float* scale = scale_t.data<float>();
  const Q* zp = zp_t != nullptr ? zp_t->data<Q>() : nullptr;
  Q* y = y_t.data<Q>();
  constexpr float qmin = static_cast<float>(std::numeric_limits<Q>::min());
  constexpr float qmax = static_cast<float>(std::numeric_limits<Q>::max());
  const int64_t n = x_t.numel();
  const int64_t channels = l.channels, inner = l.inner;
#pragma omp parallel for if (n > kParallelThreshold)
  for (int64_t i = 0; i < n; ++i) {
    const int64_t c = channels == 1 ? 0 : (i / inner) % channels;
    const float z = zp != nullptr ? static_cast<float>(zp[c]) : 0.f;
    float v = std::nearbyint(static_cast<float>(x[i]) / scale[c]) + z;
    if (std::isnan(v)) v = z;
    v = std::min(std::max(v, qmin), qmax);
    y[i] = static_cast<Q>(static_cast<int32_t>(v));
  }
}

template <typename Q>
void dequantize_typed(const Tensor& x_t, const Tensor& scale_t, const Tensor* zp_t, const ir::QuantLayout& l,
                      Tensor& y_t) {
  const Q* x = x_t.data<Q>();
  const float* scale = scale_t.data<float>();
  const Q* zp = zp_t != nullptr ? zp_t->data<Q>() : nullptr;
  float* y = y_t.data<float>();
  const int64_t n = x_t.numel();
  const int64_t channels = l.channels, inner = l.inner;
#pragma omp parallel for if (n > kParallelThreshold)
  for (int64_t i = 0; i < n; ++i) {
    const int64_t c = channels == 1 ? 0 : (i / inner) % channels;
    const int64_t z = zp != nullptr ? static_cast<int64_t>(zp[c]) : 0;
    y[i] = static_cast<float>(static_cast<int64_t>(x[i]) - z) * scale[c];
  }
}

const Tensor* optional_input(const std::vector<Tensor>& in, size_t i) {
  return i < in.size() && !in[i].empty() ? &in[i] : nullptr;
}

std::unique_ptr<Kernel> create_quantize(const KernelContext& ctx, std::string& reason) {
  const ir::InferContext ictx = infer_context(ctx);
  const ir::QuantLayout layout = ir::quant_layout(ictx);
  const DType x_type = ctx.inputs.at(0).dtype;
  const DType q_type = ir::quantize_output_dtype(ictx);
  if (x_type != DType::kFloat32 && x_type != DType::kInt32) {
    reason = "input type " + std::string(dtype_name(x_type)) + " (expected float or int32)";
    return nullptr;
  }
  return make_fn_kernel([layout, x_type, q_type](const std::vector<Tensor>& in, std::vector<Tensor>& out) {
    const Tensor* zp = optional_input(in, 2);
    dispatch_dtype(q_type, [&](auto q_tag) {
      using Q = decltype(q_tag);
      if constexpr (kIsQuantType<Q>) {
        if (x_type == DType::kFloat32) {
          quantize_typed<Q, float>(in[0], in[1], zp, layout, out[0]);
        } else {
          quantize_typed<Q, int32_t>(in[0], in[1], zp, layout, out[0]);
        }
      } else {
        throw InternalError("QuantizeLinear: unexpected output type " + std::string(dtype_name(q_type)));
      }
    });
  });
}

std::unique_ptr<Kernel> create_dequantize(const KernelContext& ctx, std::string& reason) {
  const ir::QuantLayout layout = ir::quant_layout(infer_context(ctx));
  const DType x_type = ctx.inputs.at(0).dtype;
  if (!ir::is_quantized_dtype(x_type) && x_type != DType::kInt32) {
    reason = "input type " + std::string(dtype_name(x_type)) + " (expected int8, uint8, int16, uint16 or int32)";
    return nullptr;
  }
  return make_fn_kernel([layout, x_type](const std::vector<Tensor>& in, std::vector<Tensor>& out) {
    const Tensor* zp = optional_input(in, 2);
    dispatch_dtype(x_type, [&](auto q_tag) {
      using Q = decltype(q_tag);
      if constexpr (kIsQuantType<Q> || std::is_same_v<Q, int32_t>) {
        dequantize_typed<Q>(in[0], in[1], zp, layout, out[0]);
      } else {
        throw InternalError("DequantizeLinear: unexpected input type " + std::string(dtype_name(x_type)));
      }
    });
  });
}

// ONNX Runtime's contrib Q/DQ (ir/contrib_ops.h) are the opset-13 ops, 16-bit types included.
KernelFactory as_contrib(KernelFactory create) {
  return [create](const KernelContext& ctx, std::string& reason) {
    KernelContext as13 = ctx;
    as13.opset = ir::kContribQdqSemanticsOpset;
    return create(as13, reason);
  };
}

}  // namespace

void register_tensor_quantize_kernels(KernelRegistry& registry) {
  registry.add(ref_kernel_def("QuantizeLinear", 10, create_quantize));
  registry.add(ref_kernel_def("DequantizeLinear", 10, create_dequantize));
  const std::string contrib(ir::kMicrosoftDomain);
  registry.add(KernelDef{"QuantizeLinear", contrib, 1, INT_MAX, "ref", false, as_contrib(create_quantize)});
  registry.add(KernelDef{"DequantizeLinear", contrib, 1, INT_MAX, "ref", false, as_contrib(create_dequantize)});
}

}  // namespace qwac::kernels::ref
