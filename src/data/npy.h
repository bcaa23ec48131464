// NumPy .npy arrays and .npz archives (what numpy.save / numpy.savez[_compressed] write).
//
// .npy: format versions 1.0-3.0, little-endian or byte-order-free dtypes f4 f8 i1 u1 i2 u2 i4 u4 i8 u8 b1, C order.
// Big-endian data and fortran_order=True are rejected (DataError naming the file) rather than silently reordered.
// .npz: a zip archive of .npy members, stored or deflated, zip64 records understood (numpy always writes zip64
// local headers); the central directory is parsed here and deflate streams are inflated with zlib; each member's
// CRC-32 is checked.
#pragma once

#include <map>
#include <string>

#include "core/tensor.h"

namespace qwac::data {

// Parses the bytes of one .npy file; `name` is used in messages.
Tensor parse_npy(const std::string& bytes, const std::string& name);
Tensor read_npy(const std::string& path);

// All members of an .npz file by array name (the member name without its ".npy" suffix).
std::map<std::string, Tensor> read_npz(const std::string& path);

// Serializes a tensor as .npy version 1.0 (for fixtures and for writing small arrays back).
std::string to_npy(const Tensor& tensor);

}  // namespace qwac::data
