// `qwac convert MODEL --batch N|dynamic --output OUT`: the rewritten batch dimension, the dropped intermediate shapes,
// the same numbers per sample at another batch, and a one-line error naming the node when a model bakes its batch in.
#include <gtest/gtest.h>

#include <random>

#include "e2e_util.h"
#include "model_builder.h"
#include "onnx/model_io.h"
#include "runtime/engine.h"

namespace qwac::e2e {
namespace {

using ir::Value;

Tensor int64_tensor(const std::vector<int64_t>& values) {
  Tensor t(DType::kInt64, {static_cast<int64_t>(values.size())});
  for (size_t i = 0; i < values.size(); ++i) t.data<int64_t>()[i] = values[i];
  return t;
}

void declare(Value* v, const Shape& shape) {
  v->type.dtype = DType::kFloat32;
  ir::SymbolicShape s;
  for (int64_t d : shape) s.push_back({d, ""});
  v->type.shape = s;
}

// x[1,4,6,6] -> Conv -> Relu -> GlobalAveragePool -> Flatten -> y[1,4], declaring every intermediate shape with
// batch 1, as exporters write them.
std::string write_batch_free_model(const Scratch& scratch) {
  testing::ModelBuilder b;
  b.g->name = "test";
  Value* x = b.input("x", {1, 4, 6, 6});
  Value* w = b.g->add_constant("w", testing::random_tensor({4, 4, 3, 3}, b.rng));
  Value* c = b.node("Conv", {x, w}, "conv");
  declare(c, {1, 4, 4, 4});
  Value* r = b.node("Relu", {c}, "relu");
  declare(r, {1, 4, 4, 4});
  Value* p = b.node("GlobalAveragePool", {r}, "pool");
  declare(p, {1, 4, 1, 1});
  Value* y = b.node("Flatten", {p}, "flat");
  declare(y, {1, 4});
  b.g->add_output(y);
  const std::string path = scratch.path("free.onnx");
  onnxio::save_model(b.model, path);
  return path;
}

// x[1,4,3,3] -> Reshape(constant target) -> y: the batch of 1 is written into the target.
std::string write_baked_model(const Scratch& scratch, const std::vector<int64_t>& target, const std::string& name) {
  testing::ModelBuilder b;
  b.g->name = "test";
  Value* x = b.input("x", {1, 4, 3, 3});
  Value* y = b.node("Reshape", {x, b.g->add_constant("target", int64_tensor(target))}, "flatten_fixed");
  declare(y, {1, 36});
  b.g->add_output(y);
  const std::string path = scratch.path(name);
  onnxio::save_model(b.model, path);
  return path;
}

TEST(Convert, FixedBatchRewritesInputsOutputsAndDropsIntermediateShapes) {
  Scratch scratch;
  const std::string in = write_batch_free_model(scratch);
  const std::string out = scratch.path("b8.onnx");
  const CliRun r = run_qwac("convert " + in + " --batch 8 --output " + out);
  ASSERT_EQ(r.exit_code, 0) << r.out << r.err;
  EXPECT_NE(r.out.find("input  x: float[8,4,6,6]"), std::string::npos) << r.out;
  const ir::Model m = onnxio::load_model(out);
  const ir::Graph& g = *m.graph;
  ASSERT_TRUE(g.inputs()[0]->type.shape);
  EXPECT_EQ((*g.inputs()[0]->type.shape)[0], (ir::Dim{8, ""}));
  EXPECT_EQ((*g.inputs()[0]->type.shape)[1], (ir::Dim{4, ""})) << "only dimension 0 changes";
  EXPECT_EQ((*g.outputs()[0]->type.shape)[0], (ir::Dim{8, ""}));
  for (const char* name : {"conv_out", "relu_out", "pool_out"}) {
    ASSERT_NE(g.find_value(name), nullptr) << name;
    EXPECT_FALSE(g.find_value(name)->type.shape.has_value()) << name << " keeps a declared shape of the old batch";
  }
  const CliRun bench = run_qwac("bench " + out + " --iterations 2 --warmup 0 --threads 1");
  EXPECT_EQ(bench.exit_code, 0) << bench.out << bench.err;
  EXPECT_NE(bench.out.find("float[8,4,6,6]"), std::string::npos) << bench.out;
}

TEST(Convert, DynamicBatchGivesTheSameNumbersPerSample) {
  Scratch scratch;
  const std::string in = write_batch_free_model(scratch);
  const std::string out = scratch.path("dyn.onnx");
  const CliRun r = run_qwac("convert " + in + " --batch dynamic --output " + out);
  ASSERT_EQ(r.exit_code, 0) << r.out << r.err;
  const ir::Model original = onnxio::load_model(in);
  const ir::Model converted = onnxio::load_model(out);
  EXPECT_EQ((*converted.graph->inputs()[0]->type.shape)[0], (ir::Dim{-1, "batch"}));
  EXPECT_EQ((*converted.graph->outputs()[0]->type.shape)[0], (ir::Dim{-1, "batch"}));

  std::mt19937 rng(3);
  const int64_t batch = 3;
  const Tensor x = testing::random_tensor({batch, 4, 6, 6}, rng);
  runtime::EngineOptions o;
  o.num_threads = 1;
  runtime::Engine many(converted, o, {{"x", {batch, 4, 6, 6}}});
  const Tensor y = many.run({{"x", x}})[0];
  ASSERT_EQ(y.shape(), (Shape{batch, 4}));
  runtime::Engine one(original, o);
  const int64_t per_sample = 4 * 6 * 6;
  for (int64_t s = 0; s < batch; ++s) {
    Tensor xs(DType::kFloat32, {1, 4, 6, 6});
    std::copy(x.data<float>() + s * per_sample, x.data<float>() + (s + 1) * per_sample, xs.data<float>());
    const Tensor ys = one.run({{"x", xs}})[0];
    for (int64_t k = 0; k < 4; ++k) {
      EXPECT_NEAR(y.data<float>()[s * 4 + k], ys.data<float>()[k], 1e-5f) << "sample " << s << " class " << k;
    }
  }
}

TEST(Convert, BakedBatchIsOneLineNamingTheNode) {
  Scratch scratch;
  // [1, 36] at batch 2 cannot hold 72 values: the plan does not compile. [1, -1] compiles but swallows the batch.
  for (const std::vector<int64_t>& target : {std::vector<int64_t>{1, 36}, std::vector<int64_t>{1, -1}}) {
    const std::string in = write_baked_model(scratch, target, "baked" + std::to_string(target[1]) + ".onnx");
    const std::string out = scratch.path("out.onnx");
    const CliRun r = run_qwac("convert " + in + " --batch dynamic --output " + out);
    EXPECT_EQ(r.exit_code, 4) << r.out << r.err;
    EXPECT_NE(r.err.find("batch"), std::string::npos) << r.err;
    EXPECT_NE(r.err.find("flatten_fixed"), std::string::npos) << "the node is named: " << r.err;
    EXPECT_EQ(std::count(r.err.begin(), r.err.end(), '\n'), 1) << r.err;
    EXPECT_FALSE(fs::exists(out)) << "nothing is written when the check fails";
  }
  // At batch 1 the same model is fine.
  const std::string in = write_baked_model(scratch, {1, -1}, "baked_one.onnx");
  EXPECT_EQ(run_qwac("convert " + in + " --batch 1 --output " + scratch.path("one.onnx")).exit_code, 0);
}

TEST(Convert, BadBatchValuesAreRejected) {
  Scratch scratch;
  const std::string in = write_batch_free_model(scratch);
  for (const char* bad : {"0", "-3", "abc", "4x"}) {
    const CliRun r = run_qwac("convert " + in + " --batch " + bad + " --output " + scratch.path("o.onnx"));
    EXPECT_EQ(r.exit_code, 2) << bad << ": " << r.err;
    EXPECT_NE(r.err.find("--batch"), std::string::npos) << bad << ": " << r.err;
  }
}

TEST(Convert, SharedResnet20ToBatch64) {
  QWAC_REQUIRE_SHARED();
  Scratch scratch;
  const std::string out = scratch.path("resnet20-b64.onnx");
  const CliRun r =
      run_qwac("convert " + testing::shared_path("assets/models/resnet20-cifar10/model.onnx") + " --batch 64 -o " + out);
  ASSERT_EQ(r.exit_code, 0) << r.out << r.err;
  const CliRun bench = run_qwac("bench " + out + " --iterations 1 --warmup 0 --threads 2");
  EXPECT_EQ(bench.exit_code, 0) << bench.out << bench.err;
  EXPECT_NE(bench.out.find("float[64,3,32,32]"), std::string::npos) << bench.out;
}

}  // namespace
}  // namespace qwac::e2e
