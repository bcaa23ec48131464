// Add / Sub / Mul / Div on oneDNN binary with numpy broadcasting of the second operand. Inputs may arrive in a
// oneDNN layout (a residual Add between two convolutions); a plain broadcast operand ([1,C,1,1], scalar) is
// passed to oneDNN as is, and when oneDNN cannot combine the layouts the kernel declines.
#include <optional>
#include <vector>

#include "kernels/dnnl/dnnl_common.h"
#include "kernels/dnnl/dnnl_families.h"

namespace qwac::kernels::dnnl_impl {
namespace {

using alg = dnnl::algorithm;

struct BinaryOp {
  const char* op_type;
  alg algorithm;
  bool commutative;
};
constexpr BinaryOp kBinaryOps[] = {
    {"Add", alg::binary_add, true},
    {"Sub", alg::binary_sub, false},
    {"Mul", alg::binary_mul, true},
    {"Div", alg::binary_div, false},
};

// Descriptor of input i as delivered, with a plain input's shape left-padded with 1s to `rank`.
bool operand_desc(const KernelContext& ctx, size_t i, size_t rank, dnnl::memory::desc& md, std::string& reason) {
  if (i < ctx.input_formats.size() && ctx.input_formats[i]) {
    if (ctx.inputs[i].shape.size() != rank) {
      reason = "blocked operand of lower rank";
      return false;
    }
    return given_desc(ctx, i, md, reason);
  }
  md = plain_desc(with_leading_ones(ctx.inputs[i].shape, rank));
  return true;
}

// `dims` in src0's channel-blocked layout (nChw16c, nChw8c, ...) when src0 has one: oneDNN's jit binary takes a
// broadcast src1 in that layout alongside such a src0, and neither plain nor `any` there.
std::optional<dnnl::memory::desc> channel_blocked_like(const dnnl::memory::desc& src0, const dnnl::memory::dims& dims) {
  using tag = dnnl::memory::format_tag;
  const auto& blk = src0.data.format_desc.blocking;
  if (src0.data.format_kind != dnnl_blocked || blk.inner_nblks != 1 || blk.inner_idxs[0] != 1) return std::nullopt;
  // Outer order must be the plain one (N, C/b, spatial...): the strides decrease along the dims.
  for (int i = 0; i + 1 < src0.data.ndims; ++i) {
    if (src0.data.dims[i + 1] > 1 && blk.strides[i] < blk.strides[i + 1]) return std::nullopt;
  }
  struct Row {
    int rank;
    int64_t block;
    tag t;
  };
  constexpr Row kTags[] = {{3, 4, tag::aBc4b},   {3, 8, tag::aBc8b},   {3, 16, tag::aBc16b},
                           {4, 4, tag::aBcd4b},  {4, 8, tag::aBcd8b},  {4, 16, tag::aBcd16b},
                           {5, 4, tag::aBcde4b}, {5, 8, tag::aBcde8b}, {5, 16, tag::aBcde16b}};
  for (const Row& r : kTags) {
    if (r.rank == src0.data.ndims && r.block == blk.inner_blks[0] && static_cast<int>(dims.size()) == r.rank) {
      return dnnl::memory::desc(dims, src0.data_type(), r.t);
    }
  }
  return std::nullopt;
}

std::unique_ptr<Kernel> create_binary(const BinaryOp& op, const KernelContext& ctx, std::string& reason) {
  if (!all_float(ctx, {0, 1}, reason)) return nullptr;
  const Shape& out_shape = ctx.outputs.at(0).shape;
  const size_t rank = std::max<size_t>(out_shape.size(), 1);
  if (rank > 6) {
    reason = "rank above 6";
    return nullptr;
  }
  // oneDNN broadcasts only src1: the full-size operand must be src0.
  size_t a = 0, b = 1;
  Shape padded_a = ctx.inputs[0].shape;
  padded_a.insert(padded_a.begin(), out_shape.size() - padded_a.size(), 1);
  if (padded_a != out_shape) {
    if (!op.commutative) {
      reason = "the first operand is broadcast";
      return nullptr;
    }
    std::swap(a, b);
    Shape padded_b = ctx.inputs[1].shape;
    padded_b.insert(padded_b.begin(), out_shape.size() - padded_b.size(), 1);
    if (padded_b != out_shape) {
      reason = "both operands are broadcast";
      return nullptr;
    }
  }
  dnnl::memory::desc given_a, given_b;
  if (!operand_desc(ctx, a, rank, given_a, reason) || !operand_desc(ctx, b, rank, given_b, reason)) return nullptr;
  // Mixed layouts: compute in the blocked one. A plain full-size operand is reordered into it (the commutative
  // ops simply swap); a plain broadcast operand ([1,C,1,1]) takes the layout oneDNN derives from src0 (`any`),
  // filled by a reorder from plain into an owned buffer.
  const bool a_plain = is_plain(given_a), b_plain = is_plain(given_b);
  const bool b_full = given_b.dims() == given_a.dims();
  if (a_plain && !b_plain && b_full && op.commutative) {
    std::swap(a, b);
    std::swap(given_a, given_b);
  }
  dnnl::memory::desc src0_md = given_a, src1_md = given_b;
  if (is_plain(given_a) && !is_plain(given_b) && b_full) src0_md = given_b;
  if (!is_plain(src0_md) && is_plain(given_b)) {
    src1_md = b_full ? src0_md : dnnl::memory::desc(given_b.dims(), dnnl::memory::data_type::f32,
                                                    dnnl::memory::format_tag::any);
  }
  // Candidate src1 layouts, first the one above. oneDNN's jit binary takes a broadcast src1 ([N,C,1,1], the scale
  // of a squeeze-and-excitation block, as a 1x1 Conv leaves it: nChw16c) only in a layout it derives itself or in
  // plain, and a full-size src1 only in src0's layout: reordering the small operand beats the reference kernel
  // plus two conversions of the big one to plain and back.
  std::vector<dnnl::memory::desc> src1_candidates = {src1_md};
  if (b_full) {
    src1_candidates.push_back(src0_md);
  } else {
    src1_candidates.push_back(dnnl::memory::desc(given_b.dims(), dnnl::memory::data_type::f32,
                                                 dnnl::memory::format_tag::any));
    const dnnl::memory::dims b_dims = given_b.dims();
    src1_candidates.push_back(plain_desc(Shape(b_dims.begin(), b_dims.end())));
    if (std::optional<dnnl::memory::desc> blocked = channel_blocked_like(src0_md, b_dims)) {
      src1_candidates.push_back(*blocked);
    }
  }
  // The output takes src0's layout, so a blocked chain stays blocked.
  const dnnl::memory::desc dst_md = src0_md;
  dnnl::binary::primitive_desc pd;
  bool found = false;
  for (const dnnl::memory::desc& candidate : src1_candidates) {
    if (!try_create([&] { pd = dnnl::binary::primitive_desc(
                              dnnl::binary::desc(op.algorithm, src0_md, candidate, dst_md), cpu_engine()); },
                    reason, "binary")) {
      continue;
    }
    if (std::string(pd.impl_info_str()).rfind("ref", 0) != 0) {
      found = true;
      break;
    }
  }
  if (!found) {
    reason = "oneDNN has only its reference binary for these layouts";
    return nullptr;
  }
  auto k = std::make_unique<PrimitiveKernel>();
  k->prim = dnnl::binary(pd);
  k->runtime_inputs.push_back({DNNL_ARG_SRC_0, a, InputAdapter(given_a, pd.src_desc(0))});
  k->runtime_inputs.push_back({DNNL_ARG_SRC_1, b, InputAdapter(given_b, pd.src_desc(1))});
  k->dst = dnnl::memory(pd.dst_desc(), cpu_engine(), DNNL_MEMORY_NONE);
  k->out_format = format_of(pd.dst_desc());
  return k;
}

}  // namespace

void register_binary_kernels(KernelRegistry& registry) {
  for (const BinaryOp& op : kBinaryOps) {
    registry.add(KernelDef{op.op_type, "", 7, INT_MAX, "dnnl", true,
                           [&op](const KernelContext& ctx, std::string& reason) {
                             return create_binary(op, ctx, reason);
                           }});
  }
}

}  // namespace qwac::kernels::dnnl_impl
