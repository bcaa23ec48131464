// ONNX ModelProto -> ir::Model: version checks, graph content, declared types and metadata.
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <climits>
#include <cstring>
#include <filesystem>
#include <unordered_map>
#include <unordered_set>

#include <google/protobuf/io/coded_stream.h>
#include <google/protobuf/io/zero_copy_stream_impl.h>
#include <onnx/onnx_pb.h>

#include "core/resource_limits.h"
#include "onnx/dtype_map.h"
#include "onnx/model_check.h"
#include "onnx/model_io.h"
#include "qwac/error.h"

#include <onnx/shape_inference/implementation.h>
#include <onnx/version_converter/convert.h>

namespace qwac::onnxio {

namespace {

constexpr int64_t kMinIrVersion = 3;
constexpr int64_t kMaxIrVersion = 10;
constexpr int64_t kMinOpset = 7;
constexpr int64_t kMaxOpset = 21;

bool is_default_domain(const std::string& domain) { return domain.empty() || domain == "ai.onnx"; }

void check_versions(const onnx::ModelProto& proto) {
  const int64_t ir = proto.ir_version();
  if (ir < kMinIrVersion || ir > kMaxIrVersion) {
    std::string msg = "model IR version " + std::to_string(ir) + " is not supported (supported: " +
                      std::to_string(kMinIrVersion) + ".." + std::to_string(kMaxIrVersion) + ")";
    if (ir == 0) msg += "; the file may not be an ONNX model";
    throw InvalidModel(msg);
  }
  bool has_default = false;
  for (const auto& op : proto.opset_import()) {
    if (!is_default_domain(op.domain())) continue;
    has_default = true;
    const int64_t v = op.version();
    if (v < 1) {
      throw InvalidModel("model imports default-domain opset " + std::to_string(v) + ", which is invalid (supported: " +
                         std::to_string(kMinOpset) + ".." + std::to_string(kMaxOpset) + ", older ones are upgraded)");
    }
    if (v > kMaxOpset) {
      throw InvalidModel("model imports default-domain opset " + std::to_string(v) + ", newer than the supported " +
                         std::to_string(kMinOpset) + ".." + std::to_string(kMaxOpset));
    }
  }
  if (!has_default) {
    throw InvalidModel("model imports no default-domain (ai.onnx) opset; expected one in " +
                       std::to_string(kMinOpset) + ".." + std::to_string(kMaxOpset));
  }
}

ir::TypeInfo type_from_proto(const onnx::TypeProto& type, const std::string& what) {
  ir::TypeInfo info;
  if (type.value_case() == onnx::TypeProto::VALUE_NOT_SET) return info;
  if (!type.has_tensor_type()) {
    throw UnsupportedOp(what + " has a non-tensor type (sequence, map, optional or sparse tensor); qwac handles "
                        "dense tensors only");
  }
  const auto& tensor_type = type.tensor_type();
  info.dtype = import_dtype(dtype_from_onnx(tensor_type.elem_type(), what));
  if (info.dtype == DType::kString) {
    throw UnsupportedOp(what + " has element type string; qwac supports numeric and bool tensors only");
  }
  if (tensor_type.has_shape()) {
    ir::SymbolicShape shape;
    for (const auto& d : tensor_type.shape().dim()) {
      ir::Dim dim;
      if (d.has_dim_value() && d.dim_value() >= 0) dim.size = d.dim_value();
      else if (d.has_dim_param()) dim.param = d.dim_param();
      shape.push_back(std::move(dim));
    }
    info.shape = std::move(shape);
  }
  return info;
}

bool has_type(const ir::TypeInfo& t) { return t.dtype != DType::kUndefined || t.shape.has_value(); }

// Declared types come from graph inputs, then outputs, then value_info: the first declaration wins; constants
// take their type from their data.
void declare(ir::Value* v, const onnx::ValueInfoProto& vi) {
  if (v->is_constant()) return;
  if (!has_type(v->type)) v->type = type_from_proto(vi.type(), "value '" + vi.name() + "'");
  if (v->doc_string.empty()) v->doc_string = vi.doc_string();
}

// Attribute kind from the fields present, for writers that left AttributeProto.type unset.
onnx::AttributeProto_AttributeType infer_attribute_type(const onnx::AttributeProto& a) {
  using A = onnx::AttributeProto;
  if (a.has_f()) return A::FLOAT;
  if (a.has_i()) return A::INT;
  if (a.has_s()) return A::STRING;
  if (a.has_t()) return A::TENSOR;
  if (a.has_g()) return A::GRAPH;
  if (a.has_sparse_tensor()) return A::SPARSE_TENSOR;
  if (a.floats_size() > 0) return A::FLOATS;
  if (a.ints_size() > 0) return A::INTS;
  if (a.strings_size() > 0) return A::STRINGS;
  if (a.tensors_size() > 0) return A::TENSORS;
  if (a.graphs_size() > 0) return A::GRAPHS;
  return A::UNDEFINED;
}

ir::AttributeValue attribute_from_proto(const onnx::AttributeProto& a, const std::string& node_what,
                                        const std::string& base_dir) {
  using A = onnx::AttributeProto;
  const std::string what = node_what + " attribute '" + a.name() + "'";
  if (!a.ref_attr_name().empty()) {
    throw InvalidModel(what + " refers to function attribute '" + a.ref_attr_name() + "' outside a function");
  }
  const A::AttributeType kind = a.type() != A::UNDEFINED ? a.type() : infer_attribute_type(a);
  switch (kind) {
    case A::INT: return a.i();
    case A::FLOAT: return a.f();
    case A::STRING: return a.s();
    case A::TENSOR: return tensor_from_proto(a.t(), base_dir);
    case A::INTS: return std::vector<int64_t>(a.ints().begin(), a.ints().end());
    case A::FLOATS: return std::vector<float>(a.floats().begin(), a.floats().end());
    case A::STRINGS: return std::vector<std::string>(a.strings().begin(), a.strings().end());
    case A::GRAPH:
    case A::GRAPHS:
      throw UnsupportedOp(node_what + " has sub-graph attribute '" + a.name() +
                          "'; control flow (If/Loop/Scan) is not supported");
    case A::UNDEFINED: throw InvalidModel(what + " has no type and no value");
    default: break;
  }
  throw UnsupportedOp(what + " is of kind " + A::AttributeType_Name(kind) +
                      "; supported kinds are INT, FLOAT, STRING, TENSOR, INTS, FLOATS, STRINGS");
}

// Later layers refer to nodes by name (ignored scope, reports, taps), so every node gets a unique one: an unnamed
// node becomes "<op_type>_<index>", a repeated name gets a "_<k>" suffix.
std::vector<std::string> unique_node_names(const onnx::GraphProto& graph) {
  std::unordered_set<std::string> taken;
  for (const auto& n : graph.node()) {
    if (!n.name().empty()) taken.insert(n.name());
  }
  std::unordered_set<std::string> assigned;
  std::vector<std::string> names;
  names.reserve(static_cast<size_t>(graph.node_size()));
  for (int i = 0; i < graph.node_size(); ++i) {
    const auto& n = graph.node(i);
    std::string name = n.name();
    if (name.empty() || assigned.count(name)) {
      const std::string base = name.empty() ? n.op_type() + "_" + std::to_string(i) : name;
      name = base;
      for (int k = 1; taken.count(name) || assigned.count(name); ++k) name = base + "_" + std::to_string(k);
    }
    assigned.insert(name);
    names.push_back(std::move(name));
  }
  return names;
}

std::unique_ptr<ir::Graph> graph_from_proto(const onnx::GraphProto& proto, const ir::Model& model,
                                            const std::string& base_dir) {
  auto g = std::make_unique<ir::Graph>();
  g->name = proto.name();
  g->doc_string = proto.doc_string();
  if (proto.sparse_initializer_size() > 0) {
    throw UnsupportedOp("graph '" + proto.name() + "' has sparse initializer '" + proto.sparse_initializer(0).values().name() +
                        "'; sparse tensors are not supported");
  }

  // Values are created in a fixed order (initializers, inputs, node outputs) so export -> import reproduces it.
  for (const auto& init : proto.initializer()) {
    if (init.name().empty()) throw InvalidModel("graph '" + proto.name() + "' has an initializer without a name");
    ir::Value* v = g->add_constant(init.name(), tensor_from_proto(init, base_dir));
    v->doc_string = init.doc_string();
  }
  for (const auto& in : proto.input()) {
    if (in.name().empty()) throw InvalidModel("graph '" + proto.name() + "' has an input without a name");
    ir::Value* v = g->find_value(in.name());
    if (v != nullptr && v->is_constant()) {
      // IR < 4 style: the initializer is also a graph input. We treat it as a constant (ONNX would let a caller
      // override it) and remember the listing so export writes it back.
      if (std::find(g->initializer_inputs.begin(), g->initializer_inputs.end(), in.name()) !=
          g->initializer_inputs.end()) {
        throw InvalidModel("graph input '" + in.name() + "' is listed twice");
      }
      g->initializer_inputs.push_back(in.name());
      continue;
    }
    v = g->add_value(in.name());
    declare(v, in);
    g->add_input(v);
  }

  const std::vector<std::string> node_names = unique_node_names(proto);
  for (int i = 0; i < proto.node_size(); ++i) {
    const auto& n = proto.node(i);
    for (const auto& out : n.output()) {
      if (out.empty()) continue;
      if (ir::Value* existing = g->find_value(out)) {
        const std::string kind = existing->is_constant() ? "an initializer" : "already defined";
        throw InvalidModel("output '" + out + "' of " + n.op_type() + " '" + node_names[i] + "' is " + kind +
                           " (every tensor must have a single definition)");
      }
      g->add_value(out);
    }
  }

  for (int i = 0; i < proto.node_size(); ++i) {
    const auto& n = proto.node(i);
    const std::string what = n.op_type() + " '" + node_names[i] + "'";
    if (n.op_type().empty()) throw InvalidModel("node '" + node_names[i] + "' has no op_type");
    if (model.opset(n.domain()) == 0) {
      throw InvalidModel(what + " uses domain '" + n.domain() + "', which the model does not import (opset_import)");
    }
    std::vector<ir::Value*> inputs;
    for (const auto& name : n.input()) {
      if (name.empty()) {
        inputs.push_back(nullptr);  // omitted optional input
        continue;
      }
      ir::Value* v = g->find_value(name);
      if (v == nullptr) {
        throw InvalidModel(what + " input '" + name + "' is neither a graph input, an initializer nor a node output");
      }
      inputs.push_back(v);
    }
    std::vector<ir::Value*> outputs;
    for (const auto& name : n.output()) outputs.push_back(name.empty() ? nullptr : g->value(name));
    ir::Attributes attrs;
    for (const auto& a : n.attribute()) {
      if (attrs.has(a.name())) throw InvalidModel(what + " has attribute '" + a.name() + "' twice");
      attrs.set(a.name(), attribute_from_proto(a, what, base_dir));
    }
    ir::Node* node = g->add_node(n.op_type(), inputs, outputs, node_names[i], n.domain());
    node->attrs = std::move(attrs);
    node->doc_string = n.doc_string();
  }

  for (const auto& out : proto.output()) {
    ir::Value* v = g->find_value(out.name());
    if (v == nullptr) {
      throw InvalidModel("graph output '" + out.name() + "' is neither a graph input, an initializer nor a node output");
    }
    declare(v, out);
    g->add_output(v);
  }
  for (const auto& vi : proto.value_info()) {
    // A value_info for a name the graph never defines describes nothing; it is dropped.
    if (ir::Value* v = g->find_value(vi.name())) declare(v, vi);
  }
  g->verify();
  return g;
}


int64_t default_opset(const onnx::ModelProto& proto) {
  for (const auto& op : proto.opset_import()) {
    if (is_default_domain(op.domain())) return op.version();
  }
  return 0;
}

// Models older than opset 7 are upgraded with ONNX's own version converter (its adapters know every op change), so
// the engine only ever sees opsets 7..21.
onnx::ModelProto upgrade_to_min_opset(const onnx::ModelProto& proto) {
  try {
    // The converter's adapters need the shapes of broadcast operands (e.g. Add's legacy broadcast attribute).
    onnx::ModelProto with_shapes = proto;
    onnx::shape_inference::InferShapes(with_shapes);
    return onnx::version_conversion::ConvertVersion(with_shapes, static_cast<int>(kMinOpset));
  } catch (const std::exception& e) {
    throw InvalidModel("model imports default-domain opset " + std::to_string(default_opset(proto)) +
                       ", older than the supported " + std::to_string(kMinOpset) + ".." + std::to_string(kMaxOpset) +
                       ", and ONNX's version converter could not upgrade it (" + e.what() +
                       "); upgrade it first (e.g. onnx.version_converter.convert_version(model, 13))");
  }
}

}  // namespace

ir::Model model_from_proto(const onnx::ModelProto& proto, const std::string& base_dir) {
  check_versions(proto);
  check_model_proto(proto);  // before ONNX's shape inference (in the upgrade below) can trip on the model
  if (default_opset(proto) < kMinOpset) return model_from_proto(upgrade_to_min_opset(proto), base_dir);
  if (proto.functions_size() > 0) {
    throw UnsupportedOp("model defines local function '" + proto.functions(0).name() +
                        "'; model-local functions are not supported");
  }
  ir::Model model;
  model.ir_version = proto.ir_version();
  for (const auto& op : proto.opset_import()) model.opset_imports.push_back({op.domain(), op.version()});
  model.producer_name = proto.producer_name();
  model.producer_version = proto.producer_version();
  model.domain = proto.domain();
  model.model_version = proto.model_version();
  model.doc_string = proto.doc_string();
  for (const auto& kv : proto.metadata_props()) model.metadata_props.emplace_back(kv.key(), kv.value());
  model.graph = graph_from_proto(proto.graph(), model, base_dir);
  return model;
}

ir::Model load_model(const std::string& path) {
  const int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) throw IoError("cannot open model '" + path + "': " + std::strerror(errno));
  struct stat st {};
  if (::fstat(fd, &st) != 0 || S_ISDIR(st.st_mode)) {
    const int err = S_ISDIR(st.st_mode) ? EISDIR : errno;
    ::close(fd);
    throw IoError("cannot open model '" + path + "': " + std::strerror(err));
  }
  // Parsing holds the whole file in memory (and its tensors once more).
  if (!fits_memory_budget(2 * static_cast<uint64_t>(st.st_size))) {
    ::close(fd);
    throw InvalidModel("model '" + path + "' has " + describe_bytes(static_cast<uint64_t>(st.st_size)) +
                       ", too large to load" + memory_budget_hint());
  }
  onnx::ModelProto proto;
  bool parsed = false;
  int read_errno = 0;
  {
    google::protobuf::io::FileInputStream raw(fd);
    google::protobuf::io::CodedInputStream coded(&raw);
    // The default 64 MB limit would reject large (but valid) models; protobuf's own hard limit is 2 GB.
    coded.SetTotalBytesLimit(INT_MAX);
    parsed = proto.ParseFromCodedStream(&coded) && coded.ConsumedEntireMessage();
    read_errno = raw.GetErrno();
  }
  ::close(fd);
  if (read_errno != 0) throw IoError("cannot read model '" + path + "': " + std::strerror(read_errno));
  if (!parsed) throw InvalidModel("cannot parse model '" + path + "': not a valid ONNX protobuf (ModelProto) file");

  const std::string base_dir = std::filesystem::path(path).parent_path().string();
  // Errors from the conversion name the node or tensor; prefix the file so the user knows which model it was.
  try {
    return model_from_proto(proto, base_dir);
  } catch (const InvalidModel& e) {
    throw InvalidModel("model '" + path + "': " + e.what());
  } catch (const UnsupportedOp& e) {
    throw UnsupportedOp("model '" + path + "': " + e.what());
  }
}

ir::Model model_from_bytes(const std::string& bytes, const std::string& base_dir) {
  onnx::ModelProto proto;
  google::protobuf::io::ArrayInputStream raw(bytes.data(), static_cast<int>(std::min<size_t>(bytes.size(), INT_MAX)));
  google::protobuf::io::CodedInputStream coded(&raw);
  coded.SetTotalBytesLimit(INT_MAX);
  if (bytes.size() > static_cast<size_t>(INT_MAX) || !proto.ParseFromCodedStream(&coded) ||
      !coded.ConsumedEntireMessage()) {
    throw InvalidModel("cannot parse the model bytes (" + std::to_string(bytes.size()) +
                       " bytes): not a valid ONNX protobuf (ModelProto)");
  }
  return model_from_proto(proto, base_dir);
}

}  // namespace qwac::onnxio
