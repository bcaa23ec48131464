// Scratch memory shared by engines that run one at a time (the engines of one evaluation stream): each plan's
// arena of intermediate tensors is borrowed from the workspace at run time instead of being owned by the plan, so
// dozens of candidate engines cost one arena, the largest. Contents do not survive from one run to the next.
#pragma once

#include <cstddef>
#include <memory>

#include "core/tensor.h"

namespace qwac::runtime {

class Workspace {
 public:
  // A buffer of at least `bytes` (aligned); grows, never shrinks.
  std::byte* reserve(size_t bytes) {
    if (bytes > bytes_ || !buffer_) {
      buffer_ = allocate_aligned(bytes);
      bytes_ = bytes;
    }
    return buffer_.get();
  }
  size_t bytes() const { return bytes_; }

 private:
  std::shared_ptr<std::byte> buffer_;
  size_t bytes_ = 0;
};

}  // namespace qwac::runtime
