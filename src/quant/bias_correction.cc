#include "quant/bias_correction.h"

#include <cmath>
#include <exception>
#include <vector>

#include "quant/calibration.h"
#include "quant/quant_params.h"
#include "qwac/error.h"
#include "runtime/engine.h"
#include "runtime/evaluation.h"

namespace qwac::quant {
namespace {

// Output-channel axis of the op's output and the weight input index; ops listed here are the ones corrected.
struct BiasOpFacts {
  const char* op_type;
  int bias_input;
};
constexpr BiasOpFacts kBiasOps[] = {{"Conv", 2}, {"ConvTranspose", 2}, {"Gemm", 2}};

const BiasOpFacts* bias_facts(const ir::Node& n) {
  if (!n.domain().empty()) return nullptr;
  for (const BiasOpFacts& f : kBiasOps) {
    if (n.op_type() == f.op_type) return &f;
  }
  return nullptr;
}

// Number of output channels, or -1 when unknown.
int64_t output_channels(const ir::Node& n) {
  const ir::Value* w = n.input(1);
  if (w == nullptr || !w->is_constant()) return -1;
  const Tensor& t = *w->constant;
  if (n.op_type() == "Conv") return t.dim(0);
  if (n.op_type() == "ConvTranspose") return t.dim(1) * n.attrs.get_int("group", 1);
  if (n.op_type() == "Gemm") return n.attrs.get_int("transB", 0) ? t.dim(0) : t.dim(1);
  return -1;
}

// Per-channel mean of y over every axis but 1 (N C ... layout for Conv, [N, C] for Gemm).
std::vector<double> channel_means(const Tensor& y) {
  const int64_t n = y.dim(0), c = y.dim(1), inner = y.numel() / std::max<int64_t>(1, n * c);
  std::vector<double> m(static_cast<size_t>(c), 0.0);
  const float* p = y.data<float>();
  for (int64_t b = 0; b < n; ++b) {
    for (int64_t ch = 0; ch < c; ++ch) {
      double s = 0;
      for (int64_t i = 0; i < inner; ++i) s += p[(b * c + ch) * inner + i];
      m[static_cast<size_t>(ch)] += s;
    }
  }
  for (double& v : m) v /= static_cast<double>(n * inner);
  return m;
}

Tensor original_bias(const ir::Node& n, int bias_input, int64_t channels) {
  const ir::Value* b = n.input(static_cast<size_t>(bias_input));
  if (b != nullptr && b->is_constant()) return b->constant->clone();
  return Tensor(DType::kFloat32, {channels});
}

// op(delta_w, x) without bias, on one sample, with the node's attributes.
Tensor run_single_op(const ir::Model& canonical, const ir::Node& n, const Tensor& x, const Tensor& delta_w,
                     bool use_dnnl, int num_threads = 0) {
  ir::Model m;
  m.ir_version = canonical.ir_version;
  m.opset_imports = canonical.opset_imports;
  m.graph = std::make_unique<ir::Graph>();
  ir::Graph& g = *m.graph;
  ir::Value* in = g.add_value("x");
  in->type.dtype = DType::kFloat32;
  ir::SymbolicShape shape;
  for (int64_t d : x.shape()) shape.push_back(ir::Dim{d, ""});
  in->type.shape = shape;
  g.add_input(in);
  ir::Value* w = g.add_constant("w", delta_w);
  ir::Value* y = g.add_value("y");
  ir::Node* node = g.add_node(n.op_type(), {in, w}, {y}, "delta");
  node->attrs = n.attrs;
  g.add_output(y);
  runtime::EngineOptions eo;
  eo.use_dnnl = use_dnnl;
  eo.fuse = false;
  eo.num_threads = num_threads;
  runtime::Engine engine(m, eo);
  return engine.run({{"x", x}})[0];
}

}  // namespace

std::vector<BiasTarget> bias_targets(const ir::Model& canonical, const QuantizerSet& set) {
  std::vector<BiasTarget> out;
  for (const ir::Node* n : canonical.graph->topological_order()) {
    const BiasOpFacts* f = bias_facts(*n);
    if (f == nullptr || n->num_outputs() != 1 || n->input(0) == nullptr) continue;
    const int wq = set.quantizer_for_edge({n->name(), 1});
    if (wq < 0 || !set.at(wq).enabled || !set.at(wq).params || set.at(wq).kind != QuantizerKind::kWeight) continue;
    const ir::Value* b = n->input(static_cast<size_t>(f->bias_input));
    if (b != nullptr && (!b->is_constant() || b->constant->dtype() != DType::kFloat32 || b->constant->rank() != 1)) {
      continue;  // a computed or broadcast bias (Gemm C of shape [M, N]) is left alone
    }
    if (output_channels(*n) <= 0) continue;
    out.push_back({n->name(), n->input(0)->name(), n->output(0)->name(), wq});
  }
  return out;
}

std::map<std::string, Tensor> fast_bias_correction(const ir::Model& canonical, const QuantizerSet& set,
                                                   const std::vector<BiasTarget>& targets,
                                                   const std::map<std::string, Tensor>& input_means,
                                                   bool use_dnnl, Logger& logger) {
  std::map<std::string, Tensor> out;
  const ir::Graph& g = *canonical.graph;
  // The shifts of the targets are independent single-op runs on one sample each: dominated by compiling a tiny
  // engine, so they run one per thread (each engine single-threaded: nothing to split inside a one-sample op)
  // instead of one after another with every engine's kernels forking threads for microseconds of work. Checks,
  // warnings and the result follow in target order.
  const auto count = static_cast<int64_t>(targets.size());
  std::vector<std::vector<double>> shifts(targets.size());
  std::vector<std::exception_ptr> errors(targets.size());
#pragma omp parallel for schedule(dynamic, 1) if (count > 1)
  for (int64_t j = 0; j < count; ++j) {
    try {
      const BiasTarget& t = targets[static_cast<size_t>(j)];
      const ir::Node* n = g.find_node(t.node);
      const Quantizer& wq = set.at(t.weight_quantizer);
      const Tensor& w = *n->input(1)->constant;
      const Tensor wq_dq = fake_quantize_tensor(w, *wq.params);
      Tensor delta(DType::kFloat32, w.shape());
      for (int64_t i = 0; i < w.numel(); ++i) delta.data<float>()[i] = w.data<float>()[i] - wq_dq.data<float>()[i];
      const Tensor y = run_single_op(canonical, *n, input_means.at(t.input), delta, use_dnnl, 1);
      shifts[static_cast<size_t>(j)] = channel_means(y);
    } catch (...) {
      errors[static_cast<size_t>(j)] = std::current_exception();
    }
  }
  for (size_t j = 0; j < targets.size(); ++j) {
    if (errors[j]) std::rethrow_exception(errors[j]);
    const BiasTarget& t = targets[j];
    const ir::Node* n = g.find_node(t.node);
    const BiasOpFacts* f = bias_facts(*n);
    const std::vector<double>& shift = shifts[j];
    const int64_t channels = output_channels(*n);
    Tensor bias = original_bias(*n, f->bias_input, channels);
    if (static_cast<int64_t>(shift.size()) != channels || bias.numel() != channels) {
      logger.warning("bias correction skipped for " + n->describe() + ": output has " + std::to_string(shift.size()) +
                     " channels, bias " + std::to_string(bias.numel()));
      continue;
    }
    bool finite = true;
    for (int64_t c = 0; c < channels; ++c) finite = finite && std::isfinite(shift[static_cast<size_t>(c)]);
    if (!finite) {
      logger.warning("bias correction skipped for " + n->describe() + ": non-finite shift");
      continue;
    }
    for (int64_t c = 0; c < channels; ++c) bias.data<float>()[c] += static_cast<float>(shift[static_cast<size_t>(c)]);
    out[t.node] = bias;
  }
  return out;
}

std::map<std::string, Tensor> full_bias_correction(
    const ir::Model& canonical, const std::vector<BiasTarget>& targets, const Dataset& subset,
    const std::function<ir::Model(const std::map<std::string, Tensor>&)>& build_quantized, const RunOptions& options) {
  std::map<std::string, Tensor> biases;
  if (targets.empty()) return biases;
  auto logger = options.logger ? options.logger : make_null_logger();
  // FP32 output means of every target, in one pass.
  std::vector<std::string> outputs;
  for (const BiasTarget& t : targets) outputs.push_back(t.output);
  RunOptions quiet = options;
  quiet.progress = nullptr;
  const CalibrationStatistics fp32 = collect_statistics(canonical, subset, {}, outputs, quiet);

  const ir::Graph& g = *canonical.graph;
  auto progress = options.progress ? options.progress : make_null_progress();
  progress->begin("bias correction", static_cast<int64_t>(targets.size()));
  int64_t done = 0;
  for (const BiasTarget& t : targets) {
    const ir::Node* n = g.find_node(t.node);
    const BiasOpFacts* f = bias_facts(*n);
    const ir::Model quantized = build_quantized(biases);
    const CalibrationStatistics q = collect_statistics(quantized, subset, {}, {t.output}, quiet);
    const std::vector<double> fp = channel_means(fp32.means.at(t.output));
    const std::vector<double> qm = channel_means(q.means.at(t.output));
    const int64_t channels = output_channels(*n);
    Tensor bias = original_bias(*n, f->bias_input, channels);
    if (static_cast<int64_t>(fp.size()) != channels || bias.numel() != channels) {
      logger->warning("bias correction skipped for " + n->describe() + ": channel count mismatch");
      progress->advance(++done);
      continue;
    }
    for (int64_t c = 0; c < channels; ++c) {
      const double shift = fp[static_cast<size_t>(c)] - qm[static_cast<size_t>(c)];
      if (std::isfinite(shift)) bias.data<float>()[c] += static_cast<float>(shift);
    }
    biases[t.node] = bias;
    progress->advance(++done);
  }
  progress->end();
  return biases;
}

ir::Model with_biases(const ir::Model& canonical, const std::map<std::string, Tensor>& biases) {
  ir::Model m = canonical.clone();
  ir::Graph& g = *m.graph;
  for (const auto& [node_name, bias] : biases) {
    ir::Node* n = g.find_node(node_name);
    if (n == nullptr) throw InternalError("bias correction target '" + node_name + "' is not in the model");
    const BiasOpFacts* f = bias_facts(*n);
    ir::Value* old = n->input(static_cast<size_t>(f->bias_input));
    ir::Value* fresh = g.add_constant(g.unique_name(node_name + "_bias_corrected"), bias);
    fresh->type.dtype = DType::kFloat32;
    fresh->type.shape = ir::SymbolicShape{ir::Dim{bias.numel(), ""}};
    g.extend_inputs(n, static_cast<size_t>(f->bias_input) + 1);  // Conv(X, W) -> Conv(X, W, B)
    g.set_input(n, static_cast<size_t>(f->bias_input), fresh);
    if (old != nullptr && old->uses().empty() && !g.is_graph_output(old) && !g.is_graph_input(old)) g.remove_value(old);
  }
  return m;
}

}  // namespace qwac::quant
