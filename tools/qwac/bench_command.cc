// `qwac bench MODEL`: latency and throughput of the engine on random inputs of the right shapes and types.
#include <algorithm>
#include <chrono>
#include <cstdio>
#include <memory>
#include <random>

#include "command.h"
#include "onnx/model_io.h"
#include "qwac/error.h"
#include "runtime/engine.h"

namespace qwac::cli {

namespace {

struct BenchOptions {
  std::string model_path;
  int64_t batch = 0;
  int threads = 0;
  int iterations = 100;
  int warmup = 10;
  bool reference = false;
  bool int8 = false;
  std::vector<std::string> shapes;
};

// Floats uniform in [-1, 1); integer inputs zero (valid as indices and ids).
Tensor random_input(DType dtype, const Shape& shape, std::mt19937& rng) {
  Tensor t(dtype, shape);
  if (dtype == DType::kFloat32) {
    std::uniform_real_distribution<float> dist(-1.f, 1.f);
    float* p = t.data<float>();
    for (int64_t i = 0; i < t.numel(); ++i) p[i] = dist(rng);
  }
  return t;
}

int run_bench(const BenchOptions& o) {
  if (o.iterations < 1) throw InvalidArgument("--iterations must be >= 1, got " + std::to_string(o.iterations));
  if (o.warmup < 0) throw InvalidArgument("--warmup must be >= 0, got " + std::to_string(o.warmup));
  if (o.threads < 0) throw InvalidArgument("--threads must be >= 0 (0 = all cores), got " + std::to_string(o.threads));
  const ir::Model model = onnxio::load_model(o.model_path);
  const auto shapes = resolve_input_shapes(model, o.batch, o.shapes);
  runtime::EngineOptions eo;
  eo.num_threads = o.threads;
  eo.use_dnnl = !o.reference;
  eo.int8 = o.int8;
  const auto t0 = std::chrono::steady_clock::now();
  runtime::Engine engine(model, eo, shapes);
  const double compile_ms = std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - t0).count();

  std::mt19937 rng(42);
  std::map<std::string, Tensor> inputs;
  for (const auto& spec : engine.inputs()) inputs[spec.name] = random_input(spec.dtype, spec.shape, rng);
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
              o.reference ? "reference" : "default", o.int8 ? " + int8" : "", o.threads, compile_ms,
              static_cast<double>(engine.arena_bytes()) / (1024.0 * 1024.0));
  std::printf("latency: median %.3f ms, min %.3f ms over %d iterations (batch %lld)\n", median, ms.front(),
              o.iterations, static_cast<long long>(batch));
  std::printf("throughput: %.1f samples/s\n", static_cast<double>(batch) * 1000.0 / median);
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
  sub->add_flag("--int8", opts->int8,
                "Run QDQ Conv patterns on int8 kernels (experimental; default: float simulation)");
  return [opts] { return run_bench(*opts); };
}

}  // namespace qwac::cli
