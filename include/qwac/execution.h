// qwac public API: how models are run (evaluation, calibration, the accuracy search, inference sessions). One
// struct with one set of defaults; every entry point takes it.
#pragma once

#include <cstdint>
#include <memory>

#include "qwac/logger.h"

namespace qwac {

struct ExecutionOptions {
  // Samples per batch for evaluation and calibration (falls back to 1, with a log line, when the model cannot run
  // batched). Results do not depend on it.
  int64_t batch_size = 16;
  int threads = 0;         // total inference threads; 0 = all cores
  int streams = 0;         // engine instances running batches concurrently; 0 = one per thread
  int loader_threads = 0;  // threads reading and preprocessing samples; 0 = all cores
  bool use_dnnl = true;    // false = the reference kernels only (slow; the oracle, for checking)
  // Quantized (QDQ) models run on qwac's int8 kernels, as they will be deployed; false = the exact float simulation
  // of the QDQ graph (ONNX semantics, slower). FP32 models are unaffected.
  bool int8 = true;
  std::shared_ptr<Logger> logger;      // nullptr = silent
  std::shared_ptr<Progress> progress;  // nullptr = none (make_console_progress() shows what the CLI shows)
};

// The name the library's internals used before ExecutionOptions existed.
using RunOptions = ExecutionOptions;

}  // namespace qwac
