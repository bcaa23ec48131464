// `qwac inspect MODEL`: what a model is, before doing anything with it.
#include <cstdio>
#include <map>
#include <memory>

#include "command.h"
#include "onnx/model_io.h"
#include "qwac/error.h"
#include "runtime/engine.h"

namespace qwac::cli {

namespace {

std::string describe_type(const ir::TypeInfo& t) {
  std::string s = std::string(dtype_name(t.dtype));
  if (!t.shape) return s + "[?]";
  s += "[";
  for (size_t i = 0; i < t.shape->size(); ++i) {
    const ir::Dim& d = (*t.shape)[i];
    s += (i ? "," : "") + (d.size >= 0 ? std::to_string(d.size) : (d.param.empty() ? "?" : d.param));
  }
  return s + "]";
}

struct InspectOptions {
  std::string model_path;
  bool plan = false;
  int64_t batch = 0;
  std::vector<std::string> shapes;
};

int run_inspect(const InspectOptions& o) {
  const ir::Model model = onnxio::load_model(o.model_path);
  const ir::Graph& g = *model.graph;
  std::printf("model: %s\n", o.model_path.c_str());
  std::printf("ir_version: %lld, producer: %s %s\n", static_cast<long long>(model.ir_version),
              model.producer_name.c_str(), model.producer_version.c_str());
  for (const auto& op : model.opset_imports) {
    std::printf("opset: %s %lld\n", op.domain.empty() ? "ai.onnx" : op.domain.c_str(),
                static_cast<long long>(op.version));
  }
  std::printf("inputs:\n");
  for (const ir::Value* v : g.inputs()) std::printf("  %s: %s\n", v->name().c_str(), describe_type(v->type).c_str());
  std::printf("outputs:\n");
  for (const ir::Value* v : g.outputs()) std::printf("  %s: %s\n", v->name().c_str(), describe_type(v->type).c_str());

  std::map<std::string, int> by_op;
  for (const ir::Node* n : g.nodes()) by_op[(n->domain().empty() ? "" : n->domain() + ".") + n->op_type()]++;
  std::printf("nodes: %zu\n", g.num_nodes());
  for (const auto& [op, count] : by_op) std::printf("  %-24s %d\n", op.c_str(), count);

  int64_t params = 0, param_bytes = 0;
  for (const ir::Value* v : g.values()) {
    if (!v->is_constant()) continue;
    params += v->constant->numel();
    param_bytes += static_cast<int64_t>(v->constant->nbytes());
  }
  std::printf("parameters: %lld (%.2f MiB as stored in memory)\n", static_cast<long long>(params),
              static_cast<double>(param_bytes) / (1024.0 * 1024.0));

  const std::vector<std::string> unsupported = runtime::find_unsupported_nodes(model);
  if (unsupported.empty()) {
    std::printf("unsupported ops: none\n");
  } else {
    std::printf("unsupported ops: %zu\n", unsupported.size());
    for (const auto& u : unsupported) std::printf("  %s\n", u.c_str());
  }
  if (o.plan) {
    if (!unsupported.empty()) throw UnsupportedOp("cannot show a plan: the model has unsupported ops (listed above)");
    runtime::Engine engine(model, runtime::EngineOptions{}, resolve_input_shapes(model, o.batch, o.shapes));
    std::printf("plan (arena %.2f MiB):\n", static_cast<double>(engine.arena_bytes()) / (1024.0 * 1024.0));
    for (const auto& p : engine.planned_nodes()) {
      std::printf("  %-28s %-18s %s", p.node_name.c_str(), p.op_type.c_str(), p.impl.c_str());
      for (const auto& d : p.declines) std::printf("  [declined %s]", d.c_str());
      std::printf("\n");
    }
  }
  return unsupported.empty() ? 0 : static_cast<int>(ErrorKind::kUnsupportedOp);
}

}  // namespace

Action add_inspect_command(CLI::App& app) {
  auto opts = std::make_shared<InspectOptions>();
  CLI::App* sub = app.add_subcommand("inspect", "Show a model's inputs, outputs, opset, ops and parameter count");
  sub->add_option("model", opts->model_path, "ONNX model file")->required();
  sub->add_flag("--plan", opts->plan, "Also compile the model and show which kernel runs each node and why");
  sub->add_option("--batch", opts->batch, "Batch size used for --plan (default: declared, symbolic batch = 1)");
  sub->add_option("--shape", opts->shapes, "Input shape override for --plan: name=d0,d1,...");
  return [opts] { return run_inspect(*opts); };
}

}  // namespace qwac::cli
