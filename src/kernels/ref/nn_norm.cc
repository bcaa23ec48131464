// Reference normalizations on float32: BatchNormalization (inference), InstanceNormalization, LRN and
// LayerNormalization. Statistics are accumulated in double so the oracle is not the less accurate side.
#include <cmath>
#include <vector>

#include "ir/shape/nn_attrs.h"
#include "kernels/ref/nn_families.h"
#include "kernels/ref/nn_kernel_util.h"

namespace qwac::kernels::ref {
namespace {

// y = (x - mean) / sqrt(var + epsilon) * scale + B, per channel (or per activation for opset-7 spatial=0).
std::unique_ptr<Kernel> create_batch_norm(const KernelContext& ctx, std::string& reason) {
  if (!nn::inputs_are_float32(ctx, {0, 1, 2, 3, 4}, reason)) return nullptr;
  if (ctx.opset >= 14 && ir::nn::attr_int(ctx.node, "training_mode", 0) != 0) {
    reason = "training_mode=1 is not supported";
    return nullptr;
  }
  const Shape& x = ctx.inputs.at(0).shape;
  const float epsilon = ir::nn::attr_float(ctx.node, "epsilon", 1e-5f);
  const bool per_activation = ctx.opset < 9 && ir::nn::attr_int(ctx.node, "spatial", 1) == 0;
  const int64_t n = x[0], c = x[1];
  const int64_t plane = shape_numel(Shape(x.begin() + 2, x.end()));
  const int threads = nn::kernel_threads(ctx);
  return nn::make_function_kernel([=](const std::vector<Tensor>& in, std::vector<Tensor>& out) {
    const float* src = in[0].data<float>();
    const float* scale = in[1].data<float>();
    const float* bias = in[2].data<float>();
    const float* mean = in[3].data<float>();
    const float* var = in[4].data<float>();
    float* dst = out[0].data<float>();
#pragma omp parallel for num_threads(threads) schedule(static)
    for (int64_t nc = 0; nc < n * c; ++nc) {
      const int64_t ch = nc % c;
      const float* xp = src + nc * plane;
      float* yp = dst + nc * plane;
      for (int64_t i = 0; i < plane; ++i) {
        const int64_t pi = per_activation ? ch * plane + i : ch;
        const double inv_std = 1.0 / std::sqrt(static_cast<double>(var[pi]) + epsilon);
        yp[i] = static_cast<float>((xp[i] - static_cast<double>(mean[pi])) * inv_std * scale[pi] + bias[pi]);
      }
    }
  });
}

// y = scale * (x - mean) / sqrt(var + epsilon) + B with mean/var over the spatial axes of each (n, c).
std::unique_ptr<Kernel> create_instance_norm(const KernelContext& ctx, std::string& reason) {
  if (!nn::inputs_are_float32(ctx, {0, 1, 2}, reason)) return nullptr;
  const Shape& x = ctx.inputs.at(0).shape;
  const float epsilon = ir::nn::attr_float(ctx.node, "epsilon", 1e-5f);
  const int64_t n = x[0], c = x[1];
  const int64_t plane = shape_numel(Shape(x.begin() + 2, x.end()));
  const int threads = nn::kernel_threads(ctx);
  return nn::make_function_kernel([=](const std::vector<Tensor>& in, std::vector<Tensor>& out) {
    const float* src = in[0].data<float>();
    const float* scale = in[1].data<float>();
    const float* bias = in[2].data<float>();
    float* dst = out[0].data<float>();
#pragma omp parallel for num_threads(threads) schedule(static)
    for (int64_t nc = 0; nc < n * c; ++nc) {
      const int64_t ch = nc % c;
      const float* xp = src + nc * plane;
      float* yp = dst + nc * plane;
      double sum = 0;
      for (int64_t i = 0; i < plane; ++i) sum += xp[i];
      const double mean = sum / static_cast<double>(plane);
      double sq = 0;
      for (int64_t i = 0; i < plane; ++i) sq += (xp[i] - mean) * (xp[i] - mean);
      const double inv_std = 1.0 / std::sqrt(sq / static_cast<double>(plane) + epsilon);
      for (int64_t i = 0; i < plane; ++i) yp[i] = static_cast<float>((xp[i] - mean) * inv_std * scale[ch] + bias[ch]);
    }
  });
}

// ONNX LRN: square_sum[n, c, ...] = sum of x[n, i, ...]^2 for
//   max(0, c - floor((size - 1) / 2)) <= i <= min(C - 1, c + ceil((size - 1) / 2));
// y = x / (bias + alpha / size * square_sum) ^ beta.
std::unique_ptr<Kernel> create_lrn(const KernelContext& ctx, std::string& reason) {
  if (!nn::inputs_are_float32(ctx, {0}, reason)) return nullptr;
  const Shape& x = ctx.inputs.at(0).shape;
  const int64_t size = ir::nn::attr_int_required(ctx.node, "size");
  const double alpha = ir::nn::attr_float(ctx.node, "alpha", 1e-4f);
  const double beta = ir::nn::attr_float(ctx.node, "beta", 0.75f);
  const double bias = ir::nn::attr_float(ctx.node, "bias", 1.0f);
  const int64_t n = x[0], c = x[1];
  const int64_t plane = shape_numel(Shape(x.begin() + 2, x.end()));
  const int64_t before = (size - 1) / 2, after = size / 2;  // floor and ceil of (size - 1) / 2
  const int threads = nn::kernel_threads(ctx);
  return nn::make_function_kernel([=](const std::vector<Tensor>& in, std::vector<Tensor>& out) {
    const float* src = in[0].data<float>();
    float* dst = out[0].data<float>();
#pragma omp parallel for num_threads(threads) schedule(static)
    for (int64_t nc = 0; nc < n * c; ++nc) {
      const int64_t b = nc / c, ch = nc % c;
      const int64_t lo = std::max<int64_t>(0, ch - before), hi = std::min<int64_t>(c - 1, ch + after);
      for (int64_t i = 0; i < plane; ++i) {
        double sq = 0;
        for (int64_t k = lo; k <= hi; ++k) {
          const double v = src[(b * c + k) * plane + i];
          sq += v * v;
        }
        dst[nc * plane + i] = static_cast<float>(src[nc * plane + i] / std::pow(bias + alpha / size * sq, beta));
      }
    }
  });
}

// Index of the element of a tensor of shape `from` (unidirectionally broadcast to `to`) for each flat index of
// `to`.
std::vector<int64_t> broadcast_index_map(const Shape& from, const Shape& to) {
  const std::vector<int64_t> to_strides = shape_strides(to);
  const Shape aligned = with_leading_ones(from, to.size());
  const std::vector<int64_t> from_strides = shape_strides(aligned);
  std::vector<int64_t> map(static_cast<size_t>(shape_numel(to)));
  for (size_t flat = 0; flat < map.size(); ++flat) {
    int64_t rem = static_cast<int64_t>(flat), src = 0;
    for (size_t d = 0; d < to.size(); ++d) {
      const int64_t i = rem / to_strides[d];
      rem %= to_strides[d];
      if (aligned[d] != 1) src += i * from_strides[d];
    }
    map[flat] = src;
  }
  return map;
}

// Normalizes over X[axis:]: y = (x - mean) * inv_std_dev * Scale + B; optional outputs Mean and InvStdDev have
// shape X[:axis] + [1] * (rank - axis).
std::unique_ptr<Kernel> create_layer_norm(const KernelContext& ctx, std::string& reason) {
  if (!nn::inputs_are_float32(ctx, {0, 1, 2}, reason)) return nullptr;
  const Shape& x = ctx.inputs.at(0).shape;
  const int64_t rank = static_cast<int64_t>(x.size());
  const int64_t axis = normalize_axis(ir::nn::attr_int(ctx.node, "axis", -1), rank, ctx.node.describe());
  const float epsilon = ir::nn::attr_float(ctx.node, "epsilon", 1e-5f);
  const Shape normalized(x.begin() + axis, x.end());
  const int64_t inner = shape_numel(normalized), outer = shape_numel(Shape(x.begin(), x.begin() + axis));
  const std::vector<int64_t> scale_map = broadcast_index_map(ctx.inputs[1].shape, normalized);
  const bool has_bias = ctx.inputs.size() > 2 && ctx.inputs[2].present();
  const std::vector<int64_t> bias_map = has_bias ? broadcast_index_map(ctx.inputs[2].shape, normalized)
                                                 : std::vector<int64_t>{};
  const int threads = nn::kernel_threads(ctx);
  return nn::make_function_kernel([=](const std::vector<Tensor>& in, std::vector<Tensor>& out) {
    const float* src = in[0].data<float>();
    const float* scale = in[1].data<float>();
    const float* bias = has_bias ? in[2].data<float>() : nullptr;
    float* dst = out[0].data<float>();
    Tensor* mean_out = nn::optional_output(out, 1);
    Tensor* inv_out = nn::optional_output(out, 2);
    float* pm = mean_out != nullptr ? mean_out->data<float>() : nullptr;
    float* pinv = inv_out != nullptr ? inv_out->data<float>() : nullptr;
#pragma omp parallel for num_threads(threads) schedule(static)
    for (int64_t r = 0; r < outer; ++r) {
      const float* xp = src + r * inner;
      float* yp = dst + r * inner;
      double sum = 0;
      for (int64_t i = 0; i < inner; ++i) sum += xp[i];
      const double mean = sum / static_cast<double>(inner);
      double sq = 0;
      for (int64_t i = 0; i < inner; ++i) sq += (xp[i] - mean) * (xp[i] - mean);
      const double inv_std = 1.0 / std::sqrt(sq / static_cast<double>(inner) + epsilon);
      for (int64_t i = 0; i < inner; ++i) {
        double v = (xp[i] - mean) * inv_std * scale[scale_map[static_cast<size_t>(i)]];
        if (bias != nullptr) v += bias[bias_map[static_cast<size_t>(i)]];
        yp[i] = static_cast<float>(v);
      }
      if (pm != nullptr) pm[r] = static_cast<float>(mean);
      if (pinv != nullptr) pinv[r] = static_cast<float>(inv_std);
    }
  });
}

}  // namespace

void register_nn_norm_kernels(KernelRegistry& registry) {
  registry.add(KernelDef{"BatchNormalization", "", 1, INT_MAX, "ref", false, create_batch_norm});
  registry.add(KernelDef{"InstanceNormalization", "", 1, INT_MAX, "ref", false, create_instance_norm});
  registry.add(KernelDef{"LRN", "", 1, INT_MAX, "ref", false, create_lrn});
  registry.add(KernelDef{"LayerNormalization", "", 1, INT_MAX, "ref", false, create_layer_norm});
}

}  // namespace qwac::kernels::ref
