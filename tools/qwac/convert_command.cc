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
#include <string>

#include "command.h"
#include "qwac/file.h"
#include "qwac/error.h"
#include "qwac/model.h"

namespace qwac::cli {

namespace {

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

int run_convert(const ConvertOptions& o) {
  const int64_t batch = parse_batch(o.batch);
  check_output_paths({{"the model", o.model_path}}, {{"--output", o.output_path}});
  const Model model = Model::load(o.model_path).with_batch(batch);  // checked at that batch
  model.save(o.output_path);  // temp file + rename: never a half-written file
  std::printf("%s -> %s (batch %s)\n", o.model_path.c_str(), o.output_path.c_str(),
              batch > 0 ? std::to_string(batch).c_str() : kBatchParam);
  const ModelInfo info = model.describe();
  for (const ValueInfo& v : info.inputs) std::printf("  input  %s: %s\n", v.name.c_str(), v.describe().c_str());
  for (const ValueInfo& v : info.outputs) std::printf("  output %s: %s\n", v.name.c_str(), v.describe().c_str());
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
