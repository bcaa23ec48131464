// The statistics pass: the calibration subset runs once through the FP32 (canonical) model on qwac's engine,
// with taps on every activation quantizer's sources, and every batch updates streaming collectors. Memory does not
// grow with the number of samples (see statistics/tensor_statistics.h); decoding runs ahead on loader threads.
#pragma once

#include <map>
#include <string>
#include <vector>

#include "ir/graph.h"
#include "qwac/dataset.h"
#include "quant/quantize.h"
#include "quant/statistics/tensor_statistics.h"

namespace qwac::quant {

struct ActivationStatsRequest {
  int quantizer = -1;
  std::vector<std::string> sources;
  StatisticsNeeds needs;
};

struct CalibrationStatistics {
  std::map<int, TensorStatistics> activations;  // by quantizer id
  // Element-wise mean over the samples of each requested tensor (shape of one sample, batch dim 1): the inputs of
  // the layers whose bias is corrected.
  std::map<std::string, Tensor> means;
  int64_t samples = 0;
  int64_t batch_size = 0;
  double seconds = 0;
};

CalibrationStatistics collect_statistics(const ir::Model& canonical, const Dataset& calibration,
                                         const std::vector<ActivationStatsRequest>& requests,
                                         const std::vector<std::string>& mean_tensors, const RunOptions& options);

namespace detail {
// sum[i] += the sum over k = 0..batch-1 (in that order, in double) of values[k * per + i], for i < per: the
// per-element accumulation of the bias-correction means. accumulate_sample_sums walks the batch in contiguous
// blocks (vectorizable); the reference walks element by element. Same additions in the same order per element:
// the same sums, bit for bit.
void accumulate_sample_sums(const float* values, int64_t batch, int64_t per, double* sum);
void accumulate_sample_sums_reference(const float* values, int64_t batch, int64_t per, double* sum);
}  // namespace detail

}  // namespace qwac::quant
