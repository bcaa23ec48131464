// `qwac inspect MODEL [--plan [--int8]]`: what a model is, before doing anything with it, and how the engine
// would run it: the kernel of every node and, for a QDQ model with --int8, which nodes compute in 8 bits and why the
// others do not.
#include <algorithm>
#include <cstdio>
#include <map>
#include <memory>
#include <set>
#include <string>
#include <vector>

#include "command.h"
#include "qwac/error.h"
#include "qwac/model.h"
#include "qwac/session.h"

namespace qwac::cli {

namespace {

struct InspectOptions {
  std::string model_path;
  bool plan = false;
  bool int8 = false;      // --int8: show the plan (the engine's default already runs QDQ patterns in int8)
  bool simulate = false;  // --simulate: the plan of the float simulation
  int64_t batch = 0;
  std::vector<std::string> shapes;
};

std::string node_label(const PlannedNode& p) {
  return p.op_type + " '" + p.node_name + "'";
}

using ProducerMap = std::map<std::string, const PlannedNode*>;               // value -> node writing it
using ConsumerMap = std::map<std::string, std::vector<const PlannedNode*>>;  // value -> nodes reading it
using NoteMap = std::map<std::string, std::vector<const PassNote*>>;         // node name -> notes

// One line on why a quantize / dequantize is still in the plan: what it converts between, and which nodes on the
// float side made it stay (no int8 pattern takes them).
std::string round_trip_reason(const PlannedNode& p, const ProducerMap& producer_of,
                              const ConsumerMap& consumers_of, const std::set<std::string>& graph_outputs,
                              const NoteMap& notes_of) {
  std::vector<std::string> noted;  // neighbours a pass explained leaving in float
  auto remember = [&](const PlannedNode& n) {
    if (notes_of.count(n.node_name) && std::find(noted.begin(), noted.end(), n.node_name) == noted.end()) {
      noted.push_back(n.node_name);
    }
  };
  auto from = [&]() -> std::string {
    if (p.input_names.empty() || p.input_names[0].empty()) return "nothing";
    auto it = producer_of.find(p.input_names[0]);
    if (it == producer_of.end()) return "graph input '" + p.input_names[0] + "'";
    remember(*it->second);
    return node_label(*it->second);
  };
  auto to = [&]() -> std::string {
    std::string list;
    for (const std::string& out : p.output_names) {
      if (graph_outputs.count(out)) list += (list.empty() ? "" : ", ") + ("graph output '" + out + "'");
      auto it = consumers_of.find(out);
      if (it == consumers_of.end()) continue;
      for (const PlannedNode* c : it->second) {
        remember(*c);
        list += (list.empty() ? "" : ", ") + node_label(*c);
      }
    }
    return list.empty() ? "nothing" : list;
  };
  std::string what;
  if (p.op_type == "DequantizeLinear") {
    what = "dequantizes the output of " + from() + " for " + to();
  } else if (p.op_type == "QuantizeLinear") {
    what = "quantizes the output of " + from() + " for " + to();
  } else {
    what = "rounds the output of " + from() + " to the 8-bit grid (in float) for " + to();
  }
  std::string see;
  for (const std::string& name : noted) see += (see.empty() ? "" : ", ") + ("'" + name + "'");
  return node_label(p) + ": " + what + "; no int8 pattern covers it" + (see.empty() ? "" : " (see the note on " + see + ")");
}

void print_plan(const InferenceSession& session, bool int8) {
  const std::vector<PlannedNode> plan = session.plan();
  const std::vector<PassNote> notes = session.pass_notes();
  NoteMap notes_of;
  for (const PassNote& n : notes) notes_of[n.node_name].push_back(&n);
  ProducerMap producer_of;
  ConsumerMap consumers_of;
  std::set<std::string> planned_names;
  for (const PlannedNode& p : plan) {
    planned_names.insert(p.node_name);
    for (const std::string& o : p.output_names) {
      if (!o.empty()) producer_of[o] = &p;
    }
    for (const std::string& i : p.input_names) {
      if (!i.empty() && (consumers_of[i].empty() || consumers_of[i].back() != &p)) consumers_of[i].push_back(&p);
    }
  }
  std::set<std::string> graph_outputs;
  for (const IoSpec& o : session.outputs()) graph_outputs.insert(o.name);

  std::printf("plan (arena %.2f MiB%s):\n", static_cast<double>(session.arena_bytes()) / (1024.0 * 1024.0),
              int8 ? ", int8" : "");
  int64_t compute = 0, int8_nodes = 0, total_macs = 0, int8_macs = 0;
  std::vector<const PlannedNode*> round_trips;
  for (const PlannedNode& p : plan) {
    const std::string& precision = p.precision;
    std::printf("  %-28s %-18s %-7s %s", p.node_name.c_str(), p.op_type.c_str(), p.impl.c_str(), precision.c_str());
    for (const auto& d : p.declines) std::printf("  [declined %s]", d.c_str());
    std::printf("\n");
    auto it = notes_of.find(p.node_name);
    if (it != notes_of.end()) {
      for (const PassNote* n : it->second) std::printf("      note: %s\n", n->reason.c_str());
    }
    if (precision == "simulated") round_trips.push_back(&p);
    if (precision == "const" || precision == "simulated") continue;
    ++compute;
    const int64_t macs = p.macs;
    total_macs += macs;
    if (precision == "int8") {
      ++int8_nodes;
      int8_macs += macs;
    }
  }
  // Notes about nodes that a later pass renamed or removed: still worth knowing.
  for (const PassNote& n : notes) {
    if (!planned_names.count(n.node_name)) {
      std::printf("  note on %s '%s': %s\n", n.op_type.c_str(), n.node_name.c_str(), n.reason.c_str());
    }
  }
  std::printf("int8: %lld of %lld compute nodes", static_cast<long long>(int8_nodes), static_cast<long long>(compute));
  if (total_macs > 0) {
    std::printf(" (%.1f %% of %.1f MMACs)", 100.0 * static_cast<double>(int8_macs) / static_cast<double>(total_macs),
                static_cast<double>(total_macs) / 1e6);
  }
  std::map<std::string, int> by_op;
  for (const PlannedNode* p : round_trips) by_op[p->op_type]++;
  std::string ops;
  for (const auto& [op, count] : by_op) ops += (ops.empty() ? "" : ", ") + op + " " + std::to_string(count);
  std::printf("; float round trips: %zu%s\n", round_trips.size(), ops.empty() ? "" : (" (" + ops + ")").c_str());
  for (const PlannedNode* p : round_trips) {
    std::printf("  %s\n", round_trip_reason(*p, producer_of, consumers_of, graph_outputs, notes_of).c_str());
  }
}

int run_inspect(const InspectOptions& o) {
  const Model model = Model::load(o.model_path);
  const ModelInfo info = model.describe();
  std::printf("model: %s\n", o.model_path.c_str());
  std::printf("ir_version: %lld, producer: %s %s\n", static_cast<long long>(info.ir_version),
              info.producer_name.c_str(), info.producer_version.c_str());
  for (const OpsetInfo& op : info.opsets) {
    std::printf("opset: %s %lld\n", op.domain.empty() ? "ai.onnx" : op.domain.c_str(),
                static_cast<long long>(op.version));
  }
  std::printf("inputs:\n");
  for (const ValueInfo& v : info.inputs) std::printf("  %s: %s\n", v.name.c_str(), v.describe().c_str());
  std::printf("outputs:\n");
  for (const ValueInfo& v : info.outputs) std::printf("  %s: %s\n", v.name.c_str(), v.describe().c_str());

  std::printf("nodes: %lld\n", static_cast<long long>(info.node_count));
  for (const auto& [op, count] : info.op_counts) std::printf("  %-24s %d\n", op.c_str(), count);
  std::printf("parameters: %lld (%.2f MiB as stored in memory)\n", static_cast<long long>(info.parameters),
              static_cast<double>(info.parameter_bytes) / (1024.0 * 1024.0));

  const std::vector<std::string>& unsupported = info.unsupported_ops;
  if (unsupported.empty()) {
    std::printf("unsupported ops: none\n");
  } else {
    std::printf("unsupported ops: %zu\n", unsupported.size());
    for (const auto& u : unsupported) std::printf("  %s\n", u.c_str());
  }
  if (o.plan || o.int8) {
    if (!unsupported.empty()) throw UnsupportedOp("cannot show a plan: the model has unsupported ops (listed above)");
    ExecutionOptions eo;
    eo.int8 = !o.simulate;  // as every command runs the model
    const InferenceSession session(model, eo, model.input_shapes(o.batch, parse_shape_flags(o.shapes)));
    print_plan(session, eo.int8);
  }
  if (!unsupported.empty()) {
    // Exit code 5 with the one-line error every failure ends with (the list itself is above, on stdout).
    throw UnsupportedOp(std::to_string(unsupported.size()) + " unsupported node(s), listed above: qwac cannot run "
                        "this model (see the supported ops in README)");
  }
  return 0;
}

}  // namespace

Action add_inspect_command(CLI::App& app) {
  auto opts = std::make_shared<InspectOptions>();
  CLI::App* sub = app.add_subcommand("inspect", "Show a model's inputs, outputs, opset, ops and parameter count");
  sub->add_option("model", opts->model_path, "ONNX model file")->required();
  sub->add_flag("--plan", opts->plan, "Also compile the model and show which kernel runs each node and why");
  sub->add_flag("--int8", opts->int8,
                "Show the plan (implies --plan): which nodes run in int8 and why the others do not (the default "
                "plan already runs QDQ patterns in int8)");
  sub->add_flag("--simulate", opts->simulate, "Show the plan of the exact float simulation of a QDQ model instead");
  sub->add_option("--batch", opts->batch, "Batch size used for --plan (default: declared, symbolic batch = 1)");
  sub->add_option("--shape", opts->shapes, "Input shape override for --plan: name=d0,d1,...");
  return [opts] { return run_inspect(*opts); };
}

}  // namespace qwac::cli
