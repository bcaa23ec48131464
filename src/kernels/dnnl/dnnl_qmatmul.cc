// QMatMul (com.qwac, ir/fused_ops.h) on oneDNN's int8 matmul: attention's Q x K^T on the 8-bit tensors, batched over
// the leading dims, s32 accumulation, dst = float(acc) * (s_a * s_b * alpha) (the reference kernel's multiplier,
// so both agree bit for bit). oneDNN wants s8 weights without a zero point: B is read as it is when it is int8 with
// zero point 0, or as uint8 with zero point 128 (the symmetric uint8 form) flipped to int8 per run (b ^ 0x80 =
// b - 128, one pass over B, which is a token-sized operand); other zero points of B decline (the reference kernel
// takes them). A's zero point is a oneDNN source zero point.
#include <algorithm>
#include <cstring>
#include <unordered_map>

#include "ir/fused_ops.h"
#include "kernels/dnnl/dnnl_common.h"
#include "kernels/dnnl/dnnl_families.h"
#include "kernels/dnnl/dnnl_requantize.h"
#include "kernels/ref/quantized_kernel_util.h"

namespace qwac::kernels::dnnl_impl {
namespace {

using In = ir::QMatMulInputs;
using dt = dnnl::memory::data_type;
constexpr int32_t kSymmetricUint8ZeroPoint = 128;
constexpr size_t kMaxRank = 6;

class QMatMulKernel final : public Kernel {
 public:
  static std::unique_ptr<Kernel> create(const KernelContext& ctx, std::string& reason) {
    for (size_t i : {In::kAScale, In::kAZeroPoint, In::kBScale, In::kBZeroPoint}) {
      if (ctx.inputs.size() > i && ctx.inputs[i].present() && ctx.inputs[i].value == nullptr) {
        reason = "scales and zero points must be constants";
        return nullptr;
      }
    }
    const ir::TensorInfo& a = ctx.inputs.at(In::kA);
    const ir::TensorInfo& b = ctx.inputs.at(In::kB);
    const int32_t a_zp = constant_zero_point(ctx, In::kAZeroPoint);
    const int32_t b_zp = constant_zero_point(ctx, In::kBZeroPoint);
    const bool flip_b = b.dtype == DType::kUInt8 && b_zp == kSymmetricUint8ZeroPoint;
    if (!(b.dtype == DType::kInt8 && b_zp == 0) && !flip_b) {
      reason = "B is " + std::string(dtype_name(b.dtype)) + " with zero point " + std::to_string(b_zp) +
               " (oneDNN's weights: int8 with zero point 0, or uint8 with zero point 128 flipped to int8)";
      return nullptr;
    }
    if (a.shape.size() < 2 || b.shape.size() < 2) {
      reason = "1-D operands are not implemented";
      return nullptr;
    }
    const Shape& y = ctx.outputs.at(0).shape;
    const size_t rank = y.size();
    if (rank > kMaxRank) {
      reason = "rank above 6";
      return nullptr;
    }
    // oneDNN's matmul wants operands of equal rank (a leading 1 broadcasts).
    const dnnl::memory::desc src_md = plain_desc(with_leading_ones(a.shape, rank), int8_or_f32(a.dtype));
    const dnnl::memory::desc wei_md = plain_desc(with_leading_ones(b.shape, rank), dt::s8);
    const dnnl::memory::desc dst_md = plain_desc(y);
    const float mult = ref::qmatmul_multiplier(ctx.inputs[In::kAScale].value->data<float>()[0],
                                               ctx.inputs[In::kBScale].value->data<float>()[0],
                                               ctx.node.attrs.get_float("alpha", 1.f));
    dnnl::primitive_attr attr;
    attr.set_output_scales(0, {mult});
    if (a_zp != 0) attr.set_zero_points(DNNL_ARG_SRC, 0, {a_zp});
    dnnl::matmul::primitive_desc pd;
    if (!try_create([&] { pd = dnnl::matmul::primitive_desc(dnnl::matmul::desc(src_md, wei_md, dst_md), attr,
                                                             cpu_engine()); },
                    reason, "int8 matmul")) {
      return nullptr;
    }
    auto k = std::make_unique<QMatMulKernel>();
    k->prim_ = dnnl::matmul(pd);
    k->src_ = dnnl::memory(src_md, cpu_engine(), DNNL_MEMORY_NONE);
    k->wei_ = dnnl::memory(wei_md, cpu_engine(), DNNL_MEMORY_NONE);
    k->dst_ = dnnl::memory(dst_md, cpu_engine(), DNNL_MEMORY_NONE);
    k->flip_b_ = flip_b;
    if (flip_b) k->flipped_.resize(static_cast<size_t>(shape_numel(b.shape)));
    return k;
  }

  void run(const std::vector<Tensor>& inputs, std::vector<Tensor>& outputs) override {
    const void* b = inputs[In::kB].raw();
    if (flip_b_) {
      const auto* u = static_cast<const uint8_t*>(b);
      const auto n = static_cast<int64_t>(flipped_.size());
      for (int64_t i = 0; i < n; ++i) flipped_[static_cast<size_t>(i)] = static_cast<uint8_t>(u[i] ^ 0x80u);
      b = flipped_.data();
    }
    bind(src_, inputs[In::kA].raw());
    bind(wei_, b);
    bind(dst_, outputs[0].raw());
    dnnl::stream& stream = cpu_stream();
    prim_.execute(stream, {{DNNL_ARG_SRC, src_}, {DNNL_ARG_WEIGHTS, wei_}, {DNNL_ARG_DST, dst_}});
    stream.wait();
  }

 private:
  dnnl::matmul prim_;
  dnnl::memory src_, wei_, dst_;
  bool flip_b_ = false;
  std::vector<uint8_t> flipped_;  // B - 128 as int8 bytes
};

}  // namespace

void register_qmatmul_kernels(KernelRegistry& registry) {
  registry.add(KernelDef{std::string(ir::kQMatMulOp), std::string(ir::kQwacDomain), 1, INT_MAX, "dnnl", false,
                         &QMatMulKernel::create});
}

}  // namespace qwac::kernels::dnnl_impl
