#include "passes/fold_batchnorm.h"

#include <cmath>
#include <functional>
#include <map>
#include <optional>
#include <unordered_set>

#include "ir/pattern.h"

namespace qwac::passes {
namespace {

const Tensor* float_constant(const ir::Value* v, int64_t numel) {
  if (v == nullptr || !v->is_constant() || v->constant->dtype() != DType::kFloat32) return nullptr;
  if (numel >= 0 && v->constant->numel() != numel) return nullptr;
  return &*v->constant;
}

bool inference_batchnorm(const ir::Node& bn, int64_t opset) {
  if (bn.num_inputs() != 5) return false;
  for (size_t i = 1; i < bn.num_outputs(); ++i) {
    if (bn.output(i) != nullptr) return false;  // training-mode statistics requested
  }
  if (bn.attrs.get_int("training_mode", 0) != 0) return false;
  return opset >= 9 || bn.attrs.get_int("spatial", 1) == 1;
}

void remove_if_dead_constant(ir::Graph& g, ir::Value* v) {
  if (v != nullptr && v->is_constant() && v->uses().empty() && !g.is_graph_output(v) && !g.is_graph_input(v)) {
    g.remove_value(v);
  }
}

// BN as y = x * k[c] + (shift[c] - mean[c] * k[c]), k = scale / sqrt(var + eps), per channel c.
struct BnFactors {
  std::vector<float> k, mean, shift;
  // Folded bias of channel c when the producer adds `bias` to it.
  float bias(int64_t c, float b) const { return (b - mean[c]) * k[c] + shift[c]; }
};

// The producer rewritten: new weight (input 1), new bias (input 2) and attributes.
struct Folded {
  Tensor weight, bias;
  ir::Attributes attrs;
};

// How BN folds into one producer op: its channel count (axis 1 of its output), or nullopt when it does not fold
// (weights not float constants, unsupported layout), and the folded weights and bias.
struct BnFolder {
  std::function<std::optional<int64_t>(const ir::Node&)> channels;
  std::function<Folded(const ir::Node&, const BnFactors&)> fold;
};

// Conv: W [O, I/group, k...]; output channel o is row o of W (whatever the group).
std::optional<int64_t> conv_channels(const ir::Node& conv) {
  const Tensor* w = float_constant(conv.input(1), -1);
  if (w == nullptr || w->rank() < 3) return std::nullopt;
  if (conv.has_input(2) && float_constant(conv.input(2), w->dim(0)) == nullptr) return std::nullopt;
  return w->dim(0);
}

Folded fold_conv(const ir::Node& conv, const BnFactors& f) {
  const Tensor& w = *conv.input(1)->constant;
  const Tensor* b = conv.has_input(2) ? &*conv.input(2)->constant : nullptr;
  const int64_t oc = w.dim(0);
  Folded out{Tensor(DType::kFloat32, w.shape()), Tensor(DType::kFloat32, {oc}), conv.attrs};
  const int64_t per_oc = w.numel() / oc;
  for (int64_t o = 0; o < oc; ++o) {
    for (int64_t i = 0; i < per_oc; ++i) {
      out.weight.data<float>()[o * per_oc + i] = w.data<float>()[o * per_oc + i] * f.k[o];
    }
    out.bias.data<float>()[o] = f.bias(o, b ? b->data<float>()[o] : 0.f);
  }
  return out;
}

// ConvTranspose: W [I, O/group, k...]; input channel i belongs to group i / (I/group), whose output channels are
// group * O/group + j for j over axis 1 of W. So grouped ConvTranspose folds too: W[i, j] scales by k[that o].
std::optional<int64_t> conv_transpose_channels(const ir::Node& ct) {
  const Tensor* w = float_constant(ct.input(1), -1);
  const int64_t group = ct.attrs.get_int("group", 1);
  if (w == nullptr || w->rank() < 3 || group < 1 || w->dim(0) % group != 0) return std::nullopt;
  const int64_t oc = group * w->dim(1);
  if (ct.has_input(2) && float_constant(ct.input(2), oc) == nullptr) return std::nullopt;
  return oc;
}

Folded fold_conv_transpose(const ir::Node& ct, const BnFactors& f) {
  const Tensor& w = *ct.input(1)->constant;
  const Tensor* b = ct.has_input(2) ? &*ct.input(2)->constant : nullptr;
  const int64_t group = ct.attrs.get_int("group", 1);
  const int64_t in_channels = w.dim(0), oc_per_group = w.dim(1), oc = group * oc_per_group;
  const int64_t in_per_group = in_channels / group;
  const int64_t kernel = w.numel() / (in_channels * oc_per_group);
  Folded out{Tensor(DType::kFloat32, w.shape()), Tensor(DType::kFloat32, {oc}), ct.attrs};
  for (int64_t i = 0; i < in_channels; ++i) {
    for (int64_t j = 0; j < oc_per_group; ++j) {
      const float k = f.k[(i / in_per_group) * oc_per_group + j];
      const int64_t base = (i * oc_per_group + j) * kernel;
      for (int64_t s = 0; s < kernel; ++s) out.weight.data<float>()[base + s] = w.data<float>()[base + s] * k;
    }
  }
  for (int64_t o = 0; o < oc; ++o) out.bias.data<float>()[o] = f.bias(o, b ? b->data<float>()[o] : 0.f);
  return out;
}

// Gemm: Y [M, N] = alpha * A' B' + beta * C; BN's channels are the N columns. B' column n is column n of B
// (transB 0, B [K, N]) or row n (transB 1, B [N, K]). C must be per column or a scalar (a C that varies along M
// would make the folded C [M, N], i.e. tie the model to one batch size): the folded C is [N] with beta 1.
std::optional<int64_t> gemm_channels(const ir::Node& gemm) {
  const Tensor* b = float_constant(gemm.input(1), -1);
  if (b == nullptr || b->rank() != 2) return std::nullopt;
  const int64_t n = gemm.attrs.get_int("transB", 0) != 0 ? b->dim(0) : b->dim(1);
  if (gemm.has_input(2)) {
    const Tensor* c = float_constant(gemm.input(2), -1);
    if (c == nullptr) return std::nullopt;
    const bool scalar = c->numel() == 1;
    const bool per_column = (c->rank() == 1 && c->dim(0) == n) || (c->rank() == 2 && c->dim(0) == 1 && c->dim(1) == n);
    if (!scalar && !per_column) return std::nullopt;
  }
  return n;
}

Folded fold_gemm(const ir::Node& gemm, const BnFactors& f) {
  const Tensor& b = *gemm.input(1)->constant;
  const Tensor* c = gemm.has_input(2) ? &*gemm.input(2)->constant : nullptr;
  const bool trans_b = gemm.attrs.get_int("transB", 0) != 0;
  const float beta = gemm.attrs.get_float("beta", 1.f);
  const int64_t n = trans_b ? b.dim(0) : b.dim(1);
  const int64_t k_dim = trans_b ? b.dim(1) : b.dim(0);
  Folded out{Tensor(DType::kFloat32, b.shape()), Tensor(DType::kFloat32, {n}), gemm.attrs};
  for (int64_t r = 0; r < k_dim; ++r) {
    for (int64_t col = 0; col < n; ++col) {
      const int64_t idx = trans_b ? col * k_dim + r : r * n + col;
      out.weight.data<float>()[idx] = b.data<float>()[idx] * f.k[col];
    }
  }
  for (int64_t col = 0; col < n; ++col) {
    const float cv = c == nullptr ? 0.f : c->data<float>()[c->numel() == 1 ? 0 : col];
    out.bias.data<float>()[col] = f.bias(col, beta * cv);
  }
  out.attrs.set("beta", 1.f);
  return out;
}

const std::map<std::string, BnFolder>& folders() {
  static const std::map<std::string, BnFolder> table = {
      {"Conv", {conv_channels, fold_conv}},
      {"ConvTranspose", {conv_transpose_channels, fold_conv_transpose}},
      {"Gemm", {gemm_channels, fold_gemm}},
  };
  return table;
}

}  // namespace

bool FoldBatchNorm::run(ir::Model& model) {
  ir::Graph& g = *model.graph;
  const int64_t opset = model.opset("");
  const ir::OpMatcher bn_matcher =
      ir::with(ir::op("BatchNormalization"), [opset](const ir::Node& n) { return inference_batchnorm(n, opset); });
  std::unordered_set<const ir::Node*> removed;
  bool changed = false;
  for (ir::Node* producer : g.topological_order()) {
    if (removed.count(producer) || !producer->domain().empty() || producer->num_outputs() != 1) continue;
    auto folder = folders().find(producer->op_type());
    if (folder == folders().end()) continue;
    ir::Node* bn = ir::single_consumer(g, *producer, bn_matcher);
    if (bn == nullptr || bn->input(0) != producer->output(0)) continue;
    const std::optional<int64_t> channels = folder->second.channels(*producer);
    if (!channels) continue;
    const int64_t oc = *channels;
    const Tensor* scale = float_constant(bn->input(1), oc);
    const Tensor* shift = float_constant(bn->input(2), oc);
    const Tensor* mean = float_constant(bn->input(3), oc);
    const Tensor* var = float_constant(bn->input(4), oc);
    if (!scale || !shift || !mean || !var) continue;
    const float eps = bn->attrs.get_float("epsilon", 1e-5f);
    BnFactors factors;
    for (int64_t o = 0; o < oc; ++o) {
      factors.k.push_back(scale->data<float>()[o] / std::sqrt(var->data<float>()[o] + eps));
      factors.mean.push_back(mean->data<float>()[o]);
      factors.shift.push_back(shift->data<float>()[o]);
    }
    Folded folded = folder->second.fold(*producer, factors);

    ir::Value* x = producer->input(0);
    ir::Value* old_w = producer->input(1);
    ir::Value* old_b = producer->input(2);
    std::vector<ir::Value*> bn_params(bn->inputs().begin() + 1, bn->inputs().end());
    ir::Value* out = bn->output(0);
    ir::Value* intermediate = producer->output(0);
    const std::string name = producer->name();
    const std::string op_type = producer->op_type();
    removed.insert(bn);
    removed.insert(producer);
    g.remove_node(bn);
    g.remove_node(producer);
    g.remove_value(intermediate);
    ir::Value* w_value = g.add_constant(g.unique_name(old_w->name() + "_bn_folded"), std::move(folded.weight));
    ir::Value* b_value = g.add_constant(g.unique_name(name + "_bias_bn_folded"), std::move(folded.bias));
    ir::Node* node = g.add_node(op_type, {x, w_value, b_value}, {out}, name);
    node->attrs = std::move(folded.attrs);
    remove_if_dead_constant(g, old_w);
    remove_if_dead_constant(g, old_b);
    for (ir::Value* p : bn_params) remove_if_dead_constant(g, p);
    changed = true;
  }
  return changed;
}

}  // namespace qwac::passes
