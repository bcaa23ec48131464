#include "quant/default_quantization.h"

#include <algorithm>
#include <chrono>
#include <cmath>
#include <set>

#include "quant/bias_correction.h"
#include "quant/calibration.h"
#include "quant/canonicalize.h"
#include "quant/model_type.h"
#include "quant/placement.h"
#include "quant/quant_params.h"
#include "quant/range_estimator.h"
#include "quant/smooth_quant.h"
#include "core/stopwatch.h"
#include "qwac/error.h"
#include "runtime/evaluation.h"

namespace qwac::quant {
namespace {

using Clock = SteadyClock;

const char* kind_name(QuantizerKind k) { return k == QuantizerKind::kWeight ? "weight" : "activation"; }
const char* mode_name(QuantMode m) { return m == QuantMode::kSymmetric ? "symmetric" : "asymmetric"; }
const char* granularity_name(Granularity g) { return g == Granularity::kPerChannel ? "perchannel" : "pertensor"; }

QuantMode parse_mode(const std::string& s, const std::string& where) {
  if (s == "symmetric") return QuantMode::kSymmetric;
  if (s == "asymmetric") return QuantMode::kAsymmetric;
  throw InvalidConfig(where + ": unknown mode '" + s + "' (expected \"symmetric\" or \"asymmetric\")");
}

Granularity parse_granularity(const std::string& s, const std::string& where) {
  if (s == "perchannel") return Granularity::kPerChannel;
  if (s == "pertensor") return Granularity::kPerTensor;
  throw InvalidConfig(where + ": unknown granularity '" + s + "' (expected \"perchannel\" or \"pertensor\")");
}

int parse_bits(int bits, const std::string& where) {
  if (bits != 8 && bits != 16) throw InvalidConfig(where + ": bits must be 8 or 16, got " + std::to_string(bits));
  return bits;
}

// Summary of a vector for reports: the value itself when there is one, else min/max/mean.
nlohmann::json summarize(const std::vector<float>& v) {
  if (v.size() == 1) return v.front();
  if (v.empty()) return nullptr;
  double sum = 0;
  for (float x : v) sum += x;
  return {{"count", v.size()},
          {"min", *std::min_element(v.begin(), v.end())},
          {"max", *std::max_element(v.begin(), v.end())},
          {"mean", sum / static_cast<double>(v.size())}};
}

nlohmann::json summarize(const std::vector<int32_t>& v) {
  std::vector<float> f(v.begin(), v.end());
  return summarize(f);
}

std::string dtype_label(DType t) { return std::string(dtype_name(t)); }

// Stops with a clear message when there is nothing to quantize.
void require_quantizers(const QuantizerSet& set, const ir::Model& model, const HwConfig& hw) {
  if (!set.quantizers.empty()) return;
  std::set<std::string> types;
  for (const ir::Node* n : model.graph->nodes()) types.insert(n->op_type());
  std::string present, allowed;
  for (const auto& t : types) present += (present.empty() ? "" : ", ") + t;
  for (const auto& [t, _] : hw.quantizable) allowed += (allowed.empty() ? "" : ", ") + t;
  std::string why;
  for (const FloatOp& f : set.float_ops) why += (why.empty() ? "" : "; ") + f.node + ": " + f.reason;
  throw InvalidModel("the model has no op that target device " + hw.target_device + " quantizes (model ops: " +
                     present + "; quantizable: " + allowed + ")" + (why.empty() ? "" : "; left in float: " + why));
}

}  // namespace

nlohmann::json quantizers_report(const QuantizerSet& set) {
  nlohmann::json j;
  j["quantizers"] = nlohmann::json::array();
  for (const Quantizer& q : set.quantizers) {
    nlohmann::json e;
    e["id"] = q.id;
    e["name"] = q.name;
    e["kind"] = kind_name(q.kind);
    e["tensors"] = q.sources;
    nlohmann::json edges = nlohmann::json::array();
    for (const QuantizedEdge& ed : q.edges) edges.push_back({{"node", ed.node}, {"input", ed.input_index}});
    e["edges"] = edges;
    e["group"] = q.group;
    e["enabled"] = q.enabled;
    e["bits"] = q.spec.bits;
    e["mode"] = mode_name(q.spec.mode);
    e["granularity"] = granularity_name(q.spec.granularity);
    if (q.params) {
      e["dtype"] = dtype_label(q.params->dtype);
      if (q.params->axis >= 0) e["axis"] = q.params->axis;
      e["scale"] = summarize(q.params->scale);
      e["zero_point"] = summarize(q.params->zero_point);
      e["range_min"] = summarize(q.params->range_min);
      e["range_max"] = summarize(q.params->range_max);
      e["integer_range"] = {q.params->qmin, q.params->qmax};
    }
    e["range_method"] = q.range_method;
    e["clipping_ratio"] = q.clipping_ratio;
    j["quantizers"].push_back(e);
  }
  j["groups"] = nlohmann::json::array();
  for (const QuantizerGroup& g : set.groups) {
    j["groups"].push_back(
        {{"id", g.id}, {"name", g.name}, {"quantizers", g.quantizers}, {"ops", g.ops}, {"enabled", set.group_enabled(g.id)}});
  }
  j["float_ops"] = nlohmann::json::array();
  for (const FloatOp& f : set.float_ops) {
    j["float_ops"].push_back({{"node", f.node}, {"op_type", f.op_type}, {"reason", f.reason}});
  }
  j["quantized_ops"] = set.quantized_ops;
  return j;
}

ir::Model build_quantized_model(const QuantizationState& state, Logger* logger) {
  std::map<std::string, Tensor> biases;
  for (const auto& [node, bias] : state.corrected_biases) {
    const int wq = state.set.quantizer_for_edge({node, 1});
    if (wq >= 0 && state.set.at(wq).enabled) biases[node] = bias;
  }
  const ir::Model with_bias = biases.empty() ? state.canonical->clone() : with_biases(*state.canonical, biases);
  ir::Model q = materialize_qdq(with_bias, state.set, state.materialize, logger);
  // Intermediate value_info (much of it added by the opset upgrade's shape inference) is redundant for every
  // runtime and, on small models, weighs as much as the int8 weights: only graph inputs/outputs keep their types.
  ir::Graph& g = *q.graph;
  for (ir::Value* v : g.values()) {
    if (!v->is_constant() && !g.is_graph_input(v) && !g.is_graph_output(v)) v->type = ir::TypeInfo{};
  }
  return q;
}

QuantizationState run_default_quantization(const ir::Model& model, const Dataset& calibration,
                                           const QuantizationConfig& params, const RunOptions& options) {
  const auto t_start = Clock::now();
  auto logger = options.logger ? options.logger : make_null_logger();
  const std::string where = "DefaultQuantization.params";

  // --- parameters
  const HwConfig& hw = hw_config_for(params.target_device);
  const ModelTypeConfig* model_type = model_type_for(params.model_type, where + ".model_type");
  const std::string preset_text = resolved_preset(params);  // "" = the model type's default, else performance
  const Preset preset = parse_preset(preset_text, where + ".preset");
  if (std::find(hw.presets.begin(), hw.presets.end(), preset) == hw.presets.end()) {
    std::string allowed;
    for (Preset p : hw.presets) allowed += (allowed.empty() ? "" : ", ") + preset_name(p);
    throw InvalidConfig(where + ".preset: '" + preset_text + "' is not available for target device " +
                        hw.target_device + " (allowed: " + allowed + ")");
  }
  if (params.stat_subset_size < 1) {
    throw InvalidConfig(where + ".stat_subset_size must be >= 1, got " + std::to_string(params.stat_subset_size));
  }
  if (params.smooth_quant_alpha && *params.smooth_quant_alpha > 1) {
    throw InvalidConfig(where + ".smooth_quant_alpha must be <= 1 (negative = off), got " +
                        std::to_string(*params.smooth_quant_alpha));
  }
  if (params.bias_correction != "fast" && params.bias_correction != "full" && params.bias_correction != "none") {
    throw InvalidConfig(where + ".bias_correction: unknown value '" + params.bias_correction +
                        "' (expected \"fast\", \"full\" or \"none\")");
  }
  PlacementOptions placement;
  placement.preset = preset;
  placement.model_type = model_type;
  placement.weight_granularity =
      parse_granularity(params.weights.granularity.value_or("perchannel"), where + ".weights.granularity");
  if (params.activations.granularity &&
      parse_granularity(*params.activations.granularity, where + ".activations.granularity") !=
          Granularity::kPerTensor) {
    throw InvalidConfig(where + ".activations.granularity: per-channel activations are not supported by qwac's QDQ "
                        "export (ONNX Runtime fuses only per-tensor activations); use \"pertensor\"");
  }
  if (params.weights.bits) placement.weight_bits = parse_bits(*params.weights.bits, where + ".weights.bits");
  if (params.activations.bits) placement.activation_bits = parse_bits(*params.activations.bits, where + ".activations.bits");
  if (params.weights.mode) placement.weight_mode = parse_mode(*params.weights.mode, where + ".weights.mode");
  if (params.activations.mode) placement.activation_mode = parse_mode(*params.activations.mode, where + ".activations.mode");
  if (!params.ignored_scope.is_null()) {
    placement.ignored_scope = parse_ignored_scope(params.ignored_scope, where + ".ignored_scope");
  }
  const std::string profile_name = params.export_profile.empty() ? hw.export_profile : params.export_profile;
  const ExportProfile* profile = nullptr;
  if (!profile_name.empty()) {
    try {
      profile = &export_profile_for(profile_name);
    } catch (const InvalidConfig& e) {
      throw InvalidConfig(where + "." + e.what());
    }
  }
  placement.profile = profile;

  // --- calibration subset
  const int64_t available = calibration.size();
  if (available <= 0) throw DataError("the calibration dataset " + calibration.describe() + " is empty");
  const int64_t n = std::min(params.stat_subset_size, available);
  std::vector<int64_t> indices;
  if (params.shuffle_data) {
    indices = shuffled_indices(available, params.seed);
    indices.resize(static_cast<size_t>(n));
  } else {
    for (int64_t i = 0; i < n; ++i) indices.push_back(i);
  }
  DatasetPtr base(&calibration, [](const Dataset*) {});
  DatasetPtr subset = make_subset(base, indices);
  const Sample first = subset->get(0);
  runtime::check_sample_against_model(first, *model.graph);
  std::map<std::string, Shape> sample_shapes;
  for (const auto& [name, t] : first.inputs) sample_shapes[name] = t.shape();

  // --- canonicalize + placement
  auto t0 = Clock::now();
  CanonicalizeOptions co;
  co.want_per_channel = placement.weight_granularity == Granularity::kPerChannel;
  CanonicalModel canonical = canonicalize(model, sample_shapes, co, *logger);
  if (!canonical.per_channel_allowed && placement.weight_granularity == Granularity::kPerChannel) {
    placement.weight_granularity = Granularity::kPerTensor;
  }
  // --- SmoothQuant: before placement, so that weight ranges and activation statistics see the smoothed model
  nlohmann::json smooth_report;
  double t_smooth = 0;
  if (const std::optional<double> alpha = resolved_smooth_quant_alpha(params)) {
    const auto ts = Clock::now();
    smooth_report = smooth_quant(canonical.model, *subset, sample_shapes, *alpha, options);
    t_smooth = seconds_since(ts);
    const size_t n_smoothed = smooth_report["smoothed"].size();
    logger->info("SmoothQuant (alpha " + std::to_string(*alpha).substr(0, 4) + "): " + std::to_string(n_smoothed) +
                 " MatMul input(s) smoothed, " + std::to_string(smooth_report["skipped"].size()) +
                 " MatMul(s) left alone");
    if (n_smoothed > 0) {
      canonical.changes.push_back("SmoothQuant on " + std::to_string(n_smoothed) + " MatMul input(s)");
    }
  }
  QuantizationState state;
  state.set = place_quantizers(canonical.model, hw, placement);
  require_quantizers(state.set, canonical.model, hw);
  const double t_prepare = seconds_since(t0) - t_smooth;  // SmoothQuant has its own entry
  logger->info(std::to_string(state.set.quantizers.size()) + " quantizers in " + std::to_string(state.set.groups.size()) +
               " groups on " + std::to_string(state.set.quantized_ops.size()) + " ops; " +
               std::to_string(state.set.float_ops.size()) + " quantizable op(s) left in float");

  // --- weights: ranges straight from the constants
  const ir::Graph& g = *canonical.model.graph;
  auto range_config = [&](const Quantizer& q) {
    const QuantizerConfig& qp = q.kind == QuantizerKind::kWeight ? params.weights : params.activations;
    const std::string path = where + (q.kind == QuantizerKind::kWeight ? ".weights" : ".activations") + ".range_estimator";
    if (qp.range_estimator.is_null()) {
      // 8-bit activations default to the MSE-optimal range over the calibration histogram: measured on
      // mobilenetv3s-cifar10 (top-1 drop by ONNX Runtime 0.5-0.9 -> about 0, three calibration seeds), resnet20
      // (0.39 -> 0.19) and SqueezeNet (0.24 -> -0.15); the MNIST-family models move by at most 0.03 points either
      // way (README, "Quantization"). 16-bit activations keep POT's min/max defaults: clipping buys them nothing.
      if (q.kind == QuantizerKind::kActivation && q.spec.bits == 8) {
        return range_estimator_preset("mse", path, q.kind, q.spec);
      }
      return default_range_estimator(q.kind, q.spec);
    }
    if (qp.range_estimator.is_string()) {
      return range_estimator_preset(qp.range_estimator.get<std::string>(), path, q.kind, q.spec);
    }
    return parse_range_estimator(qp.range_estimator, path, q.kind, q.spec);
  };
  for (Quantizer& q : state.set.quantizers) {
    if (q.kind != QuantizerKind::kWeight) continue;
    const ir::Value* v = g.value(q.sources.front());
    if (!v->is_constant()) throw InternalError("weight quantizer '" + q.name + "' is not on a constant");
    const Range r = estimate_weight_range(range_config(q), *v->constant, q.spec);
    q.params = compute_quant_params(q.spec, r.min, r.max, q.name);
    q.range_method = r.method;
    q.clipping_ratio = r.clipping_ratio;
  }

  // --- activations: one statistics pass (plus the bias-correction input means)
  std::vector<ActivationStatsRequest> requests;
  for (const Quantizer& q : state.set.quantizers) {
    if (q.kind != QuantizerKind::kActivation) continue;
    requests.push_back({q.id, q.sources, needs_for(range_config(q), q.spec)});
  }
  const std::vector<BiasTarget> targets = bias_targets(canonical.model, state.set);
  std::vector<std::string> means;
  if (params.bias_correction == "fast") {
    for (const BiasTarget& t : targets) means.push_back(t.input);
  }
  t0 = Clock::now();
  RunOptions stats_options = options;
  const CalibrationStatistics stats = collect_statistics(canonical.model, *subset, requests, means, stats_options);
  const double t_stats = seconds_since(t0);
  t0 = Clock::now();
  for (Quantizer& q : state.set.quantizers) {
    if (q.kind != QuantizerKind::kActivation) continue;
    const Range r = estimate_activation_range(range_config(q), stats.activations.at(q.id), q.spec);
    q.params = compute_quant_params(q.spec, r.min, r.max, q.name);
    q.range_method = r.method;
    q.clipping_ratio = r.clipping_ratio;
  }
  const double t_ranges = seconds_since(t0);  // the MSE/KL searches over the histograms

  // --- bias correction
  state.canonical = std::make_shared<const ir::Model>(std::move(canonical.model));
  state.materialize.compress_weights = params.compress_weights;
  state.materialize.quantize_bias = params.quantize_bias;
  state.materialize.profile = profile;
  t0 = Clock::now();
  nlohmann::json bc_report;
  bc_report["method"] = params.bias_correction;
  if (params.bias_correction == "fast") {
    state.corrected_biases =
        fast_bias_correction(*state.canonical, state.set, targets, stats.means, options.use_dnnl, *logger);
  } else if (params.bias_correction == "full") {
    const int64_t k = params.bias_correction_subset_size > 0
                          ? std::min(params.bias_correction_subset_size, n)
                          : std::max<int64_t>(1, n / 5);
    std::vector<int64_t> first(indices.begin(), indices.begin() + k);
    DatasetPtr bc_subset = make_subset(base, first);
    bc_report["samples"] = k;
    QuantizationState* s = &state;
    state.corrected_biases = full_bias_correction(
        *state.canonical, targets, *bc_subset,
        [&](const std::map<std::string, Tensor>& biases) {
          QuantizationState tmp{s->canonical, s->set, biases, s->materialize, {}};
          return build_quantized_model(tmp, nullptr);
        },
        options);
  }
  const double t_bias = seconds_since(t0);
  nlohmann::json corrected = nlohmann::json::array();
  for (const auto& [node, bias] : state.corrected_biases) {
    const ir::Node* nd = state.canonical->graph->find_node(node);
    const ir::Value* old = nd->num_inputs() > 2 ? nd->input(2) : nullptr;
    double max_shift = 0;
    for (int64_t c = 0; c < bias.numel(); ++c) {
      const double before = old != nullptr && old->is_constant() ? old->constant->data<float>()[c] : 0.0;
      max_shift = std::max(max_shift, std::fabs(bias.data<float>()[c] - before));
    }
    corrected.push_back({{"node", node}, {"max_abs_shift", max_shift}, {"bias_added", old == nullptr}});
  }
  bc_report["corrected"] = corrected;

  // --- report
  nlohmann::json& rep = state.report;
  rep["tool"] = {{"name", "qwac"}, {"version", QWAC_VERSION}};
  rep["algorithm"] = "DefaultQuantization";
  rep["params"] = {{"target_device", hw.target_device},
                   {"preset", preset_name(preset)},
                   {"model_type", model_type != nullptr ? model_type->name : "none"},
                   {"stat_subset_size", params.stat_subset_size},
                   {"shuffle_data", params.shuffle_data},
                   {"seed", params.seed},
                   {"weights_granularity", granularity_name(placement.weight_granularity)},
                   {"export_profile", profile != nullptr ? profile->name : "none"},
                   {"bias_correction", params.bias_correction},
                   {"compress_weights", params.compress_weights},
                   {"quantize_bias", params.quantize_bias}};
  rep["canonicalization"] = {{"original_opset", canonical.original_opset},
                             {"opset", state.canonical->opset("")},
                             {"changes", canonical.changes}};
  rep["calibration"] = {{"dataset", calibration.describe()},
                        {"samples", stats.samples},
                        {"batch_size", stats.batch_size}};
  const nlohmann::json qr = quantizers_report(state.set);
  for (const auto& [k, v] : qr.items()) rep[k] = v;
  rep["bias_correction"] = bc_report;
  if (!smooth_report.is_null()) rep["smooth_quant"] = smooth_report;
  rep["timings_seconds"] = {{"prepare", t_prepare}, {"statistics", t_stats}, {"activation_ranges", t_ranges},
                            {"bias_correction", t_bias}};
  if (!smooth_report.is_null()) rep["timings_seconds"]["smooth_quant"] = t_smooth;
  rep["timings_seconds"]["quantize_total"] = seconds_since(t_start);
  return state;
}

}  // namespace qwac::quant
