#include "quant/layer_error.h"

#include <algorithm>
#include <chrono>
#include <cmath>
#include <map>

#include "core/logger.h"
#include "qwac/error.h"
#include "core/tensor.h"
#include "quant/canonicalize.h"
#include "runtime/engine.h"
#include "runtime/evaluation.h"

namespace qwac::quant {
namespace {

bool is_qdq(const ir::Node& n) { return n.op_type() == "QuantizeLinear" || n.op_type() == "DequantizeLinear"; }

// Sums over the samples for one tensor.
struct ErrorSums {
  double signal = 0;  // sum of fp32^2
  double error = 0;   // sum of (q - fp32)^2
  double max_abs = 0;
  bool compared = false;
};

void accumulate(const Tensor& ref, const Tensor& q, ErrorSums& s) {
  if (ref.dtype() != DType::kFloat32 || q.dtype() != DType::kFloat32 || ref.shape() != q.shape()) return;
  const float* r = ref.data<float>();
  const float* x = q.data<float>();
  for (int64_t i = 0, n = ref.numel(); i < n; ++i) {
    const double d = static_cast<double>(x[i]) - static_cast<double>(r[i]);
    s.signal += static_cast<double>(r[i]) * static_cast<double>(r[i]);
    s.error += d * d;
    s.max_abs = std::max(s.max_abs, std::abs(d));
  }
  s.compared = true;
}

}  // namespace

LayerErrorReport measure_layer_errors(const ir::Model& fp32, const ir::Model& quantized, const Dataset& data,
                                      int64_t max_samples, const ExecutionOptions& options) {
  const auto t0 = std::chrono::steady_clock::now();
  if (data.size() <= 0) throw DataError("layer errors: the dataset " + data.describe() + " is empty");
  const int64_t n = std::clamp<int64_t>(max_samples, 1, data.size());
  std::shared_ptr<Logger> logger = options.logger ? options.logger : make_null_logger();

  const Sample first = data.get(0);
  runtime::check_sample_against_model(first, *fp32.graph);
  std::map<std::string, Shape> shapes;
  for (const auto& [name, t] : first.inputs) shapes[name] = t.shape();
  const CanonicalModel canonical = canonicalize(fp32, shapes, CanonicalizeOptions{}, *logger);
  const ir::Graph& ref_graph = *canonical.model.graph;

  // Every computing node of the quantized graph, in order; its first output is compared when the FP32 graph
  // computes a tensor of that name.
  LayerErrorReport report;
  report.dataset = data.describe();
  report.samples = n;
  report.execution = "QDQ simulation";
  std::vector<std::string> taps;
  for (const ir::Node* node : quantized.graph->topological_order()) {
    if (is_qdq(*node) || node->num_outputs() == 0 || node->output(0) == nullptr) continue;
    const ir::Value* out = node->output(0);
    if (out->is_constant()) continue;
    LayerError e;
    e.node = node->name();
    e.op_type = node->op_type();
    e.tensor = out->name();
    const ir::Value* ref = ref_graph.find_value(out->name());
    if (ref != nullptr && !ref->is_constant() && ref->producer() != nullptr) taps.push_back(out->name());
    report.layers.push_back(std::move(e));
  }

  runtime::EngineOptions eo;
  eo.num_threads = options.threads;
  eo.use_dnnl = options.use_dnnl;
  eo.int8 = false;  // the QDQ simulation: ONNX's semantics, not one runtime's integer kernels
  eo.taps = taps;
  eo.logger = logger;
  runtime::Engine ref_engine(canonical.model, eo, shapes);
  runtime::Engine q_engine(quantized, eo, shapes);

  std::map<std::string, ErrorSums> sums;
  for (int64_t i = 0; i < n; ++i) {
    const Sample s = i == 0 ? first : data.get(i);
    ref_engine.run(s.inputs);
    q_engine.run(s.inputs);
    for (const std::string& t : taps) accumulate(ref_engine.tap(t), q_engine.tap(t), sums[t]);
  }
  for (LayerError& e : report.layers) {
    const auto it = sums.find(e.tensor);
    if (it == sums.end() || !it->second.compared) continue;
    const ErrorSums& s = it->second;
    e.max_abs_error = s.max_abs;
    if (s.signal > 0) {
      e.nmse = s.error / s.signal;
      if (s.error > 0) e.sqnr_db = -10.0 * std::log10(*e.nmse);
    }
  }
  report.seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  return report;
}

}  // namespace qwac::quant
