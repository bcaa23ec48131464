// Transpose as one oneDNN reorder: the source in the layout the producer gave (a blocked Conv output, the patch
// embedding of a vision transformer), the destination described as the same logical tensor with the strides of the
// transposed plain output. Replaces a conversion to plain plus the reference transpose. Declines when oneDNN has
// only its generic reorder for a plain input (the reference kernel is as fast there).
#include <numeric>

#include "kernels/dnnl/dnnl_common.h"
#include "kernels/dnnl/dnnl_families.h"
#include "kernels/dnnl/dnnl_typed_input.h"

namespace qwac::kernels::dnnl_impl {
namespace {

std::unique_ptr<Kernel> create_transpose(const KernelContext& ctx, std::string& reason) {
  const ir::TensorInfo& x = ctx.inputs.at(0);
  const size_t rank = x.shape.size();
  if (rank < 2 || rank > 6 || shape_numel(x.shape) == 0) {
    reason = "rank " + std::to_string(rank) + " or empty tensor";
    return nullptr;
  }
  std::vector<int64_t> perm(rank);
  std::iota(perm.rbegin(), perm.rend(), 0);  // default: reverse the dims
  perm = ctx.node.attrs.get_ints("perm", perm);
  std::vector<bool> seen(rank, false);
  if (perm.size() != rank) {
    reason = "perm has " + std::to_string(perm.size()) + " entries for rank " + std::to_string(rank);
    return nullptr;
  }
  for (int64_t p : perm) {
    if (p < 0 || p >= static_cast<int64_t>(rank) || seen[static_cast<size_t>(p)]) {
      reason = "perm is not a permutation";
      return nullptr;
    }
    seen[static_cast<size_t>(p)] = true;
  }
  dnnl::memory::desc src_md;
  if (!given_typed_desc(ctx, 0, src_md, reason)) return nullptr;
  if (ctx.outputs.at(0).dtype != x.dtype) {
    reason = "output type differs from the input type";
    return nullptr;
  }
  // Output dim k is input dim perm[k]: input dim perm[k] advances by the plain output's stride of dim k.
  Shape out_shape(rank);
  for (size_t k = 0; k < rank; ++k) out_shape[k] = x.shape[static_cast<size_t>(perm[k])];
  dnnl::memory::dims out_strides(rank, 1), dst_strides(rank, 0);
  for (size_t k = rank - 1; k-- > 0;) out_strides[k] = out_strides[k + 1] * out_shape[k + 1];
  for (size_t k = 0; k < rank; ++k) dst_strides[static_cast<size_t>(perm[k])] = out_strides[k];
  const dnnl::memory::desc dst_md(to_dims(x.shape), src_md.data_type(), dst_strides);
  dnnl::reorder::primitive_desc pd;
  if (!try_create([&] { pd = dnnl::reorder::primitive_desc(cpu_engine(), src_md, cpu_engine(), dst_md); }, reason,
                  "reorder")) {
    return nullptr;
  }
  const std::string impl = pd.impl_info_str();
  if (is_plain(src_md) && impl.find("jit") == std::string::npos) {
    reason = "oneDNN has only its generic reorder (" + impl + ") for this plain transpose";
    return nullptr;
  }
  auto k = std::make_unique<PrimitiveKernel>();
  k->prim = dnnl::reorder(pd);
  k->runtime_inputs.push_back({DNNL_ARG_FROM, 0, InputAdapter(src_md, src_md)});
  k->dst = dnnl::memory(dst_md, cpu_engine(), DNNL_MEMORY_NONE);
  return k;  // out_format stays null: the bytes are the plain transposed tensor
}

}  // namespace

void register_transpose_kernels(KernelRegistry& registry) {
  registry.add(KernelDef{"Transpose", "", 1, INT_MAX, "dnnl", true, &create_transpose});
}

}  // namespace qwac::kernels::dnnl_impl
