// libFuzzer target: arbitrary bytes as a qwac JSON config, through every parser a config meets before work starts:
// the JSON pre-pass (number overflow, nesting depth), the typed `model`/`engine` sections, the `compression`
// section for both algorithms, the metrics list (built and checked against a model), and the dataset section
// (a random dataset is built in memory; the others fail on their missing files).
//
// The contract under test: every failure is a qwac::Error; any other exception, a crash, a hang or a sanitizer
// report is a finding.
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <string>

#include <nlohmann/json.hpp>

#include "config/compression_config.h"
#include "config/config.h"
#include "config/json_text.h"
#include "core/resource_limits.h"
#include "ir/graph.h"
#include "qwac/error.h"

namespace {

constexpr uint64_t kFuzzMemoryBudget = 256u << 20;

[[noreturn]] void finding(const char* message) {
  std::fprintf(stderr, "FINDING: config parsing let a non-qwac exception escape: %s\n", message);
  std::abort();
}

// A model with one float input [1, 3, 8, 8] and one output [1, 10], enough for the dataset and metric checks.
const qwac::ir::Model& fake_model() {
  static const qwac::ir::Model model = [] {
    using namespace qwac;
    ir::Model m;
    m.opset_imports.push_back({"", 13});
    m.graph = std::make_unique<ir::Graph>();
    ir::Value* in = m.graph->add_value("x");
    in->type = {DType::kFloat32, ir::SymbolicShape{{1, ""}, {3, ""}, {8, ""}, {8, ""}}};
    m.graph->add_input(in);
    ir::Value* out = m.graph->add_value("y");
    out->type = {DType::kFloat32, ir::SymbolicShape{{1, ""}, {10, ""}}};
    m.graph->add_node("Flatten", {in}, {out}, "flatten", "");
    m.graph->add_output(out);
    return m;
  }();
  return model;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  static const bool kInit = [] {
    qwac::set_memory_budget(kFuzzMemoryBudget);
    return true;
  }();
  (void)kInit;
  const std::string text(reinterpret_cast<const char*>(data), size);
  try {
    nlohmann::json root = qwac::config::parse_json_text(text, "config 'fuzz.json'");
    // Point the model at a path that exists so parsing goes on to the other sections.
    if (root.is_object() && root.contains("model") && root["model"].is_object()) root["model"]["model"] = "/";
    const qwac::config::Config cfg = qwac::config::parse_config(root, "/nonexistent-qwac-fuzz/fuzz.json");
    if (!cfg.compression.is_null()) {
      const qwac::config::CompressionSection c = qwac::config::parse_compression(cfg.compression);
      for (const qwac::config::AlgorithmSection& a : c.algorithms) {
        try {
          (void)qwac::config::parse_accuracy_aware_params(a, c.target_device);
        } catch (const qwac::Error&) {
        }
        (void)qwac::config::parse_default_quantization_params(a, c.target_device);
      }
    }
    try {
      qwac::config::validate_metrics(cfg, fake_model());
    } catch (const qwac::Error&) {
    }
    (void)qwac::config::build_dataset(cfg, fake_model());
  } catch (const qwac::Error&) {
    return 0;
  } catch (const std::exception& e) {
    finding(e.what());
  }
  return 0;
}
