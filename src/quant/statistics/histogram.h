// A streaming value histogram with constant memory: a fixed number of equal bins over a symmetric range [-R, R]
// that doubles (merging pairs of bins) whenever a value falls outside. Used for quantiles and for the MSE- and
// KL-optimal ranges.
#pragma once

#include <cstdint>
#include <vector>

namespace qwac::quant {

class Histogram {
 public:
  explicit Histogram(int num_bins = 2048);
  void add(const float* values, int64_t count);  // values must be finite
  int64_t count() const;
  float range() const;                            // R; 0 until a non-zero value was seen
  const std::vector<int64_t>& bins() const;       // bin i covers [-R + i*w, -R + (i+1)*w), w = 2R / num_bins
  // Value below which a fraction q of the values lie (linear interpolation inside a bin).
  double quantile(double q) const;
  // Same over |x|.
  double abs_quantile(double q) const;
  // Fraction of values outside [lo, hi].
  double fraction_outside(double lo, double hi) const;

 private:
  int num_bins_;
  float range_ = 0.f;
  int64_t count_ = 0;
  std::vector<int64_t> bins_;
};

namespace detail {
// Adds to bins[0..last] the counts of values[0..n) under the bin rule of Histogram::add: bin = clamp(int((x +
// offset) * scale), 0, last) in double. bin_values is the fast kernel (indices computed in blocks, counts spread
// over several banks so that runs of equal values, e.g. the zeros after a ReLU, do not serialize on one counter);
// bin_values_reference is its plain twin. Both give the same counts.
void bin_values(const float* values, int64_t n, double offset, double scale, int last, int64_t* bins);
void bin_values_reference(const float* values, int64_t n, double offset, double scale, int last, int64_t* bins);
}  // namespace detail

}  // namespace qwac::quant
