// qwac public API: an ONNX model, opaque.
//
//   qwac::Model fp32 = qwac::Model::load("model.onnx");     // IoError, InvalidModel, UnsupportedOp
//   qwac::ModelInfo info = fp32.describe();                  // inputs, outputs, opsets, ops, parameters
//   qwac::QuantizeResult r = qwac::quantize(fp32, calibration, params);
//   r.model.save("model.int8.onnx");                         // QDQ ONNX, written atomically
//
// A Model is immutable and cheap to copy (copies share one graph); the library's algorithms return new Models.
// Loading accepts ONNX IR 3-10 with default-domain opsets 7-21, external data (resolved relative to the file's
// folder) and float16 initializers (upcast to float32).
#pragma once

#include <cstdint>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "qwac/dtype.h"
#include "qwac/shape.h"

namespace qwac {

// One dimension of a declared shape: a size >= 0, or unknown (-1) with an optional symbolic name ("batch").
struct Dim {
  int64_t size = -1;
  std::string param;
  bool operator==(const Dim&) const = default;
};

// A graph input or output as the model declares it.
struct ValueInfo {
  std::string name;
  DType dtype = DType::kUndefined;
  std::optional<std::vector<Dim>> shape;  // nullopt = rank unknown
  // "float[1,3,224,224]", symbolic dims by name ("float[batch,10]"), "?" for unknown ones, "float[?]" without rank.
  std::string describe() const;
};

struct OpsetInfo {
  std::string domain;  // "" = the default ONNX domain
  int64_t version = 0;
};

struct ModelInfo {
  int64_t ir_version = 0;
  std::string producer_name, producer_version;
  std::vector<OpsetInfo> opsets;
  std::vector<ValueInfo> inputs, outputs;
  int64_t node_count = 0;
  std::map<std::string, int> op_counts;  // "Conv" -> 26; ops of other domains as "domain.Op"
  int64_t parameters = 0;                // elements of all constant tensors (initializers)
  int64_t parameter_bytes = 0;           // their size as held in memory
  // Nodes no kernel of qwac's engine supports ("Op 'name'"); empty when the engine runs the whole model.
  std::vector<std::string> unsupported_ops;
};

class Model {
 public:
  Model();  // empty: every operation but empty() throws InvalidArgument
  ~Model();
  Model(const Model&);
  Model& operator=(const Model&);
  Model(Model&&) noexcept;
  Model& operator=(Model&&) noexcept;

  // Reads an ONNX file. Throws IoError (missing or unreadable file), InvalidModel (malformed protobuf,
  // inconsistent graph) or UnsupportedOp (sub-graph ops, unknown domains).
  static Model load(const std::string& path);
  // A serialized ONNX ModelProto (what onnx.ModelProto.SerializeToString() gives); `base_dir` resolves external
  // data. Same errors as load().
  static Model from_bytes(const std::string& bytes, const std::string& base_dir = "");

  // Writes the model (after ONNX's checker: InvalidModel if it fails) to a temporary file beside `path`, then
  // renames it: a failure never leaves a partial or overwritten file. IoError when the folder is not writable.
  void save(const std::string& path) const;
  // The serialized ModelProto (what onnx.load_from_string() reads).
  std::string to_bytes() const;

  ModelInfo describe() const;

  // The same model with dimension 0 of every graph input and output set to `batch` (> 0), or to the symbolic
  // "batch" (batch == 0). Declared shapes of intermediate tensors are dropped (they would state the old batch).
  // Before returning, the result is compiled at that batch (2 for symbolic) and InvalidModel names the node where a
  // model that bakes its batch in loses it.
  Model with_batch(int64_t batch) const;

  // Concrete input shapes: declared shapes with dim 0 replaced by `batch` when batch > 0 (a symbolic dim 0 becomes
  // 1 otherwise), then `overrides` by input name. InvalidArgument names an input with no declared shape, a symbolic
  // dim left, or an override naming no input.
  std::map<std::string, Shape> input_shapes(int64_t batch = 0,
                                            const std::map<std::string, Shape>& overrides = {}) const;

  bool empty() const { return impl_ == nullptr; }

  // The library's view of the model (opaque to users).
  struct Impl;
  const Impl& impl() const;
  explicit Model(std::shared_ptr<const Impl> impl);

 private:
  std::shared_ptr<const Impl> impl_;
};

}  // namespace qwac
