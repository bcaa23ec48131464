#include "runtime/constant_folding.h"

#include <algorithm>
#include <set>
#include <unordered_map>
#include <unordered_set>

#include "ir/op_schema.h"
#include "kernels/kernel.h"
#include "qwac/error.h"

namespace qwac::runtime {
namespace {

bool is_default_domain(const std::string& d) { return d.empty() || d == "ai.onnx"; }

// Ops whose outputs depend only on input shapes (same rule as Engine::compile).
bool depends_only_on_shape(const ir::Node& n) {
  return is_default_domain(n.domain()) && (n.op_type() == "Shape" || n.op_type() == "Size");
}

// Never folded into initializers: a QDQ model must keep its QuantizeLinear/DequantizeLinear nodes, because that
// structure (int8 initializer -> DequantizeLinear -> op) is what ONNX Runtime (and qwac's own export/import)
// recognises and fuses into integer kernels; folding DequantizeLinear(int8 weight) would turn the weight back
// into float and silently de-quantize the model. Their outputs are therefore also treated as not known, so no
// consumer of a Q/DQ is folded either.
const std::set<std::string>& never_folded_ops() {
  static const std::set<std::string> ops = {"QuantizeLinear", "DequantizeLinear", "DynamicQuantizeLinear"};
  return ops;
}

// Outputs differ from run to run: computing them once at compile time would change the model's meaning.
const std::set<std::string>& nondeterministic_ops() {
  static const std::set<std::string> ops = {"RandomNormal", "RandomUniform", "RandomNormalLike",
                                            "RandomUniformLike", "Multinomial", "Bernoulli"};
  return ops;
}

// What is known about each value after walking the graph once, as Engine::compile knows it: dtype and concrete
// shape (when the graph inputs' shapes are fixed) and the contents of everything computable at compile time.
struct Propagation {
  std::unordered_map<const ir::Value*, ir::TensorInfo> info;  // absent = shape unknown
  std::unordered_map<const ir::Value*, Tensor> computed;      // outputs of evaluated nodes
  std::vector<const ir::Node*> evaluated;                     // nodes whose outputs are all in `computed`
};

enum class Mode {
  kFold,   // lenient: an input without a fixed shape, a failed inference or a missing kernel leaves the node as is
  kInfer,  // strict: every value must get a shape (errors propagate as Engine::compile would raise them)
};

// Shape of a graph input: the override, else the declared shape if fully known; nullopt when unknown (kFold) or
// InvalidArgument naming the input (kInfer).
std::optional<Shape> input_shape(const ir::Value& v, const std::map<std::string, Shape>& overrides, Mode mode) {
  auto it = overrides.find(v.name());
  if (it != overrides.end()) return it->second;
  std::string problem;
  Shape s;
  if (!v.type.shape) {
    problem = "has no declared shape";
  } else {
    for (const ir::Dim& d : *v.type.shape) {
      if (d.size < 0) {
        problem = "has a symbolic dimension '" + (d.param.empty() ? std::string("?") : d.param) + "'";
        break;
      }
      s.push_back(d.size);
    }
  }
  if (problem.empty()) return s;
  if (mode == Mode::kFold) return std::nullopt;
  throw InvalidArgument("input '" + v.name() + "' " + problem + "; give its concrete shape");
}

void check_overrides(const ir::Graph& g, const std::map<std::string, Shape>& input_shapes) {
  for (const auto& [name, shape] : input_shapes) {
    const ir::Value* v = g.find_value(name);
    if (v == nullptr || !g.is_graph_input(v)) {
      throw InvalidArgument("shape given for '" + name + "', which is not an input of the model");
    }
  }
}

Propagation propagate(const ir::Model& model, const std::map<std::string, Shape>& input_shapes, Mode mode,
                      bool fold_shape_reads = true) {
  const ir::Graph& g = *model.graph;
  check_overrides(g, input_shapes);
  const auto& folder = kernels::reference_kernel_registry();
  Propagation p;
  for (const ir::Value* v : g.inputs()) {
    if (std::optional<Shape> s = input_shape(*v, input_shapes, mode)) p.info[v] = {v->type.dtype, *s, nullptr};
  }
  for (const ir::Value* v : g.values()) {
    if (v->is_constant()) p.info[v] = {v->constant->dtype(), v->constant->shape(), &*v->constant};
  }

  for (const ir::Node* n : g.topological_order()) {
    const int64_t opset = model.opset(n->domain());
    std::vector<ir::TensorInfo> infos;
    bool shapes_known = true;
    bool values_known = true;
    for (const ir::Value* v : n->inputs()) {
      if (v == nullptr) {
        infos.emplace_back();
        continue;
      }
      auto it = p.info.find(v);
      if (it == p.info.end()) {
        shapes_known = false;
        break;
      }
      infos.push_back(it->second);
      values_known = values_known && it->second.value != nullptr;
    }
    if (!shapes_known) continue;  // only in kFold: kInfer fixed every input and throws on failures below

    std::vector<ir::OutputInfo> outs;
    try {
      outs = ir::infer_node(*n, opset, infos);
    } catch (const Error&) {
      if (mode == Mode::kInfer) throw;
      continue;  // e.g. a Reshape whose target shape is computed from data: left to the engine to report
    }
    for (size_t i = 0; i < n->num_outputs(); ++i) {
      if (n->output(i) != nullptr && (i >= outs.size() || outs[i].dtype == DType::kUndefined)) {
        throw InvalidModel(n->describe() + ": output " + std::to_string(i) + " ('" + n->output(i)->name() +
                           "') is not produced by this op at opset " + std::to_string(opset));
      }
    }

    // Evaluate what is known at compile time with the reference kernels, exactly as Engine::compile folds.
    const bool blocked = nondeterministic_ops().count(n->op_type()) ||
                         (mode == Mode::kFold && never_folded_ops().count(n->op_type()));
    const bool evaluate = !blocked && (values_known || (fold_shape_reads && depends_only_on_shape(*n)));
    if (evaluate) {
      auto make_ctx = [&](const kernels::KernelDef&) {
        return kernels::KernelContext{*n, opset, infos, outs,
                                      std::vector<kernels::BlockedFormatPtr>(infos.size()), 1};
      };
      kernels::KernelSelection sel = folder.select(n->op_type(), n->domain(), opset, make_ctx);
      if (sel.kernel) {
        std::vector<Tensor> ins;
        for (const ir::TensorInfo& info : infos) {
          if (!info.present()) {
            ins.emplace_back();
          } else if (info.value != nullptr) {
            ins.push_back(*info.value);
          } else {
            ins.push_back(Tensor::view(info.dtype, info.shape, nullptr));  // Shape/Size read only the shape
          }
        }
        std::vector<Tensor> results;
        for (size_t i = 0; i < n->num_outputs(); ++i) {
          results.push_back(n->output(i) == nullptr ? Tensor() : Tensor(outs[i].dtype, outs[i].shape));
        }
        sel.kernel->run(ins, results);
        for (size_t i = 0; i < n->num_outputs(); ++i) {
          if (n->output(i) != nullptr) p.computed[n->output(i)] = results[i];
        }
        p.evaluated.push_back(n);
      }
    }
    for (size_t i = 0; i < n->num_outputs(); ++i) {
      const ir::Value* v = n->output(i);
      if (v == nullptr) continue;
      auto c = p.computed.find(v);
      p.info[v] = {outs[i].dtype, outs[i].shape, c == p.computed.end() ? nullptr : &c->second};
    }
  }
  return p;
}

ir::SymbolicShape symbolic(const Shape& s) {
  ir::SymbolicShape out;
  for (int64_t d : s) out.push_back({d, ""});
  return out;
}

}  // namespace

bool fold_constants(ir::Model& model, const std::map<std::string, Shape>& input_shapes, bool fold_shape_reads) {
  ir::Graph& g = *model.graph;
  Propagation p = propagate(model, input_shapes, Mode::kFold, fold_shape_reads);
  bool changed = false;
  for (const ir::Node* cn : p.evaluated) {
    ir::Node* n = const_cast<ir::Node*>(cn);  // the graph is ours; propagate() only reads it
    // A node producing a graph output is kept (its consumers may still fold with the computed value): the graph
    // outputs stay produced by nodes, which the engine and exporters expect.
    const bool feeds_output =
        std::any_of(n->outputs().begin(), n->outputs().end(), [&](const ir::Value* v) { return g.is_graph_output(v); });
    if (feeds_output) continue;
    std::vector<ir::Value*> outputs = n->outputs();
    g.remove_node(n);
    for (ir::Value* v : outputs) {
      if (v == nullptr) continue;
      // Same value, same name: every consumer and name-based reference (taps, configs) stays valid.
      Tensor& t = p.computed.at(v);
      v->type.dtype = t.dtype();
      v->type.shape = symbolic(t.shape());
      v->constant = std::move(t);
    }
    changed = true;
  }
  // Dead constants: folded intermediates and the initializers only folded nodes read.
  for (ir::Value* v : g.values()) {
    if (v->is_constant() && v->uses().empty() && !g.is_graph_output(v)) {
      g.remove_value(v);
      changed = true;
    }
  }
  return changed;
}

void infer_value_types(ir::Model& model, const std::map<std::string, Shape>& input_shapes) {
  ir::Graph& g = *model.graph;
  const Propagation p = propagate(model, input_shapes, Mode::kInfer);
  for (ir::Value* v : g.values()) {
    auto it = p.info.find(v);
    if (it == p.info.end()) {
      if (v->uses().empty() && v->producer() == nullptr) continue;  // a dangling value nothing defines or reads
      throw InternalError("infer_value_types: no type inferred for value '" + v->name() + "'");
    }
    v->type.dtype = it->second.dtype;
    v->type.shape = symbolic(it->second.shape);
  }
}

}  // namespace qwac::runtime
