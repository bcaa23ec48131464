// Streaming statistics of one quantization point (one or more source tensors sharing a quantizer), collected
// batch by batch from engine taps. Memory does not grow with the number of samples except for a few scalars per
// sample (per-sample min/max/quantiles, needed by the mean/median aggregators of POT's range estimators).
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "core/tensor.h"
#include "quant/statistics/histogram.h"

namespace qwac::quant {

// What to collect; derived from the range estimator (see range_estimator.h: needs_for()).
struct StatisticsNeeds {
  bool per_sample = true;                      // per-sample min / max / abs max (per-tensor only)
  std::vector<double> per_sample_quantiles;    // outlier probabilities p: per-sample quantile(p), quantile(1-p),
                                               // abs quantile(1-p)
  bool histogram = false;                      // value histogram over all samples (quantiles, MSE, KL)
  int64_t channel_axis = -1;                   // >= 0: global min/max per channel along this axis (batch dim = 0)
};

class TensorStatistics {
 public:
  // `name` names the quantization point in error messages (NaN/Inf in an activation is a DataError).
  TensorStatistics(std::string name, StatisticsNeeds needs);

  // One batch: every tensor is float32 with the samples along dim 0, all with the same batch size. Several
  // tensors = sources of one unified quantizer: each sample's statistics cover all of them.
  void update(const std::vector<const Tensor*>& sources);

  int64_t num_samples() const;
  int64_t num_values() const;  // all elements seen
  float global_min() const;
  float global_max() const;
  const std::vector<float>& channel_min() const;  // per channel (channel_axis >= 0), else empty
  const std::vector<float>& channel_max() const;
  const std::vector<float>& sample_min() const;     // one per sample
  const std::vector<float>& sample_max() const;
  const std::vector<float>& sample_abs_max() const;
  // Per-sample quantiles for probability p (must be one of needs.per_sample_quantiles).
  const std::vector<float>& sample_quantile_low(double p) const;   // quantile(p) of x
  const std::vector<float>& sample_quantile_high(double p) const;  // quantile(1 - p) of x
  const std::vector<float>& sample_abs_quantile(double p) const;   // quantile(1 - p) of |x|
  const Histogram* histogram() const;  // nullptr unless needs.histogram
  const std::string& name() const;
  const StatisticsNeeds& needs() const;

 private:
  struct State;
  std::shared_ptr<State> state_;
};

}  // namespace qwac::quant
