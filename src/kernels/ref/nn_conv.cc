#include "kernels/ref/nn_conv.h"

#include <algorithm>

#include "ir/shape/nn_attrs.h"
#include "kernels/ref/nn_families.h"
#include "kernels/ref/nn_kernel_util.h"

namespace qwac::kernels::ref {
namespace {

using nn::valid_range;

int64_t volume(const std::array<int64_t, 3>& a) { return a[0] * a[1] * a[2]; }

// Creates a Conv or ConvTranspose kernel: both share the geometry plumbing and differ in the compute function and
// in where the channel counts come from.
template <bool kTransposed>
std::unique_ptr<Kernel> create_conv_kernel(const KernelContext& ctx, std::string& reason) {
  if (!nn::inputs_are_float32(ctx, {0, 1, 2}, reason)) return nullptr;
  const Shape& x = ctx.inputs.at(0).shape;
  const Shape& w = ctx.inputs.at(1).shape;
  const ir::nn::WindowGeometry g =
      kTransposed ? ir::nn::conv_transpose_geometry(ctx.node, x, w) : ir::nn::conv_geometry(ctx.node, x, w);
  const int64_t group = ir::nn::attr_int(ctx.node, "group", 1);
  const int64_t out_channels = ctx.outputs.at(0).shape.at(1);
  ConvProblem p;
  if (!make_conv_problem(g, x[0], x[1], out_channels, group, p, reason)) return nullptr;
  const bool has_bias = ctx.inputs.size() > 2 && ctx.inputs[2].present();
  const int threads = nn::kernel_threads(ctx);
  return nn::make_function_kernel([p, has_bias, threads](const std::vector<Tensor>& in, std::vector<Tensor>& out) {
    const float* bias = has_bias ? in[2].data<float>() : nullptr;
    if constexpr (kTransposed) {
      conv_transpose_forward(p, in[0].data<float>(), in[1].data<float>(), bias, out[0].data<float>(), threads);
    } else {
      conv_forward(p, in[0].data<float>(), in[1].data<float>(), bias, out[0].data<float>(), threads);
    }
  });
}

}  // namespace

bool make_conv_problem(const ir::nn::WindowGeometry& g, int64_t batch, int64_t in_channels, int64_t out_channels,
                       int64_t group, ConvProblem& p, std::string& reason) {
  const size_t k = g.rank();
  if (k > kMaxConvSpatialRank) {
    reason = "reference convolution supports 1 to 3 spatial axes, got " + std::to_string(k);
    return false;
  }
  p.batch = batch;
  p.in_channels = in_channels;
  p.out_channels = out_channels;
  p.group = group;
  p.in.fill(1);
  p.kernel.fill(1);
  p.out.fill(1);
  p.strides.fill(1);
  p.dilations.fill(1);
  p.pad_begin.fill(0);
  const size_t shift = kMaxConvSpatialRank - k;
  for (size_t i = 0; i < k; ++i) {
    p.in[shift + i] = g.in[i];
    p.kernel[shift + i] = g.kernel[i];
    p.out[shift + i] = g.out[i];
    p.strides[shift + i] = g.strides[i];
    p.dilations[shift + i] = g.dilations[i];
    p.pad_begin[shift + i] = g.pad_begin[i];
  }
  return true;
}

void conv_forward(const ConvProblem& p, const float* src, const float* weights, const float* bias, float* dst,
                  int num_threads) {
  const int64_t cg = p.in_channels / p.group;
  const int64_t mg = p.out_channels / p.group;
  const int64_t in_plane = volume(p.in), out_plane = volume(p.out), taps = volume(p.kernel);
  const int64_t n_planes = p.batch * p.out_channels;
  const auto [ID, IH, IW] = p.in;
  const auto [OD, OH, OW] = p.out;
  const auto [KD, KH, KW] = p.kernel;
  const auto [SD, SH, SW] = p.strides;
  const auto [DD, DH, DW] = p.dilations;
  const auto [PD, PH, PW] = p.pad_begin;
#pragma omp parallel for num_threads(num_threads) schedule(static)
  for (int64_t nm = 0; nm < n_planes; ++nm) {
    const int64_t n = nm / p.out_channels, m = nm % p.out_channels, g = m / mg;
    float* y = dst + nm * out_plane;
    std::fill(y, y + out_plane, bias != nullptr ? bias[m] : 0.f);
    for (int64_t c = 0; c < cg; ++c) {
      const float* x = src + (n * p.in_channels + g * cg + c) * in_plane;
      const float* wc = weights + (m * cg + c) * taps;
      // Weight-stationary: for each tap, add w * (shifted input) to every output it reaches; the valid output
      // ranges skip the padding, so there is no per-element bounds test.
      for (int64_t kd = 0; kd < KD; ++kd) {
        const auto [od0, od1] = valid_range(OD, ID, SD, kd * DD - PD);
        for (int64_t kh = 0; kh < KH; ++kh) {
          const auto [oh0, oh1] = valid_range(OH, IH, SH, kh * DH - PH);
          for (int64_t kw = 0; kw < KW; ++kw) {
            const auto [ow0, ow1] = valid_range(OW, IW, SW, kw * DW - PW);
            const float wv = wc[(kd * KH + kh) * KW + kw];
            for (int64_t od = od0; od < od1; ++od) {
              const int64_t id = od * SD + kd * DD - PD;
              for (int64_t oh = oh0; oh < oh1; ++oh) {
                const int64_t ih = oh * SH + kh * DH - PH;
                const float* xr = x + (id * IH + ih) * IW + kw * DW - PW;
                float* yr = y + (od * OH + oh) * OW;
                for (int64_t ow = ow0; ow < ow1; ++ow) yr[ow] += wv * xr[ow * SW];
              }
            }
          }
        }
      }
    }
  }
}

void conv_transpose_forward(const ConvProblem& p, const float* src, const float* weights, const float* bias,
                            float* dst, int num_threads) {
  const int64_t cg = p.in_channels / p.group;
  const int64_t mg = p.out_channels / p.group;
  const int64_t in_plane = volume(p.in), out_plane = volume(p.out), taps = volume(p.kernel);
  const int64_t n_planes = p.batch * p.out_channels;
  const auto [ID, IH, IW] = p.in;
  const auto [OD, OH, OW] = p.out;
  const auto [KD, KH, KW] = p.kernel;
  const auto [SD, SH, SW] = p.strides;
  const auto [DD, DH, DW] = p.dilations;
  const auto [PD, PH, PW] = p.pad_begin;
  // Parallel over output planes so no two threads write the same element; each plane gathers the scatter of its
  // group's input channels.
#pragma omp parallel for num_threads(num_threads) schedule(static)
  for (int64_t nm = 0; nm < n_planes; ++nm) {
    const int64_t n = nm / p.out_channels, m = nm % p.out_channels, g = m / mg, ml = m % mg;
    float* y = dst + nm * out_plane;
    std::fill(y, y + out_plane, bias != nullptr ? bias[m] : 0.f);
    for (int64_t c = 0; c < cg; ++c) {
      const float* x = src + (n * p.in_channels + g * cg + c) * in_plane;
      const float* wc = weights + ((g * cg + c) * mg + ml) * taps;
      for (int64_t kd = 0; kd < KD; ++kd) {
        const auto [id0, id1] = valid_range(ID, OD, SD, kd * DD - PD);
        for (int64_t kh = 0; kh < KH; ++kh) {
          const auto [ih0, ih1] = valid_range(IH, OH, SH, kh * DH - PH);
          for (int64_t kw = 0; kw < KW; ++kw) {
            const auto [iw0, iw1] = valid_range(IW, OW, SW, kw * DW - PW);
            const float wv = wc[(kd * KH + kh) * KW + kw];
            for (int64_t id = id0; id < id1; ++id) {
              const int64_t od = id * SD + kd * DD - PD;
              for (int64_t ih = ih0; ih < ih1; ++ih) {
                const int64_t oh = ih * SH + kh * DH - PH;
                const float* xr = x + (id * IH + ih) * IW;
                float* yr = y + (od * OH + oh) * OW + kw * DW - PW;
                for (int64_t iw = iw0; iw < iw1; ++iw) yr[iw * SW] += wv * xr[iw];
              }
            }
          }
        }
      }
    }
  }
}

void register_nn_conv_kernels(KernelRegistry& registry) {
  registry.add(KernelDef{"Conv", "", 1, INT_MAX, "ref", false, create_conv_kernel<false>});
  registry.add(KernelDef{"ConvTranspose", "", 1, INT_MAX, "ref", false, create_conv_kernel<true>});
}

}  // namespace qwac::kernels::ref
