// One pass over a dataset with several models: each batch is read and preprocessed once, and every model runs on
// it; a model given as a variant of an earlier one runs only the part that differs (runtime/partial_model.h) from
// the cut tensors of that model's run of the same batch. The accuracy search validates the FP32 model with the
// default quantization, ranks dozens of candidate models and confirms several candidates at once this way.
//
// Batches run on `streams` engine sets, each on its own thread (both cores busy); the outputs of every model for
// every batch reach the consumer on the calling thread, in (batch, model) order, as soon as they are ready, and
// are dropped after it returns: memory holds a bounded number of batches' outputs whatever the output size. The
// consumer may stop the pass (a validation whose outcome is decided): batches in flight are discarded.
//
// Engines are compiled per pass, from a per-stream kernel cache and arena that outlive the pass (StreamPool): the
// nodes a model shares with models compiled before on that stream are not compiled again. Every engine, a
// variant's partial one included, is compiled before the stream's first batch (PassResult::compile_seconds counts
// all of it), and the model after the engine passes is made once per pass and shared by the streams.
#pragma once

#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "core/logger.h"
#include "ir/graph.h"
#include "qwac/dataset.h"
#include "qwac/metric.h"
#include "runtime/kernel_cache.h"
#include "runtime/workspace.h"

namespace qwac::runtime {

// What one evaluation stream keeps between passes. Engines of one stream run one at a time, so they share these.
struct StreamState {
  std::shared_ptr<KernelCache> kernels;
  std::shared_ptr<Workspace> workspace;
};

class StreamPool {
 public:
  // `kernel_capacity`: kernels kept per stream (runtime/kernel_cache.h).
  explicit StreamPool(size_t kernel_capacity = 4096) : capacity_(kernel_capacity) {}
  StreamState& stream(size_t s);
  size_t kernel_cache_hits() const;
  size_t kernel_cache_misses() const;

 private:
  size_t capacity_;
  std::vector<std::unique_ptr<StreamState>> streams_;
};

struct PassModel {
  const ir::Model* model = nullptr;  // must outlive the pass
  // >= 0: a variant of models[base] (an earlier entry that is not itself a variant): only its changed part runs,
  // from the tensors tapped in the base's run of the batch. A variant that cannot be split runs whole.
  int base = -1;
};

struct PassOptions {
  int64_t batch_size = 16;  // falls back to 1 (with a log line) when a model cannot run batched
  int loader_threads = 0;   // 0 = number of cores
  int engine_threads = 0;   // total inference threads; 0 = all cores
  int streams = 0;          // 0 = one per engine thread
  bool use_dnnl = true;
  bool int8 = false;
  std::shared_ptr<Logger> logger;
  std::shared_ptr<Progress> progress;
  std::string phase = "evaluate";
  StreamPool* pool = nullptr;  // nullptr = kernels and arenas private to the pass
};

// One model's outputs for one batch: samples [first, first + annotations.size()) of the dataset.
struct PassBatch {
  int64_t first = 0;
  const std::vector<Annotation>* annotations = nullptr;
  const std::vector<SampleInfo>* samples = nullptr;  // for Metric::update, one per annotation
  size_t model = 0;
  const ModelOutputs* outputs = nullptr;  // the real samples only (a padded last batch is trimmed)
};

struct PassResult {
  int64_t samples = 0;    // samples every model was delivered for (all, unless the consumer stopped)
  bool stopped = false;   // the consumer returned false
  int64_t batch_size = 0;
  int streams = 0;
  double seconds = 0;
  double compile_seconds = 0;  // engine compilation, summed over the streams
};

// Returns false to stop the pass.
using PassConsumer = std::function<bool(const PassBatch&)>;

PassResult run_models(const std::vector<PassModel>& models, const Dataset& data, const PassOptions& options,
                      const PassConsumer& consumer);

}  // namespace qwac::runtime
