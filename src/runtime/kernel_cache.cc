#include "runtime/kernel_cache.h"

#include <algorithm>

#include "runtime/node_signature.h"

namespace qwac::runtime {

std::string KernelCache::key(const ir::Node& node, int64_t opset, const std::vector<ir::TensorInfo>& inputs,
                             const std::vector<kernels::BlockedFormatPtr>& formats, int num_threads, bool use_dnnl) {
  std::string k = node.name() + "|" + node_signature(node) + "|opset " + std::to_string(opset) + "|t" +
                  std::to_string(num_threads) + (use_dnnl ? "|dnnl" : "|ref");
  for (size_t i = 0; i < inputs.size(); ++i) {
    const ir::TensorInfo& in = inputs[i];
    k += "|";
    if (!in.present()) {
      k += "-";
      continue;
    }
    // A folded constant (a dequantized weight) is not a graph constant: its digest is part of what the kernel
    // was created from.
    k += in.value != nullptr ? tensor_digest(*in.value) : std::string(dtype_name(in.dtype)) + shape_to_string(in.shape);
    if (i < formats.size() && formats[i]) k += "@" + formats[i]->describe();
  }
  return k;
}

template <typename T>
void KernelCache::trim(std::map<std::string, Entry<T>>& entries) {
  if (entries.size() <= capacity_) return;
  // Drop the oldest quarter at once, so trimming stays rare.
  std::vector<uint64_t> ticks;
  for (const auto& [k, e] : entries) ticks.push_back(e.used);
  const size_t drop = entries.size() - capacity_ + capacity_ / 4;
  std::nth_element(ticks.begin(), ticks.begin() + static_cast<std::ptrdiff_t>(drop - 1), ticks.end());
  const uint64_t limit = ticks[drop - 1];
  for (auto it = entries.begin(); it != entries.end();) it = it->second.used <= limit ? entries.erase(it) : std::next(it);
}

std::shared_ptr<const CachedKernel> KernelCache::find_kernel(const std::string& key) {
  std::lock_guard<std::mutex> lock(mutex_);
  auto it = kernels_.find(key);
  if (it == kernels_.end()) {
    ++misses_;
    return nullptr;
  }
  ++hits_;
  it->second.used = ++tick_;
  return it->second.value;
}

void KernelCache::add_kernel(const std::string& key, CachedKernel entry) {
  std::lock_guard<std::mutex> lock(mutex_);
  kernels_[key] = {std::make_shared<const CachedKernel>(std::move(entry)), ++tick_};
  trim(kernels_);
}

std::optional<std::vector<Tensor>> KernelCache::find_folded(const std::string& key) {
  std::lock_guard<std::mutex> lock(mutex_);
  auto it = folded_.find(key);
  if (it == folded_.end()) return std::nullopt;
  it->second.used = ++tick_;
  return it->second.value;  // tensors share their storage: a cheap copy
}

void KernelCache::add_folded(const std::string& key, std::vector<Tensor> outputs) {
  std::lock_guard<std::mutex> lock(mutex_);
  folded_[key] = {std::move(outputs), ++tick_};
  trim(folded_);
}

int64_t KernelCache::hits() const {
  std::lock_guard<std::mutex> lock(mutex_);
  return hits_;
}

int64_t KernelCache::misses() const {
  std::lock_guard<std::mutex> lock(mutex_);
  return misses_;
}

size_t KernelCache::size() const {
  std::lock_guard<std::mutex> lock(mutex_);
  return kernels_.size();
}

}  // namespace qwac::runtime
