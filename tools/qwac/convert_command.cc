// `qwac convert MODEL --batch N|dynamic --output OUT.onnx`: the same model with another batch dimension. ONNX
// Runtime cannot run a model whose inputs declare a fixed batch at another batch, so comparing it with qwac at
// batch 16 needs such a file (bench/int8.sh); users want one for the same reason.
//
// Dimension 0 of every graph input and output becomes N or the symbolic "batch"; declared shapes of intermediate
// tensors are dropped (they would state the old batch; ONNX tools re-infer them). Before anything is written the
// result is compiled at batch N (2 for dynamic): a model that bakes its batch in (a constant Reshape target, ...)
// fails with one line naming the node where the batch is lost.
#include <cstdio>
#include <memory>
#include <optional>
#include <utility>
#include <set>
#include <string>
#include <vector>

#include "command.h"
#include "core/output_paths.h"
#include "onnx/model_io.h"
#include "qwac/error.h"
#include "runtime/engine.h"

namespace qwac::cli {

namespace {

constexpr int64_t kDynamicCheckBatch = 2;  // a batch that differs from the usual fixed 1
const char* const kBatchParam = "batch";

struct ConvertOptions {
  std::string model_path;
  std::string batch;
  std::string output_path;
};

// N >= 1, or 0 for "dynamic".
int64_t parse_batch(const std::string& text) {
  if (text == "dynamic") return 0;
  try {
    size_t used = 0;
    const long long n = std::stoll(text, &used);
    if (used == text.size() && n >= 1) return n;
  } catch (const std::exception&) {
  }
  throw InvalidArgument("--batch '" + text + "': expected a positive integer or 'dynamic'");
}

std::string describe_dims(const Shape& s) {
  std::string text = "[";
  for (size_t i = 0; i < s.size(); ++i) text += (i ? "," : "") + std::to_string(s[i]);
  return text + "]";
}

// Rewrites dim 0 of the graph's inputs and outputs (rank >= 1) and forgets intermediate shapes.
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
// Returns the node and the shape it wrote.
std::optional<std::pair<runtime::PlannedNode, Shape>> batch_loss(const runtime::Engine& engine, int64_t batch) {
  std::set<std::string> batched;
  for (const runtime::IoSpec& in : engine.inputs()) {
    if (!in.shape.empty() && in.shape[0] == batch) batched.insert(in.name);
  }
  const std::vector<runtime::PlannedNode> plan = engine.planned_nodes();
  for (const runtime::PlannedNode& p : plan) {
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
void check_batch(const ir::Model& model, int64_t batch) {
  std::unique_ptr<runtime::Engine> engine;
  try {
    engine = std::make_unique<runtime::Engine>(model, runtime::EngineOptions{}, resolve_input_shapes(model, batch, {}));
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

int run_convert(const ConvertOptions& o) {
  const int64_t batch = parse_batch(o.batch);
  check_output_paths({{"the model", o.model_path}}, {{"--output", o.output_path}});
  ir::Model model = onnxio::load_model(o.model_path);
  rebatch(model, batch);
  check_batch(model, batch > 0 ? batch : kDynamicCheckBatch);
  onnxio::save_model(model, o.output_path);  // temp file + rename: never a half-written file
  std::printf("%s -> %s (batch %s)\n", o.model_path.c_str(), o.output_path.c_str(),
              batch > 0 ? std::to_string(batch).c_str() : kBatchParam);
  for (const ir::Value* v : model.graph->inputs()) {
    std::printf("  input  %s: %s\n", v->name().c_str(), describe_type(v->type).c_str());
  }
  for (const ir::Value* v : model.graph->outputs()) {
    std::printf("  output %s: %s\n", v->name().c_str(), describe_type(v->type).c_str());
  }
  return 0;
}

}  // namespace

Action add_convert_command(CLI::App& app) {
  auto opts = std::make_shared<ConvertOptions>();
  CLI::App* sub = app.add_subcommand(
      "convert", "Write the model with another batch dimension (a fixed N or a symbolic 'batch') on its inputs/outputs");
  sub->add_option("model", opts->model_path, "ONNX model file")->required();
  sub->add_option("--batch", opts->batch, "New batch dimension: a positive integer, or 'dynamic'")->required();
  sub->add_option("--output,-o", opts->output_path, "Output ONNX file")->required();
  return [opts] { return run_convert(*opts); };
}

}  // namespace qwac::cli
