// Reference Gemm and MatMul on float32. Rows of the output are computed in parallel; each row accumulates
// a(i, k) * B(k, :) over k (or dot products over k when B is transposed, which keeps the reads contiguous).
#include <algorithm>
#include <vector>

#include "ir/shape/nn_attrs.h"
#include "kernels/ref/nn_families.h"
#include "kernels/ref/nn_kernel_util.h"

namespace qwac::kernels::ref {
namespace {

// Y = alpha * A' * B' + beta * C with A' = transA ? A^T : A, B' = transB ? B^T : B, C broadcast to [M, N].
std::unique_ptr<Kernel> create_gemm(const KernelContext& ctx, std::string& reason) {
  if (!nn::inputs_are_float32(ctx, {0, 1, 2}, reason)) return nullptr;
  const Shape& a = ctx.inputs.at(0).shape;
  const bool trans_a = ir::nn::attr_int(ctx.node, "transA", 0) != 0;
  const bool trans_b = ir::nn::attr_int(ctx.node, "transB", 0) != 0;
  const float alpha = ir::nn::attr_float(ctx.node, "alpha", 1.f);
  const float beta = ir::nn::attr_float(ctx.node, "beta", 1.f);
  const int64_t m = ctx.outputs.at(0).shape.at(0), n = ctx.outputs.at(0).shape.at(1);
  const int64_t k = trans_a ? a[0] : a[1];
  const bool has_c = ctx.inputs.size() > 2 && ctx.inputs[2].present();
  // Strides of C over the [M, N] output (0 on broadcast axes).
  int64_t c_row_stride = 0, c_col_stride = 0;
  if (has_c) {
    const Shape& c = ctx.inputs[2].shape;
    const int64_t cm = c.size() == 2 ? c[0] : 1;
    const int64_t cn = c.empty() ? 1 : c.back();
    c_col_stride = cn == 1 ? 0 : 1;
    c_row_stride = cm == 1 ? 0 : cn;
  }
  const int threads = nn::kernel_threads(ctx);
  return nn::make_function_kernel([=](const std::vector<Tensor>& in, std::vector<Tensor>& out) {
    const float* pa = in[0].data<float>();
    const float* pb = in[1].data<float>();
    const float* pc = has_c ? in[2].data<float>() : nullptr;
    float* py = out[0].data<float>();
    // A'(i, kk): row-major [M, K], or [K, M] when transposed.
    const int64_t a_i = trans_a ? 1 : k, a_k = trans_a ? m : 1;
#pragma omp parallel for num_threads(threads) schedule(static)
    for (int64_t i = 0; i < m; ++i) {
      float* y = py + i * n;
      if (trans_b) {  // B is [N, K]
        for (int64_t j = 0; j < n; ++j) {
          float acc = 0.f;
          const float* b = pb + j * k;
          for (int64_t kk = 0; kk < k; ++kk) acc += pa[i * a_i + kk * a_k] * b[kk];
          y[j] = acc;
        }
      } else {  // B is [K, N]
        std::fill(y, y + n, 0.f);
        for (int64_t kk = 0; kk < k; ++kk) {
          const float av = pa[i * a_i + kk * a_k];
          const float* b = pb + kk * n;
          for (int64_t j = 0; j < n; ++j) y[j] += av * b[j];
        }
      }
      for (int64_t j = 0; j < n; ++j) {
        y[j] *= alpha;
        if (pc != nullptr) y[j] += beta * pc[i * c_row_stride + j * c_col_stride];
      }
    }
  });
}

// numpy.matmul semantics: 1-D operands are promoted (and the added axis dropped from the result); batch axes
// broadcast. Per output batch the offsets into A and B are precomputed at creation.
std::unique_ptr<Kernel> create_matmul(const KernelContext& ctx, std::string& reason) {
  if (!nn::inputs_are_float32(ctx, {0, 1}, reason)) return nullptr;
  const Shape& a_in = ctx.inputs.at(0).shape;
  const Shape& b_in = ctx.inputs.at(1).shape;
  const Shape a = a_in.size() == 1 ? Shape{1, a_in[0]} : a_in;
  const Shape b = b_in.size() == 1 ? Shape{b_in[0], 1} : b_in;
  const int64_t m = a[a.size() - 2], k = a[a.size() - 1], n = b[b.size() - 1];
  const Shape a_batch(a.begin(), a.end() - 2), b_batch(b.begin(), b.end() - 2);
  const size_t rank = std::max(a_batch.size(), b_batch.size());
  // Align batch shapes to `rank` with leading 1s, then walk every output batch index.
  const Shape ab = with_leading_ones(a_batch, rank), bb = with_leading_ones(b_batch, rank);
  Shape out_batch(rank);
  for (size_t i = 0; i < rank; ++i) out_batch[i] = std::max(ab[i], bb[i]);
  const std::vector<int64_t> a_strides = shape_strides(ab), b_strides = shape_strides(bb);
  const int64_t batches = shape_numel(out_batch);
  std::vector<int64_t> a_offsets(static_cast<size_t>(batches)), b_offsets(static_cast<size_t>(batches));
  std::vector<int64_t> idx(rank, 0);
  for (int64_t bi = 0; bi < batches; ++bi) {
    int64_t ao = 0, bo = 0;
    for (size_t d = 0; d < rank; ++d) {
      if (ab[d] != 1) ao += idx[d] * a_strides[d];
      if (bb[d] != 1) bo += idx[d] * b_strides[d];
    }
    a_offsets[static_cast<size_t>(bi)] = ao * m * k;
    b_offsets[static_cast<size_t>(bi)] = bo * k * n;
    for (size_t d = rank; d-- > 0;) {  // increment the multi-index, last axis fastest
      if (++idx[d] < out_batch[d]) break;
      idx[d] = 0;
    }
  }
  const int threads = nn::kernel_threads(ctx);
  return nn::make_function_kernel([=](const std::vector<Tensor>& in, std::vector<Tensor>& out) {
    const float* pa = in[0].data<float>();
    const float* pb = in[1].data<float>();
    float* py = out[0].data<float>();
    const int64_t rows = batches * m;
#pragma omp parallel for num_threads(threads) schedule(static)
    for (int64_t r = 0; r < rows; ++r) {
      const int64_t bi = r / m, i = r % m;
      const float* arow = pa + a_offsets[static_cast<size_t>(bi)] + i * k;
      const float* bmat = pb + b_offsets[static_cast<size_t>(bi)];
      float* y = py + r * n;
      std::fill(y, y + n, 0.f);
      for (int64_t kk = 0; kk < k; ++kk) {
        const float av = arow[kk];
        const float* brow = bmat + kk * n;
        for (int64_t j = 0; j < n; ++j) y[j] += av * brow[j];
      }
    }
  });
}

}  // namespace

void register_nn_gemm_kernels(KernelRegistry& registry) {
  registry.add(KernelDef{"Gemm", "", 1, INT_MAX, "ref", false, create_gemm});
  registry.add(KernelDef{"MatMul", "", 1, INT_MAX, "ref", false, create_matmul});
}

}  // namespace qwac::kernels::ref
