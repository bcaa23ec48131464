// The public quantization entry points (include/qwac/quantize.h, include/qwac/accuracy_control.h): typed params
// converted to the config form, the algorithms run on the library's model, and their JSON report read into the
// typed Report (src/report) at this boundary.
#include <memory>

#include "accuracy/accuracy_control.h"
#include "api/model_impl.h"
#include "api/params.h"
#include "quant/quantize.h"
#include "qwac/accuracy_control.h"
#include "qwac/quantize.h"
#include "report/report_json.h"

namespace qwac {

QuantizeResult quantize(const Model& model, const Dataset& calibration, const QuantizationParams& params,
                        const ExecutionOptions& options) {
  QuantizeOutput out = quantize(api::unwrap(model), calibration, api::to_config(params), options);
  return {api::wrap(std::move(out.model)), report::from_json(out.report)};
}

AccuracyControlResult quantize_with_accuracy_control(const Model& model, const Dataset& calibration,
                                                     const Dataset& validation, const std::vector<MetricPtr>& metrics,
                                                     const AccuracyControlParams& params,
                                                     const ExecutionOptions& options) {
  AccuracyControlOutput out = quantize_with_accuracy_control(api::unwrap(model), calibration, validation, metrics,
                                                             api::to_config(params), options);
  return {api::wrap(std::move(out.model)), report::from_json(out.report), out.reached};
}

AccuracyControlResult quantize_with_accuracy_control(const Model& model, const Dataset& calibration,
                                                     const Dataset& validation, const ValidationFunction& validation_fn,
                                                     const AccuracyControlParams& params,
                                                     const ExecutionOptions& options) {
  AccuracyControlOutput out = quantize_with_accuracy_control(api::unwrap(model), calibration, validation,
                                                             validation_fn, api::to_config(params), options);
  return {api::wrap(std::move(out.model)), report::from_json(out.report), out.reached};
}

std::string accuracy_not_reached_message(const AccuracyControlParams& params) {
  return "the drop bound " + nlohmann::json(params.max_drop).dump() + " (" + to_string(params.drop_type) +
         ") is not reached; the best model found and the report were kept (raise maximal_drop, max_iter_num or the "
         "budgets)";
}

Report quantization_sensitivity(const Model& model, const Dataset& calibration, const Dataset& validation,
                                const std::vector<MetricPtr>& metrics, const AccuracyControlParams& params,
                                const ExecutionOptions& options) {
  return report::from_json(quantization_sensitivity(api::unwrap(model), calibration, validation, metrics,
                                                    api::to_config(params), options));
}

}  // namespace qwac
