// qwac public API: Tensor, a dtype, a concrete shape and 64-byte aligned row-major storage.
//
// Ownership: a Tensor either owns its storage (shared between copies: copying a Tensor is cheap and aliases the
// same bytes; use clone() for a deep copy) or is a non-owning view created with Tensor::view() over memory whose
// lifetime the caller guarantees (the engine's arena, for example).
#pragma once

#include <cstddef>
#include <memory>
#include <string>

#include "qwac/dtype.h"
#include "qwac/error.h"
#include "qwac/shape.h"

namespace qwac {

inline constexpr size_t kTensorAlignment = 64;

class Tensor {
 public:
  Tensor() = default;
  // Allocates zero-filled storage.
  Tensor(DType dtype, Shape shape);

  // A view over `data` (not owned). `data` must hold numel * dtype_size bytes.
  static Tensor view(DType dtype, Shape shape, void* data);

  // Copies `count` elements from `values` (count must equal numel).
  template <typename T>
  static Tensor from_values(Shape shape, const T* values);

  DType dtype() const { return dtype_; }
  const Shape& shape() const { return shape_; }
  int64_t rank() const { return static_cast<int64_t>(shape_.size()); }
  int64_t dim(int64_t i) const { return shape_.at(static_cast<size_t>(i)); }
  int64_t numel() const { return shape_numel(shape_); }
  size_t nbytes() const { return static_cast<size_t>(numel()) * dtype_size(dtype_); }
  bool empty() const { return dtype_ == DType::kUndefined; }
  bool owns_storage() const { return storage_ != nullptr; }

  void* raw() { return data_; }
  const void* raw() const { return data_; }

  // Typed access; throws InternalError when T does not match dtype().
  template <typename T>
  T* data() {
    check_type(kDTypeOf<T>);
    return static_cast<T*>(data_);
  }
  template <typename T>
  const T* data() const {
    check_type(kDTypeOf<T>);
    return static_cast<const T*>(data_);
  }

  Tensor clone() const;
  // Same bytes, another shape with the same element count.
  Tensor reshaped(Shape shape) const;

  std::string describe() const;  // "float[1,3,224,224]"

 private:
  void check_type(DType expected) const;

  DType dtype_ = DType::kUndefined;
  Shape shape_;
  std::shared_ptr<std::byte> storage_;
  void* data_ = nullptr;
};

// Allocates `bytes` bytes aligned to kTensorAlignment, zero-filled. Freed by the returned deleter.
std::shared_ptr<std::byte> allocate_aligned(size_t bytes);

template <typename T>
Tensor Tensor::from_values(Shape shape, const T* values) {
  Tensor t(kDTypeOf<T>, std::move(shape));
  T* dst = t.data<T>();
  for (int64_t i = 0, n = t.numel(); i < n; ++i) dst[i] = values[i];
  return t;
}

}  // namespace qwac
