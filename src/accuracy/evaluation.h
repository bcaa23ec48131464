// Runs a dataset through a compiled model in batches and feeds the metrics: the one evaluation loop shared by
// `qwac evaluate`, calibration and the accuracy search.
//
// Samples are read and preprocessed by a pool of loader threads while the engine runs the previous batch, so
// decoding is not the bottleneck. Results are independent of the number of threads and of the batch size
// (outputs are delivered to the metrics in sample order).
#pragma once

#include <chrono>
#include <functional>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "core/logger.h"
#include "ir/graph.h"
#include "qwac/dataset.h"
#include "qwac/metric.h"
#include "runtime/engine.h"

namespace qwac::accuracy {

struct EvaluationOptions {
  int64_t batch_size = 16;      // falls back to 1 (with a log line) when the model cannot run batched
  int64_t limit = 0;            // evaluate only the first `limit` samples (0 = all)
  int loader_threads = 0;       // 0 = number of cores
  int engine_threads = 0;       // 0 = all cores
  bool use_dnnl = true;
  std::shared_ptr<Logger> logger;
  std::shared_ptr<Progress> progress;
  // Called for every sample in order with its outputs (batch dim 1): predictions files, caches.
  std::function<void(int64_t index, const Sample& sample, const ModelOutputs& outputs)> on_sample;
};

struct EvaluationResult {
  std::map<std::string, double> metrics;  // metric name -> avg_value
  int64_t samples = 0;
  int64_t batch_size = 0;                 // as actually used
  double seconds = 0;                     // wall time, decode + inference
  double inference_seconds = 0;           // time spent in Engine::run
  double samples_per_second() const { return seconds > 0 ? static_cast<double>(samples) / seconds : 0; }
};

// Evaluates `model` on `dataset`; metrics are reset first and hold the per-sample values afterwards.
EvaluationResult evaluate(const ir::Model& model, const Dataset& dataset, const std::vector<MetricPtr>& metrics,
                          const EvaluationOptions& options);

}  // namespace qwac::accuracy
