// The oneDNN kernel list. register_dnnl_kernels runs before the reference kernels in default_kernel_registry(),
// so each dnnl candidate is tried first and declines (with a reason) whatever it does not support.
#include "kernels/dnnl/dnnl_families.h"
#include "kernels/kernel.h"

namespace qwac::kernels {

void register_dnnl_kernels(KernelRegistry& registry) {
  dnnl_impl::register_conv_kernels(registry);
  dnnl_impl::register_qconv_kernels(registry);
  dnnl_impl::register_qadd_kernels(registry);
  dnnl_impl::register_qgemm_kernels(registry);
  dnnl_impl::register_qlookup_kernels(registry);
  dnnl_impl::register_qmatmul_kernels(registry);
  dnnl_impl::register_dequantize_kernels(registry);
  dnnl_impl::register_quantize_kernels(registry);
  dnnl_impl::register_deconv_kernels(registry);
  dnnl_impl::register_matmul_kernels(registry);
  dnnl_impl::register_fused_matmul_kernels(registry);
  dnnl_impl::register_pool_kernels(registry);
  dnnl_impl::register_eltwise_kernels(registry);
  dnnl_impl::register_binary_kernels(registry);
  dnnl_impl::register_batchnorm_kernels(registry);
  dnnl_impl::register_concat_kernels(registry);
  dnnl_impl::register_softmax_kernels(registry);
  dnnl_impl::register_lrn_kernels(registry);
  dnnl_impl::register_layer_norm_kernels(registry);
  dnnl_impl::register_transpose_kernels(registry);
}

}  // namespace qwac::kernels
