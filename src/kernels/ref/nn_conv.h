// Reference (oracle) convolution and transposed convolution on float32, for 1-D, 2-D and 3-D problems.
//
// Exposed beside the Conv/ConvTranspose kernels so other reference kernels (qwac's fused Conv ops) and tests can
// reuse the exact same arithmetic. Accumulation is in float32, over input channels then kernel taps.
#pragma once

#include <array>
#include <cstdint>
#include <string>

#include "ir/shape/nn_window.h"

namespace qwac::kernels::ref {

inline constexpr size_t kMaxConvSpatialRank = 3;

// A convolution problem with the spatial axes normalized to three (1-D and 2-D problems get leading axes of
// size 1, kernel 1, stride 1, dilation 1, no padding).
struct ConvProblem {
  int64_t batch = 0;
  int64_t in_channels = 0;   // C
  int64_t out_channels = 0;  // M
  int64_t group = 1;
  std::array<int64_t, 3> in{}, kernel{}, out{}, strides{}, dilations{}, pad_begin{};
};

// Fills `problem` from a geometry resolved by ir::nn::conv_geometry / conv_transpose_geometry. Returns false with
// `reason` when the spatial rank exceeds kMaxConvSpatialRank.
bool make_conv_problem(const ir::nn::WindowGeometry& geometry, int64_t batch, int64_t in_channels,
                       int64_t out_channels, int64_t group, ConvProblem& problem, std::string& reason);

// dst[N, M, out...] = sum over the group's channels and taps of src[N, C, in...] * weights[M, C/group, kernel...],
// plus bias[M] when bias != nullptr. Parallel over N x M with `num_threads` OpenMP threads.
void conv_forward(const ConvProblem& p, const float* src, const float* weights, const float* bias, float* dst,
                  int num_threads);

// Transposed convolution: weights are [C, M/group, kernel...]; each input element scatters
// src * w into dst[o = i * stride + k * dilation - pad_begin] (positions outside dst are dropped).
void conv_transpose_forward(const ConvProblem& p, const float* src, const float* weights, const float* bias,
                            float* dst, int num_threads);

}  // namespace qwac::kernels::ref
