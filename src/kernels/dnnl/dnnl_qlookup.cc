// QLookup (com.qwac, ir/fused_ops.h): Y[i] = Table[byte of X[i]], with the constant table copied into the kernel at
// creation, parallel with OpenMP; 8-bit tables 64 codes per instruction pair with AVX-512 VBMI where the CPU has it
// (picked at run time), else one code at a time. A lookup does not care about layout, so X may come in any dense oneDNN layout
// (a QConv's nhwc output) and Y is written in that layout: no conversion to plain between a convolution and its
// activation. Layouts with padding (nChw16c with 72 channels) are declined, since the padded bytes would become
// table entries instead of staying zero; the reference kernel then runs on the plain tensor.
#include <algorithm>
#include <array>
#include <cstring>

#if defined(__x86_64__) && defined(__GNUC__)
#include <immintrin.h>
#endif

#include "ir/fused_ops.h"
#include "kernels/dnnl/dnnl_common.h"
#include "kernels/dnnl/dnnl_families.h"

namespace qwac::kernels::dnnl_impl {
namespace {

using In = ir::QLookupInputs;
using dt = dnnl::memory::data_type;

// Elements per parallel task, and the least worth a second thread: a byte lookup moves ~10 GB/s on one core, so
// below a few hundred kilobytes the fork and join of the thread team costs more than it saves.
constexpr int64_t kChunk = 65536;
constexpr int64_t kParallelMinWork = 262144;

dt dnnl_type(DType t) {
  switch (t) {
    case DType::kUInt8:
      return dt::u8;
    case DType::kInt8:
      return dt::s8;
    default:
      return dt::f32;
  }
}

dnnl::memory::desc with_type(const dnnl::memory::desc& md, dt t) {
  dnnl_memory_desc_t d = md.data;
  d.data_type = static_cast<dnnl_data_type_t>(t);
  return dnnl::memory::desc(d);
}

template <typename Y>
void lookup_span(const uint8_t* x, Y* y, int64_t n, const Y* table) {
  for (int64_t i = 0; i < n; ++i) y[i] = table[x[i]];
}

using ByteSpanFn = void (*)(const uint8_t* x, uint8_t* y, int64_t n, const uint8_t* table);

void lookup_bytes_any(const uint8_t* x, uint8_t* y, int64_t n, const uint8_t* table) {
  lookup_span(x, y, n, table);
}

#if defined(__x86_64__) && defined(__GNUC__)
// 64 codes at a time: vpermi2b looks up 7-bit indices in a 128-byte table held in two registers; the codes' top bit
// picks the lower or upper half of the 256-byte table.
__attribute__((target("avx512f,avx512bw,avx512vbmi"))) void lookup_bytes_vbmi(const uint8_t* x, uint8_t* y, int64_t n,
                                                                               const uint8_t* table) {
  const __m512i t0 = _mm512_loadu_si512(table), t1 = _mm512_loadu_si512(table + 64);
  const __m512i t2 = _mm512_loadu_si512(table + 128), t3 = _mm512_loadu_si512(table + 192);
  int64_t i = 0;
  for (; i + 64 <= n; i += 64) {
    const __m512i codes = _mm512_loadu_si512(x + i);
    const __m512i lower = _mm512_permutex2var_epi8(t0, codes, t1);  // index bits 0-6; bit 7 is ignored here
    const __m512i upper = _mm512_permutex2var_epi8(t2, codes, t3);
    _mm512_storeu_si512(y + i, _mm512_mask_blend_epi8(_mm512_movepi8_mask(codes), lower, upper));
  }
  lookup_span(x + i, y + i, n - i, table);
}

ByteSpanFn byte_span_fn() {
  static const bool vbmi = __builtin_cpu_supports("avx512vbmi") && __builtin_cpu_supports("avx512bw");
  return vbmi ? &lookup_bytes_vbmi : &lookup_bytes_any;
}
#else
ByteSpanFn byte_span_fn() { return &lookup_bytes_any; }
#endif

class QLookupKernel final : public Kernel {
 public:
  static std::unique_ptr<Kernel> create(const KernelContext& ctx, std::string& reason) {
    const DType y_type = ctx.outputs.at(0).dtype;
    if (y_type != DType::kUInt8 && y_type != DType::kInt8 && y_type != DType::kFloat32) {
      reason = "the table is " + std::string(dtype_name(y_type)) + ", not uint8, int8 or float";
      return nullptr;
    }
    if (In::kTable < ctx.input_formats.size() && ctx.input_formats[In::kTable]) {
      reason = "the table is in a blocked layout";
      return nullptr;
    }
    const Tensor* table = ctx.inputs.at(In::kTable).value;
    if (table == nullptr) {
      reason = "the table is not a constant";
      return nullptr;
    }
    auto k = std::make_unique<QLookupKernel>();
    k->y_type_ = y_type;
    std::memcpy(k->table_.data(), table->raw(), table->nbytes());
    k->threads_ = std::max(1, ctx.num_threads);
    const Shape& shape = ctx.inputs.at(In::kX).shape;
    k->numel_ = shape_numel(shape);
    const BlockedFormatPtr fx = In::kX < ctx.input_formats.size() ? ctx.input_formats[In::kX] : nullptr;
    if (fx) {
      dnnl::memory::desc given;
      if (!given_desc(ctx, In::kX, given, reason)) return nullptr;
      if (static_cast<int64_t>(given.get_size()) != k->numel_) {
        reason = "X's layout has padding or is not 8-bit";
        return nullptr;
      }
      k->out_format_ = format_of(with_type(given, dnnl_type(y_type)));
    }
    return k;
  }

  void run(const std::vector<Tensor>& inputs, std::vector<Tensor>& outputs) override {
    const auto* x = static_cast<const uint8_t*>(inputs[In::kX].raw());
    void* y = outputs[0].raw();
    const int64_t numel = numel_, tasks = (numel + kChunk - 1) / kChunk;
    const int threads = numel >= kParallelMinWork ? threads_ : 1;
#pragma omp parallel for schedule(static) num_threads(threads) if (threads > 1)
    for (int64_t t = 0; t < tasks; ++t) {
      const int64_t begin = t * kChunk, count = std::min(kChunk, numel - begin);
      if (y_type_ == DType::kFloat32) {
        lookup_span(x + begin, static_cast<float*>(y) + begin, count, reinterpret_cast<const float*>(table_.data()));
      } else {
        bytes_(x + begin, static_cast<uint8_t*>(y) + begin, count, reinterpret_cast<const uint8_t*>(table_.data()));
      }
    }
  }

  BlockedFormatPtr output_format(size_t) const override { return out_format_; }

 private:
  alignas(64) std::array<char, 256 * sizeof(float)> table_{};
  DType y_type_ = DType::kUInt8;
  ByteSpanFn bytes_ = byte_span_fn();
  int64_t numel_ = 0;
  int threads_ = 1;
  BlockedFormatPtr out_format_;
};

}  // namespace

void register_qlookup_kernels(KernelRegistry& registry) {
  registry.add(KernelDef{std::string(ir::kQLookupOp), std::string(ir::kQwacDomain), 1, INT_MAX, "dnnl", true,
                         &QLookupKernel::create});
}

}  // namespace qwac::kernels::dnnl_impl
