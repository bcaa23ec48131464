// Engine: compiles a model once for concrete input shapes into a plan (kernels chosen and created, weights packed,
// memory planned with buffer reuse by liveness), then runs it many times.
//
// Lifecycle: Engine(model, options, shapes) = create + reshape; run() binds inputs and executes. reshape() with
// other input shapes (another batch size) recompiles the plan (runtime/plan_builder.h: compile in stages; with a
// kernel cache, only nodes never compiled in this context create kernels). Intermediate tensors named in `taps` are kept
// (not reused by the memory planner) and readable after each run in plain layout.
#pragma once

#include <map>
#include <memory>
#include <string>
#include <vector>

#include "core/logger.h"
#include "core/tensor.h"
#include "ir/graph.h"
#include "passes/pass.h"
#include "runtime/kernel_cache.h"
#include "runtime/workspace.h"

namespace qwac::runtime {

struct EngineOptions {
  int num_threads = 0;        // 0 = all cores
  bool use_dnnl = true;       // false = reference kernels only (the oracle)
  bool fuse = true;           // run the fusion passes (Conv+activation, ...) on the engine's private graph
  bool int8 = false;          // run QDQ patterns on 8-bit kernels (passes::engine_int8_passes); off until proven
  bool profile = false;       // time every step of run() (Engine::profile); off by default: two clock reads a step
  std::vector<std::string> taps;  // intermediate tensors to keep readable after run()
  std::shared_ptr<Logger> logger;  // nullptr = silent
  // Kernels compiled by earlier engines, reused for nodes that read the same inputs (runtime/kernel_cache.h), and
  // the arena borrowed from a workspace (runtime/workspace.h). Both only for engines that never run concurrently
  // with another engine sharing them: the engines of one stream. nullptr = private ones.
  std::shared_ptr<KernelCache> kernel_cache;
  std::shared_ptr<Workspace> workspace;
};

struct IoSpec {
  std::string name;
  DType dtype;
  Shape shape;  // concrete, as compiled
};

// What the plan decided for one node (shown by `qwac inspect --plan` and in reports).
struct PlannedNode {
  std::string node_name;
  std::string op_type;
  std::string impl;                   // "dnnl", "ref", "folded" (computed at compile time)
  std::vector<std::string> declines;  // candidates that declined, with their reasons
  std::string domain;                 // "" = default ONNX domain, "com.qwac" for fused/integer ops
  // As compiled (kUndefined / empty for omitted optional inputs and outputs): tells which nodes compute on 8-bit
  // tensors and how many multiply-accumulates they do (`qwac inspect --plan --int8`).
  std::vector<std::string> input_names, output_names;  // "" for omitted optional ones
  std::vector<DType> input_dtypes, output_dtypes;
  std::vector<Shape> input_shapes, output_shapes;
};

// Accumulated time of one plan step over the runs since compilation (EngineOptions::profile).
struct StepProfile {
  std::string node_name;  // the node, or "<value> to plain" for a layout conversion
  std::string op_type;    // the node's op after engine passes, or "LayoutToPlain"
  std::string impl;       // kernel family: "dnnl", "ref", or "layout"
  int64_t runs = 0;
  double total_ms = 0;
};

class Plan;  // runtime/plan.h

// A model after the engine passes, as every Engine with the same pass options (int8, fuse, use_dnnl, taps) compiles
// it. Immutable, so engines on different threads share one: the accuracy search's streams compile each candidate
// from one prepared model instead of cloning it and running the passes once per stream.
struct PreparedModel {
  std::shared_ptr<const ir::Model> model;
  std::vector<passes::PassNote> pass_notes;
};

// Verifies `model` (UnsupportedOp listing every unsupported node) and runs the engine passes `options` ask for on a
// copy.
std::shared_ptr<const PreparedModel> prepare_model(const ir::Model& model, const EngineOptions& options);

class Engine {
 public:
  // `input_shapes` overrides declared shapes by input name (e.g. another batch); inputs not listed use their
  // declared shape, which must then be fully known (a symbolic dim without an override is an InvalidArgument
  // naming the input). Throws UnsupportedOp listing every unsupported node at once.
  Engine(const ir::Model& model, EngineOptions options, const std::map<std::string, Shape>& input_shapes = {});
  // From a prepared model made with the same pass options (int8, fuse, use_dnnl, taps) as `options`.
  Engine(std::shared_ptr<const PreparedModel> prepared, EngineOptions options,
         const std::map<std::string, Shape>& input_shapes = {});
  ~Engine();
  Engine(const Engine&) = delete;
  Engine& operator=(const Engine&) = delete;

  void reshape(const std::map<std::string, Shape>& input_shapes);

  // Runs the plan. Inputs by name; every graph input must be given with the compiled dtype and shape (a batch
  // mismatch is an InvalidArgument suggesting reshape()). Returns the graph outputs in graph order, plain layout,
  // as tensors owning their memory.
  std::vector<Tensor> run(const std::map<std::string, Tensor>& inputs);

  // A tapped tensor from the last run (plain layout; valid until the next run). Throws InvalidArgument if the
  // name was not tapped.
  const Tensor& tap(const std::string& name) const;
  // The dtype and shape a tapped tensor has in every run, known once compiled (before any run). Throws
  // InvalidArgument if the name was not tapped.
  std::pair<DType, Shape> tap_type(const std::string& name) const;
  // The same as an owning tensor that the next run() does not overwrite (one copy, from the blocked layout when
  // the kernel produced one).
  Tensor tap_copy(const std::string& name) const;

  const std::vector<IoSpec>& inputs() const;
  const std::vector<IoSpec>& outputs() const;
  std::vector<PlannedNode> planned_nodes() const;
  // Notes of the engine passes (why a pass left a node it looks for alone, e.g. a Conv not run in int8), in pass
  // order. Empty when no engine pass ran.
  const std::vector<passes::PassNote>& pass_notes() const { return pass_notes_; }
  size_t arena_bytes() const;  // bytes of the shared intermediate buffer after liveness-based reuse
  // Per-step times in plan order; empty unless EngineOptions::profile.
  std::vector<StepProfile> profile() const;

 private:
  void compile(const std::map<std::string, Shape>& input_shapes);

  std::shared_ptr<const ir::Model> model_;  // after engine passes; shared with engines of the same prepared model
  EngineOptions options_;
  std::unique_ptr<Plan> plan_;
  std::map<std::string, Tensor> last_inputs_;  // the last run's inputs (shared storage), readable as taps
  std::vector<passes::PassNote> pass_notes_;
};

// Lists every node of `model` (opset-aware) that no kernel supports, as "Op 'name'" strings; empty when all are.
std::vector<std::string> find_unsupported_nodes(const ir::Model& model);

}  // namespace qwac::runtime
