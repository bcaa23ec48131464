// qwac::InferenceSession (include/qwac/session.h): a runtime::Engine behind the public types, plus what the plan
// means for a user (each node's precision and multiply-accumulates).
#include "qwac/session.h"

#include <algorithm>
#include <random>
#include <utility>

#include "api/model_impl.h"
#include "ir/fused_ops.h"
#include "ir/input_domain.h"
#include "qwac/error.h"
#include "runtime/engine.h"

namespace qwac {
namespace {

bool is_8bit(DType t) { return t == DType::kUInt8 || t == DType::kInt8; }

// Ops that only convert between float and 8-bit: left in a plan they are a float round trip (the QDQ simulation).
bool is_quantize_op(const runtime::PlannedNode& p) {
  return p.op_type == "QuantizeLinear" || p.op_type == "DequantizeLinear" || p.op_type == "FakeQuantize";
}

std::string precision_of(const runtime::PlannedNode& p) {
  if (p.impl == "folded") return "const";
  if (is_quantize_op(p)) return "simulated";
  if (p.domain == "com.qwac" && !p.op_type.empty() && p.op_type[0] == 'Q') return "int8";
  const bool reads_8bit = std::any_of(p.input_dtypes.begin(), p.input_dtypes.end(), is_8bit);
  const bool writes_8bit = std::any_of(p.output_dtypes.begin(), p.output_dtypes.end(), is_8bit);
  return reads_8bit || writes_8bit ? "int8" : "float";
}

// Multiply-accumulates of the ops that dominate a CNN's time (convolutions and matrix products); 0 for others.
// Convolutions: output elements x (weights per output channel); matrix products: output elements x K.
int64_t macs_of(const runtime::PlannedNode& p) {
  struct ConvWeights {
    const char* op;
    size_t weight_input;
  };
  static constexpr ConvWeights kConvs[] = {{"Conv", 1}, {"FusedConv", 1}, {"QConv", ir::QConvInputs::kW}};
  if (p.output_shapes.empty()) return 0;
  const int64_t out = shape_numel(p.output_shapes[0]);
  for (const ConvWeights& c : kConvs) {
    if (p.op_type != c.op || p.input_shapes.size() <= c.weight_input) continue;
    const Shape& w = p.input_shapes[c.weight_input];
    return w.empty() ? 0 : out * shape_numel(w) / w[0];
  }
  if (p.input_shapes.empty() || p.input_shapes[0].empty()) return 0;
  const Shape& a = p.input_shapes[0];
  if (p.op_type.find("MatMul") != std::string::npos) return out * a.back();
  // Gemm-like: a 2-D A is [M, K] or [K, M] (transA) and the output [M, N], so K = |A| / M. qwac's QGemm also runs
  // batched MatMuls (A [..., M, K], no transA): K is A's last axis there, not |A| / out[0].
  if (p.op_type.find("Gemm") != std::string::npos && !p.output_shapes[0].empty() && p.output_shapes[0][0] > 0) {
    if (a.size() != 2) return out * a.back();
    return out * (shape_numel(a) / p.output_shapes[0][0]);
  }
  return 0;
}

std::vector<IoSpec> public_specs(const std::vector<runtime::IoSpec>& specs) {
  std::vector<IoSpec> out;
  for (const runtime::IoSpec& s : specs) out.push_back({s.name, s.dtype, s.shape});
  return out;
}

}  // namespace

struct InferenceSession::Impl {
  std::shared_ptr<const ir::Model> model;
  std::unique_ptr<runtime::Engine> engine;
  std::vector<IoSpec> inputs, outputs;
  std::map<std::string, Shape> shapes;

  void refresh() {
    inputs = public_specs(engine->inputs());
    outputs = public_specs(engine->outputs());
    shapes.clear();
    for (const IoSpec& s : inputs) shapes[s.name] = s.shape;
  }
};

InferenceSession::InferenceSession(const Model& model, const ExecutionOptions& options,
                                   const std::map<std::string, Shape>& input_shapes, const SessionOptions& session)
    : impl_(std::make_unique<Impl>()) {
  impl_->model = api::shared(model);
  runtime::EngineOptions eo;
  eo.num_threads = options.threads;
  eo.use_dnnl = options.use_dnnl;
  eo.int8 = options.int8;
  eo.fuse = session.fuse;
  eo.profile = session.profile;
  eo.logger = options.logger;
  impl_->engine = std::make_unique<runtime::Engine>(*impl_->model, eo, input_shapes);
  impl_->refresh();
}

InferenceSession::~InferenceSession() = default;
InferenceSession::InferenceSession(InferenceSession&&) noexcept = default;
InferenceSession& InferenceSession::operator=(InferenceSession&&) noexcept = default;

void InferenceSession::reshape(const std::map<std::string, Shape>& input_shapes) {
  impl_->engine->reshape(input_shapes);
  impl_->refresh();
}

std::vector<Tensor> InferenceSession::run(const std::map<std::string, Tensor>& inputs) {
  return impl_->engine->run(inputs);
}

std::vector<Tensor> InferenceSession::infer(const std::map<std::string, Tensor>& inputs) {
  std::map<std::string, Shape> shapes;
  for (const auto& [name, t] : inputs) shapes[name] = t.shape();
  if (shapes != impl_->shapes) reshape(shapes);
  return run(inputs);
}

const std::vector<IoSpec>& InferenceSession::inputs() const { return impl_->inputs; }
const std::vector<IoSpec>& InferenceSession::outputs() const { return impl_->outputs; }

std::vector<PlannedNode> InferenceSession::plan() const {
  std::vector<PlannedNode> out;
  for (const runtime::PlannedNode& p : impl_->engine->planned_nodes()) {
    PlannedNode n;
    n.node_name = p.node_name;
    n.op_type = p.op_type;
    n.domain = p.domain;
    n.impl = p.impl;
    n.declines = p.declines;
    n.input_names = p.input_names;
    n.output_names = p.output_names;
    n.input_dtypes = p.input_dtypes;
    n.output_dtypes = p.output_dtypes;
    n.input_shapes = p.input_shapes;
    n.output_shapes = p.output_shapes;
    n.precision = precision_of(p);
    n.macs = macs_of(p);
    out.push_back(std::move(n));
  }
  return out;
}

std::vector<PassNote> InferenceSession::pass_notes() const {
  std::vector<PassNote> out;
  for (const passes::PassNote& n : impl_->engine->pass_notes()) out.push_back({n.node_name, n.op_type, n.reason});
  return out;
}

size_t InferenceSession::arena_bytes() const { return impl_->engine->arena_bytes(); }

std::vector<StepProfile> InferenceSession::profile() const {
  std::vector<StepProfile> out;
  for (const runtime::StepProfile& s : impl_->engine->profile()) {
    out.push_back({s.node_name, s.op_type, s.impl, s.runs, s.total_ms});
  }
  return out;
}

std::map<std::string, Tensor> random_inputs(const Model& model, const std::vector<IoSpec>& specs, uint64_t seed) {
  const ir::Model& m = api::unwrap(model);
  std::mt19937 rng(static_cast<std::mt19937::result_type>(seed));
  std::map<std::string, Tensor> out;
  for (const IoSpec& spec : specs) {
    Tensor t(spec.dtype, spec.shape);
    if (spec.dtype == DType::kFloat32) {
      std::uniform_real_distribution<float> dist(-1.f, 1.f);
      float* p = t.data<float>();
      for (int64_t i = 0; i < t.numel(); ++i) p[i] = dist(rng);
    } else if (spec.dtype == DType::kInt64 || spec.dtype == DType::kInt32) {
      const ir::Value* value = m.graph->find_value(spec.name);
      const auto range = value != nullptr ? ir::integer_input_range(*value) : std::nullopt;
      std::uniform_int_distribution<int64_t> dist(range ? range->low : 0, range ? range->high : 0);
      for (int64_t i = 0; i < t.numel(); ++i) {
        if (spec.dtype == DType::kInt64) {
          t.data<int64_t>()[i] = dist(rng);
        } else {
          t.data<int32_t>()[i] = static_cast<int32_t>(dist(rng));
        }
      }
    }
    out[spec.name] = std::move(t);
  }
  return out;
}

}  // namespace qwac
