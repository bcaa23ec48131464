// Numpy-style broadcast iteration for elementwise kernels, planned once at kernel creation.
//
// The plan drops size-1 output dimensions and merges adjacent dimensions in which every input is either fully
// present or fully broadcast, so the common cases collapse to a single contiguous loop: equal shapes -> one run of
// numel elements; a scalar -> one run with stride 0; a per-channel bias [1,C,1,1] into [N,C,H,W] -> N*C runs of
// H*W elements with a constant bias. The innermost merged dimension is the "run"; each input advances by 0 or 1
// element per step in a run. Long runs are split into chunks so that even a single run is parallelized.
#pragma once

#include <algorithm>
#include <array>
#include <cstdint>
#include <vector>

#include "core/shape.h"

namespace qwac::kernels::ref {

class BroadcastPlan {
 public:
  BroadcastPlan() = default;
  // `inputs` must each broadcast to `output` (shape inference checked that).
  BroadcastPlan(const Shape& output, const std::vector<Shape>& inputs);

  int64_t numel() const { return numel_; }
  size_t num_inputs() const { return inner_strides_.size(); }
  // Step (0 or 1) of input i within a run.
  int64_t inner_stride(size_t i) const { return inner_strides_[i]; }

  // Calls body(out_offset, in_offsets, count) for every run chunk, in parallel over chunks when the work is large
  // enough. in_offsets is a std::array<int64_t, N> with N == num_inputs(). Element k of a chunk is output
  // out_offset + k and input i element in_offsets[i] + k * inner_stride(i).
  template <size_t N, typename Body>
  void for_each_chunk(int num_threads, Body&& body) const;

 private:
  static constexpr int64_t kChunk = 16384;           // elements per parallel task
  static constexpr int64_t kParallelMinWork = 32768;  // below this, threads cost more than they save

  int64_t numel_ = 0;
  int64_t inner_ = 1;                              // run length
  std::vector<int64_t> outer_dims_;                // merged dims outside the run, outermost first
  std::vector<std::vector<int64_t>> outer_strides_;  // [input][outer dim]
  std::vector<int64_t> inner_strides_;             // [input]
};

template <size_t N, typename Body>
void BroadcastPlan::for_each_chunk(int num_threads, Body&& body) const {
  if (numel_ == 0) return;
  const int64_t chunks_per_run = (inner_ + kChunk - 1) / kChunk;
  const int64_t runs = numel_ / inner_;
  const int64_t tasks = runs * chunks_per_run;
  const int threads = numel_ >= kParallelMinWork ? std::max(num_threads, 1) : 1;
  const int64_t n_outer = static_cast<int64_t>(outer_dims_.size());
#pragma omp parallel for schedule(static) num_threads(threads) if (threads > 1)
  for (int64_t task = 0; task < tasks; ++task) {
    const int64_t run = task / chunks_per_run;
    const int64_t begin = (task % chunks_per_run) * kChunk;
    const int64_t count = std::min(kChunk, inner_ - begin);
    std::array<int64_t, N> offsets{};
    int64_t rest = run;
    for (int64_t d = n_outer - 1; d >= 0; --d) {
      const int64_t idx = rest % outer_dims_[d];
      rest /= outer_dims_[d];
      for (size_t i = 0; i < N; ++i) offsets[i] += idx * outer_strides_[i][d];
    }
    for (size_t i = 0; i < N; ++i) offsets[i] += begin * inner_strides_[i];
    body(run * inner_ + begin, offsets, count);
  }
}

}  // namespace qwac::kernels::ref
