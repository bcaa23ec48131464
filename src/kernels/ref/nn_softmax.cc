// Reference Softmax, LogSoftmax and Hardmax on float32.
//
// The reduction runs over `length` elements spaced `inner` apart, for each of outer x inner lines:
//   opset < 13: the input is coerced to 2-D [prod(dims[:axis]), prod(dims[axis:])] (default axis 1), so
//               length = prod(dims[axis:]), inner = 1;
//   opset >= 13: per axis (default -1): length = dims[axis], inner = prod(dims[axis+1:]).
// Softmax subtracts the line's maximum before exponentiating (numerically stable for large inputs).
#include <cmath>
#include <limits>

#include "ir/shape/nn_attrs.h"
#include "kernels/ref/nn_families.h"
#include "kernels/ref/nn_kernel_util.h"

namespace qwac::kernels::ref {
namespace {

enum class SoftmaxKind : uint8_t { kSoftmax, kLogSoftmax, kHardmax };

template <SoftmaxKind kKind>
std::unique_ptr<Kernel> create_softmax(const KernelContext& ctx, std::string& reason) {
  if (!nn::inputs_are_float32(ctx, {0}, reason)) return nullptr;
  const Shape& x = ctx.inputs.at(0).shape;
  const int64_t rank = static_cast<int64_t>(x.size());
  const bool coerce_2d = ctx.opset < 13;
  int64_t axis = ir::nn::attr_int(ctx.node, "axis", coerce_2d ? 1 : -1);
  if (!(coerce_2d && axis == rank)) axis = normalize_axis(axis, rank, ctx.node.describe() + " attribute 'axis'");
  const int64_t outer = shape_numel(Shape(x.begin(), x.begin() + axis));
  const int64_t length = coerce_2d ? shape_numel(Shape(x.begin() + axis, x.end())) : x[static_cast<size_t>(axis)];
  const int64_t inner = coerce_2d ? 1 : shape_numel(Shape(x.begin() + axis + 1, x.end()));
  const int threads = nn::kernel_threads(ctx);
  return nn::make_function_kernel([=](const std::vector<Tensor>& in, std::vector<Tensor>& out) {
    const float* src = in[0].data<float>();
    float* dst = out[0].data<float>();
#pragma omp parallel for num_threads(threads) schedule(static)
    for (int64_t line = 0; line < outer * inner; ++line) {
      const int64_t o = line / inner, i = line % inner;
      const float* xp = src + o * length * inner + i;
      float* yp = dst + o * length * inner + i;
      float max_v = -std::numeric_limits<float>::infinity();
      int64_t arg_max = 0;
      for (int64_t k = 0; k < length; ++k) {
        if (xp[k * inner] > max_v) {  // strict: the first maximum wins (Hardmax)
          max_v = xp[k * inner];
          arg_max = k;
        }
      }
      if constexpr (kKind == SoftmaxKind::kHardmax) {
        for (int64_t k = 0; k < length; ++k) yp[k * inner] = k == arg_max ? 1.f : 0.f;
      } else {
        double sum = 0;
        for (int64_t k = 0; k < length; ++k) sum += std::exp(static_cast<double>(xp[k * inner]) - max_v);
        if constexpr (kKind == SoftmaxKind::kSoftmax) {
          for (int64_t k = 0; k < length; ++k) {
            yp[k * inner] = static_cast<float>(std::exp(static_cast<double>(xp[k * inner]) - max_v) / sum);
          }
        } else {
          const double log_sum = std::log(sum);
          for (int64_t k = 0; k < length; ++k) {
            yp[k * inner] = static_cast<float>(static_cast<double>(xp[k * inner]) - max_v - log_sum);
          }
        }
      }
    }
  });
}

}  // namespace

void register_nn_softmax_kernels(KernelRegistry& registry) {
  registry.add(KernelDef{"Softmax", "", 1, INT_MAX, "ref", false, create_softmax<SoftmaxKind::kSoftmax>});
  registry.add(KernelDef{"LogSoftmax", "", 1, INT_MAX, "ref", false, create_softmax<SoftmaxKind::kLogSoftmax>});
  registry.add(KernelDef{"Hardmax", "", 1, INT_MAX, "ref", false, create_softmax<SoftmaxKind::kHardmax>});
}

}  // namespace qwac::kernels::ref
