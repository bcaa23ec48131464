// Descriptors of inputs that may be uint8/int8 (the int8 engine path moves 8-bit tensors between oneDNN kernels):
// given_desc() in dnnl_common.h assumes a plain input is f32.
#pragma once

#include <string>

#include "kernels/dnnl/dnnl_common.h"

namespace qwac::kernels::dnnl_impl {

// f32, u8 or s8; undef for the types these kernels do not move.
inline dnnl::memory::data_type dnnl_data_type(DType t) {
  switch (t) {
    case DType::kFloat32:
      return dnnl::memory::data_type::f32;
    case DType::kUInt8:
      return dnnl::memory::data_type::u8;
    case DType::kInt8:
      return dnnl::memory::data_type::s8;
    default:
      return dnnl::memory::data_type::undef;
  }
}

// The descriptor of input `i` as the runtime delivers it (the producer's oneDNN layout, or plain) with the input's
// data type; false with a reason for another dtype or a layout of another data type.
inline bool given_typed_desc(const KernelContext& ctx, size_t i, dnnl::memory::desc& md, std::string& reason) {
  const ir::TensorInfo& info = ctx.inputs.at(i);
  const dnnl::memory::data_type type = dnnl_data_type(info.dtype);
  if (type == dnnl::memory::data_type::undef) {
    reason = "input " + std::to_string(i) + " is " + std::string(dtype_name(info.dtype)) +
             ", only float, uint8 and int8 are implemented";
    return false;
  }
  const bool blocked = i < ctx.input_formats.size() && ctx.input_formats[i];
  if (!blocked) {
    md = plain_desc(info.shape, type);
    return true;
  }
  if (!given_desc(ctx, i, md, reason)) return false;
  if (md.data_type() != type) {
    reason = "input " + std::to_string(i) + " arrives in a layout of another data type";
    return false;
  }
  return true;
}

}  // namespace qwac::kernels::dnnl_impl
