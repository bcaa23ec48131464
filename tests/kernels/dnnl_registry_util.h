// The oneDNN kernels alone (no reference fallback), so a test knows which implementation ran.
#pragma once

#include "kernels/kernel.h"

namespace qwac::testing {

inline const kernels::KernelRegistry& dnnl_only_registry() {
  static const kernels::KernelRegistry r = [] {
    kernels::KernelRegistry reg;
    kernels::register_dnnl_kernels(reg);
    return reg;
  }();
  return r;
}

}  // namespace qwac::testing
