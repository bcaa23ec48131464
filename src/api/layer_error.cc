// The public per-layer error entry point (include/qwac/layer_error.h) over quant/layer_error.
#include "qwac/layer_error.h"

#include "api/model_impl.h"
#include "quant/layer_error.h"

namespace qwac {

LayerErrorReport measure_layer_errors(const Model& fp32, const Model& quantized, const Dataset& data,
                                      int64_t max_samples, const ExecutionOptions& options) {
  return quant::measure_layer_errors(api::unwrap(fp32, "fp32 model"), api::unwrap(quantized, "quantized model"),
                                     data, max_samples, options);
}

}  // namespace qwac
