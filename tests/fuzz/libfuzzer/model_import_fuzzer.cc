// libFuzzer target: arbitrary bytes as an ONNX file, through everything qwac does to a model before running it:
// protobuf parse, import (version checks, model checks, initializers, graph), qwac's opset upgrade (its adapters; the
// quantize path), and qwac's own shape inference node by node (what the engine compiles).
//
// The contract under test: every failure is a qwac::Error (one line and a documented exit code at the CLI); any
// other exception, a crash, a hang or a sanitizer report is a finding. Built with -DQWAC_LIBFUZZER=ON (clang);
// README "Reliability" gives the commands and the campaign's figures.
#include <onnx/onnx_pb.h>

#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <map>
#include <string>
#include <vector>

#include "core/resource_limits.h"
#include "ir/graph.h"
#include "ir/op_schema.h"
#include "onnx/model_io.h"
#include "onnx/opset_upgrade.h"
#include "qwac/error.h"

namespace {

// Far below libFuzzer's -rss_limit_mb, so an input that asks for too much is refused by qwac's budget (what is
// under test) instead of being reported as an out-of-memory finding.
constexpr uint64_t kFuzzMemoryBudget = 256u << 20;
constexpr int64_t kQuantizeOpset = 13;  // canonicalize raises older models to it for per-channel weights

[[noreturn]] void finding(const char* what, const char* message) {
  std::fprintf(stderr, "FINDING: %s escaped as a non-qwac exception: %s\n", what, message);
  std::abort();
}

// qwac's shape inference over the graph in topological order, from the declared input shapes (symbolic dims = 1).
void infer_all(const qwac::ir::Model& model) {
  using namespace qwac;
  std::map<const ir::Value*, ir::TensorInfo> infos;
  for (const ir::Value* v : model.graph->inputs()) {
    ir::TensorInfo t;
    t.dtype = v->type.dtype;
    if (v->type.shape) {
      for (const ir::Dim& d : *v->type.shape) t.shape.push_back(d.size >= 0 ? d.size : 1);
    }
    infos[v] = t;
  }
  for (const ir::Node* n : model.graph->topological_order()) {
    std::vector<ir::TensorInfo> inputs;
    for (const ir::Value* in : n->inputs()) {
      ir::TensorInfo t;
      if (in != nullptr && in->is_constant()) {
        t = {in->constant->dtype(), in->constant->shape(), &*in->constant};
      } else if (in != nullptr && infos.count(in)) {
        t = infos[in];
      } else if (in != nullptr) {
        return;  // an input whose producer could not be inferred: stop here
      }
      inputs.push_back(t);
    }
    const std::vector<ir::OutputInfo> outs = ir::infer_node(*n, model.opset(n->domain()), inputs);
    for (size_t i = 0; i < outs.size() && i < n->outputs().size(); ++i) {
      if (n->outputs()[i] != nullptr) infos[n->outputs()[i]] = {outs[i].dtype, outs[i].shape, nullptr};
    }
  }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  static const bool kInit = [] {
    qwac::set_memory_budget(kFuzzMemoryBudget);
    return true;
  }();
  (void)kInit;
  onnx::ModelProto proto;
  if (!proto.ParseFromArray(data, static_cast<int>(size))) return 0;
  try {
    // A folder that does not exist: external-data references fail cleanly instead of reading the fuzzer's files.
    qwac::ir::Model model = qwac::onnxio::model_from_proto(proto, "/nonexistent-qwac-fuzz");
    try {
      infer_all(model);
    } catch (const qwac::Error&) {
    }
    qwac::onnxio::upgrade_opset(model, kQuantizeOpset);
  } catch (const qwac::Error&) {
    return 0;  // the documented outcome
  } catch (const std::exception& e) {
    finding("model import", e.what());
  }
  return 0;
}
