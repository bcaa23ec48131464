// `qwac bench MODEL`: latency and throughput of the engine on random inputs of the right shapes and types.
#include <algorithm>
#include <chrono>
#include <cstdio>
#include <map>
#include <memory>

#include "command.h"
#include "qwac/resources.h"
#include "qwac/error.h"
#include "qwac/model.h"
#include "qwac/session.h"

namespace qwac::cli {

namespace {

struct BenchOptions {
  std::string model_path;
  int64_t batch = 0;
  int threads = 0;
  int iterations = 100;
  int warmup = 10;
  bool reference = false;
  bool int8 = true;
  bool simulate = false;
  bool profile = false;
  std::vector<std::string> shapes;
};

// Mean time per run by op type (with its implementation), then the slowest steps: where the time goes.
void print_profile(const std::vector<StepProfile>& steps) {
  struct Total {
    double ms = 0;
    int count = 0;
  };
  std::map<std::string, Total> by_op;
  double all_ms = 0;
  for (const auto& s : steps) {
    const double per_run = s.runs > 0 ? s.total_ms / static_cast<double>(s.runs) : 0.0;
    Total& t = by_op[s.op_type + " [" + s.impl + "]"];
    t.ms += per_run;
    ++t.count;
    all_ms += per_run;
  }
  std::vector<std::pair<std::string, Total>> ops(by_op.begin(), by_op.end());
  std::sort(ops.begin(), ops.end(), [](const auto& a, const auto& b) { return a.second.ms > b.second.ms; });
  std::printf("profile (mean per run, %.3f ms in steps):\n", all_ms);
  for (const auto& [op, t] : ops) {
    std::printf("  %-36s %4d steps %9.3f ms %5.1f %%\n", op.c_str(), t.count, t.ms, 100.0 * t.ms / all_ms);
  }
  std::vector<StepProfile> slowest = steps;
  std::sort(slowest.begin(), slowest.end(), [](const auto& a, const auto& b) {
    return a.total_ms / static_cast<double>(std::max<int64_t>(a.runs, 1)) >
           b.total_ms / static_cast<double>(std::max<int64_t>(b.runs, 1));
  });
  constexpr size_t kShown = 12;
  std::printf("slowest steps:\n");
  for (size_t i = 0; i < std::min(kShown, slowest.size()); ++i) {
    const auto& s = slowest[i];
    std::printf("  %-40s %-16s %9.3f ms\n", s.node_name.c_str(), s.op_type.c_str(),
                s.total_ms / static_cast<double>(std::max<int64_t>(s.runs, 1)));
  }
}

int run_bench(const BenchOptions& o) {
  if (o.iterations < 1) throw InvalidArgument("--iterations must be >= 1, got " + std::to_string(o.iterations));
  if (o.warmup < 0) throw InvalidArgument("--warmup must be >= 0, got " + std::to_string(o.warmup));
  if (o.threads < 0 || o.threads > kMaxThreads) {
    throw InvalidArgument("--threads must be in 0.." + std::to_string(kMaxThreads) + " (0 = all cores), got " +
                          std::to_string(o.threads));
  }
  const Model model = Model::load(o.model_path);
  const auto shapes = model.input_shapes(o.batch, parse_shape_flags(o.shapes));
  ExecutionOptions eo;
  eo.threads = o.threads;
  eo.use_dnnl = !o.reference;
  eo.int8 = o.int8 && !o.simulate;
  SessionOptions so;
  so.profile = o.profile;
  const auto t0 = std::chrono::steady_clock::now();
  InferenceSession engine(model, eo, shapes, so);
  const double compile_ms = std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - t0).count();

  // Floats in [-1, 1); integer inputs within what the graph accepts (token ids, masks of ones).
  const std::map<std::string, Tensor> inputs = random_inputs(model, engine.inputs());
  const int64_t batch = engine.inputs().empty() || engine.inputs()[0].shape.empty() ? 1 : engine.inputs()[0].shape[0];

  for (int i = 0; i < o.warmup; ++i) engine.run(inputs);
  std::vector<double> ms;
  for (int i = 0; i < o.iterations; ++i) {
    const auto s = std::chrono::steady_clock::now();
    engine.run(inputs);
    ms.push_back(std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - s).count());
  }
  std::sort(ms.begin(), ms.end());
  const double median = ms[ms.size() / 2];
  std::printf("model: %s\n", o.model_path.c_str());
  for (const auto& spec : engine.inputs()) {
    std::printf("input: %s %s%s\n", spec.name.c_str(), std::string(dtype_name(spec.dtype)).c_str(),
                shape_to_string(spec.shape).c_str());
  }
  std::printf("kernels: %s%s, threads: %d, compile: %.1f ms, arena: %.2f MiB\n",
              o.reference ? "reference" : "default", eo.int8 ? " + int8" : " (QDQ simulated)", o.threads, compile_ms,
              static_cast<double>(engine.arena_bytes()) / (1024.0 * 1024.0));
  std::printf("latency: median %.3f ms, min %.3f ms over %d iterations (batch %lld)\n", median, ms.front(),
              o.iterations, static_cast<long long>(batch));
  std::printf("throughput: %.1f samples/s\n", static_cast<double>(batch) * 1000.0 / median);
  if (o.profile) print_profile(engine.profile());
  return 0;
}

}  // namespace

Action add_bench_command(CLI::App& app) {
  auto opts = std::make_shared<BenchOptions>();
  CLI::App* sub = app.add_subcommand("bench", "Measure inference latency and throughput on random inputs");
  sub->add_option("model", opts->model_path, "ONNX model file")->required();
  sub->add_option("--batch", opts->batch, "Batch size (replaces dimension 0 of every input)");
  sub->add_option("--threads", opts->threads, "Threads (0 = all cores)");
  sub->add_option("--iterations", opts->iterations, "Timed runs (default 100)");
  sub->add_option("--warmup", opts->warmup, "Untimed runs first (default 10)");
  sub->add_option("--shape", opts->shapes, "Input shape override: name=d0,d1,...");
  sub->add_flag("--reference", opts->reference, "Use the reference kernels only (slow; for checking)");
  sub->add_flag("--int8", opts->int8, "Run QDQ patterns on int8 kernels (the default; kept for scripts)");
  sub->add_flag("--simulate", opts->simulate,
                "Run QDQ models as the exact float simulation of the QDQ graph instead of the int8 kernels");
  sub->add_flag("--profile", opts->profile, "Print the time per op type and the slowest steps");
  return [opts] { return run_bench(*opts); };
}

}  // namespace qwac::cli
