// The typed Report <-> JSON (schema kReportSchemaVersion). Each struct has one writer and one reader next to each
// other, so a key added to one side is seen missing on the other (tests/report/report_json_test.cc round-trips the
// algorithms' reports through both).
#include "report/report_json.h"

#include <string>

#include "qwac/error.h"
#include "qwac/report_json.h"

namespace qwac::report {
namespace {

using nlohmann::json;

// --- small readers: a missing or null key keeps the default

template <typename T>
void read(const json& j, const char* key, T& out) {
  const auto it = j.find(key);
  if (it != j.end() && !it->is_null()) out = it->get<T>();
}

template <typename T>
void read(const json& j, const char* key, std::optional<T>& out) {
  const auto it = j.find(key);
  if (it != j.end() && !it->is_null()) out = it->get<T>();
}

const json& at_or_null(const json& j, const char* key) {
  static const json kNull;
  const auto it = j.find(key);
  return it == j.end() ? kNull : *it;
}

template <typename T, typename Fn>
std::vector<T> read_list(const json& j, const char* key, Fn&& item) {
  std::vector<T> out;
  const json& list = at_or_null(j, key);
  if (!list.is_array()) return out;
  for (const json& e : list) out.push_back(item(e));
  return out;
}

std::map<std::string, double> read_number_map(const json& j, const char* key) {
  std::map<std::string, double> out;
  const json& m = at_or_null(j, key);
  if (!m.is_object()) return out;
  for (const auto& [k, v] : m.items()) {
    if (v.is_number()) out[k] = v.get<double>();
  }
  return out;
}

// Values kept as JSON text (tune_hyperparams: a preset name, a range estimator object...).
std::map<std::string, std::string> read_json_text_map(const json& j, const char* key) {
  std::map<std::string, std::string> out;
  const json& m = at_or_null(j, key);
  if (!m.is_object()) return out;
  for (const auto& [k, v] : m.items()) out[k] = v.dump();
  return out;
}

json json_text_map(const std::map<std::string, std::string>& m) {
  json out = json::object();
  for (const auto& [k, v] : m) out[k] = json::parse(v);
  return out;
}

// --- value summaries: a number, {"count", "min", "max", "mean"}, or null

json to_json(const ValueSummary& v) {
  if (v.count == 0) return nullptr;
  if (v.count == 1) return v.min;
  return {{"count", v.count}, {"min", v.min}, {"max", v.max}, {"mean", v.mean}};
}

ValueSummary summary_from(const json& j) {
  ValueSummary v;
  if (j.is_number()) {
    v.count = 1;
    v.min = v.max = v.mean = j.get<double>();
  } else if (j.is_object()) {
    read(j, "count", v.count);
    read(j, "min", v.min);
    read(j, "max", v.max);
    read(j, "mean", v.mean);
  }
  return v;
}

// --- quantizer set

json to_json(const QuantizerReport& q) {
  json e;
  e["id"] = q.id;
  e["name"] = q.name;
  e["kind"] = q.kind;
  e["tensors"] = q.tensors;
  json edges = json::array();
  for (const QuantizedEdge& ed : q.edges) edges.push_back({{"node", ed.node}, {"input", ed.input}});
  e["edges"] = edges;
  e["group"] = q.group;
  e["enabled"] = q.enabled;
  e["bits"] = q.bits;
  e["mode"] = q.mode;
  e["granularity"] = q.granularity;
  if (q.values) {
    const QuantizerValues& v = *q.values;
    e["dtype"] = v.dtype;
    if (v.axis) e["axis"] = *v.axis;
    e["scale"] = to_json(v.scale);
    e["zero_point"] = to_json(v.zero_point);
    e["range_min"] = to_json(v.range_min);
    e["range_max"] = to_json(v.range_max);
    e["integer_range"] = {v.qmin, v.qmax};
  }
  e["range_method"] = q.range_method;
  e["clipping_ratio"] = q.clipping_ratio;
  return e;
}

QuantizerReport quantizer_from(const json& e) {
  QuantizerReport q;
  read(e, "id", q.id);
  read(e, "name", q.name);
  read(e, "kind", q.kind);
  read(e, "tensors", q.tensors);
  q.edges = read_list<QuantizedEdge>(e, "edges", [](const json& ed) {
    QuantizedEdge x;
    read(ed, "node", x.node);
    read(ed, "input", x.input);
    return x;
  });
  read(e, "group", q.group);
  read(e, "enabled", q.enabled);
  read(e, "bits", q.bits);
  read(e, "mode", q.mode);
  read(e, "granularity", q.granularity);
  if (e.contains("dtype")) {
    QuantizerValues v;
    read(e, "dtype", v.dtype);
    read(e, "axis", v.axis);
    v.scale = summary_from(at_or_null(e, "scale"));
    v.zero_point = summary_from(at_or_null(e, "zero_point"));
    v.range_min = summary_from(at_or_null(e, "range_min"));
    v.range_max = summary_from(at_or_null(e, "range_max"));
    const json& r = at_or_null(e, "integer_range");
    if (r.is_array() && r.size() == 2) {
      v.qmin = r[0].get<int64_t>();
      v.qmax = r[1].get<int64_t>();
    }
    q.values = v;
  }
  read(e, "range_method", q.range_method);
  read(e, "clipping_ratio", q.clipping_ratio);
  return q;
}

// Written into the object that holds the set (the report's top level, or default_quantization).
void write_set(json& j, const QuantizerSetReport& s) {
  j["quantizers"] = json::array();
  for (const QuantizerReport& q : s.quantizers) j["quantizers"].push_back(to_json(q));
  j["groups"] = json::array();
  for (const GroupReport& g : s.groups) {
    j["groups"].push_back(
        {{"id", g.id}, {"name", g.name}, {"quantizers", g.quantizers}, {"ops", g.ops}, {"enabled", g.enabled}});
  }
  j["float_ops"] = json::array();
  for (const FloatOpReport& f : s.float_ops) {
    j["float_ops"].push_back({{"node", f.node}, {"op_type", f.op_type}, {"reason", f.reason}});
  }
  j["quantized_ops"] = s.quantized_ops;
}

// An op left alone and why (op_type absent where the section lists nodes of one kind, e.g. SmoothQuant's MatMuls).
FloatOpReport float_op_from(const json& e) {
  FloatOpReport f;
  read(e, "node", f.node);
  read(e, "op_type", f.op_type);
  read(e, "reason", f.reason);
  return f;
}

QuantizerSetReport set_from(const json& j) {
  QuantizerSetReport s;
  s.quantizers = read_list<QuantizerReport>(j, "quantizers", quantizer_from);
  s.groups = read_list<GroupReport>(j, "groups", [](const json& e) {
    GroupReport g;
    read(e, "id", g.id);
    read(e, "name", g.name);
    read(e, "quantizers", g.quantizers);
    read(e, "ops", g.ops);
    read(e, "enabled", g.enabled);
    return g;
  });
  s.float_ops = read_list<FloatOpReport>(j, "float_ops", float_op_from);
  read(j, "quantized_ops", s.quantized_ops);
  return s;
}

// --- default quantization

json to_json(const QuantizationReport& q) {
  json j;
  j["algorithm"] = to_string(ReportAlgorithm::kDefaultQuantization);
  j["tool"] = {{"name", q.tool_name}, {"version", q.tool_version}};
  const QuantizationSettingsReport& p = q.params;
  j["params"] = {{"target_device", p.target_device},
                 {"preset", p.preset},
                 {"model_type", p.model_type},
                 {"stat_subset_size", p.stat_subset_size},
                 {"shuffle_data", p.shuffle_data},
                 {"seed", p.seed},
                 {"weights_granularity", p.weights_granularity},
                 {"bias_correction", p.bias_correction},
                 {"compress_weights", p.compress_weights},
                 {"quantize_bias", p.quantize_bias},
                 {"export_profile", p.export_profile}};
  j["canonicalization"] = {{"original_opset", q.canonicalization.original_opset},
                           {"opset", q.canonicalization.opset},
                           {"changes", q.canonicalization.changes}};
  j["calibration"] = {{"dataset", q.calibration.dataset},
                      {"samples", q.calibration.samples},
                      {"batch_size", q.calibration.batch_size}};
  write_set(j, q.set);
  json bc;
  bc["method"] = q.bias_correction.method;
  if (q.bias_correction.samples) bc["samples"] = *q.bias_correction.samples;
  bc["corrected"] = json::array();
  for (const BiasCorrectionEntry& e : q.bias_correction.corrected) {
    bc["corrected"].push_back({{"node", e.node}, {"max_abs_shift", e.max_abs_shift}, {"bias_added", e.bias_added}});
  }
  j["bias_correction"] = bc;
  if (q.smooth_quant) {
    json sq;
    sq["alpha"] = q.smooth_quant->alpha;
    sq["smoothed"] = json::array();
    for (const SmoothedActivation& a : q.smooth_quant->smoothed) {
      sq["smoothed"].push_back({{"activation", a.activation},
                                {"folded_into", a.folded_into},
                                {"nodes", a.nodes},
                                {"channels", a.channels},
                                {"scale_min", a.scale_min},
                                {"scale_max", a.scale_max}});
    }
    sq["skipped"] = json::array();
    for (const FloatOpReport& f : q.smooth_quant->skipped) sq["skipped"].push_back({{"node", f.node}, {"reason", f.reason}});
    j["smooth_quant"] = sq;
  }
  j["timings_seconds"] = q.timings_seconds;
  return j;
}

QuantizationReport quantization_from(const json& j) {
  QuantizationReport q;
  const json& tool = at_or_null(j, "tool");
  if (tool.is_object()) {
    read(tool, "name", q.tool_name);
    read(tool, "version", q.tool_version);
  }
  const json& p = at_or_null(j, "params");
  if (p.is_object()) {
    QuantizationSettingsReport& s = q.params;
    read(p, "target_device", s.target_device);
    read(p, "preset", s.preset);
    read(p, "model_type", s.model_type);
    read(p, "stat_subset_size", s.stat_subset_size);
    read(p, "shuffle_data", s.shuffle_data);
    read(p, "seed", s.seed);
    read(p, "weights_granularity", s.weights_granularity);
    read(p, "bias_correction", s.bias_correction);
    read(p, "compress_weights", s.compress_weights);
    read(p, "quantize_bias", s.quantize_bias);
    read(p, "export_profile", s.export_profile);
  }
  const json& c = at_or_null(j, "canonicalization");
  if (c.is_object()) {
    read(c, "original_opset", q.canonicalization.original_opset);
    read(c, "opset", q.canonicalization.opset);
    read(c, "changes", q.canonicalization.changes);
  }
  const json& cal = at_or_null(j, "calibration");
  if (cal.is_object()) {
    read(cal, "dataset", q.calibration.dataset);
    read(cal, "samples", q.calibration.samples);
    read(cal, "batch_size", q.calibration.batch_size);
  }
  q.set = set_from(j);
  const json& bc = at_or_null(j, "bias_correction");
  if (bc.is_object()) {
    read(bc, "method", q.bias_correction.method);
    read(bc, "samples", q.bias_correction.samples);
    q.bias_correction.corrected = read_list<BiasCorrectionEntry>(bc, "corrected", [](const json& e) {
      BiasCorrectionEntry b;
      read(e, "node", b.node);
      read(e, "max_abs_shift", b.max_abs_shift);
      read(e, "bias_added", b.bias_added);
      return b;
    });
  }
  const json& sq = at_or_null(j, "smooth_quant");
  if (sq.is_object()) {
    SmoothQuantReport r;
    read(sq, "alpha", r.alpha);
    r.smoothed = read_list<SmoothedActivation>(sq, "smoothed", [](const json& e) {
      SmoothedActivation a;
      read(e, "activation", a.activation);
      read(e, "folded_into", a.folded_into);
      read(e, "nodes", a.nodes);
      read(e, "channels", a.channels);
      read(e, "scale_min", a.scale_min);
      read(e, "scale_max", a.scale_max);
      return a;
    });
    r.skipped = read_list<FloatOpReport>(sq, "skipped", float_op_from);
    q.smooth_quant = std::move(r);
  }
  q.timings_seconds = read_number_map(j, "timings_seconds");
  return q;
}

// --- accuracy control

const char* direction(bool higher_better) { return higher_better ? "higher-better" : "higher-worse"; }

json controlled_metrics(const std::vector<ControlledMetricReport>& metrics) {
  json out = json::object();
  for (const ControlledMetricReport& m : metrics) {
    json e = {{"fp32", m.fp32},
              {"default_quantization", m.default_quantization},
              {"drop", m.drop},
              {"bound", m.bound},
              {"direction", direction(m.higher_better)}};
    if (m.tuned_default_quantization) e["tuned_default_quantization"] = *m.tuned_default_quantization;
    if (m.final_value) e["final"] = *m.final_value;
    out[m.name] = e;
  }
  return out;
}

std::vector<ControlledMetricReport> controlled_metrics_from(const json& j) {
  std::vector<ControlledMetricReport> out;
  const json& m = at_or_null(j, "metrics");
  if (!m.is_object()) return out;
  for (const auto& [name, e] : m.items()) {
    ControlledMetricReport r;
    r.name = name;
    read(e, "fp32", r.fp32);
    read(e, "default_quantization", r.default_quantization);
    read(e, "tuned_default_quantization", r.tuned_default_quantization);
    read(e, "final", r.final_value);
    read(e, "drop", r.drop);
    read(e, "bound", r.bound);
    r.higher_better = e.value("direction", std::string("higher-better")) != "higher-worse";
    out.push_back(std::move(r));
  }
  return out;
}

json step_metrics(const std::vector<StepMetric>& metrics) {
  json out = json::object();
  for (const StepMetric& m : metrics) {
    switch (m.measure) {
      case DropMeasure::kMeasured: out[m.name] = {{"value", m.value}, {"drop", m.drop}}; break;
      case DropMeasure::kAtMost: out[m.name] = {{"predicted_drop_at_most", m.drop}}; break;
      case DropMeasure::kAtLeast: out[m.name] = {{"predicted_drop_at_least", m.drop}}; break;
    }
  }
  return out;
}

std::vector<StepMetric> step_metrics_from(const json& m) {
  std::vector<StepMetric> out;
  if (!m.is_object()) return out;
  for (const auto& [name, e] : m.items()) {
    StepMetric s;
    s.name = name;
    read(e, "value", s.value);
    read(e, "drop", s.drop);
    if (e.contains("predicted_drop_at_most")) {
      s.measure = DropMeasure::kAtMost;
      read(e, "predicted_drop_at_most", s.drop);
    } else if (e.contains("predicted_drop_at_least")) {
      s.measure = DropMeasure::kAtLeast;
      read(e, "predicted_drop_at_least", s.drop);
    }
    out.push_back(std::move(s));
  }
  return out;
}

json to_json(const SearchStep& s) {
  json j;
  j["kind"] = to_string(s.kind);
  j["what"] = s.what;
  switch (s.kind) {
    case StepKind::kRanking: {
      j["metric"] = s.metric;
      j["subset_size"] = s.subset_size;
      if (s.adaptive) j["adaptive"] = *s.adaptive;
      if (s.ordered_by) j["ordered_by"] = *s.ordered_by;
      if (!s.rounds.empty()) {
        json rounds = json::array();
        for (const RankingRound& r : s.rounds) {
          json o = {{"round", r.round}};
          if (r.groups) o["groups"] = *r.groups;
          if (r.blocks) o["blocks"] = *r.blocks;
          if (r.groups_per_block) o["groups_per_block"] = *r.groups_per_block;
          if (r.blocks_kept) o["blocks_kept"] = *r.blocks_kept;
          o["samples"] = r.samples;
          rounds.push_back(o);
        }
        j["rounds"] = rounds;
      }
      j["seconds"] = s.seconds;
      json r = json::array();
      for (const RankingEntry& e : s.ranking) {
        json o = {{"group", e.group}, {"score", e.score}, {"samples", e.samples}};
        if (!e.unit.empty()) o["unit"] = e.unit;
        if (e.distance) o["distance"] = *e.distance;
        if (e.agreement) o["agreement"] = *e.agreement;
        if (!e.estimated.empty()) o["estimated"] = step_metrics(e.estimated);
        r.push_back(o);
      }
      j["ranking"] = r;
      return j;
    }
    case StepKind::kEstimate:
      if (s.prefix) j["prefix"] = *s.prefix;
      j["estimated_within_bound"] = s.estimated_within_bound;
      if (!s.metrics.empty()) j["metrics"] = step_metrics(s.metrics);  // the estimated full-set values
      return j;
    case StepKind::kValidation:
      break;
  }
  j["full_validation"] = s.full_validation;
  j["metrics"] = step_metrics(s.metrics);
  j["satisfied"] = s.satisfied;
  if (s.stopped_after_samples) j["stopped_after_samples"] = *s.stopped_after_samples;
  if (s.accepted) j["accepted"] = *s.accepted;
  j["reverted_groups"] = s.reverted_groups;
  if (!s.raised_groups.empty()) j["raised_groups"] = s.raised_groups;
  if (!s.restored_groups.empty()) j["restored_groups"] = s.restored_groups;
  j["seconds"] = s.seconds;
  if (s.search) j["search"] = *s.search;
  if (s.group) j["group"] = *s.group;
  if (s.prefix) j["prefix"] = *s.prefix;
  if (s.prefix) j["groups"] = s.groups;  // bisection: the prefix's groups
  if (!s.tune_hyperparams.empty()) j["tune_hyperparams"] = json_text_map(s.tune_hyperparams);
  return j;
}

SearchStep step_from(const json& j) {
  SearchStep s;
  read(j, "what", s.what);
  std::string kind;
  read(j, "kind", kind);
  if (kind.empty()) kind = s.what == "ranking" || s.what == "estimate" ? s.what : "validation";  // before "kind"
  s.kind = kind == "ranking" ? StepKind::kRanking : kind == "estimate" ? StepKind::kEstimate : StepKind::kValidation;
  read(j, "full_validation", s.full_validation);
  s.metrics = step_metrics_from(at_or_null(j, "metrics"));
  read(j, "satisfied", s.satisfied);
  read(j, "stopped_after_samples", s.stopped_after_samples);
  read(j, "accepted", s.accepted);
  read(j, "reverted_groups", s.reverted_groups);
  read(j, "raised_groups", s.raised_groups);
  read(j, "restored_groups", s.restored_groups);
  read(j, "seconds", s.seconds);
  read(j, "search", s.search);
  read(j, "group", s.group);
  read(j, "groups", s.groups);
  s.tune_hyperparams = read_json_text_map(j, "tune_hyperparams");
  read(j, "metric", s.metric);
  read(j, "subset_size", s.subset_size);
  s.ranking = read_list<RankingEntry>(j, "ranking", [](const json& e) {
    RankingEntry r;
    read(e, "group", r.group);
    read(e, "score", r.score);
    read(e, "samples", r.samples);
    read(e, "unit", r.unit);
    read(e, "distance", r.distance);
    read(e, "agreement", r.agreement);
    r.estimated = step_metrics_from(at_or_null(e, "estimated"));
    return r;
  });
  read(j, "adaptive", s.adaptive);
  read(j, "ordered_by", s.ordered_by);
  s.rounds = read_list<RankingRound>(j, "rounds", [](const json& e) {
    RankingRound r;
    read(e, "round", r.round);
    read(e, "groups", r.groups);
    read(e, "blocks", r.blocks);
    read(e, "groups_per_block", r.groups_per_block);
    read(e, "blocks_kept", r.blocks_kept);
    read(e, "samples", r.samples);
    return r;
  });
  read(j, "prefix", s.prefix);
  read(j, "estimated_within_bound", s.estimated_within_bound);
  return s;
}

json ops_json(const std::vector<OpPrecisionReport>& ops, bool with_precision) {
  json out = json::array();
  for (const OpPrecisionReport& o : ops) {
    json e = {{"op", o.op}, {"type", o.type}};
    if (with_precision) e["precision"] = o.precision;
    out.push_back(e);
  }
  return out;
}

std::vector<OpPrecisionReport> ops_from(const json& j, const char* key) {
  return read_list<OpPrecisionReport>(j, key, [](const json& e) {
    OpPrecisionReport o;
    read(e, "op", o.op);
    read(e, "type", o.type);
    read(e, "precision", o.precision);
    return o;
  });
}

json to_json(const TuneReport& t) {
  if (t.skipped) return {{"skipped", *t.skipped}};
  json j;
  json tried = json::array();
  for (const TuneTrial& trial : t.tried) {
    tried.push_back({{"parameter", trial.parameter},
                     {"value", json::parse(trial.value_json)},
                     {"estimated_drops", trial.estimated_drops}});
  }
  j["tried"] = tried;
  j["chosen"] = json_text_map(t.chosen);
  j["ranking_subset_size"] = t.ranking_subset_size;
  j["full_set_drops"] = t.full_set_drops;
  j["kept"] = t.kept;
  j["seconds"] = t.seconds;
  return j;
}

TuneReport tune_from(const json& j) {
  TuneReport t;
  read(j, "skipped", t.skipped);
  t.tried = read_list<TuneTrial>(j, "tried", [](const json& e) {
    TuneTrial trial;
    read(e, "parameter", trial.parameter);
    trial.value_json = at_or_null(e, "value").dump();
    trial.estimated_drops = read_number_map(e, "estimated_drops");
    return trial;
  });
  t.chosen = read_json_text_map(j, "chosen");
  read(j, "ranking_subset_size", t.ranking_subset_size);
  t.full_set_drops = read_number_map(j, "full_set_drops");
  read(j, "kept", t.kept);
  read(j, "seconds", t.seconds);
  return t;
}

void write_accuracy_control(json& j, const AccuracyControlReport& a) {
  j["fp32"] = a.fp32;
  j["metrics"] = controlled_metrics(a.metrics);
  const AccuracyControlSettingsReport& p = a.params;
  json params = {{"max_drop", p.max_drop},
                 {"drop_type", p.drop_type},
                 {"ranking_subset_size", p.ranking_subset_size},
                 {"search", p.search},
                 {"restore_mode", p.restore_mode},
                 {"use_prev_if_drop_increase", p.use_prev_if_drop_increase},
                 {"annotation_free", p.annotation_free},
                 {"convert_to_mixed_preset", p.convert_to_mixed_preset},
                 {"tune_hyperparams", p.tune_hyperparams}};
  if (p.max_iter_num) params["max_iter_num"] = *p.max_iter_num;
  json ladder = json::array();
  for (const PrecisionRungReport& r : p.precision_ladder) {
    ladder.push_back({{"name", r.name}, {"weights_bits", r.weights_bits}, {"activations_bits", r.activations_bits}});
  }
  ladder.push_back("float");
  params["precision_ladder"] = ladder;
  j["params"] = params;
  j["reached"] = a.reached;
  j["steps"] = json::array();
  for (const SearchStep& s : a.steps) j["steps"].push_back(to_json(s));
  j["reverted_ops"] = ops_json(a.reverted_ops, true);
  j["raised_ops"] = ops_json(a.raised_ops, true);
  j["quantized_ops_total"] = a.quantized_ops_total;
  j["int8_op_fraction"] = a.int8_op_fraction;
  j["full_validations"] = a.full_validations;
  j["subset_validations"] = a.subset_validations;
  write_set(j, a.final_set);
  if (a.tune_hyperparams) j["tune_hyperparams"] = to_json(*a.tune_hyperparams);
  if (!a.runs.empty() || a.kernel_cache) {
    json runs = json::object();
    for (const auto& [phase, c] : a.runs) {
      runs[phase] = {{"runs", c.runs},
                     {"model_samples", c.model_samples},
                     {"seconds", c.seconds},
                     {"compile_seconds", c.compile_seconds}};
    }
    if (a.kernel_cache) runs["kernel_cache"] = {{"hits", a.kernel_cache->hits}, {"misses", a.kernel_cache->misses}};
    j["runs"] = runs;
  }
  j["timings_seconds"] = a.timings_seconds;
  if (!a.search_stage_seconds.empty()) j["timings_seconds"]["search_stages"] = a.search_stage_seconds;
  j["summary"] = a.summary;
}

AccuracyControlReport accuracy_control_from(const json& j) {
  AccuracyControlReport a;
  a.fp32 = read_number_map(j, "fp32");
  a.metrics = controlled_metrics_from(j);
  const json& p = at_or_null(j, "params");
  if (p.is_object()) {
    AccuracyControlSettingsReport& s = a.params;
    read(p, "max_drop", s.max_drop);
    read(p, "drop_type", s.drop_type);
    read(p, "ranking_subset_size", s.ranking_subset_size);
    read(p, "search", s.search);
    read(p, "restore_mode", s.restore_mode);
    read(p, "use_prev_if_drop_increase", s.use_prev_if_drop_increase);
    read(p, "annotation_free", s.annotation_free);
    read(p, "convert_to_mixed_preset", s.convert_to_mixed_preset);
    read(p, "tune_hyperparams", s.tune_hyperparams);
    read(p, "max_iter_num", s.max_iter_num);
    const json& ladder = at_or_null(p, "precision_ladder");
    if (ladder.is_array()) {
      for (const json& r : ladder) {
        if (!r.is_object()) continue;  // "float", the implicit last rung
        PrecisionRungReport rung;
        read(r, "name", rung.name);
        read(r, "weights_bits", rung.weights_bits);
        read(r, "activations_bits", rung.activations_bits);
        s.precision_ladder.push_back(rung);
      }
    }
  }
  read(j, "reached", a.reached);
  a.steps = read_list<SearchStep>(j, "steps", step_from);
  a.reverted_ops = ops_from(j, "reverted_ops");
  a.raised_ops = ops_from(j, "raised_ops");
  read(j, "quantized_ops_total", a.quantized_ops_total);
  read(j, "int8_op_fraction", a.int8_op_fraction);
  read(j, "full_validations", a.full_validations);
  read(j, "subset_validations", a.subset_validations);
  a.final_set = set_from(j);
  if (j.contains("tune_hyperparams")) a.tune_hyperparams = tune_from(j["tune_hyperparams"]);
  const json& runs = at_or_null(j, "runs");
  if (runs.is_object()) {
    for (const auto& [phase, c] : runs.items()) {
      if (phase == "kernel_cache") {
        KernelCacheReport k;
        read(c, "hits", k.hits);
        read(c, "misses", k.misses);
        a.kernel_cache = k;
        continue;
      }
      ValidationCost& v = a.runs[phase];
      read(c, "runs", v.runs);
      read(c, "model_samples", v.model_samples);
      read(c, "seconds", v.seconds);
      read(c, "compile_seconds", v.compile_seconds);
    }
  }
  a.timings_seconds = read_number_map(j, "timings_seconds");
  a.search_stage_seconds = read_number_map(at_or_null(j, "timings_seconds"), "search_stages");
  read(j, "summary", a.summary);
  return a;
}

// --- sensitivity

void write_sensitivity(json& j, const SensitivityReport& s) {
  j["fp32"] = s.fp32;
  j["metrics"] = controlled_metrics(s.metrics);
  j["ranked_metric"] = s.ranked_metric;
  j["ranking_subset_size"] = s.ranking_subset_size;
  j["restore_mode"] = s.restore_mode;
  json groups = json::array();
  for (const SensitivityGroup& g : s.groups) {
    json e = {{"rank", g.rank},         {"group", g.group},           {"name", g.name},
              {"ops", ops_json(g.ops, false)}, {"quantizers", g.quantizers}, {"score", g.score}};
    if (!g.estimated.empty()) e["estimated"] = step_metrics(g.estimated);
    if (g.estimated_within_bound) e["estimated_within_bound"] = *g.estimated_within_bound;
    groups.push_back(e);
  }
  j["groups"] = groups;
  j["full_validations"] = s.full_validations;
  j["subset_validations"] = s.subset_validations;
  j["timings_seconds"] = s.timings_seconds;
}

SensitivityReport sensitivity_from(const json& j) {
  SensitivityReport s;
  s.fp32 = read_number_map(j, "fp32");
  s.metrics = controlled_metrics_from(j);
  read(j, "ranked_metric", s.ranked_metric);
  read(j, "ranking_subset_size", s.ranking_subset_size);
  read(j, "restore_mode", s.restore_mode);
  s.groups = read_list<SensitivityGroup>(j, "groups", [](const json& e) {
    SensitivityGroup g;
    read(e, "rank", g.rank);
    read(e, "group", g.group);
    read(e, "name", g.name);
    g.ops = ops_from(e, "ops");
    read(e, "quantizers", g.quantizers);
    read(e, "score", g.score);
    g.estimated = step_metrics_from(at_or_null(e, "estimated"));
    read(e, "estimated_within_bound", g.estimated_within_bound);
    return g;
  });
  read(j, "full_validations", s.full_validations);
  read(j, "subset_validations", s.subset_validations);
  s.timings_seconds = read_number_map(j, "timings_seconds");
  return s;
}

// --- measurements the caller adds (layer errors)

json to_json(const LayerErrorReport& l) {
  json layers = json::array();
  for (const LayerError& e : l.layers) {
    json x = {{"node", e.node}, {"op_type", e.op_type}, {"tensor", e.tensor}, {"max_abs_error", e.max_abs_error}};
    x["nmse"] = e.nmse ? json(*e.nmse) : json(nullptr);
    x["sqnr_db"] = e.sqnr_db ? json(*e.sqnr_db) : json(nullptr);
    layers.push_back(x);
  }
  return {{"dataset", l.dataset}, {"samples", l.samples}, {"execution", l.execution}, {"layers", layers},
          {"seconds", l.seconds}};
}

LayerErrorReport layer_errors_from(const json& j) {
  LayerErrorReport l;
  read(j, "dataset", l.dataset);
  read(j, "samples", l.samples);
  read(j, "execution", l.execution);
  read(j, "seconds", l.seconds);
  l.layers = read_list<LayerError>(j, "layers", [](const json& e) {
    LayerError x;
    read(e, "node", x.node);
    read(e, "op_type", x.op_type);
    read(e, "tensor", x.tensor);
    read(e, "nmse", x.nmse);
    read(e, "sqnr_db", x.sqnr_db);
    read(e, "max_abs_error", x.max_abs_error);
    return x;
  });
  return l;
}

ReportAlgorithm algorithm_from(const std::string& name) {
  for (ReportAlgorithm a : {ReportAlgorithm::kDefaultQuantization, ReportAlgorithm::kAccuracyAwareQuantization,
                            ReportAlgorithm::kSensitivity}) {
    if (to_string(a) == name) return a;
  }
  throw InvalidArgument("report: unknown algorithm '" + name +
                        "' (expected \"DefaultQuantization\", \"AccuracyAwareQuantization\" or \"sensitivity\")");
}

}  // namespace

json to_json(const Report& r) {
  json j;
  if (r.algorithm == ReportAlgorithm::kDefaultQuantization) {
    j = to_json(r.quantization);
    if (!r.evaluation.empty()) {
      json m = json::object();
      for (const EvaluatedMetric& e : r.evaluation) {
        m[e.name] = {{"fp32", e.fp32},
                     {"quantized", e.quantized},
                     {"drop_absolute", e.drop_absolute},
                     {"drop_relative", e.drop_relative}};
      }
      j["metrics"] = m;
    }
  } else {
    j["default_quantization"] = to_json(r.quantization);
    if (r.accuracy_control) write_accuracy_control(j, *r.accuracy_control);
    if (r.sensitivity) write_sensitivity(j, *r.sensitivity);
  }
  j["algorithm"] = to_string(r.algorithm);
  j["schema_version"] = r.schema_version;
  if (r.files) {
    const ReportFiles& f = *r.files;
    j["model"] = {{"name", f.model_name}, {"fp32_path", f.fp32_path}, {"output_path", f.output_path}};
    if (!f.config_path.empty()) j["model"]["config_path"] = f.config_path;
    if (!f.created.empty()) j["created"] = f.created;
    j["sizes"] = {{"fp32_bytes", f.fp32_bytes},
                  {"quantized_bytes", f.quantized_bytes},
                  {"ratio", f.fp32_bytes > 0
                                ? static_cast<double>(f.quantized_bytes) / static_cast<double>(f.fp32_bytes)
                                : 0.0}};
    j["resources"] = {{"peak_rss_mb", f.peak_rss_mb}};
  }
  if (r.layer_errors) j["layer_errors"] = to_json(*r.layer_errors);
  if (!r.config_json.empty()) {
    // Kept as the object it is (a text that does not parse, which a Config never is, stays a string).
    j["config"] = json::parse(r.config_json, nullptr, false);
    if (j["config"].is_discarded()) j["config"] = r.config_json;
  }
  if (!r.versions.empty()) j["versions"] = r.versions;
  return j;
}

Report from_json(const json& j) {
  if (!j.is_object() || !j.contains("algorithm") || !j["algorithm"].is_string()) {
    throw InvalidArgument("report: expected a JSON object with an \"algorithm\" (a qwac report)");
  }
  Report r;
  read(j, "schema_version", r.schema_version);
  if (r.schema_version > kReportSchemaVersion) {
    throw InvalidArgument("report: schema_version " + std::to_string(r.schema_version) +
                          " is newer than this qwac reads (" + std::to_string(kReportSchemaVersion) +
                          "); use a newer qwac");
  }
  r.schema_version = kReportSchemaVersion;
  r.algorithm = algorithm_from(j["algorithm"].get<std::string>());
  if (r.algorithm == ReportAlgorithm::kDefaultQuantization) {
    r.quantization = quantization_from(j);
    const json& m = at_or_null(j, "metrics");
    if (m.is_object()) {
      for (const auto& [name, e] : m.items()) {
        EvaluatedMetric em;
        em.name = name;
        read(e, "fp32", em.fp32);
        read(e, "quantized", em.quantized);
        read(e, "drop_absolute", em.drop_absolute);
        read(e, "drop_relative", em.drop_relative);
        r.evaluation.push_back(std::move(em));
      }
    }
  } else {
    r.quantization = quantization_from(at_or_null(j, "default_quantization"));
    if (r.algorithm == ReportAlgorithm::kAccuracyAwareQuantization) {
      r.accuracy_control = accuracy_control_from(j);
    } else {
      r.sensitivity = sensitivity_from(j);
    }
  }
  if (j.contains("model") || j.contains("sizes")) {
    ReportFiles f;
    const json& model = at_or_null(j, "model");
    if (model.is_object()) {
      read(model, "name", f.model_name);
      read(model, "fp32_path", f.fp32_path);
      read(model, "output_path", f.output_path);
      read(model, "config_path", f.config_path);
    }
    read(j, "created", f.created);
    const json& sizes = at_or_null(j, "sizes");
    if (sizes.is_object()) {
      read(sizes, "fp32_bytes", f.fp32_bytes);
      read(sizes, "quantized_bytes", f.quantized_bytes);
    }
    const json& res = at_or_null(j, "resources");
    if (res.is_object()) read(res, "peak_rss_mb", f.peak_rss_mb);
    r.files = f;
  }
  if (j.contains("layer_errors")) r.layer_errors = layer_errors_from(j["layer_errors"]);
  const json& config = at_or_null(j, "config");
  if (config.is_string()) r.config_json = config.get<std::string>();
  else if (!config.is_null()) r.config_json = config.dump(2);
  const json& versions = at_or_null(j, "versions");
  if (versions.is_object()) {
    for (const auto& [k, v] : versions.items()) {
      if (v.is_string()) r.versions[k] = v.get<std::string>();
    }
  }
  return r;
}

}  // namespace qwac::report

namespace qwac {

std::string to_string(ReportAlgorithm v) {
  switch (v) {
    case ReportAlgorithm::kDefaultQuantization: return "DefaultQuantization";
    case ReportAlgorithm::kAccuracyAwareQuantization: return "AccuracyAwareQuantization";
    case ReportAlgorithm::kSensitivity: return "sensitivity";
  }
  return "?";
}

std::string to_string(StepKind v) {
  switch (v) {
    case StepKind::kValidation: return "validation";
    case StepKind::kRanking: return "ranking";
    case StepKind::kEstimate: return "estimate";
  }
  return "?";
}

std::string report_to_json(const Report& report, int indent) { return report::to_json(report).dump(indent); }

Report report_from_json(const std::string& text) {
  nlohmann::json j;
  try {
    j = nlohmann::json::parse(text);
  } catch (const nlohmann::json::exception& e) {
    throw InvalidArgument(std::string("report: not valid JSON: ") + e.what());
  }
  try {
    return report::from_json(j);
  } catch (const nlohmann::json::exception& e) {
    throw InvalidArgument(std::string("report: a key has the wrong type: ") + e.what());
  }
}

}  // namespace qwac
