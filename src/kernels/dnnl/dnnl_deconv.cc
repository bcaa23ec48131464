// ConvTranspose on oneDNN deconvolution_forward. Output size comes from shape inference; the right padding is
// derived from it (which absorbs output_padding). Explicit pads or VALID only: output_shape / SAME_* padding
// conventions are left to the reference kernel.
#include "kernels/dnnl/dnnl_common.h"
#include "kernels/dnnl/dnnl_families.h"

namespace qwac::kernels::dnnl_impl {
namespace {

using dt = dnnl::memory::data_type;
using tag = dnnl::memory::format_tag;

std::unique_ptr<Kernel> create_deconv(const KernelContext& ctx, std::string& reason) {
  const ir::Node& node = ctx.node;
  if (!all_float(ctx, {0, 1, 2}, reason)) return nullptr;
  const ir::TensorInfo& x = ctx.inputs.at(0);
  const ir::TensorInfo& w = ctx.inputs.at(1);
  const size_t rank = x.shape.size();
  if (rank < 3 || rank > 5 || w.shape.size() != rank) {
    reason = "only 1D/2D/3D ConvTranspose is implemented";
    return nullptr;
  }
  if (w.value == nullptr) {
    reason = "weights are not constant";
    return nullptr;
  }
  const bool has_bias = ctx.inputs.size() > 2 && ctx.inputs[2].present();
  if (has_bias && ctx.inputs[2].value == nullptr) {
    reason = "bias is not constant";
    return nullptr;
  }
  const std::string auto_pad = node.attrs.get_string("auto_pad", "NOTSET");
  if (node.attrs.has("output_shape") || (auto_pad != "NOTSET" && auto_pad != "VALID")) {
    reason = "output_shape / SAME auto_pad are not implemented";
    return nullptr;
  }
  const size_t n = rank - 2;
  const int64_t groups = node.attrs.get_int("group", 1);
  const int64_t ic = x.shape[1];
  const int64_t oc = w.shape[1] * groups;
  if (groups < 1 || w.shape[0] != ic || ic % groups != 0) {
    reason = "channels/groups mismatch";
    return nullptr;
  }
  const Shape& out_shape = ctx.outputs.at(0).shape;
  if (out_shape.size() != rank || out_shape[1] != oc) {
    reason = "unexpected output shape " + shape_to_string(out_shape);
    return nullptr;
  }
  const std::vector<int64_t> strides = node.attrs.get_ints("strides", std::vector<int64_t>(n, 1));
  const std::vector<int64_t> dilations = node.attrs.get_ints("dilations", std::vector<int64_t>(n, 1));
  std::vector<int64_t> pads = node.attrs.get_ints("pads", std::vector<int64_t>(2 * n, 0));
  if (auto_pad == "VALID") std::fill(pads.begin(), pads.end(), 0);
  if (strides.size() != n || dilations.size() != n || pads.size() != 2 * n) {
    reason = "strides/dilations/pads lengths do not match spatial rank";
    return nullptr;
  }
  SpatialGeometry g;
  for (size_t i = 0; i < n; ++i) {
    const int64_t k = w.shape[2 + i];
    const int64_t pad_end = (x.shape[2 + i] - 1) * strides[i] + (k - 1) * dilations[i] + 1 - pads[i] - out_shape[2 + i];
    if (pad_end < 0 || pads[i] < 0) {
      reason = "output_padding larger than the end padding is not implemented";
      return nullptr;
    }
    g.strides.push_back(strides[i]);
    g.dilations.push_back(dilations[i] - 1);
    g.pad_begin.push_back(pads[i]);
    g.pad_end.push_back(pad_end);
  }
  // oneDNN deconvolution weights are [g,] OC/g, IC/g, k...; ONNX stores [IC, OC/g, k...] = [g, IC/g, OC/g, k...].
  int64_t spatial = 1;
  for (size_t i = 2; i < rank; ++i) spatial *= w.shape[i];
  dnnl::memory::dims w_dims, w_strides;
  const int64_t icg = ic / groups, ocg = oc / groups;
  if (groups > 1) {
    w_dims = {groups, ocg, icg};
    w_strides = {icg * ocg * spatial, spatial, ocg * spatial};
  } else {
    w_dims = {oc, ic};
    w_strides = {spatial, oc * spatial};
  }
  int64_t stride = spatial;
  for (size_t i = 2; i < rank; ++i) {
    stride /= w.shape[i];
    w_dims.push_back(w.shape[i]);
    w_strides.push_back(stride);
  }
  const dnnl::memory::desc w_given(w_dims, dt::f32, w_strides);
  const dnnl::memory::desc w_any(w_dims, dt::f32, tag::any);
  const dnnl::memory::desc bias_md = plain_desc({oc});
  const dnnl::memory::desc dst_any(to_dims(out_shape), dt::f32, tag::any);
  dnnl::memory::desc given_src;
  if (!given_desc(ctx, 0, given_src, reason)) return nullptr;
  const dnnl::memory::desc src_any(to_dims(x.shape), dt::f32, tag::any);
  const auto prop = dnnl::prop_kind::forward_inference;
  const auto algo = dnnl::algorithm::deconvolution_direct;
  dnnl::deconvolution_forward::primitive_desc pd;
  if (!try_create(
          [&] {
            pd = dnnl::deconvolution_forward::primitive_desc(
                has_bias ? dnnl::deconvolution_forward::desc(prop, algo, src_any, w_any, bias_md, dst_any, g.strides,
                                                             g.dilations, g.pad_begin, g.pad_end)
                         : dnnl::deconvolution_forward::desc(prop, algo, src_any, w_any, dst_any, g.strides,
                                                             g.dilations, g.pad_begin, g.pad_end),
                cpu_engine());
          },
          reason, "deconvolution")) {
    return nullptr;
  }
  auto kernel = std::make_unique<PrimitiveKernel>();
  kernel->prim = dnnl::deconvolution_forward(pd);
  kernel->runtime_inputs.push_back({DNNL_ARG_SRC, 0, InputAdapter(given_src, pd.src_desc())});
  kernel->args[DNNL_ARG_WEIGHTS] = reorder_constant(w.value->raw(), w_given, pd.weights_desc());
  if (has_bias) kernel->args[DNNL_ARG_BIAS] = reorder_constant(ctx.inputs[2].value->raw(), bias_md, pd.bias_desc());
  kernel->dst = dnnl::memory(pd.dst_desc(), cpu_engine(), DNNL_MEMORY_NONE);
  kernel->out_format = format_of(pd.dst_desc());
  return kernel;
}

}  // namespace

void register_deconv_kernels(KernelRegistry& registry) {
  registry.add(KernelDef{"ConvTranspose", "", 1, INT_MAX, "dnnl", true, &create_deconv});
}

}  // namespace qwac::kernels::dnnl_impl
