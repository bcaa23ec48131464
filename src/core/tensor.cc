#include "core/tensor.h"

#include <cstdlib>
#include <cstring>
#include <new>

#include "core/resource_limits.h"

namespace qwac {

std::shared_ptr<std::byte> allocate_aligned(size_t bytes) {
  // Every large buffer (tensors, the engine's activation arena) comes through here: a request beyond the memory
  // budget is refused before the allocator would page for minutes or the kernel kill the process.
  if (!fits_memory_budget(bytes)) {
    throw InvalidArgument("an allocation of " + describe_bytes(bytes) + " was refused" + memory_budget_hint() +
                          "; use a smaller batch size or input shape, or check the model's shapes");
  }
  // aligned_alloc needs a size that is a multiple of the alignment; allocate at least one block so that
  // empty tensors still have a valid, unique pointer.
  const size_t rounded = ((bytes + kTensorAlignment - 1) / kTensorAlignment) * kTensorAlignment;
  void* p = std::aligned_alloc(kTensorAlignment, rounded == 0 ? kTensorAlignment : rounded);
  if (p == nullptr) throw std::bad_alloc();
  std::memset(p, 0, rounded == 0 ? kTensorAlignment : rounded);
  return std::shared_ptr<std::byte>(static_cast<std::byte*>(p), [](std::byte* q) { std::free(q); });
}

Tensor::Tensor(DType dtype, Shape shape) : dtype_(dtype), shape_(std::move(shape)) {
  uint64_t bytes = dtype_size(dtype_);
  bool overflow = false;
  for (int64_t d : shape_) {
    if (d < 0) throw InternalError("tensor shape " + shape_to_string(shape_) + " has a negative dimension");
    const auto product = checked_product({static_cast<int64_t>(bytes), d});
    overflow = overflow || !product;
    bytes = product.value_or(bytes);
  }
  // The last line of defence against a shape from a hostile file or a mistaken batch size: refuse before asking
  // the allocator (which would either fail after minutes of paging or have the process killed).
  if (overflow || !fits_memory_budget(bytes)) {
    throw InvalidArgument("a tensor of " + describe() + " needs " +
                          (overflow ? std::string("more than 8 EiB") : describe_bytes(bytes)) + memory_budget_hint() +
                          "; use a smaller batch size or input shape, or check the model's shapes");
  }
  storage_ = allocate_aligned(nbytes());
  data_ = storage_.get();
}

Tensor Tensor::view(DType dtype, Shape shape, void* data) {
  Tensor t;
  t.dtype_ = dtype;
  t.shape_ = std::move(shape);
  t.data_ = data;
  return t;
}

Tensor Tensor::clone() const {
  Tensor t(dtype_, shape_);
  if (nbytes() > 0) std::memcpy(t.data_, data_, nbytes());
  return t;
}

Tensor Tensor::reshaped(Shape shape) const {
  if (shape_numel(shape) != numel()) {
    throw InternalError("cannot reshape " + describe() + " to " + shape_to_string(shape) + ": element counts differ");
  }
  Tensor t = *this;
  t.shape_ = std::move(shape);
  return t;
}

std::string Tensor::describe() const { return std::string(dtype_name(dtype_)) + shape_to_string(shape_); }

void Tensor::check_type(DType expected) const {
  if (expected != dtype_) {
    throw InternalError("tensor of type " + describe() + " accessed as '" + std::string(dtype_name(expected)) + "'");
  }
}

}  // namespace qwac
