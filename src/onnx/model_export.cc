// ir::Model -> ONNX ModelProto, and writing it to disk (checked, atomic, deterministic).

#include <cerrno>
#include <climits>
#include <cstring>
#include <filesystem>
#include <type_traits>
#include <unordered_set>

#include <google/protobuf/io/coded_stream.h>
#include <google/protobuf/io/zero_copy_stream_impl_lite.h>
#include <onnx/checker.h>
#include <onnx/defs/schema.h>
#include <onnx/onnx_pb.h>

#include "onnx/dtype_map.h"
#include "onnx/model_io.h"
#include "core/atomic_file.h"
#include "qwac/error.h"

namespace qwac::onnxio {

namespace {

bool has_type(const ir::TypeInfo& t) { return t.dtype != DType::kUndefined || t.shape.has_value(); }

void type_to_proto(const ir::TypeInfo& info, onnx::TypeProto* type) {
  if (!has_type(info)) return;  // no declared type: leave TypeProto empty
  auto* tensor_type = type->mutable_tensor_type();
  tensor_type->set_elem_type(static_cast<int32_t>(info.dtype));
  if (!info.shape) return;
  auto* shape = tensor_type->mutable_shape();  // present even for rank 0, which differs from "rank unknown"
  for (const ir::Dim& d : *info.shape) {
    auto* dim = shape->add_dim();
    if (d.size >= 0) dim->set_dim_value(d.size);
    else if (!d.param.empty()) dim->set_dim_param(d.param);
  }
}

void value_info_to_proto(const ir::Value& v, onnx::ValueInfoProto* vi) {
  vi->set_name(v.name());
  type_to_proto(v.type, vi->mutable_type());
  if (!v.doc_string.empty()) vi->set_doc_string(v.doc_string);
}

void attribute_to_proto(const std::string& name, const ir::AttributeValue& value, onnx::AttributeProto* a) {
  using A = onnx::AttributeProto;
  a->set_name(name);
  std::visit(
      [&](const auto& x) {
        using T = std::decay_t<decltype(x)>;
        if constexpr (std::is_same_v<T, int64_t>) {
          a->set_type(A::INT);
          a->set_i(x);
        } else if constexpr (std::is_same_v<T, float>) {
          a->set_type(A::FLOAT);
          a->set_f(x);
        } else if constexpr (std::is_same_v<T, std::string>) {
          a->set_type(A::STRING);
          a->set_s(x);
        } else if constexpr (std::is_same_v<T, Tensor>) {
          a->set_type(A::TENSOR);
          *a->mutable_t() = tensor_to_proto(x, "");
        } else if constexpr (std::is_same_v<T, std::vector<int64_t>>) {
          a->set_type(A::INTS);
          a->mutable_ints()->Add(x.begin(), x.end());
        } else if constexpr (std::is_same_v<T, std::vector<float>>) {
          a->set_type(A::FLOATS);
          a->mutable_floats()->Add(x.begin(), x.end());
        } else {
          static_assert(std::is_same_v<T, std::vector<std::string>>, "every AttributeValue kind is exported");
          a->set_type(A::STRINGS);
          for (const auto& s : x) a->add_strings(s);
        }
      },
      value);
}

void graph_to_proto(const ir::Graph& g, int64_t ir_version, onnx::GraphProto* proto) {
  proto->set_name(g.name);
  if (!g.doc_string.empty()) proto->set_doc_string(g.doc_string);

  for (const ir::Value* v : g.inputs()) value_info_to_proto(*v, proto->add_input());
  // Initializers listed as inputs (IR < 4 style) go back into the input list. IR < 4 requires it for every
  // initializer, so constants added since import are listed too.
  std::unordered_set<std::string> listed;
  auto list_initializer = [&](const ir::Value* v) {
    if (!listed.insert(v->name()).second) return;
    auto* vi = proto->add_input();
    vi->set_name(v->name());
    type_to_proto(v->type, vi->mutable_type());
  };
  for (const std::string& name : g.initializer_inputs) {
    const ir::Value* v = g.find_value(name);
    if (v != nullptr && v->is_constant()) list_initializer(v);  // folded or removed since import: nothing to list
  }

  for (const ir::Value* v : g.values()) {
    if (!v->is_constant()) continue;
    if (ir_version < 4) list_initializer(v);
    auto* t = proto->add_initializer();
    *t = tensor_to_proto(*v->constant, v->name());
    if (!v->doc_string.empty()) t->set_doc_string(v->doc_string);
  }

  for (const ir::Node* n : g.topological_order()) {
    auto* np = proto->add_node();
    for (const ir::Value* v : n->inputs()) np->add_input(v == nullptr ? std::string() : v->name());
    for (const ir::Value* v : n->outputs()) np->add_output(v == nullptr ? std::string() : v->name());
    np->set_name(n->name());
    np->set_op_type(n->op_type());
    if (!n->domain().empty()) np->set_domain(n->domain());
    for (const auto& [name, value] : n->attrs.all()) attribute_to_proto(name, value, np->add_attribute());
    if (!n->doc_string.empty()) np->set_doc_string(n->doc_string);
  }

  for (const ir::Value* v : g.outputs()) value_info_to_proto(*v, proto->add_output());

  // value_info: declared types of everything else, in creation order (deterministic).
  for (const ir::Value* v : g.values()) {
    if (v->is_constant() || !has_type(v->type) || g.is_graph_input(v) || g.is_graph_output(v)) continue;
    value_info_to_proto(*v, proto->add_value_info());
  }
}

// True when the model imports an opset newer than the linked ONNX library's operator schemas (ONNX 1.12 knows
// default-domain opsets up to 17; qwac accepts up to 21).
bool newer_than_checker(const onnx::ModelProto& proto) {
  const auto& known = onnx::OpSchemaRegistry::DomainToVersionRange::Instance().Map();
  for (const auto& op : proto.opset_import()) {
    const std::string domain = op.domain() == "ai.onnx" ? "" : op.domain();
    auto it = known.find(domain);
    if (it != known.end() && op.version() > it->second.second) return true;
  }
  return false;
}

// Runs the ONNX checker of the linked ONNX library, which may be older than the model:
// - it rejects any ir_version above its own; the structural checks do not depend on it, so the check runs with
//   the version clamped to the checker's and restored afterwards;
// - for opsets it does not know it verifies nodes against the newest schema it has, which rejects valid nodes
//   (ReduceMean-18 takes `axes` as an input, ReduceMean-13 as an attribute). For such models node-spec failures
//   are not errors; graph-level checks (names, topological order, initializers, types) still are.
void run_checker(onnx::ModelProto& proto, const std::string& path) {
  const int64_t ir_version = proto.ir_version();
  if (ir_version > onnx::IR_VERSION) proto.set_ir_version(onnx::IR_VERSION);
  std::string failure;
  try {
    onnx::checker::check_model(proto);
  } catch (const onnx::checker::ValidationError& e) {
    failure = e.what();
  } catch (const std::exception& e) {  // onnx also throws plain runtime errors (schema lookups)
    failure = e.what();
  }
  proto.set_ir_version(ir_version);
  if (failure.empty()) return;
  const bool node_spec_failure = failure.find("Bad node spec") != std::string::npos;
  if (node_spec_failure && newer_than_checker(proto)) return;
  throw InvalidModel("model to be saved as '" + path + "' fails the ONNX checker: " + failure);
}

// Deterministic serialization (map fields in key order), so the same model always gives the same bytes.
std::string serialize_deterministically(const onnx::ModelProto& proto) {
  std::string bytes;
  {
    google::protobuf::io::StringOutputStream raw(&bytes);
    google::protobuf::io::CodedOutputStream coded(&raw);
    coded.SetSerializationDeterministic(true);
    (void)proto.ByteSizeLong();  // SerializeWithCachedSizes needs fresh cached sizes
    proto.SerializeWithCachedSizes(&coded);
    if (coded.HadError()) throw InternalError("serializing the model failed");
  }
  return bytes;
}

}  // namespace

onnx::ModelProto model_to_proto(const ir::Model& model) {
  if (!model.graph) throw InternalError("cannot export a model without a graph");
  onnx::ModelProto proto;
  proto.set_ir_version(model.ir_version);
  for (const auto& op : model.opset_imports) {
    auto* o = proto.add_opset_import();
    o->set_domain(op.domain);
    o->set_version(op.version);
  }
  if (!model.producer_name.empty()) proto.set_producer_name(model.producer_name);
  if (!model.producer_version.empty()) proto.set_producer_version(model.producer_version);
  if (!model.domain.empty()) proto.set_domain(model.domain);
  if (model.model_version != 0) proto.set_model_version(model.model_version);
  if (!model.doc_string.empty()) proto.set_doc_string(model.doc_string);
  for (const auto& [key, value] : model.metadata_props) {
    auto* kv = proto.add_metadata_props();
    kv->set_key(key);
    kv->set_value(value);
  }
  graph_to_proto(*model.graph, model.ir_version, proto.mutable_graph());
  return proto;
}

namespace {

// What save_model writes: checked, within protobuf's limit, deterministic. `what` names the destination.
std::string checked_bytes(const ir::Model& model, const std::string& what) {
  onnx::ModelProto proto = model_to_proto(model);
  run_checker(proto, what);
  if (proto.ByteSizeLong() > static_cast<size_t>(INT_MAX)) {
    throw InvalidModel("model to be saved as '" + what + "' is " + std::to_string(proto.ByteSizeLong()) +
                       " bytes, over protobuf's 2 GB limit for one file; external-data export is not supported");
  }
  return serialize_deterministically(proto);
}

}  // namespace

void save_model(const ir::Model& model, const std::string& path) {
  write_file_atomically(path, checked_bytes(model, path));
}

std::string model_to_bytes(const ir::Model& model) { return checked_bytes(model, "<bytes>"); }

}  // namespace qwac::onnxio
