#include "quant/statistics/histogram.h"

#include <omp.h>

#include <algorithm>
#include <cmath>
#include <string>

#include "qwac/error.h"

namespace qwac::quant {

namespace {

// Beyond 2^127 doubling would overflow float; values above the last range land in the edge bins instead.
constexpr float kMaxRange = 0x1p127f;
// Below this many values, binning in parallel costs more than it saves.
constexpr int64_t kParallelThreshold = 1 << 16;

// Smallest power of two >= a (a > 0), capped at kMaxRange. Powers of two keep bin edges exact under doubling.
float next_power_of_two(float a) {
  if (a >= kMaxRange) return kMaxRange;
  int exponent = 0;
  const float mantissa = std::frexp(a, &exponent);  // a = mantissa * 2^exponent, mantissa in [0.5, 1)
  return mantissa == 0.5f ? a : std::ldexp(1.f, exponent);
}

}  // namespace

// Bin layout invariant: bin num_bins/2 starts at 0, so exact zeros seen before any non-zero value (range 0) are
// already in the right bin, and doubling (old bin i -> new bin num_bins/4 + i/2) keeps every old bin inside one
// new bin. That needs num_bins divisible by 4.
Histogram::Histogram(int num_bins) : num_bins_(num_bins), bins_(static_cast<size_t>(std::max(num_bins, 0)), 0) {
  if (num_bins < 4 || num_bins % 4 != 0) {
    throw InvalidArgument("histogram: num_bins must be a positive multiple of 4, got " + std::to_string(num_bins));
  }
}

int64_t Histogram::count() const {
  return count_;
}
float Histogram::range() const {
  return range_;
}
const std::vector<int64_t>& Histogram::bins() const {
  return bins_;
}

void Histogram::add(const float* values, int64_t count) {
  if (count <= 0) return;
  float abs_max = 0.f;  // values are finite (checked by the caller): the order of the max does not matter
#pragma omp simd reduction(max : abs_max)
  for (int64_t i = 0; i < count; ++i) {
    const float a = std::fabs(values[i]);
    abs_max = a > abs_max ? a : abs_max;
  }
  if (abs_max > 0.f) {
    if (range_ == 0.f) {
      range_ = next_power_of_two(abs_max);
    } else {
      // Each doubling merges bin pairs into the middle half: old bin i -> new bin num_bins/4 + i/2.
      while (abs_max > range_ && range_ < kMaxRange) {
        std::vector<int64_t> merged(bins_.size(), 0);
        const int quarter = num_bins_ / 4;
        for (int i = 0; i < num_bins_; ++i)
          merged[static_cast<size_t>(quarter + i / 2)] += bins_[static_cast<size_t>(i)];
        bins_ = std::move(merged);
        range_ *= 2.f;
      }
    }
  }
  const int zero_bin = num_bins_ / 2;
  if (range_ == 0.f) {  // only zeros so far
    bins_[static_cast<size_t>(zero_bin)] += count;
    count_ += count;
    return;
  }
  // Bin index computed in double: with R a power of two the scale is exact for power-of-two bin counts.
  const double scale = static_cast<double>(num_bins_) / (2.0 * static_cast<double>(range_));
  const double offset = static_cast<double>(range_);
  const int last = num_bins_ - 1;
  if (count < kParallelThreshold || omp_in_parallel()) {
    detail::bin_values(values, count, offset, scale, last, bins_.data());
  } else {
#pragma omp parallel
    {
      std::vector<int64_t> local(bins_.size(), 0);
      const int64_t threads = omp_get_num_threads(), t = omp_get_thread_num();
      const int64_t chunk = (count + threads - 1) / threads;
      const int64_t begin = std::min(count, t * chunk), end = std::min(count, begin + chunk);
      detail::bin_values(values + begin, end - begin, offset, scale, last, local.data());
#pragma omp critical(qwac_histogram_merge)
      for (size_t b = 0; b < local.size(); ++b) bins_[b] += local[b];
    }
  }
  count_ += count;
}

namespace detail {

namespace {
inline int bin_index(float x, double offset, double scale, int last) {
  const double pos = (static_cast<double>(x) + offset) * scale;
  // pos >= 0 for x >= -R, where truncation is floor; anything below (capped overflow) clamps to bin 0 anyway.
  const int b = static_cast<int>(pos);
  return b < 0 ? 0 : (b > last ? last : b);  // x == R (and capped overflow) go to the edge bins
}
}  // namespace

void bin_values_reference(const float* values, int64_t n, double offset, double scale, int last, int64_t* bins) {
  for (int64_t i = 0; i < n; ++i) ++bins[bin_index(values[i], offset, scale, last)];
}

void bin_values(const float* values, int64_t n, double offset, double scale, int last, int64_t* bins) {
  // Indices of a block first (a loop the compiler vectorizes), then the increments over four banks of 32-bit
  // counters (four banks x 2048 bins stay in L1); a bank never holds more than one block's worth per flush.
  constexpr int kBanks = 4;
  constexpr int64_t kBlock = 1024;
  constexpr int64_t kFlushEvery = int64_t{1} << 30;  // values per bank flush: far below 2^32
  const size_t bins_n = static_cast<size_t>(last) + 1;
  if (n < static_cast<int64_t>(2 * bins_n)) {  // clearing and merging the banks would cost more than they save
    bin_values_reference(values, n, offset, scale, last, bins);
    return;
  }
  std::vector<uint32_t> banks(kBanks * bins_n, 0);
  int32_t index[kBlock];
  int64_t since_flush = 0;
  auto flush = [&]() {
    for (size_t b = 0; b < bins_n; ++b) {
      int64_t c = 0;
      for (int k = 0; k < kBanks; ++k) c += banks[k * bins_n + b];
      bins[b] += c;
    }
    std::fill(banks.begin(), banks.end(), 0u);
    since_flush = 0;
  };
  for (int64_t start = 0; start < n; start += kBlock) {
    const int64_t m = std::min(kBlock, n - start);
    const float* v = values + start;
#pragma omp simd
    for (int64_t i = 0; i < m; ++i) index[i] = bin_index(v[i], offset, scale, last);
    int64_t i = 0;
    for (; i + kBanks <= m; i += kBanks) {
      ++banks[static_cast<size_t>(index[i])];
      ++banks[bins_n + static_cast<size_t>(index[i + 1])];
      ++banks[2 * bins_n + static_cast<size_t>(index[i + 2])];
      ++banks[3 * bins_n + static_cast<size_t>(index[i + 3])];
    }
    for (; i < m; ++i) ++banks[static_cast<size_t>(index[i])];
    since_flush += m;
    if (since_flush >= kFlushEvery) flush();
  }
  if (since_flush > 0) flush();
}

}  // namespace detail

namespace {

// Value at cumulative fraction q of `bins` (bin i covers [lo + i*w, lo + (i+1)*w)), linear inside the bin.
double interpolate_quantile(const int64_t* bins, int n, double lo, double w, int64_t total, double q) {
  q = std::clamp(q, 0.0, 1.0);
  const double target = q * static_cast<double>(total);
  double cumulative = 0.0;
  for (int i = 0; i < n; ++i) {
    const double c = static_cast<double>(bins[i]);
    if (c > 0.0 && cumulative + c >= target) {
      const double fraction = std::clamp((target - cumulative) / c, 0.0, 1.0);
      return lo + (static_cast<double>(i) + fraction) * w;
    }
    cumulative += c;
  }
  return lo + static_cast<double>(n) * w;  // rounding at q == 1
}

}  // namespace

double Histogram::quantile(double q) const {
  if (count_ == 0) throw InternalError("histogram: quantile of an empty histogram");
  if (range_ == 0.f) return 0.0;
  const double w = 2.0 * range_ / num_bins_;
  return interpolate_quantile(bins_.data(), num_bins_, -static_cast<double>(range_), w, count_, q);
}

double Histogram::abs_quantile(double q) const {
  if (count_ == 0) throw InternalError("histogram: abs_quantile of an empty histogram");
  if (range_ == 0.f) return 0.0;
  // Fold: |x| bin k covers [k*w, (k+1)*w) and gets positive bin half+k and negative bin half-1-k.
  const int half = num_bins_ / 2;
  std::vector<int64_t> folded(static_cast<size_t>(half));
  for (int k = 0; k < half; ++k) {
    folded[static_cast<size_t>(k)] = bins_[static_cast<size_t>(half + k)] + bins_[static_cast<size_t>(half - 1 - k)];
  }
  const double w = 2.0 * range_ / num_bins_;
  return interpolate_quantile(folded.data(), half, 0.0, w, count_, q);
}

double Histogram::fraction_outside(double lo, double hi) const {
  if (count_ == 0) return 0.0;
  if (range_ == 0.f) return (lo <= 0.0 && 0.0 <= hi) ? 0.0 : 1.0;
  const double w = 2.0 * range_ / num_bins_;
  double inside = 0.0;
  for (int i = 0; i < num_bins_; ++i) {
    const int64_t c = bins_[static_cast<size_t>(i)];
    if (c == 0) continue;
    const double a = -static_cast<double>(range_) + i * w;
    const double b = a + w;
    const double overlap = std::min(b, hi) - std::max(a, lo);
    if (overlap > 0.0) inside += static_cast<double>(c) * std::min(overlap / w, 1.0);
  }
  return std::clamp(1.0 - inside / static_cast<double>(count_), 0.0, 1.0);
}

}  // namespace qwac::quant
