// QMatMul (com.qwac, ir/fused_ops.h), the oracle: alpha * DQ(A) @ DQ(B) with the dequantization taken out of the
// sum, exactly as integer hardware computes it: acc = sum_k (a - zp_a) * (b - zp_b) in int32 (exact), then
// y = float(acc) * m with the one float multiplier m = float(s_a * s_b * alpha) (the optimized kernel uses the same
// multiplier, so the two agree bit for bit). Against the float simulation (DQ -> MatMul -> Mul) the result differs
// only by the float rounding of that sum, which the simulation accumulates in float.
#include <algorithm>

#include "ir/fused_ops.h"
#include "kernels/ref/quantized_kernel_util.h"
#include "kernels/ref/ref_families.h"

namespace qwac::kernels::ref {
namespace {

using In = ir::QMatMulInputs;

// Element offsets of each output batch index into an operand of shape `s` (its batch dims broadcast to `out`).
std::vector<int64_t> batch_offsets(const Shape& s, const Shape& out_batch) {
  const size_t rank = out_batch.size(), own = s.size() - 2;
  const int64_t matrix = s[s.size() - 2] * s.back();
  std::vector<int64_t> strides(rank, 0);
  int64_t stride = matrix;
  for (size_t i = 0; i < own; ++i) {
    const size_t d = own - 1 - i;  // own dim, aligned right with out_batch
    strides[rank - 1 - i] = s[d] == 1 ? 0 : stride;
    stride *= s[d];
  }
  const int64_t count = shape_numel(out_batch);
  std::vector<int64_t> offsets(static_cast<size_t>(count), 0);
  for (int64_t b = 0; b < count; ++b) {
    int64_t rem = b, off = 0;
    for (size_t i = rank; i-- > 0;) {
      off += (rem % out_batch[i]) * strides[i];
      rem /= out_batch[i];
    }
    offsets[static_cast<size_t>(b)] = off;
  }
  return offsets;
}

class QMatMulRefKernel final : public Kernel {
 public:
  static std::unique_ptr<Kernel> create(const KernelContext& ctx, std::string& reason) {
    if (!plain_inputs(ctx, "QMatMul", reason)) return nullptr;
    auto k = std::make_unique<QMatMulRefKernel>();
    const Shape& a0 = ctx.inputs.at(In::kA).shape;
    const Shape& b0 = ctx.inputs.at(In::kB).shape;
    // MatMul's 1-D operands as a row / a column (the same bytes); the output's batch dims are the broadcast ones.
    const Shape a = a0.size() == 1 ? Shape{1, a0[0]} : a0;
    const Shape b = b0.size() == 1 ? Shape{b0[0], 1} : b0;
    const Shape batch = broadcast_shapes(Shape(a.begin(), a.end() - 2), Shape(b.begin(), b.end() - 2), "QMatMul");
    k->m_ = a[a.size() - 2];
    k->k_ = a.back();
    k->n_ = b.back();
    k->a_offsets_ = batch_offsets(a, batch);
    k->b_offsets_ = batch_offsets(b, batch);
    k->alpha_ = ctx.node.attrs.get_float("alpha", 1.f);
    return k;
  }

  void run(const std::vector<Tensor>& in, std::vector<Tensor>& out) override {
    const Tensor& a = in[In::kA];
    const Tensor& b = in[In::kB];
    const int32_t a_zp = zero_point_of(in, In::kAZeroPoint), b_zp = zero_point_of(in, In::kBZeroPoint);
    const float mult = qmatmul_multiplier(in[In::kAScale].data<float>()[0], in[In::kBScale].data<float>()[0], alpha_);
    float* y = out[0].data<float>();
    const auto batches = static_cast<int64_t>(a_offsets_.size());
#pragma omp parallel for
    for (int64_t bi = 0; bi < batches; ++bi) {
      const int64_t ao = a_offsets_[static_cast<size_t>(bi)], bo = b_offsets_[static_cast<size_t>(bi)];
      for (int64_t i = 0; i < m_; ++i) {
        for (int64_t j = 0; j < n_; ++j) {
          int32_t acc = 0;
          for (int64_t p = 0; p < k_; ++p) {
            acc += (element_8bit(a, ao + i * k_ + p) - a_zp) * (element_8bit(b, bo + p * n_ + j) - b_zp);
          }
          y[(bi * m_ + i) * n_ + j] = static_cast<float>(acc) * mult;
        }
      }
    }
  }

 private:
  int64_t m_ = 0, k_ = 0, n_ = 0;
  std::vector<int64_t> a_offsets_, b_offsets_;
  float alpha_ = 1.f;
};

}  // namespace

float qmatmul_multiplier(float a_scale, float b_scale, float alpha) {
  return static_cast<float>(static_cast<double>(a_scale) * b_scale * alpha);
}

void register_qmatmul_kernels(KernelRegistry& registry) {
  registry.add(KernelDef{std::string(ir::kQMatMulOp), std::string(ir::kQwacDomain), 1, INT_MAX, "ref", false,
                         &QMatMulRefKernel::create});
}

}  // namespace qwac::kernels::ref
