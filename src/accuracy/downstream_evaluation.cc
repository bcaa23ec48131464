#include "accuracy/downstream_evaluation.h"

#include <algorithm>
#include <cstring>
#include <map>
#include <memory>
#include <set>
#include <unordered_set>
#include <variant>

#include "runtime/engine.h"
#include "runtime/evaluation.h"

namespace qwac::accuracy {
namespace {

// FNV-1a over bytes: constant contents enter node signatures as hashes.
uint64_t fnv(uint64_t h, const void* data, size_t n) {
  const auto* p = static_cast<const unsigned char*>(data);
  for (size_t i = 0; i < n; ++i) h = (h ^ p[i]) * 1099511628211ull;
  return h;
}

std::string tensor_digest(const Tensor& t) {
  uint64_t h = fnv(1469598103934665603ull, t.raw(), t.nbytes());
  return std::string(dtype_name(t.dtype())) + shape_to_string(t.shape()) + "#" + std::to_string(h);
}

std::string attribute_text(const ir::AttributeValue& v) {
  return std::visit(
      [](const auto& x) -> std::string {
        using T = std::decay_t<decltype(x)>;
        if constexpr (std::is_same_v<T, int64_t>) {
          return "i" + std::to_string(x);
        } else if constexpr (std::is_same_v<T, float>) {
          uint32_t bits;
          std::memcpy(&bits, &x, sizeof bits);
          return "f" + std::to_string(bits);
        } else if constexpr (std::is_same_v<T, std::string>) {
          return "s" + std::to_string(x.size()) + ":" + x;
        } else if constexpr (std::is_same_v<T, Tensor>) {
          return "t" + tensor_digest(x);
        } else {
          std::string s = "[";
          for (const auto& e : x) {
            if constexpr (std::is_same_v<std::decay_t<decltype(e)>, std::string>) {
              s += std::to_string(e.size()) + ":" + e + ",";
            } else if constexpr (std::is_same_v<std::decay_t<decltype(e)>, float>) {
              uint32_t bits;
              std::memcpy(&bits, &e, sizeof bits);
              s += std::to_string(bits) + ",";
            } else {
              s += std::to_string(e) + ",";
            }
          }
          return s + "]";
        }
      },
      v);
}

// Everything that decides what a node computes from the values it reads.
std::string signature(const ir::Node& n) {
  std::string s = n.domain() + "::" + n.op_type() + "(";
  for (const ir::Value* v : n.inputs()) {
    if (v == nullptr) {
      s += "-,";
    } else if (v->is_constant()) {
      s += v->name() + "=" + tensor_digest(*v->constant) + ",";
    } else {
      s += v->name() + ",";
    }
  }
  s += ")->(";
  for (const ir::Value* v : n.outputs()) s += (v == nullptr ? std::string("-") : v->name()) + ",";
  s += "){";
  for (const auto& [name, value] : n.attrs.all()) s += name + "=" + attribute_text(value) + ";";
  return s + "}";
}

std::vector<std::string> input_names(const ir::Graph& g) {
  std::vector<std::string> names;
  for (const ir::Value* v : g.inputs()) names.push_back(v->name());
  return names;
}

// The variant reduced to its changed part, with the cut tensors as graph inputs typed like `feed`.
std::unique_ptr<ir::Model> build_sub_model(const ir::Model& variant, const ChangedPart& part,
                                           const std::map<std::string, Tensor>& feed) {
  auto sub = std::make_unique<ir::Model>(variant.clone());
  ir::Graph& g = *sub->graph;
  const std::set<std::string> changed(part.changed_nodes.begin(), part.changed_nodes.end());
  std::vector<ir::Node*> order = g.topological_order();
  for (auto it = order.rbegin(); it != order.rend(); ++it) {
    if (!changed.count((*it)->name())) g.remove_node(*it);
  }
  for (const std::string& name : part.cut) {
    ir::Value* v = g.value(name);
    const Tensor& t = feed.at(name);
    v->type.dtype = t.dtype();
    ir::SymbolicShape shape;
    for (int64_t d : t.shape()) shape.push_back({d, ""});
    v->type.shape = shape;
    if (!g.is_graph_input(v)) g.add_input(v);
  }
  for (ir::Value* v : g.values()) {
    if (v->producer() == nullptr && v->uses().empty() && !g.is_graph_input(v) && !g.is_graph_output(v)) {
      g.remove_value(v);
    }
  }
  return sub;
}

// One sample's slice (batch dimension 1) of a batched tensor.
Tensor sample_slice(const Tensor& batch, int64_t i) {
  Shape one = batch.shape();
  one[0] = 1;
  Tensor t(batch.dtype(), one);
  const size_t bytes = t.nbytes();
  std::memcpy(t.raw(), static_cast<const std::byte*>(batch.raw()) + static_cast<size_t>(i) * bytes, bytes);
  return t;
}

int64_t arg_max(const Tensor& t) {
  if (t.dtype() != DType::kFloat32 || t.numel() == 0) return -1;
  const float* p = t.data<float>();
  return std::max_element(p, p + t.numel()) - p;
}

struct Variant {
  const ir::Model* model = nullptr;
  std::optional<ChangedPart> part;
  std::unique_ptr<ir::Model> sub;
  std::unique_ptr<runtime::Engine> engine;
  std::map<std::string, Shape> shapes;
  std::vector<ModelOutputs> batches;
};

}  // namespace

std::optional<ChangedPart> find_changed_part(const ir::Model& base, const ir::Model& variant) {
  const ir::Graph& bg = *base.graph;
  const ir::Graph& vg = *variant.graph;
  if (input_names(bg) != input_names(vg)) return std::nullopt;
  ChangedPart part;
  const std::vector<ir::Node*> order = vg.topological_order();
  part.total_nodes = order.size();
  // Values known at compile time (dequantized weights; shape arithmetic such as Shape -> Gather -> Concat feeding
  // a Reshape): the part recomputes them, as the engine folds them, instead of reading them from the base model
  // (a Reshape target fed as a tensor would be data-dependent).
  std::unordered_set<const ir::Value*> constant_only;
  std::unordered_set<const ir::Value*> changed_values;
  std::set<const ir::Node*> in_part;
  for (const ir::Node* n : order) {
    const bool reads_shape_only =
        (n->domain().empty() || n->domain() == "ai.onnx") && (n->op_type() == "Shape" || n->op_type() == "Size");
    bool all_constant = true;
    for (const ir::Value* v : n->inputs()) {
      all_constant = all_constant && (v == nullptr || v->is_constant() || constant_only.count(v));
    }
    all_constant = all_constant || reads_shape_only;
    if (all_constant) {
      for (const ir::Value* v : n->outputs()) {
        if (v != nullptr) constant_only.insert(v);
      }
    }
    const ir::Node* twin = bg.find_node(n->name());
    bool changed = twin == nullptr || signature(*twin) != signature(*n);
    for (const ir::Value* v : n->inputs()) changed = changed || (v != nullptr && changed_values.count(v));
    if (!changed) continue;
    in_part.insert(n);
    for (const ir::Value* v : n->outputs()) {
      if (v != nullptr) changed_values.insert(v);
    }
  }
  for (const ir::Value* v : vg.outputs()) {
    if (!changed_values.count(v)) return std::nullopt;  // an output the variant shares with the base
  }
  // Pull in the constant-only producers the part reads.
  std::vector<const ir::Node*> stack(in_part.begin(), in_part.end());
  while (!stack.empty()) {
    const ir::Node* n = stack.back();
    stack.pop_back();
    for (const ir::Value* v : n->inputs()) {
      if (v == nullptr || !constant_only.count(v) || v->producer() == nullptr) continue;
      if (in_part.insert(v->producer()).second) stack.push_back(v->producer());
    }
  }
  std::set<std::string> cut;
  std::unordered_set<const ir::Value*> produced;
  for (const ir::Node* n : order) {
    if (!in_part.count(n)) continue;
    part.changed_nodes.push_back(n->name());
    for (const ir::Value* v : n->outputs()) produced.insert(v);
  }
  for (const ir::Node* n : order) {
    if (!in_part.count(n)) continue;
    for (const ir::Value* v : n->inputs()) {
      if (v != nullptr && !v->is_constant() && !produced.count(v)) cut.insert(v->name());
    }
  }
  part.cut.assign(cut.begin(), cut.end());
  return part;
}

std::vector<ValidationResult> evaluate_variants(const ir::Model& base, const std::vector<const ir::Model*>& variants,
                                                const Dataset& data, const std::vector<MetricPtr>& metrics,
                                                const RunOptions& options, bool keep_outputs,
                                                const std::function<ValidationResult(const ir::Model&)>& fallback) {
  if (base.graph->inputs().empty()) {  // nothing to tap a batch size from: evaluate each variant whole
    std::vector<ValidationResult> results;
    for (const ir::Model* v : variants) results.push_back(fallback(*v));
    return results;
  }
  std::vector<Variant> vs(variants.size());
  std::set<std::string> taps;
  for (const ir::Value* v : base.graph->inputs()) taps.insert(v->name());
  for (size_t i = 0; i < variants.size(); ++i) {
    vs[i].model = variants[i];
    vs[i].part = find_changed_part(base, *variants[i]);
    if (vs[i].part) taps.insert(vs[i].part->cut.begin(), vs[i].part->cut.end());
  }
  std::vector<std::vector<Annotation>> annotations;
  std::vector<std::vector<SampleInfo>> infos;
  runtime::EvaluationOptions eo;
  eo.batch_size = options.batch_size;
  eo.threads = options.threads;
  eo.streams = 1;  // the variants run on this thread between batches
  eo.use_dnnl = options.use_dnnl;
  eo.int8 = options.int8;
  eo.logger = options.logger;
  eo.phase = "rank";
  eo.taps.assign(taps.begin(), taps.end());
  eo.on_batch = [&](int64_t first, const std::map<std::string, Tensor>& tapped) {
    // Samples in this batch: dimension 0 of a graph input (cut tensors may be weights without a batch dimension).
    const int64_t n = tapped.at(base.graph->inputs().front()->name()).shape().at(0);
    std::vector<Annotation>& ann = annotations.emplace_back();
    std::vector<SampleInfo>& info = infos.emplace_back();
    for (int64_t i = first; i < first + n; ++i) {
      Sample s = data.get(i);
      ann.push_back(std::move(s.annotation));
      info.push_back({s.index >= 0 ? s.index : i, std::move(s.metadata)});
    }
    for (Variant& v : vs) {
      if (!v.part) continue;
      std::map<std::string, Tensor> feed;
      if (!v.sub) {
        v.sub = build_sub_model(*v.model, *v.part, tapped);
      }
      std::map<std::string, Shape> shapes;
      for (const ir::Value* in : v.sub->graph->inputs()) {
        feed[in->name()] = tapped.at(in->name());
        shapes[in->name()] = feed[in->name()].shape();
      }
      if (!v.engine) {
        runtime::EngineOptions o;
        o.num_threads = options.threads;
        o.use_dnnl = options.use_dnnl;
        o.int8 = options.int8;
        o.logger = options.logger;
        v.engine = std::make_unique<runtime::Engine>(*v.sub, o, shapes);
      } else if (shapes != v.shapes) {
        v.engine->reshape(shapes);
      }
      v.shapes = shapes;
      ModelOutputs out;
      for (const auto& spec : v.engine->outputs()) out.names.push_back(spec.name);
      out.tensors = v.engine->run(feed);
      v.batches.push_back(std::move(out));
    }
  };
  runtime::evaluate(base, data, metrics, eo);

  std::vector<ValidationResult> results;
  for (Variant& v : vs) {
    if (!v.part) {
      results.push_back(fallback(*v.model));
      continue;
    }
    ValidationResult r;
    for (const MetricPtr& m : metrics) m->reset();
    for (size_t b = 0; b < v.batches.size(); ++b) {
      for (const MetricPtr& m : metrics) m->update(v.batches[b], annotations[b], infos[b]);
      if (keep_outputs) {
        const Tensor& first = v.batches[b].tensors.front();
        for (int64_t i = 0; i < first.shape().at(0); ++i) {
          r.outputs.push_back(sample_slice(first, i));
          r.top1.push_back(arg_max(r.outputs.back()));
        }
      }
    }
    for (const MetricPtr& m : metrics) {
      r.values.push_back(m->avg_value());
      r.per_sample.push_back(m->per_sample_values());
    }
    r.samples = data.size();
    results.push_back(std::move(r));
    v.batches.clear();
  }
  return results;
}

}  // namespace qwac::accuracy
