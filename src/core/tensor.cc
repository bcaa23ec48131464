#include "core/tensor.h"

#include <algorithm>
#include <atomic>
#include <cstdlib>
#include <cstring>
#include <new>

#include "core/resource_limits.h"

namespace qwac {

namespace {
// Bytes held by live allocate_aligned() buffers: tensors and the engines' activation arenas, which is where a
// model's or a batch's size turns into memory.
std::atomic<uint64_t> g_live_bytes{0};
}  // namespace

std::shared_ptr<std::byte> allocate_aligned(size_t bytes) {
  // aligned_alloc needs a size that is a multiple of the alignment; allocate at least one block so that
  // empty tensors still have a valid, unique pointer.
  const size_t rounded = std::max(((bytes + kTensorAlignment - 1) / kTensorAlignment) * kTensorAlignment,
                                  kTensorAlignment);
  // Every large buffer comes through here: a request that would take the live total beyond the memory budget is
  // refused before the allocator pages for minutes or the kernel kills the process (a model whose shapes ask for
  // 64 GiB, a batch size too large for the machine).
  const uint64_t live = g_live_bytes.load(std::memory_order_relaxed);
  if (rounded < bytes || !fits_memory_budget(live + rounded)) {  // rounded < bytes: the size wrapped around
    throw InvalidArgument("an allocation of " + describe_bytes(bytes) + " (with " + describe_bytes(live) +
                          " already held) was refused" + memory_budget_hint() +
                          "; use a smaller batch size or input shape, or check the model's shapes");
  }
  void* p = std::aligned_alloc(kTensorAlignment, rounded);
  if (p == nullptr) throw std::bad_alloc();
  std::memset(p, 0, rounded);
  g_live_bytes.fetch_add(rounded, std::memory_order_relaxed);
  return std::shared_ptr<std::byte>(static_cast<std::byte*>(p), [rounded](std::byte* q) {
    g_live_bytes.fetch_sub(rounded, std::memory_order_relaxed);
    std::free(q);
  });
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
