// Runs a dataset through a compiled model in batches and feeds the metrics: the one evaluation loop shared by
// `qwac evaluate`, calibration and the accuracy search.
//
// Samples are read and preprocessed by a pool of loader threads while the engine runs, so decoding is not the
// bottleneck. Inference runs on `streams` engine instances, each on its own thread with threads / streams
// OpenMP threads, taking whole batches in turn: small batch-1 models (MNIST, SqueezeNet) gain far more from
// running two samples at once than from splitting one sample's small operators across cores, and single-threaded
// streams do not stall on OpenMP barriers when the machine is busy. Results are independent of the number of
// threads, streams and of the batch size (outputs are delivered to the metrics and on_sample in sample order, on
// the calling thread).
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
#include "qwac/execution.h"
#include "qwac/metric.h"
#include "runtime/engine.h"

namespace qwac::runtime {

// The execution knobs (batch size, threads, streams, loader threads, kernels, int8, logger, progress) are the public
// ExecutionOptions, with its defaults; the rest is what one evaluation loop needs.
struct EvaluationOptions : ExecutionOptions {
  int64_t limit = 0;               // evaluate only the first `limit` samples (0 = all)
  std::string phase = "evaluate";  // progress phase name
  // Called for every sample in order with its outputs (batch dim 1): predictions files, caches.
  std::function<void(int64_t index, const Sample& sample, const ModelOutputs& outputs)> on_sample;
  // Intermediate tensors to read (engine taps), delivered per batch in order on the calling thread: samples along
  // dim 0, exactly the batch's real samples (calibration statistics are collected this way). They are the stream's
  // own buffers, valid during the call only (clone() to keep them); the stream waits for the call to return.
  std::vector<std::string> taps;
  std::function<void(int64_t first_index, const std::map<std::string, Tensor>& taps)> on_batch;
};

struct EvaluationResult {
  std::map<std::string, double> metrics;  // metric name -> avg_value
  int64_t samples = 0;
  int64_t batch_size = 0;                 // as actually used
  int streams = 0;                        // as actually used
  double seconds = 0;                     // wall time, decode + inference
  double inference_seconds = 0;           // time spent in Engine::run, summed over the streams
  double samples_per_second() const { return seconds > 0 ? static_cast<double>(samples) / seconds : 0; }
};

// DataError when a sample does not fit the model's declared inputs (missing input, dtype, non-batch dims): the
// check every run over a dataset starts with, so preprocessing mistakes are named before anything is computed.
void check_sample_against_model(const Sample& sample, const ir::Graph& graph);

// Evaluates `model` on `dataset`; metrics are reset first and hold the per-sample values afterwards.
EvaluationResult evaluate(const ir::Model& model, const Dataset& dataset, const std::vector<MetricPtr>& metrics,
                          const EvaluationOptions& options);

}  // namespace qwac::runtime
