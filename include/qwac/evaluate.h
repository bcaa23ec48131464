// qwac public API: a model's metrics on a dataset (what `qwac evaluate` prints).
//
// Samples are read by loader threads while several engine streams run batches; metrics and on_sample see the
// samples in dataset order, on the calling thread. Results do not depend on threads, streams or batch size.
#pragma once

#include <cstdint>
#include <functional>
#include <map>
#include <string>
#include <vector>

#include "qwac/dataset.h"
#include "qwac/execution.h"
#include "qwac/metric.h"
#include "qwac/model.h"

namespace qwac {

struct EvaluateOptions {
  int64_t limit = 0;               // only the first `limit` samples (0 = all)
  std::string phase = "evaluate";  // the progress phase name
  // Called for every sample in order with its outputs (batch dimension 1): predictions files, caches.
  std::function<void(int64_t index, const Sample& sample, const ModelOutputs& outputs)> on_sample;
};

struct EvaluationResult {
  std::map<std::string, double> metrics;  // metric name -> avg_value()
  int64_t samples = 0;
  int64_t batch_size = 0;                 // as used (1 when the model cannot run batched)
  int streams = 0;                        // as used
  double seconds = 0;                     // wall time, reading + inference
  double inference_seconds = 0;           // time in the engine, summed over the streams
  double samples_per_second() const { return seconds > 0 ? static_cast<double>(samples) / seconds : 0; }
};

// Evaluates `model` on `dataset`; the metrics are reset first and hold their per-sample values afterwards. Throws
// DataError when a sample does not fit the model's inputs (naming the input), and what the dataset or a metric
// throws.
EvaluationResult evaluate(const Model& model, const Dataset& dataset, const std::vector<MetricPtr>& metrics,
                          const ExecutionOptions& options = {}, const EvaluateOptions& evaluate_options = {});

// True when one of `metrics` is label-free and compares with the FP32 model's outputs
// (Metric::needs_reference_outputs: nmse, cosine, psnr).
bool needs_reference_outputs(const std::vector<MetricPtr>& metrics);

// `dataset` whose samples carry `fp32`'s outputs (every output, in graph output order) as
// Annotation::reference_outputs, for label-free metrics: computed once here by one evaluation pass (samples past
// `evaluate_options.limit` get none) and kept in memory. A dataset whose first sample already carries reference
// outputs (an ONNX test set) is returned as it is. The accuracy search does this itself; evaluate() does not (call
// this first, with the FP32 model, when evaluating a quantized one).
DatasetPtr with_reference_outputs(DatasetPtr dataset, const Model& fp32, const ExecutionOptions& options = {},
                                  const EvaluateOptions& evaluate_options = {});

}  // namespace qwac
