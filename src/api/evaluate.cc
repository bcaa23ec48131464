// qwac::evaluate (include/qwac/evaluate.h) on the runtime's evaluation loop.
#include "qwac/evaluate.h"

#include "api/model_impl.h"
#include "runtime/evaluation.h"

namespace qwac {

EvaluationResult evaluate(const Model& model, const Dataset& dataset, const std::vector<MetricPtr>& metrics,
                          const ExecutionOptions& options, const EvaluateOptions& evaluate_options) {
  runtime::EvaluationOptions eo;
  static_cast<ExecutionOptions&>(eo) = options;
  eo.limit = evaluate_options.limit;
  eo.phase = evaluate_options.phase;
  eo.on_sample = evaluate_options.on_sample;
  const runtime::EvaluationResult r = runtime::evaluate(api::unwrap(model), dataset, metrics, eo);
  EvaluationResult out;
  out.metrics = r.metrics;
  out.samples = r.samples;
  out.batch_size = r.batch_size;
  out.streams = r.streams;
  out.seconds = r.seconds;
  out.inference_seconds = r.inference_seconds;
  return out;
}

}  // namespace qwac
