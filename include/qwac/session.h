// qwac public API: running a model on qwac's CPU engine.
//
//   qwac::InferenceSession s(model, options, model.input_shapes(/*batch=*/16));
//   std::vector<qwac::Tensor> out = s.run({{"input", batch}});   // graph outputs, in graph order
//
// Compiling (kernels chosen and created, weights packed, memory planned) happens once per set of input shapes;
// run() only binds the inputs and executes. QDQ models run on int8 kernels unless ExecutionOptions::int8 is false
// (the exact float simulation). A session is used by one thread at a time.
#pragma once

#include <cstddef>
#include <cstdint>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "qwac/dtype.h"
#include "qwac/execution.h"
#include "qwac/model.h"
#include "qwac/shape.h"
#include "qwac/tensor.h"

namespace qwac {

// A graph input or output as compiled (concrete shape).
struct IoSpec {
  std::string name;
  DType dtype = DType::kUndefined;
  Shape shape;
};

// What the plan decided for one node (what `qwac inspect --plan` prints).
struct PlannedNode {
  std::string node_name;
  std::string op_type;                // after the engine's passes (FusedConv, QConv... for qwac's own ops)
  std::string domain;                 // "" = default ONNX domain, "com.qwac" for fused/integer ops
  std::string impl;                   // "dnnl", "ref", "folded" (computed at compile time)
  std::vector<std::string> declines;  // kernels that declined the node, with their reasons
  std::vector<std::string> input_names, output_names;  // "" for omitted optional ones
  std::vector<DType> input_dtypes, output_dtypes;
  std::vector<Shape> input_shapes, output_shapes;
  // "int8" (qwac's integer ops, and ops reading or writing 8-bit tensors), "simulated" (a quantize / dequantize left
  // in the plan: a float round trip), "float", or "const" (computed at compile time).
  std::string precision;
  int64_t macs = 0;  // multiply-accumulates of convolutions and matrix products (0 for other ops)
};

// Why an engine pass left alone a node it looks for (e.g. a Conv not run in int8, and why).
struct PassNote {
  std::string node_name;
  std::string op_type;
  std::string reason;
};

// Accumulated time of one plan step since compilation (SessionOptions::profile).
struct StepProfile {
  std::string node_name;  // the node, or "<value> to plain" for a layout conversion
  std::string op_type;    // the node's op after engine passes, or "LayoutToPlain"
  std::string impl;       // "dnnl", "ref" or "layout"
  int64_t runs = 0;
  double total_ms = 0;
};

struct SessionOptions {
  bool profile = false;  // time every step of run() (profile()); two clock reads a step
  bool fuse = true;      // the engine's fusion passes (Conv + activation, ...); false = node by node
};

class InferenceSession {
 public:
  // Compiles `model` for `input_shapes` (inputs not listed use their declared shape, which must then be concrete;
  // Model::input_shapes() fills them). Uses threads, use_dnnl, int8 and logger of `options`. Throws UnsupportedOp
  // listing every unsupported node at once, InvalidArgument for a symbolic dim without a shape.
  InferenceSession(const Model& model, const ExecutionOptions& options = {},
                   const std::map<std::string, Shape>& input_shapes = {}, const SessionOptions& session = {});
  ~InferenceSession();
  InferenceSession(InferenceSession&&) noexcept;
  InferenceSession& operator=(InferenceSession&&) noexcept;

  // Recompiles for other input shapes (another batch size).
  void reshape(const std::map<std::string, Shape>& input_shapes);

  // Runs the plan: every graph input by name with the compiled dtype and shape (InvalidArgument otherwise).
  // Returns the graph outputs in graph order, as tensors owning their memory.
  std::vector<Tensor> run(const std::map<std::string, Tensor>& inputs);
  // The same for inputs of any shape: recompiles first when the shapes differ from the compiled ones.
  std::vector<Tensor> infer(const std::map<std::string, Tensor>& inputs);

  const std::vector<IoSpec>& inputs() const;
  const std::vector<IoSpec>& outputs() const;
  std::vector<PlannedNode> plan() const;
  std::vector<PassNote> pass_notes() const;  // in pass order; empty when no engine pass ran
  size_t arena_bytes() const;                // the shared intermediate buffer after liveness-based reuse
  std::vector<StepProfile> profile() const;  // per step, in plan order; empty unless SessionOptions::profile

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

// Random inputs for `specs` (a session's inputs()), as benchmarks need them: floats uniform in [-1, 1); integer
// inputs uniform in what `model`'s graph accepts (token ids within the embedding table they index, masks of ones),
// zero when the graph tells nothing (valid as indices and ids). Deterministic for a seed.
std::map<std::string, Tensor> random_inputs(const Model& model, const std::vector<IoSpec>& specs, uint64_t seed = 42);

}  // namespace qwac
