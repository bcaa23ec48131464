// qwac::Model (include/qwac/model.h): an immutable ir::Model behind a shared pointer, with the operations users
// need before quantizing anything (load, save, describe, another batch size).
#include <map>
#include <memory>
#include <optional>
#include <set>
#include <string>
#include <utility>

#include "api/model_impl.h"
#include "onnx/model_io.h"
#include "qwac/error.h"
#include "qwac/model.h"
#include "qwac/session.h"
#include "runtime/engine.h"

namespace qwac {
namespace api {

Model wrap(std::shared_ptr<const ir::Model> model) {
  auto impl = std::make_shared<Model::Impl>();
  impl->model = std::move(model);
  return Model(std::move(impl));
}

const ir::Model& unwrap(const Model& model, const char* what) { return *shared(model, what); }

std::shared_ptr<const ir::Model> shared(const Model& model, const char* what) {
  if (model.empty()) throw InvalidArgument(std::string(what) + ": the model is empty (load one with Model::load)");
  return model.impl().model;
}

}  // namespace api

namespace {

constexpr int64_t kDynamicCheckBatch = 2;  // a batch that differs from the usual fixed 1
const char* const kBatchParam = "batch";

ValueInfo value_info(const ir::Value& v) {
  ValueInfo info;
  info.name = v.name();
  info.dtype = v.type.dtype;
  if (v.type.shape) {
    std::vector<Dim> dims;
    for (const ir::Dim& d : *v.type.shape) dims.push_back({d.size, d.param});
    info.shape = std::move(dims);
  }
  return info;
}

std::string describe_dims(const Shape& s) {
  std::string text = "[";
  for (size_t i = 0; i < s.size(); ++i) text += (i ? "," : "") + std::to_string(s[i]);
  return text + "]";
}

// Dim 0 of the graph's inputs and outputs (rank >= 1) becomes `batch` (or symbolic), intermediate shapes are
// forgotten (they would state the old batch; ONNX tools re-infer them).
void rebatch(ir::Model& model, int64_t batch) {
  ir::Graph& g = *model.graph;
  const ir::Dim dim0 = batch > 0 ? ir::Dim{batch, ""} : ir::Dim{-1, kBatchParam};
  for (ir::Value* v : g.inputs()) {
    if (!v->type.shape) {
      throw InvalidModel("input '" + v->name() + "' declares no shape, so it has no batch dimension to rewrite");
    }
    if (!v->type.shape->empty()) (*v->type.shape)[0] = dim0;
  }
  for (ir::Value* v : g.outputs()) {
    if (v->type.shape && !v->type.shape->empty()) (*v->type.shape)[0] = dim0;
  }
  for (ir::Value* v : g.values()) {
    if (v->is_constant() || g.is_graph_input(v) || g.is_graph_output(v)) continue;
    v->type.shape.reset();
  }
}

// The first computed node that reads a tensor carrying the batch and writes one that does not: where a model
// bakes its batch in. Folded nodes (Shape, ...) are computed at compile time and carry no batch themselves.
std::optional<std::pair<runtime::PlannedNode, Shape>> batch_loss(const runtime::Engine& engine, int64_t batch) {
  std::set<std::string> batched;
  for (const runtime::IoSpec& in : engine.inputs()) {
    if (!in.shape.empty() && in.shape[0] == batch) batched.insert(in.name);
  }
  for (const runtime::PlannedNode& p : engine.planned_nodes()) {
    if (p.impl == "folded") continue;
    bool reads_batch = false;
    for (const std::string& name : p.input_names) reads_batch |= batched.count(name) > 0;
    if (!reads_batch) continue;
    for (size_t i = 0; i < p.output_names.size(); ++i) {
      if (p.output_names[i].empty()) continue;
      const Shape& s = p.output_shapes[i];
      if (!s.empty() && s[0] == batch) {
        batched.insert(p.output_names[i]);
      } else {
        return std::make_pair(p, s);
      }
    }
  }
  return std::nullopt;
}

// Compiles the converted model at `batch` and checks every output follows it.
void check_batch(const Model& model, int64_t batch) {
  std::unique_ptr<runtime::Engine> engine;
  const ir::Model& m = api::unwrap(model);
  try {
    engine = std::make_unique<runtime::Engine>(m, runtime::EngineOptions{}, model.input_shapes(batch));
  } catch (const UnsupportedOp&) {
    throw;
  } catch (const Error& e) {
    throw InvalidModel("the model does not compile at batch " + std::to_string(batch) +
                       " (its batch is baked in): " + e.what());
  }
  for (const runtime::IoSpec& out : engine->outputs()) {
    if (out.shape.empty() || out.shape[0] == batch) continue;
    std::string where = "output '" + out.name + "' is " + describe_dims(out.shape);
    if (const auto loss = batch_loss(*engine, batch)) {
      const auto& [node, shape] = *loss;
      where = node.op_type + " '" + node.node_name + "' turns its batch-" + std::to_string(batch) + " input into " +
              describe_dims(shape) + " (" + where + ")";
    }
    throw InvalidModel("the model bakes its batch size in: at batch " + std::to_string(batch) + ", " + where +
                       "; export it with a dynamic batch (e.g. Reshape to [-1, ...] or Flatten)");
  }
}

}  // namespace

std::string ValueInfo::describe() const {
  std::string s = std::string(dtype_name(dtype));
  if (!shape) return s + "[?]";
  s += "[";
  for (size_t i = 0; i < shape->size(); ++i) {
    const Dim& d = (*shape)[i];
    s += (i ? "," : "") + (d.size >= 0 ? std::to_string(d.size) : (d.param.empty() ? "?" : d.param));
  }
  return s + "]";
}

Model::Model() = default;
Model::~Model() = default;
Model::Model(const Model&) = default;
Model& Model::operator=(const Model&) = default;
Model::Model(Model&&) noexcept = default;
Model& Model::operator=(Model&&) noexcept = default;
Model::Model(std::shared_ptr<const Impl> impl) : impl_(std::move(impl)) {}

const Model::Impl& Model::impl() const {
  if (!impl_) throw InvalidArgument("the model is empty (load one with Model::load)");
  return *impl_;
}

Model Model::load(const std::string& path) {
  return api::wrap(std::make_shared<const ir::Model>(onnxio::load_model(path)));
}

Model Model::from_bytes(const std::string& bytes, const std::string& base_dir) {
  return api::wrap(std::make_shared<const ir::Model>(onnxio::model_from_bytes(bytes, base_dir)));
}

void Model::save(const std::string& path) const { onnxio::save_model(api::unwrap(*this), path); }

std::string Model::to_bytes() const { return onnxio::model_to_bytes(api::unwrap(*this)); }

ModelInfo Model::describe() const {
  const ir::Model& model = api::unwrap(*this);
  const ir::Graph& g = *model.graph;
  ModelInfo info;
  info.ir_version = model.ir_version;
  info.producer_name = model.producer_name;
  info.producer_version = model.producer_version;
  for (const auto& op : model.opset_imports) info.opsets.push_back({op.domain, op.version});
  for (const ir::Value* v : g.inputs()) info.inputs.push_back(value_info(*v));
  for (const ir::Value* v : g.outputs()) info.outputs.push_back(value_info(*v));
  info.node_count = static_cast<int64_t>(g.num_nodes());
  for (const ir::Node* n : g.nodes()) info.op_counts[(n->domain().empty() ? "" : n->domain() + ".") + n->op_type()]++;
  for (const ir::Value* v : g.values()) {
    if (!v->is_constant()) continue;
    info.parameters += v->constant->numel();
    info.parameter_bytes += static_cast<int64_t>(v->constant->nbytes());
  }
  // Converters such as paddle2onnx and older torch/tf2onnx write every weight as a Constant node.
  for (const ir::Node* n : g.nodes()) {
    if (n->op_type() != "Constant" || !(n->domain().empty() || n->domain() == "ai.onnx")) continue;
    if (n->attrs.has("value")) {
      info.parameters += n->attrs.get_tensor("value").numel();
      info.parameter_bytes += static_cast<int64_t>(n->attrs.get_tensor("value").nbytes());
    } else if (n->attrs.has("value_floats")) {
      info.parameters += static_cast<int64_t>(n->attrs.get_floats("value_floats").size());
      info.parameter_bytes += static_cast<int64_t>(n->attrs.get_floats("value_floats").size() * sizeof(float));
    } else if (n->attrs.has("value_ints")) {
      info.parameters += static_cast<int64_t>(n->attrs.get_ints("value_ints").size());
      info.parameter_bytes += static_cast<int64_t>(n->attrs.get_ints("value_ints").size() * sizeof(int64_t));
    }
  }
  info.unsupported_ops = runtime::find_unsupported_nodes(model);
  return info;
}

Model Model::with_batch(int64_t batch) const {
  if (batch < 0) throw InvalidArgument("with_batch: batch must be >= 1, or 0 for a symbolic batch; got " +
                                       std::to_string(batch));
  auto copy = std::make_shared<ir::Model>(api::unwrap(*this).clone());
  rebatch(*copy, batch);
  Model result = api::wrap(std::move(copy));
  check_batch(result, batch > 0 ? batch : kDynamicCheckBatch);
  return result;
}

std::map<std::string, Shape> Model::input_shapes(int64_t batch, const std::map<std::string, Shape>& overrides) const {
  if (batch < 0) throw InvalidArgument("--batch must be >= 1 (0 or absent: the model's own), got " + std::to_string(batch));
  const ir::Model& model = api::unwrap(*this);
  for (const auto& [name, shape] : overrides) {
    const ir::Value* v = model.graph->find_value(name);
    if (v == nullptr || !model.graph->is_graph_input(v)) {
      std::string names;
      for (const ir::Value* in : model.graph->inputs()) names += (names.empty() ? "" : ", ") + in->name();
      throw InvalidArgument("input shape for '" + name + "': the model has no input named '" + name +
                            "' (its inputs: " + names + ")");
    }
  }
  std::map<std::string, Shape> shapes;
  for (const ir::Value* v : model.graph->inputs()) {
    if (const auto it = overrides.find(v->name()); it != overrides.end()) {
      shapes[v->name()] = it->second;
      continue;
    }
    if (!v->type.shape) {
      throw InvalidArgument("input '" + v->name() + "' has no declared shape; give its shape (--shape " + v->name() +
                            "=... on the command line)");
    }
    Shape s;
    for (size_t i = 0; i < v->type.shape->size(); ++i) {
      const ir::Dim& d = (*v->type.shape)[i];
      if (i == 0 && batch > 0) {
        s.push_back(batch);
      } else if (d.size >= 0) {
        s.push_back(d.size);
      } else if (i == 0) {
        s.push_back(1);  // symbolic batch without a batch size: one sample
      } else {
        throw InvalidArgument("input '" + v->name() + "' dimension " + std::to_string(i) + " is symbolic ('" +
                              d.param + "'); give its shape (--shape " + v->name() + "=... on the command line)");
      }
    }
    shapes[v->name()] = s;
  }
  return shapes;
}

}  // namespace qwac
