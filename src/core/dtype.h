// Element types: the public facts (qwac/dtype.h) plus the type dispatch kernels use.
#pragma once

#include "qwac/dtype.h"

namespace qwac {

// Calls fn(T{}) with the C++ type for `t`; throws InternalError for types without one (string, float16).
// Kernels use this instead of a switch per kernel.
template <typename Fn>
decltype(auto) dispatch_dtype(DType t, Fn&& fn);

}  // namespace qwac

#include "core/dtype_dispatch.inl"
