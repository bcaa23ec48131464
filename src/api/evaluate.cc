// qwac::evaluate (include/qwac/evaluate.h) on the runtime's evaluation loop.
#include "qwac/evaluate.h"

#include "api/model_impl.h"
#include "runtime/evaluation.h"
#include "runtime/reference_outputs.h"

namespace qwac {

namespace {

runtime::EvaluationOptions evaluation_options(const ExecutionOptions& options, const EvaluateOptions& e) {
  runtime::EvaluationOptions eo;
  static_cast<ExecutionOptions&>(eo) = options;
  eo.limit = e.limit;
  eo.phase = e.phase;
  eo.on_sample = e.on_sample;
  return eo;
}

}  // namespace

bool needs_reference_outputs(const std::vector<MetricPtr>& metrics) {
  return runtime::needs_reference_outputs(metrics);
}

DatasetPtr with_reference_outputs(DatasetPtr dataset, const Model& fp32, const ExecutionOptions& options,
                                  const EvaluateOptions& evaluate_options) {
  EvaluateOptions e = evaluate_options;
  if (e.phase == "evaluate") e.phase = "fp32 reference";
  return runtime::with_reference_outputs(std::move(dataset), api::unwrap(fp32), evaluation_options(options, e));
}

EvaluationResult evaluate(const Model& model, const Dataset& dataset, const std::vector<MetricPtr>& metrics,
                          const ExecutionOptions& options, const EvaluateOptions& evaluate_options) {
  const runtime::EvaluationOptions eo = evaluation_options(options, evaluate_options);
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
