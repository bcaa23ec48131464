// The ONNX backend test data (node, pytorch-converted, pytorch-operator, simple) run as data: one gtest per case,
// each case run with the reference kernels only and with the default engine (oneDNN + fusion), every output
// compared with the expected output_K.pb at the tolerances of ONNX's own backend runner.
//
// A case is skipped, with its reason, when it cannot run by design: non-tensor inputs/outputs, a default-domain
// opset qwac does not import (none, or newer than 21), ops qwac does not implement (import-time or kernel
// registry), or an entry in skip_list.txt. Everything else must pass; a mismatch or an engine error is a failure
// naming the case, engine, data set, output and worst element.
//
// Two adaptations keep cases in scope without changing what they compute: models of opset 1..6 are upgraded with
// ONNX's version converter, and inputs that decide shapes (the engine compiles shapes ahead of time) are bound as
// constants holding the data set's values when the engine declines them as runtime inputs.
#include <gtest/gtest.h>
#include <onnx/onnx_pb.h>

#include <algorithm>
#include <cstdint>
#include <iostream>
#include <map>
#include <memory>
#include <optional>
#include <set>
#include <string>
#include <vector>

#include "conformance/conformance_cases.h"
#include "onnx/model_io.h"
#include "qwac/error.h"
#include "runtime/engine.h"
#include "test_util.h"

namespace qwac::conformance {
namespace {

// onnx/backend/test/loader: every case without its own data.json uses rtol=1e-3, atol=1e-7.
constexpr double kOnnxRtol = 1e-3;
constexpr double kOnnxAtol = 1e-7;
// Integer and bool outputs must match exactly: |a-e| <= 0.5 with rtol 0.
constexpr double kExactAtol = 0.5;

constexpr const char* kSkipKindProperty = "skip_kind";
constexpr const char* kSkipUnsupported = "unsupported";
constexpr const char* kSkipListed = "skip_list";
constexpr const char* kSuiteName = "Backend/Onnx";

const std::vector<ConformanceCase>& all_cases() {
  static const std::vector<ConformanceCase> cases = enumerate_cases(QWAC_ONNX_TESTDATA_DIR);
  return cases;
}

const std::map<std::string, std::string>& skip_list() {
  static const std::map<std::string, std::string> entries = load_skip_list(QWAC_SKIP_LIST);
  return entries;
}

// The engine compiles shapes ahead of time, so a graph input that decides a shape (Reshape's shape, Slice's
// starts, Range's limit, ...) must be known when compiling; in real models such tensors are initializers. The
// node tests feed them as inputs, so when compiling declines (UnsupportedOp), the case is retried with its
// inputs bound as constants holding the data set's values: first the integer inputs, then all but the first
// (the node tests' data input, so it still runs through the engine's kernels), then all of them.
enum class Binding { kNone, kIntegerInputs, kAllButFirstInput, kAllInputs };

const char* binding_label(Binding b) {
  switch (b) {
    case Binding::kNone:
      return "";
    case Binding::kIntegerInputs:
      return ", integer inputs bound as constants";
    case Binding::kAllButFirstInput:
      return ", inputs after the first bound as constants";
    case Binding::kAllInputs:
      return ", all inputs bound as constants";
  }
  return "";
}

bool is_bound(Binding b, const ir::Graph& graph, const ir::Value& input) {
  switch (b) {
    case Binding::kNone:
      return false;
    case Binding::kIntegerInputs:
      return !dtype_traits(input.type.dtype).is_float && input.type.dtype != DType::kBool;
    case Binding::kAllButFirstInput:
      return &input != graph.inputs().front();
    case Binding::kAllInputs:
      return true;
  }
  return false;
}

// One way of running a case. The default engine runs twice: as given, and with every input after the first
// bound as a constant, as weights are in real models. oneDNN kernels decline non-constant weights (the node tests
// feed Conv/Gemm/BatchNormalization weights as inputs), so only the second run exercises them on these cases.
struct EngineMode {
  const char* label;
  runtime::EngineOptions options;
  Binding first_binding;  // the binding tried first; later ones are retried only if the engine declines
};

std::vector<EngineMode> engine_modes() {
  runtime::EngineOptions ref;
  ref.use_dnnl = false;
  return {{"ref", ref, Binding::kNone},
          {"default", runtime::EngineOptions{}, Binding::kNone},
          {"default", runtime::EngineOptions{}, Binding::kAllButFirstInput}};
}

// qwac imports default-domain opsets 7..21 (src/onnx/model_io.h); older models (opset 1..6: many node and all
// pytorch-* cases) are upgraded by the importer with ONNX's own version converter, so their kernels are exercised.
constexpr int64_t kMinOpset = 7;
constexpr int64_t kMaxOpset = 21;

// The default-domain opset the model imports; 0 when it imports none (e.g. only ai.onnx.preview.training).
int64_t default_opset(const onnx::ModelProto& proto) {
  for (const auto& imp : proto.opset_import()) {
    if (imp.domain().empty() || imp.domain() == "ai.onnx") return imp.version();
  }
  return 0;
}

// "domain:version, ..." of every opset the model imports, for messages.
std::string opset_imports(const onnx::ModelProto& proto) {
  std::string out;
  for (const auto& imp : proto.opset_import()) {
    out += (out.empty() ? "" : ", ") + (imp.domain().empty() ? "ai.onnx" : imp.domain()) + ":" +
           std::to_string(imp.version());
  }
  return out.empty() ? "none" : out;
}

// Why a graph input/output cannot be fed or read as a plain numeric tensor; "" when all can.
std::string non_tensor_io(const onnx::GraphProto& graph) {
  std::set<std::string> initializers;
  for (const auto& t : graph.initializer()) initializers.insert(t.name());
  auto check = [](const onnx::ValueInfoProto& v, const char* role) -> std::string {
    const onnx::TypeProto& type = v.type();
    if (type.has_sequence_type()) return std::string(role) + " '" + v.name() + "' is a sequence";
    if (type.has_optional_type()) return std::string(role) + " '" + v.name() + "' is an optional";
    if (type.has_map_type()) return std::string(role) + " '" + v.name() + "' is a map";
    if (!type.has_tensor_type()) return std::string(role) + " '" + v.name() + "' is not a tensor";
    if (type.tensor_type().elem_type() == onnx::TensorProto::STRING) {
      return std::string(role) + " '" + v.name() + "' is a string tensor";
    }
    return "";
  };
  for (const auto& in : graph.input()) {
    if (initializers.count(in.name())) continue;
    if (std::string why = check(in, "input"); !why.empty()) return why;
  }
  for (const auto& out : graph.output()) {
    if (std::string why = check(out, "output"); !why.empty()) return why;
  }
  return "";
}

std::string join(const std::vector<std::string>& items) {
  std::string out;
  for (const auto& s : items) out += (out.empty() ? "" : ", ") + s;
  return out;
}

struct LoadedDataSet {
  std::string dir;
  std::map<std::string, Tensor> inputs;
  std::map<std::string, Shape> shapes;
  std::vector<Tensor> expected;
};

// Compares one data set's outputs, adding a gtest failure per mismatching output.
void compare_outputs(const std::string& where, const LoadedDataSet& ds, const std::vector<Tensor>& actual,
                     const std::vector<runtime::IoSpec>& specs) {
  if (actual.size() != ds.expected.size()) {
    ADD_FAILURE() << where << " " << ds.dir << ": engine returned " << actual.size() << " outputs, expected "
                  << ds.expected.size();
    return;
  }
  for (size_t i = 0; i < actual.size(); ++i) {
    const Tensor& expected = ds.expected[i];
    const bool exact = !dtype_traits(expected.dtype()).is_float;
    const std::string diff =
        testing::compare_tensors(actual[i], expected, exact ? 0.0 : kOnnxRtol, exact ? kExactAtol : kOnnxAtol);
    if (!diff.empty()) {
      ADD_FAILURE() << where << " " << ds.dir << ": output #" << i << " '" << specs[i].name << "' ("
                    << actual[i].describe() << " vs expected " << expected.describe() << "): " << diff;
    }
  }
}

// A copy of `model` whose nodes (and outputs) read a constant with the data set's value instead of each bound
// input. The input itself stays declared (unused), so the same inputs can be fed.
ir::Model bind_inputs(const ir::Model& model, Binding b, const LoadedDataSet& ds) {
  ir::Model bound = model.clone();
  ir::Graph& g = *bound.graph;
  const std::vector<ir::Value*> inputs = g.inputs();
  for (ir::Value* in : inputs) {
    if (!is_bound(b, g, *in)) continue;
    ir::Value* c = g.add_constant(g.unique_name(in->name() + "_bound"), ds.inputs.at(in->name()));
    g.replace_all_uses(in, c);
  }
  return bound;
}

// Compiles, or returns nullptr with the reason when the engine declines the model (UnsupportedOp).
std::unique_ptr<runtime::Engine> try_compile(const ir::Model& model, const runtime::EngineOptions& options,
                                             const std::map<std::string, Shape>& shapes, std::string* declined) {
  try {
    return std::make_unique<runtime::Engine>(model, options, shapes);
  } catch (const UnsupportedOp& e) {
    *declined = e.what();
    return nullptr;
  }
}

// Runs every data set of the case on one engine configuration, adding a gtest failure per problem.
void run_with_engine(const std::string& label, const ir::Model& model, const EngineMode& mode,
                     const std::vector<LoadedDataSet>& data_sets) {
  std::string first_decline;
  for (Binding b : {Binding::kNone, Binding::kIntegerInputs, Binding::kAllButFirstInput, Binding::kAllInputs}) {
    if (b < mode.first_binding) continue;
    const std::string where = label + " [" + mode.label + " engine" + binding_label(b) + "]";
    if (b != Binding::kNone) {
      const auto& inputs = model.graph->inputs();
      if (std::none_of(inputs.begin(), inputs.end(),
                       [&](const ir::Value* v) { return is_bound(b, *model.graph, *v); })) {
        continue;
      }
    }
    try {
      if (b == Binding::kNone) {
        std::string declined;
        std::unique_ptr<runtime::Engine> engine = try_compile(model, mode.options, data_sets.front().shapes, &declined);
        if (!engine) {
          first_decline = declined;
          continue;
        }
        std::map<std::string, Shape> compiled = data_sets.front().shapes;
        for (const LoadedDataSet& ds : data_sets) {
          if (ds.shapes != compiled) {
            engine->reshape(ds.shapes);
            compiled = ds.shapes;
          }
          compare_outputs(where, ds, engine->run(ds.inputs), engine->outputs());
        }
        return;
      }
      // Bound constants differ per data set: one engine each.
      for (const LoadedDataSet& ds : data_sets) {
        std::string declined;
        std::unique_ptr<runtime::Engine> engine =
            try_compile(bind_inputs(model, b, ds), mode.options, ds.shapes, &declined);
        if (!engine) throw UnsupportedOp(declined);
        compare_outputs(where, ds, engine->run(ds.inputs), engine->outputs());
      }
      return;
    } catch (const UnsupportedOp& e) {
      // Declined (while compiling or, for data-dependent attributes, while running): try the next binding; the
      // first reason is reported below.
      if (first_decline.empty()) first_decline = e.what();
    } catch (const Error& e) {
      ADD_FAILURE() << where << ": " << error_kind_name(e.kind()) << ": " << e.what();
      return;
    } catch (const std::exception& e) {
      ADD_FAILURE() << where << ": unexpected std::exception: " << e.what();
      return;
    }
  }
  ADD_FAILURE() << label << " [" << mode.label << " engine" << binding_label(mode.first_binding)
                << "]: UnsupportedOp: " << first_decline;
}

class Onnx : public ::testing::TestWithParam<ConformanceCase> {};

TEST_P(Onnx, Case) {
  const ConformanceCase& c = GetParam();
  const std::string model_path = c.dir + "/model.onnx";

  onnx::ModelProto proto;
  ASSERT_TRUE(proto.ParseFromString(testing::read_file_bytes(model_path))) << c.key() << ": unreadable model.onnx";
  if (const std::string why = non_tensor_io(proto.graph()); !why.empty()) {
    RecordProperty(kSkipKindProperty, kSkipUnsupported);
    GTEST_SKIP() << "non-tensor input type: " << why;
  }
  const int64_t opset = default_opset(proto);
  if (opset == 0 || opset > kMaxOpset) {
    RecordProperty(kSkipKindProperty, kSkipUnsupported);
    GTEST_SKIP() << "unsupported opset: "
                 << (opset == 0 ? "the model imports no default-domain opset (imports: " + opset_imports(proto) + ")"
                                : "default-domain opset " + std::to_string(opset) + " is newer than " +
                                      std::to_string(kMaxOpset));
  }
  std::string label = c.key();
  // The importer upgrades opset 1..6 models with ONNX's version converter (src/onnx/model_io.h).
  if (opset < kMinOpset) label += " (opset " + std::to_string(opset) + " upgraded to " + std::to_string(kMinOpset) + ")";

  std::optional<ir::Model> model;
  try {
    model.emplace(onnxio::load_model(model_path));
  } catch (const UnsupportedOp& e) {
    RecordProperty(kSkipKindProperty, kSkipUnsupported);
    GTEST_SKIP() << "unsupported at import: " << e.what();
  } catch (const Error& e) {
    FAIL() << label << ": import threw " << error_kind_name(e.kind()) << ": " << e.what();
  }

  if (const std::vector<std::string> unsupported = runtime::find_unsupported_nodes(*model); !unsupported.empty()) {
    RecordProperty(kSkipKindProperty, kSkipUnsupported);
    GTEST_SKIP() << "unsupported: " << join(unsupported);
  }
  if (auto it = skip_list().find(c.key()); it != skip_list().end()) {
    RecordProperty(kSkipKindProperty, kSkipListed);
    GTEST_SKIP() << "skip list: " << it->second;
  }

  // Every failure of this case names its op types, so failures can be grouped by op.
  std::set<std::string> op_types;
  for (const ir::Node* n : model->graph->nodes()) op_types.insert(n->op_type());
  SCOPED_TRACE("ops in the model: " + join(std::vector<std::string>(op_types.begin(), op_types.end())));

  // input_K feeds the K-th non-initializer graph input; output_K is the K-th graph output.
  const auto& graph_inputs = model->graph->inputs();
  const auto& graph_outputs = model->graph->outputs();
  std::vector<LoadedDataSet> data_sets;
  try {
    for (const DataSet& files : list_data_sets(c.dir)) {
      LoadedDataSet ds;
      ds.dir = files.dir.substr(c.dir.size() + 1);
      ASSERT_EQ(files.input_files.size(), graph_inputs.size())
          << label << " " << ds.dir << ": number of input_K.pb files vs graph inputs";
      ASSERT_EQ(files.output_files.size(), graph_outputs.size())
          << label << " " << ds.dir << ": number of output_K.pb files vs graph outputs";
      for (size_t k = 0; k < files.input_files.size(); ++k) {
        Tensor t = read_tensor_file(files.input_files[k]);
        ds.shapes[graph_inputs[k]->name()] = t.shape();
        ds.inputs[graph_inputs[k]->name()] = std::move(t);
      }
      for (const std::string& f : files.output_files) ds.expected.push_back(read_tensor_file(f));
      data_sets.push_back(std::move(ds));
    }
  } catch (const Error& e) {
    FAIL() << label << ": reading test data threw " << error_kind_name(e.kind()) << ": " << e.what();
  }
  ASSERT_FALSE(data_sets.empty()) << c.key() << ": no test_data_set_N folder";

  for (const EngineMode& mode : engine_modes()) {
    if (mode.first_binding == Binding::kAllButFirstInput && graph_inputs.size() < 2) continue;  // same as unbound
    run_with_engine(label, *model, mode, data_sets);
  }
}

INSTANTIATE_TEST_SUITE_P(Backend, Onnx, ::testing::ValuesIn(all_cases()),
                         [](const ::testing::TestParamInfo<ConformanceCase>& info) { return info.param.test_name; });
GTEST_ALLOW_UNINSTANTIATED_PARAMETERIZED_TEST(Onnx);

// Without the data the parameterized suite is empty; say so instead of passing vacuously.
TEST(OnnxConformanceData, CasesFound) {
  EXPECT_FALSE(all_cases().empty()) << "no ONNX backend test cases under " << QWAC_ONNX_TESTDATA_DIR
                                    << " (install libonnx-testdata or set QWAC_ONNX_TESTDATA_DIR)";
}

// A skip-list entry must name a case that exists (a typo would skip nothing and hide that the list is stale).
TEST(OnnxConformanceSkipList, EntriesNameExistingCases) {
  std::set<std::string> keys;
  for (const auto& c : all_cases()) keys.insert(c.key());
  for (const auto& [key, reason] : skip_list()) {
    EXPECT_TRUE(keys.count(key)) << "skip list entry '" << key << "' (" << reason << ") names no case under "
                                 << QWAC_ONNX_TESTDATA_DIR;
  }
}

// Prints the one-line summary after all cases ran.
class SummaryEnvironment : public ::testing::Environment {
 public:
  void TearDown() override {
    int passed = 0, unsupported = 0, listed = 0, failed = 0;
    const ::testing::UnitTest& unit = *::testing::UnitTest::GetInstance();
    for (int s = 0; s < unit.total_test_suite_count(); ++s) {
      const ::testing::TestSuite& suite = *unit.GetTestSuite(s);
      if (std::string(suite.name()) != kSuiteName) continue;
      for (int t = 0; t < suite.total_test_count(); ++t) {
        const ::testing::TestInfo& info = *suite.GetTestInfo(t);
        if (!info.should_run()) continue;
        const ::testing::TestResult& result = *info.result();
        if (result.Failed()) {
          ++failed;
        } else if (result.Skipped()) {
          std::string kind;
          for (int p = 0; p < result.test_property_count(); ++p) {
            if (std::string(result.GetTestProperty(p).key()) == kSkipKindProperty) {
              kind = result.GetTestProperty(p).value();
            }
          }
          (kind == kSkipListed ? listed : unsupported)++;
        } else {
          ++passed;
        }
      }
    }
    std::cout << "conformance: " << passed << " passed, " << (unsupported + listed) << " skipped (" << unsupported
              << " unsupported op, " << listed << " skip-list), " << failed << " failed" << std::endl;
  }
};

::testing::Environment* const kSummaryEnvironment = ::testing::AddGlobalTestEnvironment(new SummaryEnvironment);

}  // namespace
}  // namespace qwac::conformance
