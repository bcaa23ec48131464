// qwac::quantize (include/qwac/quantize.h): DefaultQuantization end to end, returning the QDQ model and report.
#include "quant/quantize.h"

#include <chrono>

#include "ir/graph.h"
#include "quant/default_quantization.h"
#include "quant/input_model_check.h"

namespace qwac {

QuantizeOutput quantize(const ir::Model& model, const Dataset& calibration, const QuantizationConfig& params,
                        const RunOptions& options) {
  quant::check_quantizable_input(model);
  const auto t0 = std::chrono::steady_clock::now();
  quant::QuantizationState state = quant::run_default_quantization(model, calibration, params, options);
  auto logger = options.logger ? options.logger : make_null_logger();
  const auto t1 = std::chrono::steady_clock::now();
  QuantizeOutput r;
  r.model = std::make_shared<ir::Model>(quant::build_quantized_model(state, logger.get()));
  r.report = std::move(state.report);
  const auto t2 = std::chrono::steady_clock::now();
  r.report["timings_seconds"]["materialize"] = std::chrono::duration<double>(t2 - t1).count();
  r.report["timings_seconds"]["quantize_total"] = std::chrono::duration<double>(t2 - t0).count();
  return r;
}

}  // namespace qwac
